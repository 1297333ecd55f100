/**
 * Helpers of the cluster tests: server processes (fixture-server.ts) driven over IPC, clients
 * that record what they receive, and the counting of sent / received / lost / duplicated.
 * Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from '../../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixture-server.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type ClientKind = 'redis' | 'ioredis' | 'redis-v4' | 'ioredis-v5';

export interface FixtureConfig {
  redisUrl: string;
  client: ClientKind;
  options?: Record<string, unknown>;
  username?: string;
  password?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every 20 ms until it holds or `ms` passed; returns whether it held. */
export async function eventually(predicate: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await predicate()) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

/**
 * A test server in a child process, driven over IPC: commands answered by replies (`call`),
 * and the events it reports. Started by {@link ServerProcess.launch}, which waits (bounded) for
 * its `ready` event.
 */
export class ServerProcess {
  readonly events: Array<Record<string, unknown>> = [];
  port = 0;
  stderr = '';
  private nextId = 0;
  private readonly replies = new Map<number, (m: Record<string, unknown>) => void>();
  private exited = false;

  protected constructor(readonly proc: ChildProcess) {
    proc.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    proc.on('message', (raw) => {
      const m = raw as Record<string, unknown>;
      if (typeof m.reply === 'number') {
        this.replies.get(m.reply)?.(m);
        this.replies.delete(m.reply);
      } else this.events.push(m);
    });
    proc.on('exit', () => {
      this.exited = true;
      for (const r of this.replies.values()) r({ error: 'exited' });
      this.replies.clear();
    });
  }

  /**
   * Runs `script` with `config` (in the FIXTURE environment variable), wraps it with `wrap` and
   * waits up to `ms` for its `ready` event, whose `port` it takes; kills it and throws if none came.
   */
  protected static async launch<P extends ServerProcess>(
    script: string,
    config: unknown,
    wrap: (proc: ChildProcess) => P,
    ms: number,
  ): Promise<{ server: P; ready: Record<string, unknown> }> {
    const proc = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env: { ...process.env, FIXTURE: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const server = wrap(proc);
    const ok = await eventually(() => server.exited || server.events.some((e) => e.event === 'ready'), ms);
    const ready = server.events.find((e) => e.event === 'ready');
    if (!ok || ready === undefined) {
      proc.kill('SIGKILL');
      throw new Error(`${script} did not start: ${server.stderr}`);
    }
    server.port = Number(ready.port);
    return { server, ready };
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Sends a command and waits (bounded) for its reply. */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}, ms = 10_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error('fixture exited'));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`fixture ${op}: no reply within ${ms} ms`));
      }, ms);
      this.replies.set(id, (m) => {
        clearTimeout(timer);
        if (m.error !== undefined) reject(new Error(String(m.error)));
        else resolve(m.result as T);
      });
      this.proc.send({ op, id, ...args });
    });
  }

  /** The events named `name` so far. */
  eventsNamed(name: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.event === name);
  }

  /** SIGKILL: the server dies without saying goodbye, its writes in flight with it. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGKILL');
    await Promise.race([exited, sleep(5000)]);
  }

  /** A graceful close, then SIGKILL if it did not exit. */
  async stop(): Promise<void> {
    if (this.exited) return;
    await this.call('close', {}, 5000).catch(() => undefined);
    await eventually(() => this.exited, 2000);
    await this.kill();
  }
}

/** One cluster server process (fixture-server.ts). */
export class Fixture extends ServerProcess {
  serverId = '';

  static async start(config: FixtureConfig): Promise<Fixture> {
    const { server, ready } = await ServerProcess.launch(FIXTURE, config, (proc) => new Fixture(proc), 20_000);
    server.serverId = String(ready.serverId);
    return server;
  }
}

/** A client connected to a fixture, recording every message. */
export class Receiver {
  readonly texts: string[] = [];
  readonly binaries: string[] = [];
  id = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = (data as Buffer).toString();
      if (isBinary) this.binaries.push(text);
      else if (this.id === '' && text.startsWith('id:')) this.id = text.slice(3);
      else this.texts.push(text);
    });
    ws.on('error', () => {});
  }

  static async connect(fixture: Fixture, query = ''): Promise<Receiver> {
    const ws = await WebSocket.connect(`ws://127.0.0.1:${fixture.port}/${query === '' ? '' : `?${query}`}`, {
      signal: AbortSignal.timeout(5000),
    });
    const receiver = new Receiver(ws);
    await eventually(() => receiver.id !== '', 5000);
    return receiver;
  }

  /** Messages with this tag (`<tag>:<i>`), in arrival order, as numbers. */
  seqs(tag: string): number[] {
    const prefix = `${tag}:`;
    return this.texts.filter((t) => t.startsWith(prefix)).map((t) => Number(t.slice(prefix.length)));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Sent / received / lost / duplicated for one tag at one receiver, and whether order was kept. */
export interface Count {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  inOrder: boolean;
}

export function count(receiver: Receiver, tag: string, sent: number): Count {
  const seqs = receiver.seqs(tag);
  const unique = new Set(seqs);
  let inOrder = true;
  for (let i = 1; i < seqs.length; i++) if ((seqs[i] as number) <= (seqs[i - 1] as number)) inOrder = false;
  return { sent, received: seqs.length, lost: sent - unique.size, duplicated: seqs.length - unique.size, inOrder };
}

/** Sums counts. */
export function total(counts: Count[]): Count {
  return counts.reduce(
    (a, c) => ({
      sent: a.sent + c.sent,
      received: a.received + c.received,
      lost: a.lost + c.lost,
      duplicated: a.duplicated + c.duplicated,
      inOrder: a.inOrder && c.inOrder,
    }),
    { sent: 0, received: 0, lost: 0, duplicated: 0, inOrder: true },
  );
}

/** Prints a fault test's count (collected for the README). */
export function report(name: string, c: Count, extra: Record<string, unknown> = {}): void {
  console.log(`[cluster-fault] ${name}: ${JSON.stringify({ ...c, ...extra })}`);
}
