/**
 * A client that survives disconnections: it redials with backoff, queues sends while it is
 * away, runs a hook on every connection before flushing the queue, and stops for good after an
 * application close, a final close code, or too many failed attempts.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { encodeClosePayload } from '../core/close.js';
import { type SendData, toPayload } from '../node/send-data.js';
import { WebSocket } from '../node/websocket.js';
import type { ClientOptions } from '../node/client-options.js';
import { Backoff } from './backoff.js';
import { ReconnectError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import {
  DEFAULT_FINAL_CLOSE_CODES,
  DEFAULT_RESET_AFTER,
  matchesCloseCode,
  splitReconnectOptions,
  type ReconnectOptions,
  type ReconnectSendOptions,
  type ReconnectingEvents,
} from './options.js';
import { type QueuedMessage, SendQueue } from './send-queue.js';

interface Outgoing {
  payload: Buffer;
  binary: boolean;
  compress: boolean;
}

/**
 * A reconnecting WebSocket client. `readyState` is `CONNECTING` (0) while dialing, waiting to
 * redial or running `onConnect`; `OPEN` (1) when sends go straight to the socket; `CLOSING` (2)
 * after `close()`; `CLOSED` (3) once it stopped for good.
 *
 * Delivery is at most once: a message handed to a socket is never sent again, even when that
 * socket dies before the peer read it (its `send()` promise then rejects).
 */
export class ReconnectingWebSocket extends EventEmitter<ReconnectingEvents> {
  /** The URL dialled on every attempt. */
  readonly url: string;
  private readonly own: ReturnType<typeof splitReconnectOptions>['own'];
  private readonly client: ClientOptions;
  private readonly protocols: string[];
  private readonly backoff: Backoff;
  private readonly queue: SendQueue<Outgoing>;
  private state = 0;
  private current: WebSocket | null = null;
  private heartbeat: Heartbeat | null = null;
  private timer: NodeJS.Timeout | null = null;
  private openedAt: number | null = null;
  private everOpened = false;
  private stopping = false;
  private closeNote: string | null = null;

  /**
   * Dials `url` at once. Argument errors (invalid URL or subprotocol, bad backoff or queue
   * settings) throw here; later failures are retried.
   */
  constructor(url: string | URL, options: ReconnectOptions = {}) {
    super();
    const { own, client } = splitReconnectOptions(options);
    this.url = typeof url === 'string' ? url : url.href;
    this.own = own;
    this.client = client;
    const p = own.protocols;
    this.protocols = p === undefined ? [] : typeof p === 'string' ? [p] : [...p];
    this.backoff = new Backoff(own);
    this.queue = new SendQueue(own.queue);
    if (own.heartbeat && !(own.heartbeat.interval > 0 && own.heartbeat.timeout > 0)) {
      throw new RangeError('Heartbeat interval and timeout must be positive');
    }
    this.dial(true);
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    return this.state;
  }

  /** The current underlying WebSocket, if any (open or not). */
  get socket(): WebSocket | null {
    return this.current;
  }

  /** Failed attempts counted by the backoff since it was last reset. */
  get attempt(): number {
    return this.backoff.attempt;
  }

  /** Messages waiting in the send queue. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  /** Bytes waiting in the send queue plus bytes buffered by the current socket. */
  get bufferedAmount(): number {
    return this.queue.bytes + (this.current?.bufferedAmount ?? 0);
  }

  /**
   * Sends `data` now if connected, or queues it (bounded, see `queue` options). Resolves once
   * the bytes were handed to a socket; rejects when the queue refuses or drops the message,
   * when the client stops, or when the socket it was handed to failed. A rejection that nobody
   * observes is not reported as unhandled.
   */
  send(data: SendData, options: ReconnectSendOptions = {}): Promise<void> {
    if (this.state >= 2 || this.stopping) {
      return Promise.reject(new ReconnectError('WS_ERR_CLOSED', 'The client is closed'));
    }
    let payload: Buffer;
    try {
      payload = toPayload(data);
    } catch (err) {
      return Promise.reject(err);
    }
    const item: Outgoing = { payload, binary: options.binary ?? typeof data !== 'string', compress: options.compress ?? true };
    const promise = new Promise<void>((resolve, reject) => {
      const entry: QueuedMessage<Outgoing> = { item, bytes: payload.length, resolve, reject };
      const ws = this.current;
      if (this.state === 1 && ws !== null && ws.readyState === 1 && this.queue.length === 0) handOver(ws, entry);
      else this.queue.push(entry);
    });
    // Fire-and-forget sends are fine: a rejection nobody observes must not crash the process
    // (Node's default for unhandled rejections). Callers that await still see it.
    promise.catch(() => {});
    return promise;
  }

  /**
   * Stops for good: cancels any pending reconnection, rejects queued sends (`WS_ERR_CLOSED`) and
   * closes the current connection with `code` and `reason` (validated as by `WebSocket.close`).
   * `close` is emitted with `willReconnect` false once the connection is closed.
   */
  close(code?: number, reason?: string): void {
    encodeClosePayload(code, reason);
    if (this.state === 3 || this.stopping) return;
    this.stopping = true;
    this.state = 2;
    this.queue.rejectAll(new ReconnectError('WS_ERR_CLOSED', 'The client was closed'));
    this.clearTimer();
    const ws = this.current;
    if (ws === null) {
      this.finish(code ?? 1005, reason ?? '');
      return;
    }
    if (ws.readyState === 1) ws.close(code, reason);
    else if (ws.readyState === 0) ws.terminate();
    // CLOSING: its close event finishes the client.
  }

  private dial(first: boolean): void {
    this.timer = null;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, this.protocols, this.client);
    } catch (err) {
      if (first) throw err;
      this.emitError(err as Error);
      this.retry(1006, '');
      return;
    }
    if (this.own.binaryType !== undefined) ws.binaryType = this.own.binaryType;
    this.current = ws;
    this.openedAt = null;
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean) => {
      if (ws === this.current) this.emit('message', data, isBinary);
    });
    ws.on('error', (err: Error) => {
      if (ws === this.current) this.emitError(err);
    });
    ws.on('close', (code: number, reason: Buffer) => this.onClose(ws, code, reason.toString('utf8')));
  }

  private onOpen(ws: WebSocket): void {
    this.openedAt = Date.now();
    const heartbeat = this.own.heartbeat;
    if (heartbeat) this.heartbeat = new Heartbeat(ws, heartbeat, () => this.onHeartbeatTimeout(ws));
    const info = { reconnect: this.everOpened, attempt: this.backoff.attempt };
    this.everOpened = true;
    const hook = this.own.onConnect;
    if (hook === undefined) {
      this.ready(ws, info.reconnect);
      return;
    }
    let result: void | Promise<void>;
    try {
      result = hook(ws, info);
    } catch (err) {
      this.onHookFailure(ws, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.ready(ws, info.reconnect),
        (err: unknown) => this.onHookFailure(ws, err),
      );
    } else {
      this.ready(ws, info.reconnect);
    }
  }

  /** The hook is done: flush the queue in order, then go OPEN. */
  private ready(ws: WebSocket, reconnect: boolean): void {
    if (ws !== this.current || ws.readyState !== 1 || this.stopping) return;
    for (let entry = this.queue.shift(); entry !== undefined; entry = this.queue.shift()) handOver(ws, entry);
    this.state = 1;
    this.emit('open', ws);
    if (reconnect && ws === this.current && this.state === 1) this.emit('reconnect', ws);
  }

  private onHookFailure(ws: WebSocket, err: unknown): void {
    if (ws !== this.current) return;
    this.emitError(new ReconnectError('WS_ERR_ON_CONNECT', 'The onConnect hook failed', { cause: err }));
    if (ws.readyState === 1) ws.close(1011, 'onConnect failed');
    else ws.terminate();
  }

  private onHeartbeatTimeout(ws: WebSocket): void {
    if (ws !== this.current) return;
    this.closeNote = 'heartbeat timeout';
    this.emitError(new ReconnectError('WS_ERR_HEARTBEAT_TIMEOUT', 'No pong within the heartbeat timeout'));
    ws.terminate();
  }

  private onClose(ws: WebSocket, code: number, wireReason: string): void {
    if (ws !== this.current) return;
    this.current = null;
    this.heartbeat?.stop();
    this.heartbeat = null;
    const reason = this.closeNote ?? wireReason;
    this.closeNote = null;
    const openedAt = this.openedAt;
    this.openedAt = null;
    if (this.stopping) {
      this.finish(code, reason);
      return;
    }
    if (openedAt !== null && matchesCloseCode(code, this.own.finalCloseCodes ?? DEFAULT_FINAL_CLOSE_CODES)) {
      this.stopping = true;
      this.finish(code, reason);
      return;
    }
    // A connection that stayed up long enough proves the server healthy again.
    if (openedAt !== null && Date.now() - openedAt >= (this.own.resetAfter ?? DEFAULT_RESET_AFTER)) this.backoff.reset();
    this.retry(code, reason, openedAt !== null);
  }

  /** Schedules the next attempt, or stops when the attempts are exhausted. */
  private retry(code: number, reason: string, wasOpen = false): void {
    if (this.backoff.attempt >= (this.own.maxAttempts ?? Infinity)) {
      this.stopping = true;
      this.finish(code, reason);
      return;
    }
    this.state = 0;
    if (wasOpen) this.emit('close', code, reason, true);
    if (this.stopping) return;
    const delay = this.backoff.next();
    this.emit('reconnecting', this.backoff.attempt, delay);
    if (this.stopping) return;
    this.timer = setTimeout(() => this.dial(false), delay);
  }

  private finish(code: number, reason: string): void {
    this.clearTimer();
    this.state = 3;
    this.queue.rejectAll(new ReconnectError('WS_ERR_CLOSED', `The client stopped (close code ${code})`));
    this.emit('close', code, reason, false);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** As on WebSocket: `error` is emitted only when someone listens, so it never crashes a process. */
  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** Hands one message to `ws`; its promise settles with the socket's write callback. */
function handOver(ws: WebSocket, entry: QueuedMessage<Outgoing>): void {
  const { payload, binary, compress } = entry.item;
  ws.send(payload, { binary, compress }, (err) => {
    if (err) entry.reject(err);
    else entry.resolve();
  });
}
