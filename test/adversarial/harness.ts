/**
 * The adversarial suite's harness: the code under attack runs in a child process (fixture/),
 * and the runner plays the attacker on 127.0.0.1. Every wait is bounded; every child is killed
 * at cleanup.
 *
 * Sizes: `ADVERSARIAL=full` (`npm run test:adversarial`) runs each attack at full size; without
 * it (`npm test`, CI) a reduced size of each. `ADVERSARIAL_WS=1` also runs each attack against
 * `ws` for comparison (the default with `full`; `ADVERSARIAL_WS=0` turns it off); its numbers
 * are recorded, never asserted. `ADVERSARIAL_REPORT=<file>` appends every measurement to that
 * file as a JSON line (see run.ts). `ADVERSARIAL_CONNECTIONS` sets the idle-connection count..
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { ClientConfig, ClientState } from './fixture/client.js';
import type { Probe } from './fixture/ipc.js';
import type { ServerConfig, ServerState } from './fixture/server.js';
import { closePayload, onCleanup, Op, RawClient } from '../node/helpers.js';

export type { ClientState, Probe, ServerState };

// ---- sizes -----------------------------------------------------------------------------------

/** Full sizes (`ADVERSARIAL=full`) or the reduced ones that CI runs. */
export const FULL = process.env.ADVERSARIAL === 'full';

/** Whether to run each attack against `ws` too, for the record. */
export const COMPARE_WS = process.env.ADVERSARIAL_WS === undefined ? FULL : process.env.ADVERSARIAL_WS === '1';

/** The reduced or the full value. */
export function pick<T>(reduced: T, full: T): T {
  return FULL ? full : reduced;
}

export const MiB = 1024 * 1024;

/** Both server modes: our own HTTP front (`port`) and attached to node:http (`server`). */
export const MODES = ['port', 'server'] as const;
export type Mode = (typeof MODES)[number];
/**
 * The modes for attacks made after the handshake (floods of frames, output to a peer that never
 * reads): both modes hand the socket to the same connection code, so the reduced size runs them
 * with `port` only, the full size with both.
 */
export const AFTER_HANDSHAKE_MODES: readonly Mode[] = FULL ? MODES : ['port'];
export type Impl = 'ours' | 'ws';

// ---- bounded waits ---------------------------------------------------------------------------

/** Rejects when `promise` has not settled within `ms`. */
export function bounded<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${label}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `read` until `done(value)` holds; rejects after `ms` with the last value in the message. */
export async function pollUntil<T>(read: () => Promise<T> | T, done: (value: T) => boolean, ms: number, label: string, every = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${label} (last: ${JSON.stringify(value)})`);
    await sleep(every);
  }
}

// ---- child processes -------------------------------------------------------------------------

/** Who kills a child: the test's cleanup, or the file's (`afterAll(killFileChildren)`). */
export type Scope = 'test' | 'file';
const fileScoped = new Set<() => void>();

/** Kills the children started with `scope: 'file'`; call it from `afterAll`. */
export function killFileChildren(): void {
  for (const kill of fileScoped) kill();
  fileScoped.clear();
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixture');
const ROOT = join(FIXTURES, '..', '..', '..');

/** How long a child may take to start (tsx compiles the sources first; the machine may be busy). */
const START_TIMEOUT = 30_000;
/** How long a request to a child may take (a flood may keep its event loop busy). */
export const REQUEST_TIMEOUT = 20_000;

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A fixture process: spawn, ask over IPC, watch for an unexpected exit, kill. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private output = '';
  /** Exit code and signal once the process ended. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private killing = false;

  private constructor(
    readonly kind: string,
    readonly proc: ChildProcess,
    /** What the fixture reported when ready (e.g. `port`). */
    readonly info: Record<string, unknown>,
  ) {}

  /**
   * Starts `fixture/<kind>.ts` with `config` and waits for it to report ready. Killed at the
   * test's cleanup (`runCleanups`), or with `scope: 'file'` by {@link killFileChildren}.
   */
  static async spawn(kind: 'server' | 'client' | 'dialer', config: unknown = {}, scope: Scope = 'test'): Promise<Child> {
    const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(FIXTURES, `${kind}.ts`), JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    const keep = (data: Buffer): void => {
      output = (output + data.toString()).slice(-8000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const kill = (): void => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    };
    if (scope === 'test') onCleanup(kill);
    else fileScoped.add(kill);
    const info = await bounded(
      new Promise<Record<string, unknown>>((resolve, reject) => {
        proc.on('message', (m: { type?: string }) => {
          if (m.type === 'ready') resolve(m as Record<string, unknown>);
        });
        proc.once('exit', (code, signal) => reject(new Error(`${kind} fixture exited (${code ?? signal}) before it was ready:\n${output}`)));
      }),
      START_TIMEOUT,
      `${kind} fixture ready`,
    ).catch((err: unknown) => {
      proc.kill('SIGKILL');
      throw err;
    });
    const child = new Child(kind, proc, info);
    child.output = output;
    proc.stdout?.off('data', keep);
    proc.stderr?.off('data', keep);
    proc.stdout?.on('data', (d: Buffer) => child.keep(d));
    proc.stderr?.on('data', (d: Buffer) => child.keep(d));
    proc.on('message', (m: Reply & { type?: string }) => {
      if (typeof m.id === 'number') {
        const resolve = child.pending.get(m.id);
        child.pending.delete(m.id);
        resolve?.(m);
      }
    });
    proc.on('exit', (code, signal) => {
      child.exit = { code, signal };
      for (const resolve of child.pending.values()) resolve({ id: -1, ok: false, error: `the ${kind} fixture exited (${code ?? signal})` });
      child.pending.clear();
    });
    return child;
  }

  /** Starts a server fixture; resolves with it and its port. */
  static async server(config: ServerConfig, scope: Scope = 'test'): Promise<ServerChild> {
    const child = await Child.spawn('server', config, scope);
    return Object.assign(child, { port: child.info.port as number }) as ServerChild;
  }

  /** Starts a client fixture (the client under attack). */
  static client(config: ClientConfig): Promise<Child> {
    return Child.spawn('client', config);
  }

  private keep(data: Buffer): void {
    this.output = (this.output + data.toString()).slice(-8000);
  }

  /** The last lines the child wrote (stdout and stderr), for failure messages. */
  get tail(): string {
    return this.output;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.exit === null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Sends a command and resolves with its result; rejects on error, exit or after `ms`. */
  async request<T>(cmd: string, args?: unknown, ms = REQUEST_TIMEOUT): Promise<T> {
    if (!this.alive) throw new Error(`the ${this.kind} fixture is not running (${JSON.stringify(this.exit)}):\n${this.tail}`);
    const id = this.nextId++;
    const reply = await bounded(
      new Promise<Reply>((resolve) => {
        this.pending.set(id, resolve);
        this.proc.send({ id, cmd, args });
      }),
      ms,
      `${this.kind} fixture: ${cmd}`,
    ).finally(() => this.pending.delete(id));
    if (!reply.ok) throw new Error(`${this.kind} fixture, ${cmd}: ${reply.error}\n${this.tail}`);
    return reply.result as T;
  }

  probe(gc = false): Promise<Probe> {
    return this.request<Probe>('probe', { gc });
  }

  /** Collects garbage and starts a new RSS peak; resolves with the reading that is the baseline. */
  baseline(): Promise<Probe> {
    return this.request<Probe>('resetPeak');
  }

  /** Peak RSS since `base` minus its RSS, in bytes. */
  async growth(base: Probe): Promise<{ growth: number; now: Probe }> {
    const now = await this.probe();
    return { growth: now.peakRss - base.rss, now };
  }

  /** Fails the test when the child exited or does not answer. */
  async expectAlive(): Promise<void> {
    expect(this.alive, `the ${this.kind} fixture died (${JSON.stringify(this.exit)}):\n${this.tail}`).toBe(true);
    await this.probe();
  }

  /** Kills the process and waits (bounded) for it to go. */
  async kill(): Promise<void> {
    if (!this.alive || this.killing) return;
    this.killing = true;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGKILL');
    await bounded(gone, 5000, `${this.kind} fixture exit`).catch(() => undefined);
  }
}

/** A server fixture and its port. */
export interface ServerChild extends Child {
  readonly port: number;
}

/** The server fixture's counters. */
export function serverState(child: Child): Promise<ServerState> {
  return child.request<ServerState>('state');
}

// ---- health checks -------------------------------------------------------------------------

/**
 * A new client is still served: the handshake completes, a ping gets its pong with the same
 * payload, and a close gets its close (RFC 6455 §5.5.2, §5.5.3, §7.1.2). Written by hand
 * (test/node/helpers.ts), so it does not depend on the code under test.
 */
export async function expectFreshClient(port: number, ms = 10_000): Promise<void> {
  const raw = await bounded(RawClient.open(port), ms, 'fresh client handshake');
  raw.sendFrame({ opcode: Op.Ping, payload: 'fresh' });
  const pong = await raw.readFrame(ms);
  expect([pong.opcode, pong.payload.toString()]).toEqual([Op.Pong, 'fresh']);
  raw.sendFrame({ opcode: Op.Close, payload: closePayload(1000) });
  const close = await raw.readUntilClose(ms);
  expect(close.code).toBe(1000);
  raw.destroy();
}

/** The server fixture is alive and still serves a fresh client. */
export async function expectServing(child: ServerChild): Promise<void> {
  await child.expectAlive();
  await expectFreshClient(child.port);
}

// ---- the record ------------------------------------------------------------------------------

/** One measurement of an attack, for the side-by-side table. */
export interface Measurement {
  attack: string;
  impl: Impl;
  mode?: Mode | 'client';
  /** What was sent: e.g. "500,000 pings". */
  size: string;
  /** Peak RSS growth of the process under attack, bytes. */
  growth: number;
  /** What happened: status, close code, error code. */
  outcome: string;
  /** The bound asserted (ours only), bytes. */
  bound?: number;
}

/** Bytes as signed MiB with one decimal: "+12.3 MiB". */
export function mib(bytes: number): string {
  return `${bytes < 0 ? '-' : '+'}${(Math.abs(bytes) / MiB).toFixed(1)} MiB`;
}

/** Logs a measurement and appends it to `ADVERSARIAL_REPORT` when set. */
export function record(m: Measurement): void {
  const line = `[adversarial] ${m.attack} | ${m.mode ?? ''} | ${m.impl} | ${m.size} | ${mib(m.growth)}${
    m.bound === undefined ? '' : ` (bound ${(m.bound / MiB).toFixed(0)} MiB)`
  } | ${m.outcome}`;
  console.log(line);
  const file = process.env.ADVERSARIAL_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify({ ...m, full: FULL })}\n`);
}

/** Asserts peak RSS growth under `bound` (ours), and records it. */
export function expectGrowthBelow(m: Measurement & { bound: number }): void {
  record(m);
  expect(m.growth, `peak RSS growth of ${m.attack} (${m.mode ?? ''}): ${(m.growth / MiB).toFixed(1)} MiB`).toBeLessThan(m.bound);
}

/** Counts as "1,234,567". */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
