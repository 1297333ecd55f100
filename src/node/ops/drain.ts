/**
 * Gradual shutdown for rolling deploys: close a server's connections at a steady rate so that
 * clients reconnect (to other instances) spread over time instead of all at once, then
 * terminate whatever is left at a deadline.
 *
 * @module
 */
import { CloseCode } from '../../core/constants.js';
import { LOCAL_CLOSE_TEXT } from '../io/local-close.js';
import { markLocalClose } from './policy-close.js';
import type { WebSocket } from '../socket/websocket.js';

/** Options of `server.drain()`. */
export interface DrainOptions {
  /**
   * Close code: 1001 (going away, the default) or 1012 (service restart: RFC 6455 §7.4.1 via
   * the IANA registry, "the client should reconnect").
   */
  code?: 1001 | 1012;
  /** Close reason (default `server shutting down`). */
  reason?: string;
  /** Connections closed per second (default: all at once). */
  ratePerSecond?: number;
  /** Milliseconds from now after which every connection left is terminated (default 30,000). */
  deadline?: number;
}

/** What `server.drain()` resolves with. */
export interface DrainResult {
  /** Connections sent a close frame by the drain. */
  closed: number;
  /** Connections still open at the deadline, terminated. */
  terminated: number;
}

/** Default of {@link DrainOptions.deadline} (ms). */
export const DEFAULT_DRAIN_DEADLINE = 30_000;

const CLOSED = 3;
const OPEN = 1;

/** One drain in progress. @internal */
export class Drain {
  private readonly list: WebSocket[];
  private readonly live: ReadonlySet<WebSocket>;
  private readonly code: number;
  private readonly reason: string;
  private readonly rate: number;
  private readonly deadline: number;
  private readonly started = Date.now();
  private next = 0;
  private closed = 0;
  private terminated = 0;
  private timer: NodeJS.Timeout | null = null;
  private resolve: ((result: DrainResult) => void) | null = null;
  /** Resolves once every connection has closed. */
  readonly done: Promise<DrainResult>;

  /** @throws RangeError or TypeError on invalid options */
  constructor(live: ReadonlySet<WebSocket>, options: DrainOptions = {}) {
    const code = options.code ?? CloseCode.GoingAway;
    if (code !== CloseCode.GoingAway && code !== CloseCode.ServiceRestart) throw new RangeError('drain code must be 1001 or 1012');
    const rate = options.ratePerSecond ?? Infinity;
    if (!(rate > 0)) throw new RangeError('drain ratePerSecond must be positive');
    const deadline = options.deadline ?? DEFAULT_DRAIN_DEADLINE;
    if (!(deadline >= 0)) throw new RangeError('drain deadline must be a non-negative number of milliseconds');
    this.live = live;
    this.list = [...live];
    this.code = code;
    this.reason = options.reason ?? LOCAL_CLOSE_TEXT.shutdown;
    this.rate = rate;
    this.deadline = deadline;
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
    const step = rate === Infinity ? 1000 : Math.min(1000, Math.max(10, Math.floor(1000 / rate)));
    this.timer = setInterval(() => this.tick(), Math.min(step, Math.max(10, deadline)));
    this.timer.unref();
    this.tick();
  }

  /** Closes what is due, terminates at the deadline, and finishes when nothing is left. */
  tick(): void {
    if (this.resolve === null) return;
    const elapsed = Date.now() - this.started;
    // The first close goes at once; then `rate` per second.
    const due = this.rate === Infinity ? Infinity : Math.floor((this.rate * elapsed) / 1000) + 1;
    const list = this.list;
    while (this.closed < due && this.next < list.length) {
      const ws = list[this.next++] as WebSocket;
      if (ws.readyState !== OPEN) continue;
      markLocalClose(ws, 'shutdown');
      ws.close(this.code, this.reason);
      this.closed++;
    }
    if (elapsed >= this.deadline) {
      for (const ws of this.live) {
        if (ws.readyState === CLOSED) continue;
        markLocalClose(ws, 'shutdown');
        ws.terminate();
        this.terminated++;
      }
      this.next = list.length;
    }
    this.check();
  }

  /** Finishes the drain when no connection is left; call it when one closes. */
  check(): void {
    if (this.resolve === null || this.live.size > 0) return;
    for (const ws of this.list) if (ws.readyState !== CLOSED) return;
    const resolve = this.resolve;
    this.resolve = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    resolve({ closed: this.closed, terminated: this.terminated });
  }
}
