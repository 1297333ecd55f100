import { Assembler, type MessageSink } from './assembler.js';
import { AutoPong, DEFAULT_MAX_PENDING_AUTO_PONGS } from './auto-pong.js';
import { encodeClosePayload, parseClosePayload } from './close.js';
import { CloseCode, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD, Opcode } from './constants.js';
import { notOpenError, ProtocolError, WebSocketError } from './errors.js';
import type { MessageExtension } from './extension.js';
import { ConnectionFlags } from './connection-flags.js';
import { encodeFrame, type FrameOutput, type WriteCallback } from './frame-encoder.js';
import { FRAGMENT_THRESHOLD, FragmentedMessage } from './fragmented-message.js';
import { FrameParser } from './frame-parser.js';
import type { MaskGenerator } from './mask.js';
import { SendQueue, type SendQueueOwner } from './send-queue.js';
import type { SharedFrame } from './shared-frame.js';
import { isValidUtf8 } from './utf8.js';

/** Which end of the connection this is. */
export type Role = 'client' | 'server';

/** Called once the bytes of a send were handed to the transport, or with the reason they were not. */
export type SendCallback = (err?: Error | null) => void;

/** What the I/O binding provides to a {@link Connection}: a frame sink and event handlers. */
export interface ConnectionHandler {
  /** Writes one whole frame to the peer (see FrameOutput.writeFrame); `cb` runs when it was flushed (or failed). */
  writeFrame(first: number, payloadLength: number, buffer: Buffer, start: number, end: number, payload: Buffer | null, cb?: WriteCallback): void;
  /**
   * Optional: takes a data frame with a payload above {@link FRAGMENT_THRESHOLD}, to be written
   * a fragment at a time (`message.writeNext(out, size)`), so that control frames can go out
   * between two fragments. Without it, such frames are written whole.
   */
  writeMessage?(message: FragmentedMessage): void;
  /** A complete data message (already decoded and validated). */
  onMessage(data: Buffer, isBinary: boolean): void;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** The peer's close frame arrived; `code` is 1005 when it carried none. */
  onCloseFrame(code: number, reason: Buffer): void;
  /** The peer broke the protocol; the close frame with `err.closeCode` has been queued. */
  onProtocolError(err: WebSocketError): void;
  /**
   * The close handshake allows ending TCP now: the server closes first (RFC 6455 §7.1.1), and
   * either side ends after failing the connection.
   */
  endTransport(): void;
  /** A close frame was sent and the peer's answer (or its FIN) is awaited: arm the close timer. */
  awaitClose(): void;
  /** Stop (false) or restart (true) reading from the transport; used while a message is decoded. */
  setReading(reading: boolean): void;
  /**
   * Optional: the input that was still held when {@link Connection.receiveEnd} returned `false`
   * has now been delivered, and the connection is closed.
   */
  inputFinished?(): void;
}

/** Settings of a {@link Connection}. */
export interface ConnectionOptions {
  role: Role;
  /** Largest message in bytes (default 1 MiB). */
  maxPayload?: number;
  /** Most frames per message (default 1,048,576). */
  maxFragments?: number;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /** The negotiated extension, if any. */
  extension?: MessageExtension | null;
  /** Do not check received text and close reasons as UTF-8 (default false). */
  skipUTF8Validation?: boolean;
  /** Most input chunks one frame may span; one more fails with 1008 (default: no limit). */
  maxBufferedChunks?: number;
  /** Fills the masking key of each frame (client role) instead of the CSPRNG. */
  generateMask?: MaskGenerator | null;
  /**
   * Most automatic pongs waiting to be written; a ping beyond fails the connection with 1008
   * (default 60, as `ws`; 0: no limit, later pings are then coalesced, RFC 6455 §5.5.3).
   */
  maxPendingAutoPongs?: number;
}

/** Send flags for {@link Connection.send}. */
export interface SendFlags {
  binary: boolean;
  /** `false` to send a fragment; the next send continues the same message. */
  fin: boolean;
  /** Let the extension compress this message (if one was negotiated). */
  compress: boolean;
}

/** Readiness of a {@link Connection}, matching the WebSocket readyState values. */
export const ConnectionState = { Open: 1, Closing: 2, Closed: 3 } as const;
/** One of the {@link ConnectionState} values. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];


/**
 * The sans-I/O RFC 6455 connection shared by client and server: bytes in, events out;
 * commands in, bytes out. It owns the frame parser, the message assembler, ping/pong and the
 * close handshake, and never touches a socket or a timer.
 */
export class Connection extends ConnectionFlags implements MessageSink, FrameOutput, SendQueueOwner {
  /** Which end this is. */
  readonly role: Role;
  private readonly handler: ConnectionHandler;
  private readonly parser: FrameParser;
  private readonly assembler: Assembler;
  private readonly maxPayload: number;
  private readonly extension: MessageExtension | null;
  /** FrameOutput: the `generateMask` option, `null` for random keys. */
  readonly maskGenerator: MaskGenerator | null;
  private readonly maxPendingAutoPongs: number;
  /** Automatic pongs, created by the first ping. */
  private autoPongs: AutoPong | null = null;

  private stateValue: ConnectionState = ConnectionState.Open;
  /** Close code and reason from the peer's close frame. */
  closeCode: number = CloseCode.Abnormal;
  closeReason: Buffer = EMPTY_PAYLOAD;

  /** Sends waiting behind the extension's encoder (send-queue.ts), created when one must wait. */
  private queue: SendQueue | null = null;

  constructor(handler: ConnectionHandler, options: ConnectionOptions) {
    super(options.role === 'client', options.autoPong ?? true, options.skipUTF8Validation === true);
    this.role = options.role;
    this.handler = handler;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.extension = options.extension ?? null;
    this.maskGenerator = options.role === 'client' ? (options.generateMask ?? null) : null;
    this.maxPendingAutoPongs = options.maxPendingAutoPongs ?? DEFAULT_MAX_PENDING_AUTO_PONGS;
    this.assembler = new Assembler(this, {
      maxPayload: this.maxPayload,
      maxFragments: options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
      skipUtf8Validation: options.skipUTF8Validation === true,
    });
    this.parser = new FrameParser(this.assembler, {
      expectMasked: options.role === 'server',
      maxFrameLength: this.maxPayload,
      allowedRsv: this.extension?.rsv ?? 0,
      maxFrameChunks: options.maxBufferedChunks ?? Infinity,
    });
  }

  /** OPEN, CLOSING or CLOSED. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** `true` between a send with `fin: false` and the final fragment of that message. */
  get sendingMessage(): boolean {
    return this.sendingFragments;
  }

  /** The negotiated extension, if any. */
  get negotiatedExtension(): MessageExtension | null {
    return this.extension;
  }

  /** Bytes of sends waiting for the extension (compression), the one being encoded included. */
  get queuedBytes(): number {
    return this.queue === null ? 0 : this.queue.bytes;
  }

  /**
   * Record where each frame of a message starts (for the `fragments` binary type); read them in
   * `onMessage` from {@link frameStarts}.
   */
  set recordFrames(value: boolean) {
    this.assembler.recordFrames = value;
  }

  /**
   * Offsets at which the frames after the first start in the message being delivered; `null`
   * for a message of one frame, a decompressed one, or when not recorded.
   */
  get frameStarts(): readonly number[] | null {
    return this.assembler.deliveredFrameStarts;
  }

  /** Bytes received and held: a partial message plus input held while paused. */
  get bufferedInbound(): number {
    return this.assembler.bufferedBytes + this.parser.pendingBytes;
  }

  // ---- bytes in -------------------------------------------------------------------------

  /** Feeds bytes received from the peer. */
  receive(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.failOn(err);
    }
  }

  /**
   * The transport's input ended (the peer's FIN, or the socket closed): nothing more will arrive,
   * and nothing more can be sent. Bytes already received are still delivered first, in wire
   * order and even while paused (nothing is left to slow down): a message waiting for its
   * decode, and the frames held behind it (the peer's close frame among them), were sent before
   * the end. Returns `true` when the connection is closed now; `false` when held input is still
   * being delivered, after which {@link ConnectionHandler.inputFinished} is called.
   */
  receiveEnd(): boolean {
    if (this.ended) return true;
    if (this.inputEnding) return false;
    // Sends waiting for the extension can no longer go anywhere.
    this.failQueuedSends();
    if (!this.parser.stopped && (this.decoding || this.held || this.parser.pendingBytes > 0)) {
      this.inputEnding = true;
      this.resumeParser();
      this.checkInputDrained();
      return this.ended;
    }
    this.finishInput();
    return true;
  }

  /** Closes the connection for good once no received input is left to deliver. */
  private finishInput(): void {
    const deferred = this.inputEnding;
    this.inputEnding = false;
    this.ended = true;
    this.parser.stop();
    this.assembler.reset();
    this.stateValue = ConnectionState.Closed;
    this.disposeExtension();
    if (deferred) this.handler.inputFinished?.();
  }

  /** After held input was delivered at the end of the input: finish when none is left. */
  private checkInputDrained(): void {
    if (this.inputEnding && !this.decoding && (this.parser.stopped || (!this.held && this.parser.pendingBytes === 0))) {
      this.finishInput();
    }
  }

  /** Stops delivering messages; input is held until {@link resume}. */
  pause(): void {
    this.userPaused = true;
    this.parser.pause();
  }

  /** Delivers held input again. */
  resume(): void {
    this.userPaused = false;
    this.resumeParser();
  }

  /** `true` while {@link pause} is in effect. */
  get isPaused(): boolean {
    return this.userPaused;
  }

  /**
   * Holds input after the event being delivered, until {@link release}: lets the binding pace
   * events (one per turn of its event loop). Independent of {@link pause}.
   */
  hold(): void {
    this.held = true;
    this.parser.pause();
  }

  /** Ends a {@link hold}: held input is delivered again. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.resumeParser();
    this.checkInputDrained();
  }

  /** @internal MessageSink: a complete message from the assembler. */
  message(data: Buffer, isBinary: boolean, compressed: boolean): void {
    if (this.closeReceived) return;
    if (!compressed) {
      this.handler.onMessage(data, isBinary);
      return;
    }
    const extension = this.extension;
    if (extension === null) {
      throw new ProtocolError('WS_ERR_UNEXPECTED_RSV_1', CloseCode.ProtocolError, 'RSV1 must be clear');
    }
    // Hold later frames until this message is decoded, so messages stay in order.
    this.decoding = true;
    this.parser.pause();
    this.handler.setReading(false);
    extension.decode(data, (err, decoded) => {
      this.decoding = false;
      if (this.stateValue === ConnectionState.Closed || this.parser.stopped) return;
      if (err) {
        this.fail(asWebSocketError(err));
        return;
      }
      const out = decoded ?? Buffer.alloc(0);
      if (!isBinary && !this.skipUtf8Validation && !isValidUtf8(out)) {
        this.fail(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid UTF-8 in text message'));
        return;
      }
      this.handler.onMessage(out, isBinary);
      this.handler.setReading(true);
      this.resumeParser();
      this.checkInputDrained();
    });
  }

  /** @internal MessageSink: a complete control frame from the assembler. */
  control(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      // RFC 6455 §5.5.3: answer with a pong carrying the same payload, unless closing.
      if (this.autoPong && !this.closeSent && !this.inputEnding) {
        const pongs = (this.autoPongs ??= new AutoPong(this, this.masked, this.maxPendingAutoPongs));
        if (!pongs.answer(payload)) {
          this.fail(
            new ProtocolError(
              'WS_ERR_TOO_MANY_PENDING_PONGS',
              CloseCode.PolicyViolation,
              `${this.maxPendingAutoPongs} pongs wait to be written and another ping came: the peer does not read`,
            ),
          );
          return;
        }
      }
      this.handler.onPing(payload);
    } else if (opcode === Opcode.Pong) {
      this.handler.onPong(payload);
    } else {
      this.receiveClose(payload);
    }
  }

  private receiveClose(payload: Buffer): void {
    const { code, reason } = parseClosePayload(payload, this.skipUtf8Validation);
    this.closeReceived = true;
    this.closeCode = code;
    this.closeReason = reason;
    // RFC 6455 §5.5.1: nothing after a close frame is data.
    this.parser.stop();
    this.assembler.reset();
    this.stateValue = ConnectionState.Closing;
    this.handler.onCloseFrame(code, reason);
    if (!this.closeSent) {
      // RFC 6455 §5.5.1: answer with a close frame, echoing the status code received (and its
      // already validated reason, as applications expect).
      this.queueClose(payload, undefined);
    }
    this.afterCloseExchanged();
    this.checkInputDrained();
  }

  private afterCloseExchanged(): void {
    // RFC 6455 §7.1.1: the server closes TCP first; the client waits for it (timer-bounded).
    if (this.role === 'server') this.requestEnd();
    else this.handler.awaitClose();
  }

  private resumeParser(): void {
    // Once the input ended, held input is delivered whatever the application's pause.
    if ((this.userPaused && !this.inputEnding) || this.decoding || this.held) return;
    try {
      this.parser.resume();
    } catch (err) {
      this.failOn(err);
    }
  }

  private failOn(err: unknown): void {
    if (err instanceof WebSocketError) {
      this.fail(err);
      return;
    }
    throw err;
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): sends a close frame with the error's close code if
   * none was sent yet, reports the error and ends the transport.
   */
  fail(err: WebSocketError): void {
    if (this.stateValue === ConnectionState.Closed || this.failed) return;
    this.failed = true;
    this.parser.stop();
    this.assembler.reset();
    this.autoPongs?.stop();
    // Data still waiting for the extension is dropped: the connection is being failed. A close
    // frame already queued by close() goes out now, in place of a new one.
    const queuedClose = this.takeQueue()?.clear(notOpenError()) ?? null;
    if (queuedClose !== null) {
      encodeFrame(this, Opcode.Close, queuedClose.payload, true, 0, this.masked, queuedClose.cb);
    } else if (!this.closeSent) {
      this.closeSent = true;
      const code = err instanceof ProtocolError ? err.closeCode : CloseCode.InternalError;
      encodeFrame(this, Opcode.Close, encodeClosePayload(code), true, 0, this.masked);
    }
    this.stateValue = ConnectionState.Closing;
    this.handler.onProtocolError(err);
    this.endRequested = false;
    this.handler.endTransport();
    this.checkInputDrained();
  }

  /** Ends the transport once every queued frame (the close frame last) has been written. */
  private requestEnd(): void {
    if (this.queue !== null) this.endRequested = true;
    else this.handler.endTransport();
  }

  /** Takes the send queue away (the connection fails or ends); it may still be encoding. */
  private takeQueue(): SendQueue | null {
    const queue = this.queue;
    this.queue = null;
    return queue;
  }

  // ---- commands in, bytes out ------------------------------------------------------------

  /**
   * Sends a data message (or a fragment of one). Throws nothing; when the connection is not
   * open the callback receives an error.
   */
  send(data: Buffer, flags: SendFlags, cb?: SendCallback): void {
    if (this.stateValue !== ConnectionState.Open || this.closeSent || this.inputEnding) {
      if (cb) queueMicrotask(() => cb(notOpenError()));
      return;
    }
    let opcode: number = flags.binary ? Opcode.Binary : Opcode.Text;
    let compress = false;
    if (this.sendingFragments) {
      opcode = Opcode.Continuation;
      compress = this.sendingCompressed;
    } else {
      compress = this.extension !== null && flags.compress && this.extension.shouldEncode(data.length);
      this.sendingCompressed = compress;
    }
    this.sendingFragments = !flags.fin;
    if (this.queue !== null || compress) {
      (this.queue ??= new SendQueue(this)).push({ kind: 'data', opcode, data, fin: flags.fin, compress, cb });
    } else {
      this.writeData(opcode, data, flags.fin, 0, cb);
    }
  }

  /**
   * Sends one data message already framed (a broadcast framed once for many connections), in
   * order with every other send. Returns `false`, sending nothing, when that is not possible:
   * the connection is not open or closing, this end masks its frames (a client: RFC 6455 §5.3
   * wants a fresh key per frame), or the application is in the middle of a fragmented message
   * (RFC 6455 §5.4: fragments of one message are never interleaved with another).
   */
  sendShared(frame: SharedFrame, cb?: SendCallback): boolean {
    if (this.stateValue !== ConnectionState.Open || this.closeSent || this.inputEnding || this.masked || this.sendingFragments) {
      return false;
    }
    if (this.queue !== null) this.queue.push({ kind: 'shared', frame, cb });
    else this.writeShared(frame, cb);
    return true;
  }

  /** Sends a ping (payload at most 125 bytes; checked by the caller). */
  ping(data: Buffer, cb?: SendCallback): void {
    if (this.closeSent || this.inputEnding || this.stateValue === ConnectionState.Closed) {
      if (cb) queueMicrotask(() => cb(notOpenError()));
      return;
    }
    this.sendControl(Opcode.Ping, data, cb);
  }

  /** Sends a pong (payload at most 125 bytes; checked by the caller). */
  pong(data: Buffer, cb?: SendCallback): void {
    if (this.closeSent || this.inputEnding || this.stateValue === ConnectionState.Closed) {
      if (cb) queueMicrotask(() => cb(notOpenError()));
      return;
    }
    this.sendControl(Opcode.Pong, data, cb);
  }

  /**
   * Starts (or answers) the close handshake. Throws TypeError/RangeError for an invalid code or
   * reason before anything is written. Data sent earlier is written first.
   */
  close(code?: number, reason?: string | Buffer): void {
    const payload = encodeClosePayload(code, reason);
    if (this.closeSent || this.stateValue === ConnectionState.Closed) return;
    this.stateValue = ConnectionState.Closing;
    this.queueClose(payload, undefined);
    if (this.closeReceived) this.afterCloseExchanged();
    else this.handler.awaitClose();
  }

  private queueClose(payload: Buffer, cb: SendCallback | undefined): void {
    this.closeSent = true;
    // RFC 6455 §5.5.1: nothing, a pong included, follows our close frame.
    this.autoPongs?.stop();
    this.sendControl(Opcode.Close, payload, cb);
  }

  /**
   * Control frames go out at once, between fragments if need be (RFC 6455 §5.4), except a
   * close frame, which waits for data queued before it so that nothing sent earlier is lost.
   */
  private sendControl(opcode: number, payload: Buffer, cb?: SendCallback): void {
    if (opcode === Opcode.Close && this.queue !== null) {
      this.queue.push({ kind: 'close', payload, cb });
      return;
    }
    encodeFrame(this, opcode, payload, true, 0, this.masked, cb);
  }

  // ---- frames out (FrameOutput, SendQueueOwner) ----------------------------------------

  /** @internal FrameOutput: one whole frame goes to the transport. */
  writeFrame(
    first: number,
    payloadLength: number,
    buffer: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    cb?: WriteCallback,
  ): void {
    this.handler.writeFrame(first, payloadLength, buffer, start, end, payload, cb);
  }

  /**
   * @internal SendQueueOwner: a data frame; a large one goes to the transport to be written a
   * fragment at a time, so that control frames are never stuck behind it.
   */
  writeData(opcode: number, payload: Buffer, fin: boolean, rsv: number, cb: WriteCallback | undefined): void {
    const handler = this.handler;
    if (payload.length > FRAGMENT_THRESHOLD && handler.writeMessage !== undefined) {
      handler.writeMessage(new FragmentedMessage(opcode, payload, fin, rsv, this.masked, cb));
    } else {
      encodeFrame(this, opcode, payload, fin, rsv, this.masked, cb);
    }
  }

  /** @internal SendQueueOwner: a frame framed once for many connections. */
  writeShared(frame: SharedFrame, cb: WriteCallback | undefined): void {
    const handler = this.handler;
    const payload = frame.payload;
    if (payload !== null && frame.payloadLength > FRAGMENT_THRESHOLD && handler.writeMessage !== undefined) {
      // Fragments of the shared payload (views: the bytes are still not copied).
      handler.writeMessage(new FragmentedMessage(frame.first & 0x0f, payload, true, frame.first & 0x70, false, cb));
      return;
    }
    handler.writeFrame(frame.first, frame.payloadLength, frame.head, 0, frame.head.length, payload, cb);
  }

  /** @internal SendQueueOwner: our close frame, after the sends queued before it. */
  writeClose(payload: Buffer, cb: WriteCallback | undefined): void {
    encodeFrame(this, Opcode.Close, payload, true, 0, this.masked, cb);
  }

  /** @internal SendQueueOwner: frames may still be written. */
  get canWrite(): boolean {
    return !this.failed && this.stateValue !== ConnectionState.Closed && !this.inputEnding;
  }

  /** @internal SendQueueOwner: compressing a message failed. */
  encodeFailed(err: Error): void {
    this.fail(new WebSocketError('WS_ERR_EXTENSION_FAILED', `Compression failed: ${err.message}`));
  }

  /** @internal SendQueueOwner: nothing waits any more; end the transport if the close asked to. */
  queueEmptied(): void {
    this.queue = null;
    if (this.endRequested) {
      this.endRequested = false;
      this.handler.endTransport();
    }
  }

  /** Fails every send still waiting behind the extension (the output side is gone). */
  private failQueuedSends(): void {
    this.takeQueue()?.clear(notOpenError())?.cb?.(notOpenError());
  }

  private disposeExtension(): void {
    this.failQueuedSends();
    this.extension?.dispose();
  }
}

const EMPTY_PAYLOAD = Buffer.alloc(0);

/** Any failure of an extension fails the connection; unknown errors close with 1011. */
function asWebSocketError(err: Error): WebSocketError {
  if (err instanceof WebSocketError) return err;
  return new ProtocolError('WS_ERR_EXTENSION_FAILED', CloseCode.InternalError, `Extension failed: ${err.message}`);
}
