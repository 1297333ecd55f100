/**
 * The echo server of the deflate benchmarks, one process per measurement, for ws6455 or `ws`,
 * both with `perMessageDeflate: true` (default parameters) and the same echo handler. The runner
 * talks to it over IPC only, so measuring adds no traffic to the sockets under test.
 *
 *   node --expose-gc --import tsx benchmarks/deflate/server.ts --impl ours|ws [--module /abs/index.js] [--track-zlib]
 *
 * Requests (`{ id, cmd }`) and replies (`{ id, ... }`):
 * - `stats` (`gc: true` collects first, three times with pauses so zlib handles closed meanwhile
 *   are finalised): memory, CPU time, connection counters, live zlib handles, and the peaks
 *   sampled every 20 ms since the last `peak-reset`.
 * - `peak-reset`.
 *
 * `--track-zlib` counts zlib handles alive (created and not yet destroyed by the garbage
 * collector) with an async_hooks hook; it costs a little per asynchronous resource, so the
 * throughput benchmark leaves it off.
 */
import { createHook } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import { loadedAddons } from '../servers/control.js';
import type { DeflateServerStats } from './procs.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return process.argv[i + 1] !== undefined && i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

interface SocketLike {
  on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'close', cb: () => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  send(data: Buffer, opts: { binary: boolean }): void;
}
interface ServerLike {
  on(event: 'connection', cb: (ws: SocketLike) => void): unknown;
  on(event: 'listening', cb: () => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  address(): unknown;
}
type ServerCtor = new (opts: { port: number; host: string; maxPayload: number; perMessageDeflate: boolean }) => ServerLike;

const impl = arg('impl', 'ws');
const trackZlib = process.argv.includes('--track-zlib');

let zlibCreated = 0;
const zlibLive = new Set<number>();
if (trackZlib) {
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
}

async function load(): Promise<ServerCtor> {
  if (impl === 'ws') return (await import('ws')).WebSocketServer as unknown as ServerCtor;
  const modulePath = arg('module', '');
  if (!modulePath) throw new Error('--module is required for --impl ours');
  const mod = (await import(pathToFileURL(modulePath).href)) as { WebSocketServer?: unknown };
  if (typeof mod.WebSocketServer !== 'function') throw new Error(`${modulePath} exports no WebSocketServer`);
  return mod.WebSocketServer as ServerCtor;
}

const counters = { accepted: 0, open: 0, errors: 0, closed: 0, firstError: '' };
const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };

function samplePeak(): void {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.external = Math.max(peak.external, m.external);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
}
setInterval(samplePeak, 20).unref();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  // Three rounds: a zlib handle's memory goes with its close, but the handle object (and the
  // destroy hook that counts it) only with a GC after the close callbacks ran.
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(30);
  }
}

async function stats(gc: boolean): Promise<DeflateServerStats> {
  if (gc) await collect();
  samplePeak();
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    atMs: performance.now(),
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    peak: { ...peak },
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    ...counters,
    zlibLive: trackZlib ? zlibLive.size : null,
    zlibCreated: trackZlib ? zlibCreated : null,
  };
}

process.on('message', (msg: { id: number; cmd: string; gc?: boolean }) => {
  if (msg.cmd === 'stats') {
    void stats(msg.gc === true).then((s) => process.send?.({ id: msg.id, ...s }));
  } else if (msg.cmd === 'peak-reset') {
    const m = process.memoryUsage();
    Object.assign(peak, { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
    process.send?.({ id: msg.id });
  }
});
process.on('disconnect', () => process.exit(0));

const WebSocketServer = await load();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1024 * 1024, perMessageDeflate: true });
wss.on('error', (err) => {
  console.error('server error:', err);
  process.exit(1);
});
wss.on('connection', (ws) => {
  counters.accepted++;
  counters.open++;
  // The echo handler every ws user writes.
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', () => {
    counters.open--;
    counters.closed++;
  });
  ws.on('error', (err) => {
    counters.errors++;
    if (!counters.firstError) counters.firstError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  });
});
wss.on('listening', () => {
  const address = wss.address() as { port: number };
  // The main suite runs ws with and without its addons here too; the runner records which loaded.
  process.send?.({ type: 'ready', port: address.port, pid: process.pid, addons: loadedAddons() });
});
