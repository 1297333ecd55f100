/**
 * Child processes of the deflate benchmarks: the echo server (benchmarks/deflate/server.ts) pinned
 * to core 0 and the load driver (benchmarks/deflate/driver.ts) pinned to core 1, each with the
 * open-file limit raised to the hard limit, both answering requests over IPC. Every request has a
 * deadline, and a child that dies fails its pending requests at once.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { prepareOurs } from '../lib/build-ours.js';
import { canPin, LOADGEN_CPU, pinnedCommand, SERVER_CPU } from '../lib/pinning.js';

/** A snapshot of the server process (see server.ts). */
export interface DeflateServerStats {
  atMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Highest values sampled (every 20 ms) since the last peak reset. */
  peak: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  cpuUserUs: number;
  cpuSystemUs: number;
  accepted: number;
  open: number;
  closed: number;
  errors: number;
  firstError: string;
  /** zlib handles created and not yet collected (null without --track-zlib). */
  zlibLive: number | null;
  zlibCreated: number | null;
}

/** The driver's answer to `mark`: cumulative counters and its own CPU time (see driver.ts). */
export interface DriverMark {
  atMs: number;
  messages: number;
  wireBytesIn: number;
  compressedEchoes: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  errors: number;
}

/** The driver's answer to `echo-start`. */
export interface EchoStartReply {
  opened: number;
  failed: number;
  firstFailure: string;
  error?: string;
}

/** The driver's answer to `echo-stop`. */
export interface EchoStopReply {
  drained: boolean;
  verified: number;
  mismatches: number;
  errors: number;
  firstError: string;
  notClosed: number;
}

/** The two implementations compared. */
export type Impl = 'ours' | 'ws';

/** A child answering `{ id, cmd }` requests with `{ id, ... }`. */
export class Child {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private tail = '';
  exited: string | null = null;

  constructor(
    readonly label: string,
    readonly proc: ChildProcess,
  ) {
    const keep = (d: Buffer): void => {
      this.tail = (this.tail + d.toString()).slice(-3000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('message', (m: { id?: number }) => {
      if (typeof m.id !== 'number') return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      w.resolve(m);
    });
    proc.once('exit', (code, signal) => {
      this.exited = `exited (code ${code}, signal ${signal})`;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error(`${label} ${this.exited}\n${this.output}`));
      }
      this.waiting.clear();
    });
  }

  /** The last output of the child (a crash's stack trace lands here). */
  get output(): string {
    return this.tail.trim();
  }

  /** Sends a request; rejects after `timeoutMs` or when the child dies. */
  request<T>(cmd: string, body: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.exited) {
        reject(new Error(`${this.label} ${this.exited}\n${this.output}`));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.label} did not answer '${cmd}' within ${timeoutMs} ms\n${this.output}`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.proc.send({ id, cmd, ...body });
    });
  }

  /** SIGTERM, SIGKILL after 3 s; resolves when the process is gone. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

/** The child's first message: it listens (server) or takes requests (driver). */
export interface ReadyMessage {
  type?: string;
  port?: number;
  pid: number;
  /** Server only: which optional addons of `ws` got loaded (see server.ts). */
  addons?: { bufferutil: boolean; utf8Validate: boolean };
}

/**
 * Spawns `argv` pinned to `cpu` (open-file limit raised) with an IPC channel, and resolves once
 * the child sent `{ type: 'ready' }` (20 s at most). Also used by benchmarks/http2.ts and the soak.
 */
export function startChild(label: string, argv: string[], cpu: number, cwd: string, env: Record<string, string> = {}): Promise<{ child: Child; ready: ReadyMessage }> {
  const [cmd, ...args] = pinnedCommand(argv, cpu);
  const proc = spawn(cmd as string, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const child = new Child(label, proc);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${label} did not start within 20 s\n${child.output}`));
    }, 20_000);
    const onMessage = (m: ReadyMessage): void => {
      if (m.type !== 'ready') return;
      clearTimeout(timer);
      proc.off('message', onMessage);
      resolve({ child, ready: m });
    };
    proc.on('message', onMessage);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited before it was ready (code ${code}, signal ${signal})\n${child.output}`));
    });
  });
}

/**
 * Where ws6455 is imported from in the server process: a tsup bundle, as benchmarks/run.ts does,
 * or the module named by `WS6455_MODULE` (an absolute path; for trying a change side by side).
 */
export function oursModule(root: string): { path: string; note: string } {
  const override = process.env.WS6455_MODULE;
  if (override) return { path: override, note: `WS6455_MODULE=${override}` };
  const built = prepareOurs(root, 'build');
  if (built.modulePath === null) throw new Error(built.note);
  return { path: built.modulePath, note: built.note };
}

/** A running echo server. */
export interface ServerHandle {
  child: Child;
  port: number;
  pid: number;
  stats(gc?: boolean): Promise<DeflateServerStats>;
  peakReset(): Promise<void>;
  /** Which of ws's addons the server loaded (both false for ours). */
  addons: { bufferutil: boolean; utf8Validate: boolean };
}

/**
 * Starts the echo server for `impl` on the server core. `env` is added to the child's environment
 * (the main suite passes ws's WS_NO_BUFFER_UTIL switches through it).
 */
export async function startServer(
  root: string,
  impl: Impl,
  oursPath: string,
  options: { trackZlib?: boolean; env?: Record<string, string> } = {},
): Promise<ServerHandle> {
  const argv = [process.execPath, '--expose-gc', '--import', 'tsx', join(root, 'benchmarks/deflate/server.ts'), '--impl', impl];
  if (impl === 'ours') argv.push('--module', oursPath);
  if (options.trackZlib) argv.push('--track-zlib');
  const { child, ready } = await startChild(`server ${impl}`, argv, SERVER_CPU, root, options.env);
  return {
    child,
    port: ready.port as number,
    pid: ready.pid,
    addons: ready.addons ?? { bufferutil: false, utf8Validate: false },
    stats: (gc = false) => child.request<DeflateServerStats>('stats', { gc }, 30_000),
    peakReset: async () => {
      await child.request('peak-reset');
    },
  };
}

/** Starts the load driver on the driver core. */
export async function startDriver(root: string): Promise<Child> {
  const argv = [process.execPath, '--expose-gc', '--import', 'tsx', join(root, 'benchmarks/deflate/driver.ts')];
  const { child } = await startChild('driver', argv, LOADGEN_CPU, root);
  return child;
}

/** Machine facts for the JSON and the table header. */
export function machine(root: string): Record<string, unknown> {
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    pinned: canPin(),
    serverCpu: canPin() ? SERVER_CPU : null,
    driverCpu: canPin() ? LOADGEN_CPU : null,
    commit: git(['rev-parse', 'HEAD']),
    dirty: git(['status', '--porcelain']).length > 0,
  };
}

/** Median of numbers (NaN for none). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
