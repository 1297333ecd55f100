/**
 * The reconnecting client's policy, free of any platform: its states, the backoff between
 * attempts, the bounded queue of sends made while disconnected, the `onConnect` hook, and the
 * rules for when to stop (an application close, a final close code, too many attempts). It
 * drives connections only through a {@link PolicyHost}, so that the Node client
 * (reconnecting-websocket.ts, on our WebSocket) and a browser client (on the browser's own
 * WebSocket) share one implementation.
 *
 * @module
 */
import { Backoff, type BackoffOptions } from './backoff.js';
import { ReconnectError } from './errors.js';
import { type QueuedMessage, SendQueue, type SendQueueOptions } from './send-queue.js';

/** A close code, or an inclusive range `[from, to]` of close codes. */
export type CloseCodeRule = number | readonly [number, number];

/** What the `onConnect` hook is told about the connection that just opened. */
export interface ConnectInfo {
  /** `false` for the first connection, `true` for every later one. */
  reconnect: boolean;
  /** Failed attempts counted by the backoff before this connection (0 after a reset). */
  attempt: number;
}

/** Default of the `resetAfter` option (milliseconds). */
export const DEFAULT_RESET_AFTER = 5000;
/** Default of the `finalCloseCodes` option: policy violation and application codes. */
export const DEFAULT_FINAL_CLOSE_CODES: readonly CloseCodeRule[] = [1008, [4000, 4999]];

/** Whether `code` matches one of `rules`. */
export function matchesCloseCode(code: number, rules: readonly CloseCodeRule[]): boolean {
  return rules.some((rule) => (typeof rule === 'number' ? rule === code : code >= rule[0] && code <= rule[1]));
}

/** The settings of a {@link ReconnectPolicy}. */
export interface PolicyOptions<S> extends BackoffOptions {
  /** Consecutive reconnection attempts before giving up (default `Infinity`). */
  maxAttempts?: number;
  /** A connection open this many milliseconds resets the backoff (default 5,000). */
  resetAfter?: number;
  /** Close codes after which the client stops instead of reconnecting. */
  finalCloseCodes?: readonly CloseCodeRule[];
  /** Bounds of the queue of sends made while disconnected. */
  queue?: SendQueueOptions;
  /** Runs on every connection before the queue is flushed (see ReconnectOptions.onConnect). */
  onConnect?: (socket: S, info: ConnectInfo) => void | Promise<void>;
}

/** The readyState values of a WebSocket, which the policy reads from its sockets. */
const OPEN = 1;
const CONNECTING = 0;

/** What the policy needs of one connection, on any platform. */
export interface PolicySocket {
  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  readonly readyState: number;
  /** Starts the close handshake. */
  close(code?: number, reason?: string): void;
}

/** What the policy needs of its platform. */
export interface PolicyHost<S extends PolicySocket, M> {
  /**
   * Opens a connection and wires its events to {@link ReconnectPolicy.socketOpened} and
   * {@link ReconnectPolicy.socketClosed}. May throw (an invalid URL): the first time, the error
   * reaches the caller; later, it counts as a failed attempt.
   */
  connect(): S;
  /** Gives up on a connection at once (Node: `terminate()`; a browser: `close()`). */
  abort(socket: S): void;
  /** Hands a message to an open connection; `done` says when it was written, or why not. */
  deliver(socket: S, message: M, done: (err?: Error | null) => void): void;
  /** Starts liveness checks of an open connection; returns what stops them. */
  watch?(socket: S, onDead: () => void): () => void;
  /** The application events. */
  opened(socket: S, reconnect: boolean): void;
  reconnecting(attempt: number, delay: number): void;
  closed(code: number, reason: string, willReconnect: boolean): void;
  error(err: Error): void;
}

/** The reconnect state machine; see the module comment. */
export class ReconnectPolicy<S extends PolicySocket, M> {
  private readonly host: PolicyHost<S, M>;
  private readonly options: PolicyOptions<S>;
  private readonly backoff: Backoff;
  private readonly queue: SendQueue<M>;
  private state = CONNECTING;
  private current: S | null = null;
  private stopWatch: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private openedAt: number | null = null;
  private everOpened = false;
  private stopping = false;
  /** A reason of ours for the close being reported (e.g. a heartbeat timeout). */
  private closeNote: string | null = null;

  /** @throws RangeError on invalid backoff or queue settings */
  constructor(host: PolicyHost<S, M>, options: PolicyOptions<S>) {
    this.host = host;
    this.options = options;
    this.backoff = new Backoff(options);
    this.queue = new SendQueue(options.queue);
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    return this.state;
  }

  /** The current connection, if any (open or not). */
  get socket(): S | null {
    return this.current;
  }

  /** Failed attempts counted by the backoff since it was last reset. */
  get attempt(): number {
    return this.backoff.attempt;
  }

  /** Messages waiting in the queue. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  /** Bytes waiting in the queue. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Dials the first connection; its argument errors throw. */
  start(): void {
    this.dial(true);
  }

  /**
   * Sends `message` (of `bytes` bytes) now if connected, or queues it (bounded). Resolves once
   * it was written to a connection; rejects when the queue refuses or drops it, when the client
   * stops, or when the connection it was handed to failed.
   */
  send(message: M, bytes: number): Promise<void> {
    if (this.state >= 2 || this.stopping) return Promise.reject(new ReconnectError('WS_ERR_CLOSED', 'The client is closed'));
    const promise = new Promise<void>((resolve, reject) => {
      const entry: QueuedMessage<M> = { item: message, bytes, resolve, reject };
      const socket = this.current;
      if (this.state === OPEN && socket !== null && socket.readyState === OPEN && this.queue.length === 0) this.handOver(socket, entry);
      else this.queue.push(entry);
    });
    // Fire-and-forget sends are fine: a rejection nobody observes must not crash the process.
    promise.catch(() => {});
    return promise;
  }

  /**
   * Stops for good: cancels a pending reconnection, rejects queued sends (`WS_ERR_CLOSED`) and
   * closes the current connection with `code` and `reason` (already validated by the caller).
   */
  close(code?: number, reason?: string): void {
    if (this.state === 3 || this.stopping) return;
    this.stopping = true;
    this.state = 2;
    this.queue.rejectAll(new ReconnectError('WS_ERR_CLOSED', 'The client was closed'));
    this.clearTimer();
    const socket = this.current;
    if (socket === null) {
      this.finish(code ?? 1005, reason ?? '');
      return;
    }
    if (socket.readyState === OPEN) socket.close(code, reason);
    else if (socket.readyState === CONNECTING) this.host.abort(socket);
    // CLOSING: its close event finishes the client.
  }

  /** Whether `socket` is the current connection (events of older ones are ignored). */
  isCurrent(socket: S): boolean {
    return socket === this.current;
  }

  /** The host reports: `socket` opened. */
  socketOpened(socket: S): void {
    if (socket !== this.current) return;
    this.openedAt = Date.now();
    const watch = this.host.watch;
    if (watch !== undefined) this.stopWatch = watch.call(this.host, socket, () => this.onDead(socket));
    const info: ConnectInfo = { reconnect: this.everOpened, attempt: this.backoff.attempt };
    this.everOpened = true;
    const hook = this.options.onConnect;
    if (hook === undefined) {
      this.ready(socket, info.reconnect);
      return;
    }
    let result: void | Promise<void>;
    try {
      result = hook(socket, info);
    } catch (err) {
      this.onHookFailure(socket, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.ready(socket, info.reconnect),
        (err: unknown) => this.onHookFailure(socket, err),
      );
    } else {
      this.ready(socket, info.reconnect);
    }
  }

  /** The host reports: `socket` closed with `code` and `reason`. */
  socketClosed(socket: S, code: number, wireReason: string): void {
    if (socket !== this.current) return;
    this.current = null;
    this.stopWatch?.();
    this.stopWatch = null;
    const reason = this.closeNote ?? wireReason;
    this.closeNote = null;
    const openedAt = this.openedAt;
    this.openedAt = null;
    if (this.stopping) {
      this.finish(code, reason);
      return;
    }
    if (openedAt !== null && matchesCloseCode(code, this.options.finalCloseCodes ?? DEFAULT_FINAL_CLOSE_CODES)) {
      this.stopping = true;
      this.finish(code, reason);
      return;
    }
    // A connection that stayed up long enough proves the server healthy again.
    if (openedAt !== null && Date.now() - openedAt >= (this.options.resetAfter ?? DEFAULT_RESET_AFTER)) this.backoff.reset();
    this.retry(code, reason, openedAt !== null);
  }

  private dial(first: boolean): void {
    this.timer = null;
    let socket: S;
    try {
      this.current = null;
      socket = this.host.connect();
    } catch (err) {
      if (first) throw err;
      this.host.error(err as Error);
      this.retry(1006, '');
      return;
    }
    this.current = socket;
    this.openedAt = null;
  }

  /** The hook is done: flush the queue in order, then go OPEN. */
  private ready(socket: S, reconnect: boolean): void {
    if (socket !== this.current || socket.readyState !== OPEN || this.stopping) return;
    for (let entry = this.queue.shift(); entry !== undefined; entry = this.queue.shift()) this.handOver(socket, entry);
    this.state = OPEN;
    this.host.opened(socket, reconnect);
  }

  private handOver(socket: S, entry: QueuedMessage<M>): void {
    this.host.deliver(socket, entry.item, (err) => {
      if (err) entry.reject(err);
      else entry.resolve();
    });
  }

  private onHookFailure(socket: S, err: unknown): void {
    if (socket !== this.current) return;
    this.host.error(new ReconnectError('WS_ERR_ON_CONNECT', 'The onConnect hook failed', { cause: err }));
    if (socket.readyState === OPEN) socket.close(1011, 'onConnect failed');
    else this.host.abort(socket);
  }

  private onDead(socket: S): void {
    if (socket !== this.current) return;
    this.closeNote = 'heartbeat timeout';
    this.host.error(new ReconnectError('WS_ERR_HEARTBEAT_TIMEOUT', 'No pong within the heartbeat timeout'));
    this.host.abort(socket);
  }

  /** Schedules the next attempt, or stops when the attempts are exhausted. */
  private retry(code: number, reason: string, wasOpen = false): void {
    if (this.backoff.attempt >= (this.options.maxAttempts ?? Infinity)) {
      this.stopping = true;
      this.finish(code, reason);
      return;
    }
    this.state = CONNECTING;
    if (wasOpen) this.host.closed(code, reason, true);
    if (this.stopping) return;
    const delay = this.backoff.next();
    this.host.reconnecting(this.backoff.attempt, delay);
    if (this.stopping) return;
    this.timer = setTimeout(() => this.dial(false), delay);
  }

  private finish(code: number, reason: string): void {
    this.clearTimer();
    this.state = 3;
    this.queue.rejectAll(new ReconnectError('WS_ERR_CLOSED', `The client stopped (close code ${code})`));
    this.host.closed(code, reason, false);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
