/**
 * A client that survives disconnections, on Node: our WebSocket under the platform-free
 * reconnect policy (policy.ts: backoff, bounded send queue, `onConnect`, when to stop), with
 * Node's EventEmitter for the application and a ping-based heartbeat.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { encodeClosePayload } from '../core/close.js';
import { type SendData, toPayload } from '../node/socket/send-data.js';
import { WebSocket } from '../node/socket/websocket.js';
import type { ClientOptions } from '../node/client/options.js';
import { Heartbeat } from './heartbeat.js';
import { splitReconnectOptions, type ReconnectOptions, type ReconnectSendOptions, type ReconnectingEvents } from './options.js';
import { type PolicyHost, ReconnectPolicy } from './policy.js';

/** A message waiting for a connection. */
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
  private readonly policy: ReconnectPolicy<WebSocket, Outgoing>;

  /**
   * Dials `url` at once. Argument errors (invalid URL or subprotocol, bad backoff or queue
   * settings) throw here; later failures are retried.
   */
  constructor(url: string | URL, options: ReconnectOptions = {}) {
    super();
    const { own, client } = splitReconnectOptions(options);
    this.url = typeof url === 'string' ? url : url.href;
    const p = own.protocols;
    const protocols = p === undefined ? [] : typeof p === 'string' ? [p] : [...p];
    if (own.heartbeat && !(own.heartbeat.interval > 0 && own.heartbeat.timeout > 0)) {
      throw new RangeError('Heartbeat interval and timeout must be positive');
    }
    const host = new NodeHost(this, this.url, protocols, client, own);
    this.policy = new ReconnectPolicy(host, own);
    host.policy = this.policy;
    this.policy.start();
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    return this.policy.readyState;
  }

  /** The current underlying WebSocket, if any (open or not). */
  get socket(): WebSocket | null {
    return this.policy.socket;
  }

  /** Failed attempts counted by the backoff since it was last reset. */
  get attempt(): number {
    return this.policy.attempt;
  }

  /** Messages waiting in the send queue. */
  get queuedMessages(): number {
    return this.policy.queuedMessages;
  }

  /** Bytes waiting in the send queue plus bytes buffered by the current socket. */
  get bufferedAmount(): number {
    return this.policy.queuedBytes + (this.policy.socket?.bufferedAmount ?? 0);
  }

  /**
   * Sends `data` now if connected, or queues it (bounded, see `queue` options). Resolves once
   * the bytes were handed to a socket; rejects when the queue refuses or drops the message,
   * when the client stops, or when the socket it was handed to failed. A rejection that nobody
   * observes is not reported as unhandled.
   */
  send(data: SendData, options: ReconnectSendOptions = {}): Promise<void> {
    let payload: Buffer;
    try {
      payload = toPayload(data);
    } catch (err) {
      return Promise.reject(err);
    }
    const message: Outgoing = { payload, binary: options.binary ?? typeof data !== 'string', compress: options.compress ?? true };
    return this.policy.send(message, payload.length);
  }

  /**
   * Stops for good: cancels any pending reconnection, rejects queued sends (`WS_ERR_CLOSED`) and
   * closes the current connection with `code` and `reason` (validated as by `WebSocket.close`).
   * `close` is emitted with `willReconnect` false once the connection is closed.
   */
  close(code?: number, reason?: string): void {
    encodeClosePayload(code, reason);
    this.policy.close(code, reason);
  }

  /** @internal As on WebSocket: `error` is emitted only when someone listens, so it never crashes a process. */
  emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** The policy's platform on Node: our WebSocket, our events, a ping-based heartbeat. */
class NodeHost implements PolicyHost<WebSocket, Outgoing> {
  /** The policy this host serves (set right after both were created). */
  policy!: ReconnectPolicy<WebSocket, Outgoing>;

  constructor(
    private readonly client: ReconnectingWebSocket,
    private readonly url: string,
    private readonly protocols: string[],
    private readonly options: ClientOptions,
    private readonly own: ReturnType<typeof splitReconnectOptions>['own'],
  ) {}

  connect(): WebSocket {
    const policy = this.policy;
    const ws = new WebSocket(this.url, this.protocols, this.options);
    if (this.own.binaryType !== undefined) ws.binaryType = this.own.binaryType;
    const client = this.client;
    ws.on('open', () => policy.socketOpened(ws));
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean) => {
      if (policy.isCurrent(ws)) client.emit('message', data, isBinary);
    });
    ws.on('error', (err: Error) => {
      if (policy.isCurrent(ws)) client.emitError(err);
    });
    ws.on('close', (code: number, reason: Buffer) => policy.socketClosed(ws, code, reason.toString('utf8')));
    return ws;
  }

  abort(ws: WebSocket): void {
    ws.terminate();
  }

  deliver(ws: WebSocket, message: Outgoing, done: (err?: Error | null) => void): void {
    ws.send(message.payload, { binary: message.binary, compress: message.compress }, done);
  }

  watch(ws: WebSocket, onDead: () => void): () => void {
    const options = this.own.heartbeat;
    if (!options) return noop;
    const heartbeat = new Heartbeat(ws, options, onDead);
    return () => heartbeat.stop();
  }

  opened(ws: WebSocket, reconnect: boolean): void {
    const client = this.client;
    client.emit('open', ws);
    if (reconnect && this.policy.socket === ws && client.readyState === 1) client.emit('reconnect', ws);
  }

  reconnecting(attempt: number, delay: number): void {
    this.client.emit('reconnecting', attempt, delay);
  }

  closed(code: number, reason: string, willReconnect: boolean): void {
    this.client.emit('close', code, reason, willReconnect);
  }

  error(err: Error): void {
    this.client.emitError(err);
  }
}

function noop(): void {}
