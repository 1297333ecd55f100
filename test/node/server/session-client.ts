/**
 * A session client for tests of the server side: the sans-I/O SessionClient on plain
 * WebSockets, dialled by hand so a test decides when connections open, drop and resume.
 */
import { WebSocket, type ClientOptions } from '../../../src/index.js';
import type { SessionConnection } from '../../../src/session/channel.js';
import { SessionClient } from '../../../src/session/client.js';

/** Polls `check` every 2 ms; rejects after `ms` (a bound on the wait, not a timing assertion). */
export function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 2);
    };
    poll();
  });
}

/** A SessionClient on real WebSockets, dialled by hand (connect() once per call). */
export class SessionTestClient {
  readonly received: string[] = [];
  readonly resets: string[] = [];
  ready: Array<{ id: string; resumed: boolean }> = [];
  socket: WebSocket | null = null;
  readonly session: SessionClient;
  private conn: SessionConnection | null = null;

  constructor(
    readonly url: string,
    private readonly cleanups: Array<() => void | Promise<void>>,
    /** Options of every WebSocket it dials (e.g. `http2: true`). */
    private readonly options: ClientOptions = {},
  ) {
    this.session = new SessionClient({
      ackDelay: 5,
      handler: {
        message: (m) => this.received.push(typeof m.data === 'string' ? m.data : Buffer.from(m.data).toString()),
        ready: (info) => this.ready.push(info),
        reset: (err) => this.resets.push(err.code),
        timer: (at) => this.arm(at),
      },
    });
  }

  /** Runs the session's deadlines; a timer may fire a little before `Date.now()` reaches `at`, so re-arm. */
  private arm(at: number): void {
    setTimeout(() => {
      this.session.tick();
      const next = this.session.deadline();
      if (next !== Infinity) this.arm(next);
    }, Math.max(0, at - Date.now())).unref();
  }

  /** Opens a connection offering the session; resolves with the WebSocket once open. */
  async connect(): Promise<WebSocket> {
    const ws = new WebSocket(this.url, this.session.offer(), this.options);
    this.socket = ws;
    this.cleanups.push(() => ws.terminate());
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => this.conn?.receive(data as Buffer, isBinary));
    ws.on('close', () => {
      this.conn?.closed();
      this.conn = null;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        // At once: the server's welcome may be emitted in the same tick as `open`.
        this.conn = this.session.connect({ send: (d, b) => ws.send(d, { binary: b }), close: (c, r) => ws.close(c, r) });
        resolve();
      });
      ws.once('close', (code) => reject(new Error(`closed ${code} before open`)));
    });
    return ws;
  }

  /** Forgets the connection on this side only, as after a network switch the server has not noticed. */
  drop(): void {
    this.conn?.closed();
    this.conn = null;
  }

  /** Terminates the connection and waits for both ends to see it. */
  async cut(): Promise<void> {
    const ws = this.socket;
    if (ws === null) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.terminate();
    await closed;
  }
}

