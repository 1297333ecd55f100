/**
 * The reconnecting client in browsers: the platform-free policy (src/reconnect/policy.ts, with
 * its session mode over src/session) on the browser's own WebSocket, with a small emitter for
 * the application. The same options and events as the Node client, minus what browsers do not
 * have: no ping heartbeat, no HTTP options, no write callbacks (a plain-mode `send()` resolves
 * once the message is queued on the socket).
 *
 * @module
 */
import type { BackoffOptions } from '../reconnect/backoff.js';
import { ReconnectError } from '../reconnect/errors.js';
import { type CloseCodeRule, type ConnectInfo, type PolicyHost, type PolicySessionHost, ReconnectPolicy } from '../reconnect/policy.js';
import type { SendQueueOptions } from '../reconnect/send-queue.js';
import type { MessageInfo, RejectedSend, SessionInfo, SessionModeOptions } from '../reconnect/session-mode.js';
import type { SessionError, SessionMessage } from '../session/index.js';
import { Emitter } from './emitter.js';
import type { BrowserSocket, BrowserSocketConstructor, BrowserSocketEvent } from './socket.js';

/** Options of the browser `ReconnectingWebSocket`. */
export interface BrowserReconnectOptions extends BackoffOptions {
  /** Subprotocols to offer on every connection (not in session mode). */
  protocols?: string | string[];
  /** Consecutive reconnection attempts before giving up (default `Infinity`; 0 never reconnects). */
  maxAttempts?: number;
  /** A connection that stayed open this many milliseconds resets the backoff (default 5,000). */
  resetAfter?: number;
  /** Close codes after which the client stops instead of reconnecting (default `[1008, [4000, 4999]]`). */
  finalCloseCodes?: readonly CloseCodeRule[];
  /** Bounds and policy of the queue that holds sends while disconnected (not in session mode). */
  queue?: SendQueueOptions;
  /**
   * Runs on every (re)connection before the queue is flushed; sends on `socket` go out first.
   * If it throws or rejects, the connection is closed and retried (not in session mode).
   */
  onConnect?: (socket: BrowserSocket, info: ConnectInfo) => void | Promise<void>;
  /**
   * Session mode (default off): offer the resumable-session subprotocol on every connection,
   * resume after a disconnection, resolve `send()` once the server acknowledged the message.
   * `true` for the defaults, or the resend buffer's bounds and the acknowledgement timing.
   */
  session?: boolean | SessionModeOptions;
  /** The WebSocket constructor (default `globalThis.WebSocket`). */
  WebSocket?: BrowserSocketConstructor;
}

/** Options of `send()`. */
export interface BrowserSendOptions {
  /** Send as binary (default: `true` unless `data` is a string). */
  binary?: boolean;
}

/** What `send()` accepts. */
export type BrowserSendData = string | ArrayBuffer | ArrayBufferView;

/** Events of the browser `ReconnectingWebSocket` and their arguments. */
export interface BrowserReconnectingEvents {
  /** A connection opened (session mode: the session is established on it) and the queue was flushed. */
  open: [socket: BrowserSocket];
  /** Like `open`, for every connection after the first (emitted after `open`). */
  reconnect: [socket: BrowserSocket];
  /** A reconnection attempt (1-based) will be made after `delay` ms. */
  reconnecting: [attempt: number, delay: number];
  /** A connection closed; `willReconnect` is `false` once the client has stopped for good. */
  close: [code: number, reason: string, willReconnect: boolean];
  /**
   * A message: text as a string, binary as a Uint8Array (in session mode a view past the
   * session's header byte: use `byteOffset`/`byteLength`, or `slice()` for a buffer of its own);
   * in session mode once and in order, with `info`.
   */
  message: [data: string | Uint8Array, isBinary: boolean, info?: MessageInfo];
  /** Session mode: the session is established on a new connection (before `open`). */
  session: [info: SessionInfo];
  /** Session mode: the session could not be resumed or was lost; `rejected` are the sends it failed. */
  reset: [err: SessionError, rejected: readonly RejectedSend[]];
  /** A connection error or a session protocol error (emitted only when listened to). */
  error: [err: Error];
}

/** A plain-mode message waiting for a connection. */
interface Outgoing {
  data: string | ArrayBuffer | ArrayBufferView;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A WebSocket client for browsers that reconnects with backoff, queues sends while
 * disconnected and, in session mode, resumes its session so that every message arrives once
 * and in order in both directions. `readyState` as on the Node client.
 */
export class ReconnectingWebSocket extends Emitter<BrowserReconnectingEvents> {
  /** The URL dialled on every attempt. */
  readonly url: string;
  private readonly policy: ReconnectPolicy<BrowserSocket, Outgoing>;

  /**
   * Dials `url` at once. Argument errors (an invalid URL, bad backoff, queue or session
   * settings, no WebSocket constructor) throw here; later failures are retried.
   */
  constructor(url: string | URL, options: BrowserReconnectOptions = {}) {
    super();
    this.url = typeof url === 'string' ? url : url.href;
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: BrowserSocketConstructor }).WebSocket;
    if (Ctor === undefined) throw new TypeError('No WebSocket constructor: pass the WebSocket option');
    const p = options.protocols;
    const protocols = p === undefined ? [] : typeof p === 'string' ? [p] : [...p];
    const host = new BrowserHost(this, this.url, Ctor, options.session !== undefined && options.session !== false);
    this.policy = new ReconnectPolicy(host, { ...options, protocols });
    host.policy = this.policy;
    this.policy.start();
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    return this.policy.readyState;
  }

  /** The current underlying WebSocket, if any (open or not). */
  get socket(): BrowserSocket | null {
    return this.policy.socket;
  }

  /** Failed attempts counted by the backoff since it was last reset. */
  get attempt(): number {
    return this.policy.attempt;
  }

  /** `true` in session mode (a router attached to this client keeps requests across connections). */
  get resumable(): boolean {
    return this.policy.sessionMode !== null;
  }

  /** Session mode: the session id once the server welcomed it, else `null`. */
  get sessionId(): string | null {
    return this.policy.sessionMode?.id ?? null;
  }

  /** Session mode: messages sent and not yet acknowledged by the server (0 otherwise). */
  get unacknowledged(): number {
    return this.policy.sessionMode?.unacknowledged ?? 0;
  }

  /** Messages waiting in the send queue (session mode: not yet acknowledged). */
  get queuedMessages(): number {
    return this.policy.sessionMode?.unacknowledged ?? this.policy.queuedMessages;
  }

  /** Bytes waiting in the send queue (session mode: not yet acknowledged) plus the socket's `bufferedAmount`. */
  get bufferedAmount(): number {
    const held = this.policy.sessionMode?.bufferedBytes ?? this.policy.queuedBytes;
    return held + (this.policy.socket?.bufferedAmount ?? 0);
  }

  /**
   * Sends `data` now if connected, or queues it. Plain mode: resolves once handed to a socket,
   * rejects when the queue refuses or drops it or the client stops (`ReconnectError`). Session
   * mode: resolves once the server acknowledged it, rejects with a `SessionError` (buffer full,
   * session lost, client stopped). A rejection nobody observes is not reported as unhandled.
   */
  send(data: BrowserSendData, options: BrowserSendOptions = {}): Promise<void> {
    const binary = options.binary ?? typeof data !== 'string';
    if (this.policy.sessionMode !== null) {
      if (typeof data === 'string') return this.policy.sendInSession(data, binary);
      return this.policy.sendInSession(toBytes(data), binary);
    }
    let message: Outgoing;
    if (typeof data === 'string') message = { data: binary ? encoder.encode(data) : data };
    else if (binary) message = { data };
    else message = { data: decoder.decode(toBytes(data)) }; // text given as bytes: a browser sends strings as text
    return this.policy.send(message, typeof message.data === 'string' ? message.data.length : message.data.byteLength);
  }

  /**
   * Stops for good: cancels any pending reconnection, rejects queued sends and closes the
   * current connection with `code` (1000 or 3000-4999, as browsers allow) and `reason` (at most
   * 123 UTF-8 bytes). In session mode the session ends on the server too.
   * @throws RangeError for another code, SyntaxError for a longer reason
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      throw new RangeError(`Invalid close code ${String(code)}: browsers send 1000 or 3000-4999`);
    }
    if (reason !== undefined && encoder.encode(reason).byteLength > 123) throw new SyntaxError('The close reason must be at most 123 UTF-8 bytes');
    this.policy.close(code, reason);
  }

  /** @internal `error` is emitted only when someone listens. */
  emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** The policy's platform in browsers. */
class BrowserHost implements PolicyHost<BrowserSocket, Outgoing> {
  /** The policy this host serves (set right after both were created). */
  policy!: ReconnectPolicy<BrowserSocket, Outgoing>;
  readonly session: PolicySessionHost<BrowserSocket> | undefined;

  constructor(
    private readonly client: ReconnectingWebSocket,
    private readonly url: string,
    private readonly Ctor: BrowserSocketConstructor,
    sessionMode: boolean,
  ) {
    this.session = sessionMode ? new BrowserSessionHost(client) : undefined;
  }

  connect(protocols: readonly string[]): BrowserSocket {
    const policy = this.policy;
    const client = this.client;
    const ws = new this.Ctor(this.url, [...protocols]);
    ws.binaryType = 'arraybuffer';
    const session = this.session !== undefined;
    ws.addEventListener('open', () => policy.socketOpened(ws));
    ws.addEventListener('message', (event: BrowserSocketEvent) => {
      const data = event.data;
      const text = typeof data === 'string';
      if (!text && !(data instanceof ArrayBuffer)) return; // binaryType is arraybuffer: nothing else comes
      const payload = text ? data : new Uint8Array(data);
      if (session) policy.socketMessage(ws, payload, !text);
      else if (policy.isCurrent(ws)) client.emit('message', payload, !text);
    });
    ws.addEventListener('error', () => {
      if (policy.isCurrent(ws)) client.emitError(new ReconnectError('WS_ERR_CONNECTION', 'The WebSocket connection failed or broke'));
    });
    ws.addEventListener('close', (event: BrowserSocketEvent) => policy.socketClosed(ws, event.code ?? 1006, event.reason ?? ''));
    return ws;
  }

  abort(ws: BrowserSocket): void {
    // A browser has no terminate(): close() fails a connecting socket at once, and an open one
    // closes when the server answers (or the browser gives up on it).
    ws.close();
  }

  closeSocket(ws: BrowserSocket, code: number | undefined, reason: string | undefined): void {
    // WHATWG WebSockets, close(): only 1000 and 3000-4999 may be sent from a page. The policy's
    // own codes (1002, 1008, 1011) become 1000 with their reason.
    const allowed = code === undefined || code === 1000 || (code >= 3000 && code <= 4999);
    ws.close(allowed ? code : 1000, reason);
  }

  deliver(ws: BrowserSocket, message: Outgoing, done: (err?: Error | null) => void): void {
    try {
      ws.send(message.data);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null);
  }

  opened(ws: BrowserSocket, reconnect: boolean): void {
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

/** Session mode in browsers: writes on the browser's WebSocket, messages and resets as events. */
class BrowserSessionHost implements PolicySessionHost<BrowserSocket> {
  constructor(private readonly client: ReconnectingWebSocket) {}

  write(ws: BrowserSocket, data: string | Uint8Array, binary: boolean): void {
    // A browser sends bytes as binary: text that the application gave as bytes goes as a string.
    ws.send(binary || typeof data === 'string' ? data : decoder.decode(data));
  }

  message(m: SessionMessage): void {
    this.client.emit('message', m.data, m.binary, { seq: m.seq, redelivered: m.redelivered });
  }

  established(info: SessionInfo): void {
    this.client.emit('session', info);
  }

  reset(err: SessionError, rejected: readonly RejectedSend[]): void {
    this.client.emit('reset', err, rejected);
  }
}

function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
