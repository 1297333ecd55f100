/**
 * Detects half-open connections: a ping every `interval` ms, and if no pong has come back
 * within `timeout` ms the connection is declared dead. One timer per connection, re-armed.
 *
 * @module
 */
import type { WebSocket } from '../node/socket/websocket.js';

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /** Milliseconds between pings (the timer restarts when a pong arrives). */
  interval: number;
  /** Milliseconds to wait for the pong before giving up on the connection. */
  timeout: number;
}

/** Pings `ws` periodically and calls `onTimeout` once when a pong is overdue. */
export class Heartbeat {
  private readonly ws: WebSocket;
  private readonly options: HeartbeatOptions;
  private readonly onTimeout: () => void;
  private timer: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private stopped = false;
  private readonly onPong = (): void => {
    if (!this.awaitingPong || this.stopped) return;
    this.awaitingPong = false;
    this.arm(this.options.interval);
  };

  /** @throws RangeError unless `interval` and `timeout` are positive */
  constructor(ws: WebSocket, options: HeartbeatOptions, onTimeout: () => void) {
    if (!(options.interval > 0) || !(options.timeout > 0)) throw new RangeError('Heartbeat interval and timeout must be positive');
    this.ws = ws;
    this.options = options;
    this.onTimeout = onTimeout;
    ws.on('pong', this.onPong);
    this.arm(options.interval);
  }

  /** Stops the timer and the pong listener. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.ws.off('pong', this.onPong);
  }

  private arm(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    if (this.awaitingPong) {
      this.stop();
      this.onTimeout();
      return;
    }
    if (this.ws.readyState !== 1) return;
    this.awaitingPong = true;
    this.ws.ping();
    this.arm(this.options.timeout);
  }
}
