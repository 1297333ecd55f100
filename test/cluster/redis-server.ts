/**
 * A real redis-server for the cluster tests: started on a free loopback port with persistence
 * off (`--save '' --appendonly no`) in a temporary directory, stopped at the end. Under
 * `CI=true` a missing binary is a failure, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** Whether redis-server can be run here; throws under CI=true when it cannot. */
export function redisAvailable(): boolean {
  if (existsSync(REDIS_SERVER)) return true;
  if (process.env.CI === 'true') throw new Error(`${REDIS_SERVER} is missing: .ci/run installs the redis-server package`);
  return false;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one command in RESP and returns the first reply line (admin use: CONFIG, CLIENT, SHUTDOWN…). */
export function rawCommand(port: number, args: string[], timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(data.slice(0, data.indexOf('\r\n')));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data.split('\r\n')[0] ?? '');
    });
  });
}

/** A running redis-server. */
export class RedisServer {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'ws6455-redis-'));
  log = '';

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port (or `port`). */
  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.launch();
    return server;
  }

  /** (Re)starts the process on the same port; loads `dump.rdb` if a `SHUTDOWN SAVE` left one. */
  async launch(): Promise<void> {
    if (this.proc !== null) throw new Error('redis-server already running');
    const proc = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    proc.stderr?.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    proc.on('exit', () => {
      if (this.proc === proc) this.proc = null;
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await rawCommand(this.port, ['PING'], 500)) === '+PONG') return;
      } catch {
        // not listening yet
      }
      if (this.proc === null) throw new Error(`redis-server exited: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer within 10 s: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends an admin command. */
  command(...args: string[]): Promise<string> {
    return rawCommand(this.port, args);
  }

  /** Stops the process: `SIGKILL` (a crash: data gone) or `SIGTERM`; resolves when it exited. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (proc === null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    this.proc = null;
  }

  /** A graceful restart that keeps the data: `SHUTDOWN SAVE` writes dump.rdb, the new process loads it. */
  async shutdownSave(): Promise<void> {
    const proc = this.proc;
    if (proc === null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await this.command('SHUTDOWN', 'SAVE').catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    this.proc = null;
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
