import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, MAX_CONTROL_PAYLOAD } from '../../core/constants.js';
import { encodeClosePayload } from '../../core/close.js';
import { WebSocketError } from '../../core/errors.js';
import type { MessageExtension } from '../../core/extension.js';
import { dial } from '../client/dialer.js';
import type { ClientOptions } from '../client/options.js';
import type { ConnectionSettings } from '../io/connection-options.js';
import { type ConnectOptions, connectWith, splitConnectOptions } from '../client/connect.js';
import { type MessageIteratorOptions, type WebSocketMessage, iterateMessages } from './iterate.js';
import { defineHandlerProperties, existingListenersOf, listenersOf, type WsEventListener } from './event-target.js';
import type { WsCloseEvent, WsErrorEvent, WsEvent, WsListenerOptions, WsMessageEvent } from './events.js';
import { type BlobOutbox, isBlob, runInOrder } from './blob-outbox.js';
import { publishClose, publishError } from '../ops/diagnostics.js';
import { closeForPolicy } from '../ops/policy-close.js';
import type { LocalCloseReason } from '../io/local-close.js';
import { type SendData, sendFlags, toPayload } from './send-data.js';
import { Transport } from '../io/transport.js';
import { BINARY_TYPES, type BinaryType, binaryMessage } from './binary.js';
import { connectingError, notOpenError } from './errors.js';
import type { AttachOptions, SendCallback, SendOptions } from './types.js';

export type { BinaryType } from './binary.js';
export type { AttachOptions, SendCallback, SendOptions } from './types.js';


/** The listener table of a WebSocket (see the constructor): no inherited keys, fast mode. */
function EventSlots(this: object): void {}
EventSlots.prototype = Object.create(null) as object;
const EventSlotsCtor = EventSlots as unknown as new () => object;

/** Who is told when a connection closed, before its `close` listeners. @internal */
export interface CloseHook {
  connectionClosed(ws: WebSocket): void;
}

/**
 * A WebSocket connection, for both roles: the server creates one per accepted upgrade, and
 * `new WebSocket(url)` dials a server. Its events and methods follow the `ws` package, plus
 * WHATWG-style `addEventListener` and `on*` handlers.
 */
export class WebSocket extends EventEmitter {
  /** The connection is being established. */
  static readonly CONNECTING = 0;
  /** The connection is open. */
  static readonly OPEN = 1;
  /** The close handshake is in progress. */
  static readonly CLOSING = 2;
  /** The connection is closed. */
  static readonly CLOSED = 3;

  // The instance constants live on the prototype (defined below the class): as own fields they
  // would cost four slots in every connection.
  /** The connection is being established. */
  declare readonly CONNECTING: 0;
  /** The connection is open. */
  declare readonly OPEN: 1;
  /** The close handshake is in progress. */
  declare readonly CLOSING: 2;
  /** The connection is closed. */
  declare readonly CLOSED: 3;

  /** readyState, binaryType and whether `error` was emitted, packed (see the constants below the class). */
  private bits = 0;
  private transport: Transport | null = null;
  private protocolValue = '';
  private extensionsValue = '';
  /**
   * What only a client, a Blob send or a send after close needs, created when first set: four
   * fields fewer in each of a server's connections.
   */
  private rare: RareFields | null = null;
  /**
   * @internal Told of the close before any `close` listener runs (the server's bookkeeping):
   * one shared object instead of a listener closure per connection, and immune to a user's
   * `removeAllListeners('close')`.
   */
  closeHook: CloseHook | null = null;

  /**
   * Dials `address` (`ws:`, `wss:`, `ws+unix:`, or `http:`/`https:`). Servers create instances
   * with `address` null.
   */
  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    // EventEmitter starts `_events` as a prototype-less object, which V8 keeps in dictionary
    // mode (~160 bytes per connection); an instance of a constructor whose prototype has no
    // prototype behaves the same for the emitter and stays a compact fast-mode object.
    (this as unknown as { _events: object })._events = new EventSlotsCtor();
    if (address === null) return;
    let opts = options ?? {};
    let list: unknown[];
    // As in `ws`: an options object may stand in the protocols' place and carry `protocols`;
    // anything else that is not an array is one protocol (so `null` is refused as invalid).
    if (protocols === undefined) list = protocolList(opts.protocols);
    else if (Array.isArray(protocols)) list = protocols;
    else if (typeof protocols === 'object' && protocols !== null) {
      opts = protocols;
      list = protocolList(opts.protocols);
    } else list = [protocols];
    this.rareFields.url = typeof address === 'string' ? address : address.href;
    dial(this, address, list, opts);
  }

  private get state(): number {
    return this.bits & STATE_BITS;
  }

  private set state(value: number) {
    this.bits = (this.bits & ~STATE_BITS) | value;
  }

  private get binaryTypeValue(): BinaryType {
    return BINARY_TYPES[(this.bits & BINARY_TYPE_BITS) >> BINARY_TYPE_SHIFT] as BinaryType;
  }

  private get errorEmitted(): boolean {
    return (this.bits & ERROR_EMITTED) !== 0;
  }

  private get rareFields(): RareFields {
    return this.rare ?? (this.rare = { outbox: null, discardedBytes: 0, url: '', abortHandshake: null });
  }

  /** Sets a field of {@link rare}; setting its empty value creates no side object. */
  private setRare<K extends keyof RareFields>(key: K, value: RareFields[K], empty: RareFields[K]): void {
    if (value !== empty || this.rare !== null) this.rareFields[key] = value;
  }

  /** Sends waiting behind a Blob being read (created by the first Blob send). */
  private get outbox(): BlobOutbox | null {
    return this.rare === null ? null : this.rare.outbox;
  }

  private set outbox(outbox: BlobOutbox | null) {
    this.setRare('outbox', outbox, null);
  }

  /** Bytes of sends made after the connection closed (WHATWG: they still count as buffered). */
  private get discardedBytes(): number {
    return this.rare === null ? 0 : this.rare.discardedBytes;
  }

  private set discardedBytes(bytes: number) {
    this.setRare('discardedBytes', bytes, 0);
  }

  /** @internal Aborts the handshake in progress (client role). */
  get abortHandshake(): ((err: Error) => void) | null {
    return this.rare === null ? null : this.rare.abortHandshake;
  }

  /** @internal */
  set abortHandshake(abort: ((err: Error) => void) | null) {
    this.setRare('abortHandshake', abort, null);
  }

  /** How binary messages are delivered (default `nodebuffer`); other values are ignored. */
  get binaryType(): BinaryType {
    return this.binaryTypeValue;
  }

  /** Changes how binary messages are delivered from the next message on; other values are ignored. */
  set binaryType(type: BinaryType) {
    const index = BINARY_TYPES.indexOf(type);
    if (index < 0) return;
    this.bits = (this.bits & ~BINARY_TYPE_BITS) | (index << BINARY_TYPE_SHIFT);
    if (this.transport !== null) this.transport.connection.recordFrames = type === 'fragments';
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    return this.state;
  }

  /** The subprotocol the server selected ('' if none). */
  get protocol(): string {
    return this.protocolValue;
  }

  /** The negotiated extensions, as in the `Sec-WebSocket-Extensions` response header. */
  get extensions(): string {
    return this.extensionsValue;
  }

  /** The URL dialled (client role); '' on the server side. */
  get url(): string {
    return this.rare === null ? '' : this.rare.url;
  }

  /**
   * Bytes queued for sending and not yet handed to the kernel: in the socket, in the send
   * queue, waiting for compression or behind a Blob being read, plus (as in the WHATWG API)
   * the bytes of sends made after the connection closed.
   */
  get bufferedAmount(): number {
    const transport = this.transport;
    let bytes = this.discardedBytes + (this.outbox?.pendingBytes ?? 0);
    if (transport !== null) bytes += transport.bufferedAmount + transport.connection.queuedBytes;
    return bytes;
  }

  /** `true` while {@link pause} is in effect. */
  get isPaused(): boolean {
    return this.transport !== null && this.transport.connection.isPaused;
  }

  /**
   * Sends a message. Strings (and numbers, as their decimal text) are sent as text, anything
   * else as binary unless `options.binary` says otherwise; a `Blob` is read first, and later
   * sends wait for it. Returns `false` when the socket's write buffer is at or above its
   * high-water mark (wait for `drain`); the data is queued either way. Throws if the connection
   * is still CONNECTING; after it closed, `cb` gets an error.
   */
  send(data: SendData | Blob, options?: SendOptions | SendCallback, cb?: SendCallback): boolean {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (this.state === 0) throw connectingError();
    const transport = this.transport;
    if (transport === null || this.state !== 1) {
      this.sendAfterClose(data, cb);
      return false;
    }
    const flags = sendFlags(
      options?.binary ?? (typeof data !== 'string' && typeof data !== 'number'),
      options?.fin ?? true,
      options?.compress ?? true,
    );
    const connection = transport.connection;
    const blob = isBlob(data);
    const outbox = this.outbox;
    if (!blob && (outbox === null || outbox.idle)) {
      // Nothing waits behind a Blob being read (the usual case): the message goes out now.
      connection.send(toPayload(data), flags, cb);
      return transport.writable;
    }
    // Behind a Blob still being read, the message waits: report it as buffered.
    this.outbox = runInOrder(outbox, blob ? data : toPayload(data), cb, (bytes) => connection.send(bytes, flags, cb));
    return false;
  }

  /** Sends a ping; `data` is at most 125 bytes (RangeError otherwise). `ping(cb)` is allowed. */
  ping(data?: SendData | Blob | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.control(true, data, mask, cb);
  }

  /** Sends an unsolicited pong; `data` is at most 125 bytes (RangeError otherwise). `pong(cb)` is allowed. */
  pong(data?: SendData | Blob | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.control(false, data, mask, cb);
  }

  private control(
    isPing: boolean,
    data: SendData | Blob | SendCallback | undefined,
    mask: boolean | SendCallback | undefined,
    cb: SendCallback | undefined,
  ): void {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (this.state === 0) throw connectingError();
    const blob = isBlob(data);
    // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
    const size = blob ? (data as Blob).size : (data = toPayload(data as SendData | undefined)).length;
    if (size > MAX_CONTROL_PAYLOAD) throw new RangeError('The data size must not be greater than 125 bytes');
    const transport = this.transport;
    if (transport === null || this.state !== 1) {
      this.sendAfterClose(data as SendData | Blob, cb);
      return;
    }
    const connection = transport.connection;
    this.outbox = runInOrder(this.outbox, data as Buffer | Blob, cb, (bytes) => {
      if (isPing) connection.ping(bytes, cb);
      else connection.pong(bytes, cb);
    });
  }

  /**
   * `send`, `ping` or `pong` while CLOSING or CLOSED: nothing is sent, the bytes count in
   * `bufferedAmount` (WHATWG), and `cb` gets `WS_ERR_NOT_OPEN` on the next tick.
   */
  private sendAfterClose(data: SendData | Blob | undefined, cb: SendCallback | undefined): void {
    if (data !== undefined) this.discardedBytes += isBlob(data) ? data.size : toPayload(data).length;
    if (cb) process.nextTick(cb, notOpenError(this.state));
  }

  /**
   * Starts the close handshake. `code` must be 1000 or 3000-4999 (or another code valid on the
   * wire); `reason` at most 123 bytes of UTF-8. Throws TypeError/RangeError before sending
   * anything when they are not. Messages sent earlier are sent first. Safe in every state: while
   * CONNECTING it aborts the handshake; after the close started it does nothing more.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (this.state === 3) return;
    if (this.state === 0) {
      this.abortHandshake?.(new WebSocketError('WS_ERR_NOT_OPEN', 'WebSocket was closed before the connection was established'));
      return;
    }
    const transport = this.transport;
    // A handshake that failed is being reported (`error` listener): there is no connection.
    if (transport === null) return;
    const connection = transport.connection;
    if (this.state === 2 || connection.closeSent) {
      // As in `ws`: after both close frames, a client may end TCP itself instead of waiting.
      if (connection.closeSent && connection.closeReceived && connection.role === 'server') transport.endTransport();
      return;
    }
    const outbox = this.outbox;
    if (outbox !== null && !outbox.idle) {
      // Checked now, sent behind the Blobs sent before it.
      encodeClosePayload(code, reason);
      outbox.push(() => connection.close(code, reason));
    } else {
      connection.close(code, reason);
    }
    this.state = 2;
  }

  /** Destroys the connection at once, without a close handshake (reported as 1006). Safe in every state. */
  terminate(): void {
    if (this.state === 3) return;
    if (this.state === 0) {
      this.abortHandshake?.(new WebSocketError('WS_ERR_NOT_OPEN', 'WebSocket was closed before the connection was established'));
      return;
    }
    const transport = this.transport;
    if (transport === null) return;
    this.state = 2;
    this.outbox?.clear();
    transport.destroy();
  }

  /** Stops reading: no `message` events until {@link resume}; the peer is slowed by TCP backpressure. */
  pause(): void {
    if (this.state === 0 || this.state === 3) return;
    this.transport?.pause();
  }

  /** Resumes reading after {@link pause}. */
  resume(): void {
    if (this.state === 0 || this.state === 3) return;
    this.transport?.resume();
  }

  // ---- promise and iterator APIs (logic in connect.ts and iterate.ts) ----

  /**
   * Dials `address` and resolves with the WebSocket once it is open; rejects with the handshake
   * error, or with `options.signal.reason` when the signal aborts first.
   */
  static connect(address: string | URL, options?: ConnectOptions): Promise<WebSocket> {
    const { protocols, client, signal } = splitConnectOptions(options);
    return connectWith(() => new WebSocket(address, protocols, client), signal);
  }

  /**
   * Received messages as an async iterator with a bounded buffer: the socket is paused while
   * the consumer is behind. Ends when the socket closes. See {@link MessageIteratorOptions}.
   */
  messages(options?: MessageIteratorOptions): AsyncIterableIterator<WebSocketMessage> {
    return iterateMessages(this, options);
  }

  /** `for await (const { data, isBinary } of ws)`: {@link messages} with default options. */
  [Symbol.asyncIterator](): AsyncIterableIterator<WebSocketMessage> {
    return iterateMessages(this);
  }

  // ---- WHATWG-style listeners (event-target.ts) ----

  /** Adds a WHATWG-style listener for `open`, `message`, `close` or `error`. */
  addEventListener(type: string, listener: WsEventListener, options?: WsListenerOptions): void {
    listenersOf(this).add(type, listener, options);
  }

  /** Removes a listener added with {@link addEventListener}. */
  removeEventListener(type: string, listener: WsEventListener): void {
    existingListenersOf(this)?.remove(type, listener);
  }

  /** WHATWG `onopen` handler (an accessor on the prototype, see event-target.ts). */
  declare onopen: ((event: WsEvent) => void) | null;
  /** WHATWG `onmessage` handler. */
  declare onmessage: ((event: WsMessageEvent) => void) | null;
  /** WHATWG `onclose` handler. */
  declare onclose: ((event: WsCloseEvent) => void) | null;
  /** WHATWG `onerror` handler. */
  declare onerror: ((event: WsErrorEvent) => void) | null;

  // ---- used by the server and the client dialer ----

  /** @internal Takes over an upgraded socket. */
  attach(socket: Duplex, head: Buffer | undefined, options: AttachOptions): void {
    this.protocolValue = options.protocol;
    this.extensionsValue = options.extensions;
    this.transport = new Transport(this, socket, head, options.role, options.extension, options.settings);
    if (this.binaryTypeValue === 'fragments') this.transport.connection.recordFrames = true;
    this.abortHandshake = null;
    this.state = 1;
    this.emit('open');
  }

  /** @internal The application aborted the handshake: CLOSING until {@link failHandshake} reports it. */
  handshakeAborted(): void {
    this.abortHandshake = null;
    this.state = 2;
  }

  /** @internal The handshake failed (client role): `error`, then `close` with 1006. */
  failHandshake(err: Error): void {
    if (this.state === 3) return;
    this.abortHandshake = null;
    this.state = 2;
    this.emitError(err);
    this.state = 3;
    this.emit('close', 1006, EMPTY);
  }

  /** @internal Sets the URL after normalisation or a redirect (client role). */
  setUrl(url: string): void {
    this.setRare('url', url, '');
  }

  /** @internal Emits `upgrade` (client role) with the 101 response. */
  emitUpgrade(res: IncomingMessage): void {
    this.emit('upgrade', res);
  }

  // ---- TransportOwner ----

  /** @internal */
  onTransportMessage(data: Buffer, isBinary: boolean): void {
    const type = this.binaryTypeValue;
    if (!isBinary || type === 'nodebuffer') this.emit('message', data, isBinary);
    else this.emit('message', binaryMessage(data, type, (this.transport as Transport).connection.frameStarts), true);
  }

  /** @internal */
  onTransportPing(data: Buffer): void {
    this.emit('ping', data);
  }

  /** @internal */
  onTransportPong(data: Buffer): void {
    this.emit('pong', data);
  }

  /** @internal */
  onTransportCloseFrame(): void {
    if (this.state === 1) this.state = 2;
  }

  /** @internal */
  onTransportError(err: WebSocketError, localReason: LocalCloseReason | null): void {
    this.state = 2;
    publishError(this, (this.transport as Transport).connection.role, err, localReason);
    this.emitError(err);
  }

  /** @internal */
  onTransportDrain(): void {
    this.emit('drain');
  }

  /** @internal The peer does not read: close it (1008, local reason `backpressure`) and drop its output. */
  onTransportOverflow(): void {
    closeForPolicy(this, 'backpressure', CloseCode.PolicyViolation, true);
  }

  /** @internal */
  onTransportClosed(code: number, reason: Buffer, wasClean: boolean, localReason: LocalCloseReason | null): void {
    publishClose(this, (this.transport as Transport).connection.role, code, reason, wasClean, localReason);
    this.state = 3;
    const hook = this.closeHook;
    if (hook !== null) {
      this.closeHook = null;
      hook.connectionClosed(this);
    }
    this.emit('close', code, reason);
  }

  /** Emits `error` once, and only when someone listens: a peer's mistake never crashes the process. */
  private emitError(err: Error): void {
    if (this.errorEmitted) return;
    this.bits |= ERROR_EMITTED;
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]] as const) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}
defineHandlerProperties(WebSocket.prototype);

const EMPTY = Buffer.alloc(0);

// Fields of WebSocket.bits: readyState (0 to 3), the index of binaryType in BINARY_TYPES, and
// whether `error` was emitted.
const STATE_BITS = 3;
const BINARY_TYPE_SHIFT = 2;
const BINARY_TYPE_BITS = 3 << BINARY_TYPE_SHIFT;
const ERROR_EMITTED = 16;

/** The WebSocket fields that most server connections never set. */
interface RareFields {
  outbox: BlobOutbox | null;
  discardedBytes: number;
  url: string;
  abortHandshake: ((err: Error) => void) | null;
}

/** `ws` accepts one protocol or a list in `options.protocols`. */
function protocolList(protocols: string | string[] | undefined): unknown[] {
  return protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols];
}

