/**
 * The server under test of the soak run, one process, for ws6455 or `ws`: `perMessageDeflate:
 * true` (default parameters; only clients that offer it compress), the echo handler every `ws`
 * user writes, and for ws6455 the heartbeat. It answers the runner over IPC (requests
 * `{ id, cmd }`, replies `{ id, ... }`, as benchmarks/deflate/procs.ts's `Child` expects):
 *
 * - `sample` `{ smaps, gc }`: memory (RSS, V8 heap, `external`), open file descriptors, the
 *   event-loop delay since the last sample, CPU time, message and connection counters, zlib
 *   handles alive, and with `smaps` where resident memory lives (native-memory.ts).
 *
 *   node --expose-gc --import tsx benchmarks/soak/server.ts --impl ours|ws [--module /abs/index.js] [--heartbeat ms] [--drop-every n] [--pool-max-bytes n]
 */
import { createHook } from 'node:async_hooks';
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { readNativeMemory, type NativeMemory } from './native-memory.js';

/** One sample of the server (the reply to `sample`). */
export interface ServerSample {
  atMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  fds: number;
  /** Event-loop delay since the previous sample, ms. */
  loopDelay: { p50: number; p99: number; max: number };
  cpuUserUs: number;
  cpuSystemUs: number;
  accepted: number;
  open: number;
  closed: number;
  messagesIn: number;
  messagesOut: number;
  errors: number;
  firstError: string;
  closeCodes: Record<string, number>;
  /** zlib handles created and not yet collected, and created in all. */
  zlibLive: number;
  zlibCreated: number;
  native: NativeMemory | null;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

interface SocketLike {
  on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'close', cb: (code: number) => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  send(data: Buffer, opts: { binary: boolean }): void;
}
interface ServerLike {
  on(event: 'connection', cb: (ws: SocketLike) => void): unknown;
  on(event: 'listening', cb: () => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  address(): unknown;
}
type ServerCtor = new (opts: Record<string, unknown>) => ServerLike;

const impl = arg('impl', 'ours');
const heartbeat = Number(arg('heartbeat', '0'));
/** Testing the soak itself: leave every Nth message unanswered. */
const dropEvery = Number(arg('drop-every', '0'));
/** ws6455's `perMessageDeflate.poolMaxBytes` (-1: its default). */
const poolMaxBytes = Number(arg('pool-max-bytes', '-1'));

// zlib handles: created, and not yet destroyed by the garbage collector (async_hooks).
let zlibCreated = 0;
const zlibLive = new Set<number>();
createHook({
  init(id, type) {
    if (type !== 'ZLIB') return;
    zlibCreated++;
    zlibLive.add(id);
  },
  destroy(id) {
    zlibLive.delete(id);
  },
}).enable();

const LOOP_RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();

const counters = { accepted: 0, open: 0, closed: 0, messagesIn: 0, messagesOut: 0, errors: 0, firstError: '' };
const closeCodes: Record<string, number> = {};

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  // Three rounds: a zlib handle's memory goes with its close, but the handle object (and the
  // destroy hook that counts it) only with a GC after the close callbacks ran.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 30));
  }
}

async function sample(smaps: boolean, gc: boolean): Promise<ServerSample> {
  if (gc) await collect();
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  // The histogram holds the intervals of a 10 ms timer: the delay is what exceeds 10 ms.
  const late = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  const delay = { p50: late(loop.percentile(50)), p99: late(loop.percentile(99)), max: late(loop.max) };
  loop.reset();
  return {
    atMs: performance.now(),
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    fds: openFds(),
    loopDelay: delay,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    ...counters,
    closeCodes: { ...closeCodes },
    zlibLive: zlibLive.size,
    zlibCreated,
    native: smaps ? readNativeMemory() : null,
  };
}

process.on('message', (msg: { id: number; cmd: string; smaps?: boolean; gc?: boolean }) => {
  if (msg.cmd === 'sample') void sample(msg.smaps === true, msg.gc === true).then((s) => process.send?.({ id: msg.id, ...s }));
  else process.send?.({ id: msg.id, error: `unknown command ${msg.cmd}` });
});
process.on('disconnect', () => process.exit(0));

async function load(): Promise<ServerCtor> {
  if (impl === 'ws') return (await import('ws')).WebSocketServer as unknown as ServerCtor;
  const modulePath = arg('module', '');
  if (!modulePath) throw new Error('--module is required for --impl ours');
  const mod = (await import(pathToFileURL(modulePath).href)) as { WebSocketServer?: unknown };
  if (typeof mod.WebSocketServer !== 'function') throw new Error(`${modulePath} exports no WebSocketServer`);
  return mod.WebSocketServer as ServerCtor;
}

const WebSocketServer = await load();
const options: Record<string, unknown> = {
  port: 0,
  host: '127.0.0.1',
  maxPayload: 1024 * 1024,
  perMessageDeflate: impl === 'ours' && poolMaxBytes >= 0 ? { poolMaxBytes } : true,
};
if (impl === 'ours' && heartbeat > 0) options.heartbeat = { interval: heartbeat, timeout: Math.ceil(heartbeat / 3) };
const wss = new WebSocketServer(options);
wss.on('error', (err) => {
  console.error('server error:', err);
  process.exit(1);
});
wss.on('connection', (ws) => {
  counters.accepted++;
  counters.open++;
  // The echo handler every ws user writes.
  ws.on('message', (data, isBinary) => {
    counters.messagesIn++;
    if (dropEvery > 0 && counters.messagesIn % dropEvery === 0) return;
    counters.messagesOut++;
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code) => {
    counters.open--;
    counters.closed++;
    closeCodes[code] = (closeCodes[code] ?? 0) + 1;
  });
  ws.on('error', (err) => {
    counters.errors++;
    if (!counters.firstError) counters.firstError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  });
});
wss.on('listening', () => {
  const address = wss.address() as { port: number };
  process.send?.({ type: 'ready', port: address.port, pid: process.pid });
});
