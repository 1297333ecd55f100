/**
 * The side channel every benchmark server shares with the runner: an IPC "ready" message once it
 * listens, and on request a stats snapshot (RSS after an optional GC, CPU time, connection counts).
 *
 * Stats travel over IPC rather than the socket under test so that measuring never adds WebSocket
 * traffic, and so a server can be asked for its RSS while 10,000 idle connections sit on it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Counters a server keeps up to date; the runner reads them through {@link startControl}. */
export interface Counters {
  /** Connections upgraded since start (handshake scenario: accepted per second). */
  accepted: number;
  /** Connections currently open (memory scenario: wait until all idle connections arrived). */
  open: number;
  /** 'error' events seen on connections; a healthy run has none. */
  errors: number;
  /** The first error message, to say precisely what went wrong. */
  firstError: string;
}

/** A snapshot sent to the runner in reply to `{ type: 'stats' }`. */
export interface StatsMessage extends Counters {
  type: 'stats';
  /** Server-side monotonic clock, ms: CPU% is computed against this, not the runner's clock. */
  atMs: number;
  rss: number;
  heapUsed: number;
  external: number;
  maxRssKb: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

/** Sent once the server listens. `info` carries implementation details (e.g. which addons loaded). */
export interface ReadyMessage {
  type: 'ready';
  port: number;
  pid: number;
  fdLimit: number | null;
  info: Record<string, unknown>;
}

/** Returns a fresh counter set. */
export function newCounters(): Counters {
  return { accepted: 0, open: 0, errors: 0, firstError: '' };
}

/** Records a connection error without letting it crash the server (an unhandled 'error' would). */
export function countError(counters: Counters, err: unknown): void {
  counters.errors++;
  if (!counters.firstError) counters.firstError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The soft open-file limit of this process, read from procfs (Node has no getrlimit). */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

/**
 * Answers the runner's stats requests and exits when the runner goes away, so a crashed runner never
 * leaves a server holding a port and a pinned core.
 */
export function startControl(counters: Counters): void {
  if (typeof process.send !== 'function') return;
  process.on('message', (msg: unknown) => {
    if (typeof msg !== 'object' || msg === null || (msg as { type?: unknown }).type !== 'stats') return;
    // --expose-gc is passed by the runner; collecting first makes RSS deltas measure live memory.
    const gc = (globalThis as { gc?: () => void }).gc;
    if ((msg as { gc?: unknown }).gc === true && gc) {
      gc();
      gc();
    }
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const reply: StatsMessage = {
      type: 'stats',
      ...counters,
      atMs: performance.now(),
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      maxRssKb: process.resourceUsage().maxRSS,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
    };
    process.send?.(reply);
  });
  process.on('disconnect', () => process.exit(0));
}

/** Tells the runner the server listens. */
export function sendReady(port: number, info: Record<string, unknown>): void {
  const msg: ReadyMessage = { type: 'ready', port, pid: process.pid, fdLimit: openFileLimit(), info };
  if (typeof process.send === 'function') process.send(msg);
  else console.log(JSON.stringify(msg));
}

/** Reads `--name value` from argv. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v ?? fallback;
}

/**
 * Which of ws's optional addons actually got loaded: ws falls back silently when one is missing or
 * switched off, so the column labels are only true if this says so. Read after ws was imported.
 */
export function loadedAddons(): { bufferutil: boolean; utf8Validate: boolean } {
  const loaded = Object.keys(createRequire(import.meta.url).cache);
  return {
    bufferutil: loaded.some((p) => p.includes('/node_modules/bufferutil/')),
    utf8Validate: loaded.some((p) => p.includes('/node_modules/utf-8-validate/')),
  };
}
