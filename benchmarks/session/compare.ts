/**
 * Sessions against plain connections, in the same run, over real sockets on 127.0.0.1: an echo
 * server in a process of its own (benchmarks/session/echo-server.ts) and clients in this one.
 *
 * 1. Throughput: one connection, 64 binary messages in flight (every echo answered with a new
 *    message), 16 B and 1 KiB, for three clients: our `WebSocket`, `ReconnectingWebSocket`
 *    (plain), and `ReconnectingWebSocket` in session mode (the server echoing through
 *    `session.send`). Echoed messages per second, and bytes on the wire per message counted on
 *    the server's TCP sockets (frames, masking keys, acknowledgements, everything) in each
 *    direction. Rounds alternate between the clients; the median round is reported.
 * 2. Memory in the server per connection: N plain connections, N sessions connected, then the
 *    same N sessions away (their connections gone, the sessions waiting to be resumed); heap
 *    used and RSS after forced GCs, each against the reading before the connections were made.
 *
 * Run: `npm run bench:session` (about 1 minute), `npm run bench:session -- --quick` (about 20 s).
 * Numbers from a shared machine are noisy: compare the columns of one run, not runs.
 *
 * @module
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WebSocket as WebSocketType } from '../../src/index.js';
import type { ReconnectingWebSocket as ReconnectingWebSocketType } from '../../src/reconnect/index.js';

/**
 * The library as users run it: a tsup bundle of the two entries (ES modules, shared chunks) in
 * benchmarks/results/.build/session/, not src/ through tsx (whose transform adds helpers to hot
 * paths). dist/ is left to `npm run build`.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const outDir = `${root}benchmarks/results/.build/session`;
execFileSync(
  `${root}node_modules/.bin/tsup`,
  ['--entry.index', 'src/index.ts', '--entry.reconnect', 'src/reconnect/index.ts', '--no-config', '--format', 'esm', '--target', 'node20', '--platform', 'node', '--splitting', '--out-dir', outDir, '--silent'],
  { cwd: root, stdio: 'inherit', timeout: 120_000 },
);
const { WebSocket } = (await import(`${outDir}/index.js`)) as typeof import('../../src/index.js');
const { ReconnectingWebSocket } = (await import(`${outDir}/reconnect.js`)) as typeof import('../../src/reconnect/index.js');
type WebSocket = WebSocketType;
type ReconnectingWebSocket = ReconnectingWebSocketType;

const quick = process.argv.includes('--quick');
const WARMUP = quick ? 500 : 1000;
const WINDOW = quick ? 1500 : 3000;
const ROUNDS = quick ? 1 : 3;
const IN_FLIGHT = 64;
const MEMORY_N = quick ? 500 : 2000;

interface Report {
  read: number;
  written: number;
  echoed: number;
}

interface Memory {
  heapUsed: number;
  rss: number;
  clients: number;
  sessions: number;
  connected: number;
}

/** The echo server process and a request/answer channel to it. */
class Server {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<Server> {
    const child = fork(new URL('./echo-server.ts', import.meta.url), [`${outDir}/index.js`], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`echo server exited (${String(code)})`)));
    });
    return new Server(child, port);
  }

  ask<T>(cmd: string): Promise<T> {
    return new Promise((resolve) => {
      const on = (m: { cmd: string }): void => {
        if (m.cmd !== cmd) return;
        this.child.off('message', on);
        resolve(m as T);
      };
      this.child.on('message', on);
      this.child.send({ cmd });
    });
  }

  stop(): void {
    this.child.send({ cmd: 'exit' });
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

type Kind = 'WebSocket' | 'ReconnectingWebSocket' | 'session';

/** An echo client that keeps IN_FLIGHT messages going and counts echoes. */
interface Client {
  echoes: number;
  stop(): Promise<void>;
}

async function startClient(kind: Kind, url: string, payload: Buffer): Promise<Client> {
  const state = { echoes: 0 };
  if (kind === 'WebSocket') {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.on('message', () => {
      state.echoes += 1;
      ws.send(payload);
    });
    for (let i = 0; i < IN_FLIGHT; i++) ws.send(payload);
    return {
      get echoes() {
        return state.echoes;
      },
      stop: () => new Promise<void>((resolve) => ws.once('close', () => resolve()).close()),
    };
  }
  const rws = new ReconnectingWebSocket(url, kind === 'session' ? { session: true, maxAttempts: 0 } : { maxAttempts: 0 });
  await new Promise((resolve) => rws.once('open', resolve));
  const send = (): void => void rws.send(payload).catch(() => {});
  rws.on('message', () => {
    state.echoes += 1;
    send();
  });
  for (let i = 0; i < IN_FLIGHT; i++) send();
  return {
    get echoes() {
      return state.echoes;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        rws.on('close', (_code, _reason, willReconnect) => {
          if (!willReconnect) resolve();
        });
        rws.close();
      }),
  };
}

interface Run {
  rate: number;
  upPerMessage: number;
  downPerMessage: number;
}

async function run(server: Server, kind: Kind, size: number): Promise<Run> {
  const client = await startClient(kind, `ws://127.0.0.1:${server.port}`, Buffer.alloc(size, 7));
  await delay(WARMUP);
  await server.ask('mark');
  const from = client.echoes;
  const started = performance.now();
  await delay(WINDOW);
  const report = await server.ask<Report>('report');
  const echoes = client.echoes - from;
  const seconds = (performance.now() - started) / 1000;
  await client.stop();
  return { rate: echoes / seconds, upPerMessage: report.read / report.echoed, downPerMessage: report.written / report.echoed };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function memory(server: Server): Promise<Record<string, { heap: number; rss: number }>> {
  const url = `ws://127.0.0.1:${server.port}`;
  const payload = Buffer.alloc(16, 7);
  const per = (after: Memory, before: Memory): { heap: number; rss: number } => ({
    heap: (after.heapUsed - before.heapUsed) / MEMORY_N,
    rss: (after.rss - before.rss) / MEMORY_N,
  });
  const out: Record<string, { heap: number; rss: number }> = {};

  // Plain connections, each having echoed one message.
  let before = await server.ask<Memory>('memory');
  const plain: WebSocket[] = [];
  for (let i = 0; i < MEMORY_N; i++) {
    const ws = new WebSocket(url);
    plain.push(ws);
    ws.once('open', () => ws.send(payload));
  }
  await Promise.all(plain.map((ws) => new Promise((resolve) => ws.once('message', resolve))));
  await until(async () => (await server.ask<Memory>('memory')).clients === MEMORY_N, 30_000, 'plain connections');
  out['plain connection'] = per(await server.ask<Memory>('memory'), before);
  for (const ws of plain) ws.terminate();
  await until(async () => (await server.ask<Memory>('memory')).clients === 0, 30_000, 'plain connections to close');

  // Sessions, each having echoed one message, both acknowledged (the server's acknowledgement
  // of the echo goes out after ackDelay, 100 ms).
  before = await server.ask<Memory>('memory');
  const sessions: ReconnectingWebSocket[] = [];
  const echoed: Array<Promise<unknown>> = [];
  const acked: Array<Promise<void>> = [];
  for (let i = 0; i < MEMORY_N; i++) {
    const rws = new ReconnectingWebSocket(url, { session: true, maxAttempts: 0 });
    rws.on('error', () => {});
    sessions.push(rws);
    echoed.push(new Promise((resolve) => rws.once('message', resolve)));
    acked.push(rws.send(payload));
  }
  await Promise.all([...echoed, ...acked]);
  await until(async () => (await server.ask<Memory>('memory')).connected === MEMORY_N, 30_000, 'sessions');
  await delay(300);
  out['session, connected'] = per(await server.ask<Memory>('memory'), before);

  // The same sessions away: their connections gone, the sessions held for resumption.
  for (const rws of sessions) rws.socket?.terminate();
  await until(async () => {
    const m = await server.ask<Memory>('memory');
    return m.clients === 0 && m.connected === 0;
  }, 30_000, 'sessions to go away');
  const away = await server.ask<Memory>('memory');
  if (away.sessions !== MEMORY_N) throw new Error(`expected ${MEMORY_N} sessions away, the server holds ${away.sessions}`);
  out['session, away'] = per(away, before);
  return out;
}

async function main(): Promise<void> {
  const server = await Server.start();
  console.log(`sessions vs plain: ${ROUNDS} round(s) of ${WARMUP} ms warm-up + ${WINDOW} ms, 1 connection, ${IN_FLIGHT} in flight, binary; Node ${process.version}`);
  const kinds: Kind[] = ['WebSocket', 'ReconnectingWebSocket', 'session'];
  const rows: string[] = ['| message | client | echoed msg/s | bytes on the wire per message, client→server | server→client |', '| --- | --- | --- | --- | --- |'];
  for (const size of [16, 1024]) {
    const runs = new Map<Kind, Run[]>(kinds.map((k) => [k, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of kinds) runs.get(kind)?.push(await run(server, kind, size));
    }
    for (const kind of kinds) {
      const r = runs.get(kind) ?? [];
      const label = kind === 'session' ? 'ReconnectingWebSocket, session' : kind;
      rows.push(
        `| ${size === 16 ? '16 B' : '1 KiB'} | ${label} | ${Math.round(median(r.map((x) => x.rate))).toLocaleString('en')} | ${median(r.map((x) => x.upPerMessage)).toFixed(2)} | ${median(r.map((x) => x.downPerMessage)).toFixed(2)} |`,
      );
    }
  }
  console.log(rows.join('\n'));
  const mem = await memory(server);
  console.log(`\nserver memory per connection, ${MEMORY_N} of each (heap used after GC; RSS):`);
  console.log('| | heap | RSS |\n| --- | --- | --- |');
  for (const [what, m] of Object.entries(mem)) console.log(`| ${what} | ${(m.heap / 1024).toFixed(2)} kB | ${(m.rss / 1024).toFixed(2)} kB |`);
  server.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
