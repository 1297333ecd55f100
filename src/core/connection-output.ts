/**
 * The sending side of a {@link Connection}: the commands that produce frames (send, a frame
 * shared by a broadcast, ping, pong, and the close frame), the queue behind the extension's
 * encoder, and where frames go — whole to the binding, or, for a large data frame, a fragment at
 * a time so that control frames are never stuck behind it. The receiving side and the close
 * handshake are in connection.ts.
 *
 * @module
 */
import { AutoPong } from './auto-pong.js';
import { Opcode } from './constants.js';
import { ConnectionFlags } from './connection-flags.js';
import { type ConnectionHandler, type ConnectionLimits, type ConnectionOptions, ConnectionState, type SendCallback, type SendFlags } from './connection-types.js';
import { notOpenError, WebSocketError } from './errors.js';
import type { MessageExtension } from './extension.js';
import { encodeFrame, type FrameOutput, type WriteCallback } from './frame-encoder.js';
import { FRAGMENT_THRESHOLD, FragmentedMessage } from './fragmented-message.js';
import type { MaskGenerator } from './mask.js';
import { SendQueue, type SendQueueOwner } from './send-queue.js';
import type { SharedFrame } from './shared-frame.js';

/** The sending side of a connection; see the module comment. */
export abstract class ConnectionOutput extends ConnectionFlags implements FrameOutput, SendQueueOwner {
  /** The limits, usually one object shared by every connection of a server. */
  readonly limits: ConnectionLimits;
  protected readonly handler: ConnectionHandler;
  protected readonly extension: MessageExtension | null;
  /** Sends waiting behind the extension's encoder (send-queue.ts), created when one must wait. */
  protected queue: SendQueue | null = null;
  /** Automatic pongs, created by the first ping. */
  protected autoPongs: AutoPong | null = null;

  constructor(handler: ConnectionHandler, options: ConnectionOptions, limits: ConnectionLimits) {
    super(options.role === 'client', limits.autoPong ?? true, limits.skipUTF8Validation === true);
    this.limits = limits;
    this.handler = handler;
    this.extension = options.extension ?? null;
  }

  /** FrameOutput: the `generateMask` option (client role), `null` for random keys. */
  get maskGenerator(): MaskGenerator | null {
    return this.role === 'client' ? (this.limits.generateMask ?? null) : null;
  }

  /** Fails the connection (RFC 6455 §7.1.7); see Connection.fail. */
  abstract fail(err: WebSocketError): void;

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

  protected queueClose(payload: Buffer, cb: SendCallback | undefined): void {
    this.closeSent = true;
    // RFC 6455 §5.5.1: nothing, a pong included, follows our close frame.
    this.autoPongs?.stop();
    this.sendControl(Opcode.Close, payload, cb);
  }

  /**
   * Control frames go out at once, between fragments if need be (RFC 6455 §5.4), except a
   * close frame, which waits for data queued before it so that nothing sent earlier is lost.
   */
  protected sendControl(opcode: number, payload: Buffer, cb?: SendCallback): void {
    if (opcode === Opcode.Close && this.queue !== null) {
      this.queue.push({ kind: 'close', payload, cb });
      return;
    }
    encodeFrame(this, opcode, payload, true, 0, this.masked, cb);
  }

  /** Ends the transport once every queued frame (the close frame last) has been written. */
  protected requestEnd(): void {
    if (this.queue !== null) this.endRequested = true;
    else this.handler.endTransport();
  }

  /** Takes the send queue away (the connection fails or ends); it may still be encoding. */
  protected takeQueue(): SendQueue | null {
    const queue = this.queue;
    this.queue = null;
    return queue;
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
  protected failQueuedSends(): void {
    this.takeQueue()?.clear(notOpenError())?.cb?.(notOpenError());
  }
}
