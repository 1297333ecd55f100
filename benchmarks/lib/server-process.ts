/**
 * Starts one echo server as its own process, pinned to a core, with a raised open-file limit and an
 * IPC channel for stats; stops it and reports whether it died on its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Impl } from '../deflate/procs.js';
import type { ReadyMessage, StatsMessage } from '../servers/control.js';
import { pinnedCommand } from './pinning.js';

/** How to launch one server implementation. */
export interface ServerSpec {
  /** Stable id used in the results JSON: 'ours', 'ws', 'ws-noaddons', 'net'. */
  id: string;
  /** Column heading in the table. */
  label: string;
  /** Node arguments after `node --expose-gc`, e.g. ['--import', 'tsx', 'benchmarks/servers/ws-echo.ts', ...]. */
  nodeArgs: string[];
  /** Extra environment (ws's WS_NO_* switches). */
  env: Record<string, string>;
  /**
   * The library behind this column in scenario h, which runs deflate/server.ts instead of the echo
   * server above (with the same `env`). Absent for a server that does not compress: its cell is n/a.
   */
  deflateImpl?: Impl;
  /** The ws6455 bundle this column runs when it is not the current one (`--baseline`). */
  modulePath?: string;
}

/** Asks the kernel for a free loopback port (closed again before the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A running server. Every wait has a timeout so a hung server cannot hang the suite. */
export class ServerProcess {
  private stderrTail = '';
  private exitNote: string | null = null;
  private waiters: Array<(m: StatsMessage) => void> = [];

  private constructor(
    readonly spec: ServerSpec,
    readonly port: number,
    private readonly child: ChildProcess,
    readonly ready: ReadyMessage,
  ) {
    child.on('message', (m: unknown) => {
      if ((m as { type?: unknown }).type === 'stats') this.waiters.shift()?.(m as StatsMessage);
    });
  }

  /** Spawns the server on `cpu` and resolves once it reports it listens (10 s at most). */
  static async start(spec: ServerSpec, cpu: number | null, cwd: string): Promise<ServerProcess> {
    const port = await freePort();
    const argv = [process.execPath, '--expose-gc', ...spec.nodeArgs, '--port', String(port), '--host', '127.0.0.1'];
    const [cmd, ...args] = pinnedCommand(argv, cpu);
    const child = spawn(cmd as string, args, {
      cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let tail = '';
    const keepTail = (d: Buffer): void => {
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
    const ready = await new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${spec.label} did not report 'listening' within 10 s\n${tail}`));
      }, 10_000);
      child.on('message', (m: unknown) => {
        if ((m as { type?: unknown }).type !== 'ready') return;
        clearTimeout(timer);
        resolve(m as ReadyMessage);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${spec.label} exited before listening (code ${code}, signal ${signal})\n${tail}`));
      });
    });
    const sp = new ServerProcess(spec, port, child, ready);
    // From here on, output is kept so a crash mid-run can be reported with its last words.
    child.stdout?.off('data', keepTail);
    child.stderr?.off('data', keepTail);
    sp.stderrTail = tail;
    const keep = (d: Buffer): void => {
      sp.stderrTail = (sp.stderrTail + d.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      sp.exitNote = `exited (code ${code}, signal ${signal})`;
    });
    return sp;
  }

  /** Null while the server runs; otherwise how it ended. */
  get died(): string | null {
    return this.exitNote;
  }

  /** The last 4 kB the server printed (a crash's stack trace lands here). */
  get output(): string {
    return this.stderrTail.trim();
  }

  /** Asks for a stats snapshot; with `gc`, the server collects garbage first. */
  stats(gc = false, timeoutMs = 10_000): Promise<StatsMessage> {
    return new Promise((resolve, reject) => {
      if (this.exitNote) {
        reject(new Error(`${this.spec.label} ${this.exitNote}`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`${this.spec.label} did not answer a stats request within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (m: StatsMessage): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(done);
      this.child.send({ type: 'stats', gc });
    });
  }

  /** SIGTERM, then SIGKILL after 3 s; resolves when the process is gone. */
  async stop(): Promise<void> {
    if (this.exitNote) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}
