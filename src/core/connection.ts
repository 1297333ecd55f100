import { Assembler, type MessageSink } from './assembler.js';
import { AutoPong, DEFAULT_MAX_PENDING_AUTO_PONGS } from './auto-pong.js';
import { encodeClosePayload, parseClosePayload } from './close.js';
import { CloseCode, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD, Opcode } from './constants.js';
import { ConnectionOutput } from './connection-output.js';
import { type ConnectionHandler, type ConnectionLimits, type ConnectionOptions, ConnectionState } from './connection-types.js';
import { notOpenError, ProtocolError, WebSocketError } from './errors.js';
import { encodeFrame } from './frame-encoder.js';
import { FrameParser } from './frame-parser.js';
import { isValidUtf8 } from './utf8.js';

export { ConnectionState } from './connection-types.js';
export type { ConnectionHandler, ConnectionLimits, ConnectionOptions, Role, SendCallback, SendFlags } from './connection-types.js';

/**
 * The sans-I/O RFC 6455 connection shared by client and server: bytes in, events out;
 * commands in, bytes out. It owns the frame parser, the message assembler, ping/pong and the
 * close handshake, and never touches a socket or a timer.
 */
export class Connection extends ConnectionOutput implements MessageSink {
  /** The frame parser, created with the assembler by the first input (see {@link parser}). */
  private parserState: FrameParser | null = null;
  private assemblerState: Assembler | null = null;

  /** The peer's close frame, once it arrived: one field rather than two in every open connection. */
  private peerClose: { readonly code: number; readonly reason: Buffer } | null = null;

  /**
   * @param limits - Defaults to `options`. A server passes its one limits object, so that each
   *   connection holds a reference to it and not copies of its fields.
   */
  constructor(handler: ConnectionHandler, options: ConnectionOptions, limits: ConnectionLimits = options) {
    super(handler, options, limits);
  }

  /** The close code from the peer's close frame (1006 before it arrives). */
  get closeCode(): number {
    return this.peerClose === null ? CloseCode.Abnormal : this.peerClose.code;
  }

  /** The close reason from the peer's close frame (empty before it arrives). */
  get closeReason(): Buffer {
    return this.peerClose === null ? EMPTY_PAYLOAD : this.peerClose.reason;
  }

  private get maxPendingAutoPongs(): number {
    return this.limits.maxPendingAutoPongs ?? DEFAULT_MAX_PENDING_AUTO_PONGS;
  }

  /**
   * The reading side is created when first used: a connection that has received nothing (most
   * of a server's idle connections) holds no parser and no assembler, about 0.35 kB less.
   */
  private get parser(): FrameParser {
    return this.parserState ?? this.createReader().parser;
  }

  private get assembler(): Assembler {
    return this.assemblerState ?? this.createReader().assembler;
  }

  private createReader(): { parser: FrameParser; assembler: Assembler } {
    const limits = this.limits;
    const maxPayload = limits.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    const assembler = new Assembler(this, {
      maxPayload,
      maxFragments: limits.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
      skipUtf8Validation: this.skipUtf8Validation,
    });
    const parser = new FrameParser(assembler, {
      expectMasked: this.role === 'server',
      maxFrameLength: maxPayload,
      allowedRsv: this.extension?.rsv ?? 0,
      maxFrameChunks: limits.maxBufferedChunks ?? Infinity,
    });
    this.assemblerState = assembler;
    this.parserState = parser;
    return { parser, assembler };
  }

  /**
   * Record where each frame of a message starts (for the `fragments` binary type); read them in
   * `onMessage` from {@link frameStarts}.
   */
  set recordFrames(value: boolean) {
    if (value || this.assemblerState !== null) this.assembler.recordFrames = value;
  }

  /**
   * Offsets at which the frames after the first start in the message being delivered; `null`
   * for a message of one frame, a decompressed one, or when not recorded.
   */
  get frameStarts(): readonly number[] | null {
    return this.assemblerState === null ? null : this.assemblerState.deliveredFrameStarts;
  }

  /** Bytes received and held: a partial message plus input held while paused. */
  get bufferedInbound(): number {
    const assembler = this.assemblerState;
    const parser = this.parserState;
    return (assembler === null ? 0 : assembler.bufferedBytes) + (parser === null ? 0 : parser.pendingBytes);
  }

  // ---- bytes in -------------------------------------------------------------------------

  /**
   * Feeds bytes received from the peer. `borrowed`: the chunk's memory is reused once the call
   * returns (see {@link FrameParser.push}).
   */
  receive(chunk: Buffer, borrowed = false): void {
    try {
      this.parser.push(chunk, borrowed);
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

  /**
   * Ends a {@link pause} and delivers held input again; with `deliver` false the input stays
   * held until the next call (the transport delivers it on the next tick).
   */
  resume(deliver = true): void {
    this.userPaused = false;
    if (deliver) this.resumeParser();
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
    const peerClose = parseClosePayload(payload, this.skipUtf8Validation);
    const { code, reason } = peerClose;
    this.closeReceived = true;
    this.peerClose = peerClose;
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
