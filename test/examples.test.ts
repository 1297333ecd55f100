/**
 * Every program in examples/ is started as a user starts it (tsx, `npm start` for the demo), in a
 * process group of its own with a bounded lifetime, and checked to do what its header comment
 * says. Servers listen on free ports (PORT=0); the cluster runs on a real redis-server. A program
 * still running at the end of its test is killed with its whole group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from '../src/index.js';
import { ReconnectingWebSocket } from '../src/reconnect/index.js';
import { RedisServer, redisAvailable } from './cluster/redis-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Each test's own bound (the programs' waits are shorter); not the CLI's default. */
const TIMEOUT = 45_000;

/** A program under test: its output so far, and waits bounded in time. */
class Program {
  out = '';
  code: number | null = null;
  private readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve((this.code = code))));
  }

  /** Resolves with the first match of `pattern` in the output; rejects after `ms` or on exit. */
  async line(pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const match = pattern.exec(this.out);
      if (match !== null) return match;
      if (this.code !== null || Date.now() > deadline) throw new Error(`no ${pattern} in the output (exit ${this.code}):\n${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves with the exit code; rejects after `ms`. */
  exit(ms = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${this.out}`)), ms);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }

  /** Sends `signal` to the whole process group (tsx and npm start children of their own). */
  signal(signal: NodeJS.Signals): void {
    if (this.code === null && this.proc.pid !== undefined) {
      try {
        process.kill(-this.proc.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

const running: Program[] = [];

/** Starts `command args` in the repository, in a new process group. */
function start(command: string, args: string[], env: Record<string, string> = {}): Program {
  const proc = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const program = new Program(proc);
  running.push(program);
  return program;
}

/** Starts an example through tsx, as its header says (`npx tsx examples/...`). */
function example(file: string, args: string[] = [], env: Record<string, string> = {}): Program {
  return start(process.execPath, ['--import', 'tsx', join('examples', file), ...args], env);
}

afterEach(() => {
  for (const program of running.splice(0)) program.signal('SIGKILL');
});

/** Every file under examples/ that is a program (.ts), relative to examples/. */
function programs(dir = join(root, 'examples')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return programs(path);
    return name.endsWith('.ts') ? [relative(join(root, 'examples'), path)] : [];
  });
}

/** The demo's modules: started with demo/server.ts (and its browser test, test/demo/). */
const DEMO_MODULES = ['app.ts', 'bundle.ts', 'chat-state.ts', 'file-store.ts', 'sampler.ts', 'slow-reader.ts'].map((f) => `demo/${f}`);

/** The examples each test below starts; a new example without a test fails the first test. */
const TESTED = ['chat-rooms.ts', 'cluster/demo.ts', 'cluster/server.ts', 'demo/server.ts', 'reconnecting-client.ts', ...DEMO_MODULES];

/** Opens a client and collects what it receives, with its close code. */
async function client(url: string) {
  const ws = await WebSocket.connect(url);
  const seen: string[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
  ws.on('message', (data: Buffer) => seen.push(data.toString()));
  /** Resolves once a received message contains `text` (at most 5 s). */
  const sees = async (text: string): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!seen.some((m) => m.includes(text))) {
      if (Date.now() > deadline) throw new Error(`never received ${text}; got ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { ws, seen, closed, sees };
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    }).once('error', () => resolve(false));
  });
}

/** Stops a redis-server left running on `port` (SHUTDOWN NOSAVE), waiting at most 2 s. */
async function shutdownRedis(port: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end('SHUTDOWN NOSAVE\r\n')).once('error', () => resolve()).once('close', () => resolve());
    setTimeout(resolve, 2000).unref();
  });
}

describe('examples/', () => {
  it('has a test for every program', () => {
    expect(programs().sort()).toEqual([...TESTED].sort());
  });

  it('chat-rooms.ts --demo: three scripted users in two rooms, then a drain and the metrics; exits', async () => {
    const program = example('chat-rooms.ts', ['--demo']);
    expect(await program.exit()).toBe(0);
    // Each step of the script waits for its effect, so the output is the same on every run.
    expect(program.out.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')).toBe(
      [
        'chat on ws://127.0.0.1:PORT/chat?name=you, metrics on http://127.0.0.1:PORT/metrics',
        'ada saw:',
        '  {"room":"lobby","event":"join","who":"ada"}',
        '  {"room":"lobby","event":"join","who":"bob"}',
        '  {"room":"lobby","event":"leave","who":"bob"}',
        'bob saw:',
        '  {"room":"lobby","event":"join","who":"bob"}',
        '  {"room":"lobby","from":"ada","text":"hello lobby"}',
        '  {"room":"dev","event":"join","who":"bob"}',
        '  {"room":"dev","from":"cy","text":"anyone in dev?"}',
        'cy saw:',
        '  {"room":"dev","event":"join","who":"cy"}',
        '  {"room":"dev","event":"join","who":"bob"}',
        '  {"room":"dev","from":"bob","text":"me!"}',
        'rooms: lobby(1) dev(2)',
        'drained: 3 closed, 0 terminated',
        'ws6455_connections 0',
        'ws6455_handshakes_accepted_total 3',
        'ws6455_messages_received_total 8',
        'ws6455_messages_sent_total 10',
        'ws6455_closes_total{code="1012"} 3',
        '',
      ].join('\n'),
    );
  }, TIMEOUT);

  it('chat-rooms.ts: rooms, rate limit (1008), 50 connections per address (429), /metrics, drain on SIGTERM (1012)', async () => {
    const program = example('chat-rooms.ts', [], { PORT: '0' });
    const port = (await program.line(/ws:\/\/127\.0\.0\.1:(\d+)\/chat/))[1];
    const url = `ws://127.0.0.1:${port}/chat`;
    const [ada, bob] = await Promise.all([client(`${url}?name=ada`), client(`${url}?name=bob`)]);
    ada.ws.send(JSON.stringify({ join: 'lobby' }));
    await ada.sees('"who":"ada"');
    bob.ws.send(JSON.stringify({ join: 'lobby' }));
    await ada.sees('"who":"bob"');
    bob.ws.send(JSON.stringify({ say: 'hi ada', room: 'lobby' }));
    await ada.sees('"from":"bob","text":"hi ada"');
    expect(bob.seen.some((m) => m.includes('hi ada'))).toBe(false); // not echoed to the sender

    // 30 lines at once: the burst is 20, so the connection is closed with 1008.
    const flooder = await client(`${url}?name=flood`);
    for (let i = 0; i < 30; i++) flooder.ws.send(JSON.stringify({ say: `${i}`, room: 'lobby' }));
    expect(await flooder.closed).toBe(1008);

    // maxConnectionsPerAddress: 50 (ada and bob are two of them).
    const more = await Promise.all(Array.from({ length: 48 }, () => WebSocket.connect(url)));
    await expect(WebSocket.connect(url)).rejects.toThrow(/429/);
    for (const ws of more) ws.terminate();

    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toMatch(/^ws6455_closes_total\{app="chat",code="1008"\} 1$/m);
    expect(text).toMatch(/^ws6455_handshakes_refused_total\{app="chat",status="429"\} 1$/m);

    program.signal('SIGTERM');
    expect(await Promise.all([ada.closed, bob.closed])).toEqual([1012, 1012]);
    expect(await program.exit()).toBe(0);
  }, TIMEOUT);

  it('reconnecting-client.ts: the server crashes mid-stream; every message arrives, in order, after the reconnection', async () => {
    const program = example('reconnecting-client.ts');
    expect(await program.exit()).toBe(0);
    const lines = program.out.split('\n');
    expect(lines).toContain('server: auth:token-123 (first connection)');
    expect(lines).toContain('server: crashing');
    expect(lines).toContain('server: auth:token-123 (reconnect)');
    expect(lines.some((l) => /^client: reconnected; \d+ messages still queued$/.test(l))).toBe(true);
    expect(lines).toContain('server received 40/40 messages, in order and without duplicates: true');
    expect(lines.filter((l) => l.includes('not sent'))).toEqual([]);
  }, TIMEOUT);

  it('demo/server.ts (npm start, PORT=0): page and files, favicon, the browser entry, chat rooms on sessions, /stats.json, /metrics, slow reader, 1001 on SIGTERM', async () => {
    const data = mkdtempSync(join(tmpdir(), 'ws6455-demo-'));
    try {
      const program = start('npm', ['start', '--silent'], { PORT: '0', DEMO_DATA: data });
      const base = (await program.line(/ws6455 demo on (http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
      const get = async (path: string) => {
        const res = await fetch(`${base}${path}`);
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      };
      const page = await get('/');
      expect([page.status, page.type]).toEqual([200, 'text/html; charset=utf-8']);
      expect(page.body).toMatch(/^<!doctype html>/i);
      expect(page.body).toContain('<link rel="icon" href="/favicon.svg"');
      for (const [path, type] of [
        ['/app.js', 'text/javascript; charset=utf-8'],
        ['/style.css', 'text/css; charset=utf-8'],
        ['/favicon.svg', 'image/svg+xml'],
        ['/favicon.ico', 'image/svg+xml'],
        ['/lib/ws6455-browser.js', 'text/javascript; charset=utf-8'],
      ]) {
        expect([path, (await get(path as string)).status, (await get(path as string)).type]).toEqual([path, 200, type]);
      }
      // The browser entry as one ES module: no import left to resolve, no Node built-in.
      const lib = (await get('/lib/ws6455-browser.js')).body;
      expect(lib).toMatch(/export\s*\{[^}]*ReconnectingWebSocket/);
      expect(lib).not.toMatch(/^import /m);
      expect(lib).not.toMatch(/node:/);
      expect((await get('/nowhere')).status).toBe(404);

      const ws = base.replace('http:', 'ws:');
      // A plain connection to the chat: 1008 (the page's client offers a session).
      const plain = await client(`${ws}/chat`);
      expect(await plain.closed).toBe(1008);
      await expect(WebSocket.connect(`${ws}/elsewhere`)).rejects.toThrow(/400|404/);

      // Two session clients in a room: join (history, members), say, an empty line, a long one.
      const chat = (name: string) => {
        const rws = new ReconnectingWebSocket(`${ws}/chat`, { session: true });
        const got: Record<string, unknown>[] = [];
        rws.on('message', (d) => got.push(JSON.parse(String(d)) as Record<string, unknown>));
        const sees = async (match: (m: Record<string, unknown>) => boolean, what: string) => {
          const deadline = Date.now() + 5000;
          while (!got.some(match)) {
            if (Date.now() > deadline) throw new Error(`${name} never got ${what}: ${JSON.stringify(got)}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        };
        const say = (m: object) => rws.send(JSON.stringify({ name, room: 'lobby', ...m }));
        return { rws, got, sees, say };
      };
      const [ann, ben] = [chat('ann'), chat('ben')];
      await ann.say({ t: 'join' });
      await ann.sees((m) => m.t === 'joined' && m.room === 'lobby', 'joined');
      await ben.say({ t: 'join' });
      await ann.sees((m) => m.t === 'presence' && m.members === 2, 'presence 2');
      await ann.say({ t: 'say', id: 'a1', text: '   ' });
      await ann.say({ t: 'say', id: 'a2', text: 'hello ben' });
      await ben.say({ t: 'say', id: 'b1', text: 'y'.repeat(3000) });
      await ben.sees((m) => m.t === 'msg' && m.text === 'hello ben' && m.from === 'ann', 'hello ben');
      await ann.sees((m) => m.t === 'msg' && m.id === 'b1', 'the long line');
      const lines = ann.got.filter((m) => m.t === 'msg');
      expect(lines.map((m) => [m.id, String(m.text).length])).toEqual([
        ['a2', 9],
        ['b1', 2000],
      ]);
      // Sent again with the same id (as after a restart): shown once.
      await ann.say({ t: 'say', id: 'a2', text: 'hello ben' });
      await ann.say({ t: 'say', id: 'a3', text: 'after' });
      await ben.sees((m) => m.id === 'a3', 'a3');
      expect(ben.got.filter((m) => m.id === 'a2')).toHaveLength(1);

      const stats = JSON.parse((await get('/stats.json')).body) as { stats: { connections: number; messagesIn: number }; sessions: number; rates: object };
      expect(stats.stats.connections).toBe(2);
      expect(stats.sessions).toBe(2);
      expect(stats.stats.messagesIn).toBeGreaterThanOrEqual(7);
      expect(Object.keys(stats.rates).sort()).toEqual(['bytesIn', 'bytesOut', 'messagesIn', 'messagesOut']);
      const metrics = await get('/metrics');
      expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(metrics.body).toMatch(/^ws6455_connections\{server=":\d+"\} 2$/m);
      expect(metrics.body).toMatch(/^ws6455_closes_total\{server=":\d+",code="1008"\} 1$/m);

      // The slow reader under the drop policy: messages are skipped, the server holds at most about the high-water mark.
      expect((await fetch(`${base}/slow?policy=bogus`, { method: 'POST' })).status).toBe(400);
      expect((await fetch(`${base}/slow?policy=drop`, { method: 'POST' })).status).toBe(202);
      expect((await fetch(`${base}/slow?policy=drop`, { method: 'POST' })).status).toBe(409);
      let slow = { state: 'running', dropped: 0, maxBuffered: 0 };
      for (let i = 0; i < 100 && slow.state === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        slow = (JSON.parse((await get('/stats.json')).body) as { slow: typeof slow }).slow;
      }
      expect(slow.state).toBe('done');
      expect(slow.dropped).toBeGreaterThan(0);
      expect(slow.maxBuffered).toBeLessThanOrEqual(64 * 1024 + 16 * 1024 + 64);
      expect(JSON.parse((await get('/stats.json')).body).stats.broadcastDropped).toBe(slow.dropped);

      // SIGTERM: the pages' connections close with 1001 (their sessions resume on the next start).
      const closes = [ann, ben].map((c) => new Promise<number>((resolve) => c.rws.once('close', (code: number) => resolve(code))));
      program.signal('SIGTERM');
      expect(await Promise.all(closes)).toEqual([1001, 1001]);
      await program.exit(); // npm itself got the signal too: no exit code to compare
      for (const c of [ann, ben]) c.rws.close();
    } finally {
      rmSync(data, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  }, TIMEOUT);

  describe('cluster (real redis-server)', () => {
    let redis: RedisServer | null = null;

    beforeAll(async () => {
      if (redisAvailable()) redis = await RedisServer.start();
    }, 30_000);

    afterAll(async () => {
      await redis?.stop();
    });

    it('cluster/demo.ts: its own redis-server, three servers, a room message, a private one and a server-to-server request', async (context) => {
      if (redis === null) return context.skip();
      const program = example('cluster/demo.ts');
      expect(await program.exit(30_000)).toBe(0);
      const out = program.out;
      expect(out.match(/^server [0-9a-f]{16} on ws:\/\/127\.0\.0\.1:\d+ \(redis redis:\/\/127\.0\.0\.1:\d+\)$/gm)).toHaveLength(3);
      expect(out).toMatch(/^ {2}bob \(server [0-9a-f]{16}\) got: alice: hello everyone$/m);
      expect(out).toMatch(/^ {2}carol \(server [0-9a-f]{16}\) got: alice: hello everyone$/m);
      expect(out).not.toMatch(/alice \(server [0-9a-f]{16}\) got/);
      expect(out).toMatch(/^ {2}bob \(server [0-9a-f]{16}\) got: carol \(privately\): see you at 5$/m);
      const online = /got: online: (.*) \(3 in lobby on 3 servers\)$/m.exec(out);
      expect(online?.[1]?.split(', ').sort()).toEqual(['alice', 'bob', 'carol']);
    }, TIMEOUT);

    it('cluster/demo.ts with ioredis and pub/sub on an existing Redis (REDIS_URL)', async (context) => {
      if (redis === null) return context.skip();
      const program = example('cluster/demo.ts', [], { REDIS_URL: redis.url, CLIENT: 'ioredis', TRANSPORT: 'pubsub' });
      expect(await program.exit(30_000)).toBe(0);
      expect(program.out).toMatch(/^ {2}carol \(server [0-9a-f]{16}\) got: alice: hello everyone$/m);
      expect(program.out).toMatch(/got: online: .* \(3 in lobby on 3 servers\)$/m);
      expect(program.out).toContain(`(redis ${redis.url})`);
    }, TIMEOUT);

    it('demo/server.ts --cluster (npm start -- --cluster): its own redis-server, two servers, a room message crosses; all stopped on SIGTERM', async (context) => {
      if (redis === null) return context.skip();
      const data = mkdtempSync(join(tmpdir(), 'ws6455-demo-'));
      let redisPort: string | undefined;
      try {
        const program = start('npm', ['start', '--silent', '--', '--cluster'], { PORT: '0', DEMO_DATA: data });
        redisPort = (await program.line(/redis-server on redis:\/\/127\.0\.0\.1:(\d+)/))[1];
        await program.line(/in a cluster[^]*in a cluster/);
        const ports = [...program.out.matchAll(/ws6455 demo on http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
        expect(new Set(ports).size).toBe(2);
        const clients = ports.map((port, i) => {
          const rws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/chat`, { session: true });
          const got: string[] = [];
          rws.on('message', (d) => got.push(String(d)));
          void rws.send(JSON.stringify({ t: 'join', room: 'lobby', name: `user${i}` }));
          return { rws, got };
        });
        const deadline = Date.now() + 10_000;
        // Both joined (each page is told the room's size on every server), then a line from each side.
        while (!clients.every((c) => c.got.some((m) => m.includes('"members":2')))) {
          if (Date.now() > deadline) throw new Error(JSON.stringify(clients.map((c) => c.got)));
          await new Promise((r) => setTimeout(r, 20));
        }
        await Promise.all(clients.map((c, i) => c.rws.send(JSON.stringify({ t: 'say', room: 'lobby', name: `user${i}`, id: `m${i}`, text: `from ${ports[i]}` }))));
        while (!clients.every((c) => c.got.some((m) => m.includes('"id":"m0"')) && c.got.some((m) => m.includes('"id":"m1"')))) {
          if (Date.now() > deadline) throw new Error(JSON.stringify(clients.map((c) => c.got)));
          await new Promise((r) => setTimeout(r, 20));
        }
        const stats = (await (await fetch(`http://127.0.0.1:${ports[1]}/stats.json`)).json()) as { server: { cluster: boolean; label: string } };
        expect(stats.server.cluster).toBe(true);
        expect(stats.server.label).toMatch(new RegExp(`^:${ports[1]} \\([0-9a-f]{6}\\)$`));
        for (const c of clients) c.rws.close();
        program.signal('SIGTERM');
        await program.exit();
        // The demo's redis-server (a process group of its own) is gone with it.
        // (npm exits at once; the launcher stops its servers first, then Redis.)
        for (let i = 0; i < 100 && (await portOpen(Number(redisPort))); i++) await new Promise((r) => setTimeout(r, 100));
        expect(await portOpen(Number(redisPort))).toBe(false);
        redisPort = undefined;
      } finally {
        // Even when the test failed: the demo's redis-server does not outlive it.
        if (redisPort !== undefined) await shutdownRedis(Number(redisPort));
        rmSync(data, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      }
    }, TIMEOUT);

    it('cluster/server.ts: a room across two servers, /metrics with the cluster counters, exit on SIGTERM', async (context) => {
      if (redis === null) return context.skip();
      const env = { REDIS_URL: redis.url, PORT: '0' };
      const [one, two] = [example('cluster/server.ts', [], env), example('cluster/server.ts', [], env)];
      const ports = await Promise.all([one, two].map(async (p) => (await p.line(/on ws:\/\/127\.0\.0\.1:(\d+)/))[1]));
      const a = await client(`ws://127.0.0.1:${ports[0]}/?room=lobby&user=ann`);
      const b = await client(`ws://127.0.0.1:${ports[1]}/?room=lobby&user=ben`);
      a.ws.send('across');
      await b.sees('ann: across');
      const text = await (await fetch(`http://127.0.0.1:${ports[1]}/metrics`)).text();
      expect(text).toMatch(/^ws6455_connections 1$/m);
      // The second server received the message from the first through Redis.
      expect(text).toMatch(/^ws6455_cluster_received_messages_total\{server="[0-9a-f]{16}"\} 1$/m);
      for (const c of [a, b]) c.ws.close();
      one.signal('SIGTERM');
      two.signal('SIGTERM');
      expect(await Promise.all([one.exit(), two.exit()])).toEqual([0, 0]);
    }, TIMEOUT);
  });
});
