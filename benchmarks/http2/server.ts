/**
 * The echo server of the HTTP/2 benchmark, one process per measurement: ws6455 on its own port
 * (`--mode h1`: HTTP/1.1 upgrades, read by our own request-head front) or attached to
 * `http2.createServer()` (`--mode h2c`: WebSockets as streams, RFC 8441, in clear text). The same
 * echo handler either way. The runner talks to it over IPC only.
 *
 *   node --expose-gc --import tsx benchmarks/http2/server.ts --mode h1|h2c --module /abs/index.js
 *
 * Requests (`{ id, cmd }`): `stats` (`gc: true` collects first): memory, CPU time, connection and
 * session counters.
 */
import http2 from 'node:http2';
import { pathToFileURL } from 'node:url';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

interface SocketLike {
  on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'close', cb: () => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  send(data: Buffer, opts: { binary: boolean }): void;
}
interface ServerLike {
  on(event: 'connection', cb: (ws: SocketLike) => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  address(): unknown;
}
type ServerCtor = new (opts: Record<string, unknown>) => ServerLike;

const mode = arg('mode', 'h1');
const modulePath = arg('module', '');
if (!modulePath) throw new Error('--module is required');
const { WebSocketServer } = (await import(pathToFileURL(modulePath).href)) as { WebSocketServer: ServerCtor };

export interface Http2ServerStats {
  rss: number;
  heapUsed: number;
  external: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  accepted: number;
  open: number;
  errors: number;
  sessions: number;
}

const counters = { accepted: 0, open: 0, errors: 0, sessions: 0 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function stats(gc: boolean): Promise<Http2ServerStats> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc && collect) {
    for (let i = 0; i < 3; i++) {
      collect();
      await sleep(30);
    }
  }
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, ...counters };
}

process.on('message', (msg: { id: number; cmd: string; gc?: boolean }) => {
  if (msg.cmd === 'stats') void stats(msg.gc === true).then((s) => process.send?.({ id: msg.id, ...s }));
});
process.on('disconnect', () => process.exit(0));

let wss: ServerLike;
let port: number;
if (mode === 'h2c') {
  const server = http2.createServer();
  server.on('session', () => counters.sessions++);
  wss = new WebSocketServer({ server, maxPayload: 1024 * 1024 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
} else {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1024 * 1024 });
  await new Promise<void>((resolve) => (wss as unknown as { once(e: string, cb: () => void): void }).once('listening', resolve));
  port = (wss.address() as { port: number }).port;
}
wss.on('error', (err) => {
  console.error('server error:', err);
  process.exit(1);
});
wss.on('connection', (ws) => {
  counters.accepted++;
  counters.open++;
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', () => counters.open--);
  ws.on('error', () => counters.errors++);
});
process.send?.({ type: 'ready', port, pid: process.pid });
