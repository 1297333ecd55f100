/**
 * Every program in examples/ is started as a user starts it (tsx, `npm start` for the demo), in a
 * process group of its own with a bounded lifetime, and checked to do what its header comment
 * says. Servers listen on free ports (PORT=0); the cluster runs on a real redis-server. A program
 * still running at the end of its test is killed with its whole group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from '../src/index.js';
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

/** The examples each test below starts; a new example without a test fails the first test. */
const TESTED = ['chat-rooms.ts', 'cluster/demo.ts', 'cluster/server.ts', 'demo/server.ts', 'reconnecting-client.ts'];

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

  it('demo/server.ts (npm start, PORT=0): serves its page, an echo and a broadcast WebSocket', async () => {
    const program = start('npm', ['start', '--silent'], { PORT: '0' });
    const base = (await program.line(/ws6455 demo on (http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toMatch(/^<!doctype html>/i);

    const ws = base.replace('http:', 'ws:');
    const echo = await client(`${ws}/echo`);
    echo.ws.send('ping me');
    await echo.sees('ping me');
    const [a, b] = await Promise.all([client(`${ws}/broadcast`), client(`${ws}/broadcast`)]);
    a.ws.send('to every tab');
    await Promise.all([a.sees('to every tab'), b.sees('to every tab')]);
    await expect(WebSocket.connect(`${ws}/nowhere`)).rejects.toThrow(/404/);
    for (const c of [echo, a, b]) c.ws.close();
    program.signal('SIGTERM');
    await program.exit();
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
