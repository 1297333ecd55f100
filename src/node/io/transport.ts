import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Connection, type ConnectionHandler, type Role, type SendCallback } from '../../core/connection.js';
import type { MessageExtension } from '../../core/extension.js';
import type { ConnectionSettings } from './connection-options.js';
import { CloseCode } from '../../core/constants.js';
import type { WebSocketError } from '../../core/errors.js';
import { WriteBatch } from './write-batch.js';
import { ABORT_GRACE, type LocalCloseReason, LOCAL_CLOSE_REASONS, LOCAL_CLOSE_TEXT, protocolCloseReason } from './local-close.js';
import type { TransportMonitor } from './monitor.js';
import type { FragmentedMessage } from '../../core/fragmented-message.js';
import { type RoutingHost, routeFrame, routeMessage, type SendScheduler } from './send-scheduler.js';
import { linkSocket, stopData } from './socket-link.js';

/** What a {@link Transport} reports to the WebSocket that owns it. */
export interface TransportOwner {
  onTransportMessage(data: Buffer, isBinary: boolean): void;
  onTransportPing(data: Buffer): void;
  onTransportPong(data: Buffer): void;
  onTransportCloseFrame(code: number, reason: Buffer): void;
  /** The connection was failed with `err`; `localReason` says which policy of ours applied. */
  onTransportError(err: WebSocketError, localReason: LocalCloseReason | null): void;
  onTransportDrain(): void;
  /** More than `maxBufferedAmount` bytes wait to be sent; the owner closes the connection. */
  onTransportOverflow(): void;
  /** The socket closed; `code` and `reason` are final. */
  onTransportClosed(code: number, reason: Buffer, wasClean: boolean, localReason: LocalCloseReason | null): void;
}


const READING = 1;
const USER_PAUSED = 2;
const CLOSED = 4;
const CLOSE_REPORT_PENDING = 8;
/** The socket reads into the shared input buffer (see shared-input.ts). */
const SHARED_INPUT = 16;
/** Reading into the shared input buffer was stopped by {@link Transport.receiveShared}. */
const INPUT_STOPPED = 32;
// The local close reason, as 1 + its index in LOCAL_CLOSE_REASONS (0: none), from LOCAL_SHIFT.
const LOCAL_SHIFT = 6;

/**
 * Binds a {@link Connection} to a Node stream socket: socket chunks go in, frames come out as
 * batched writes (frames produced in the same tick leave in one write), reading pauses while a
 * message is decoded, and a timer bounds the wait for the peer's side of the close handshake.
 */
export class Transport implements ConnectionHandler, RoutingHost {
  /** The protocol state machine. */
  readonly connection: Connection;
  /** The underlying socket (any Duplex works; TCP sockets get Nagle disabled). */
  readonly socket: Duplex;
  private readonly owner: TransportOwner;
  private closeTimer: NodeJS.Timeout | null = null;
  /** Frames gathered for the next socket write, created by the first write (see {@link batch}). */
  private batchState: WriteBatch | null = null;
  /**
   * The booleans below, one bit each, and {@link localClose} in the bits from LOCAL_SHIFT up:
   * an idle server holds thousands of transports.
   */
  private bits = READING;
  /** @internal Outbound queue (send-scheduler.ts), created when the socket is full or a message is large. */
  scheduler: SendScheduler | null = null;
  /** @internal Toolkit hooks (statistics, heartbeat, limits); `null` when none is enabled. */
  monitor: TransportMonitor | null = null;

  constructor(
    owner: TransportOwner,
    socket: Duplex,
    head: Buffer | undefined,
    role: Role,
    extension: MessageExtension | null,
    settings: ConnectionSettings,
  ) {
    this.owner = owner;
    this.socket = socket;
    // The settings object is shared by every connection of a server: the connection keeps a
    // reference to it, not a copy of each limit.
    this.connection = new Connection(this, { role, extension }, settings);
    const tcp = socket as Partial<Socket>;
    tcp.setTimeout?.(0);
    tcp.setNoDelay?.(true);
    // Bytes that arrived with the upgrade go back into the socket before the 'data' listener is
    // attached: unshifting into a flowing stream emits them synchronously, before the server's
    // `connection` listeners (or the client's `open` listeners) could subscribe, and they were lost.
    // Attaching 'data' afterwards resumes the stream on the next tick, so they are parsed first.
    if (head !== undefined && head.length > 0) socket.unshift(head);
    if (linkSocket(socket, this, settings.sharedReadBuffer)) this.bits |= SHARED_INPUT;
    if (socket.isPaused()) socket.resume();
  }

  /** The connection settings, shared by every connection of a server (held by the connection). */
  get settings(): ConnectionSettings {
    // The connection was given these settings as its limits by the constructor.
    return this.connection.limits as ConnectionSettings;
  }

  /** @internal Why this end is closing, when one of our policies is closing it. */
  get localClose(): LocalCloseReason | null {
    const index = this.bits >> LOCAL_SHIFT;
    return index === 0 ? null : (LOCAL_CLOSE_REASONS[index - 1] ?? null);
  }

  set localClose(reason: LocalCloseReason | null) {
    const index = reason === null ? 0 : LOCAL_CLOSE_REASONS.indexOf(reason) + 1;
    this.bits = (this.bits & ((1 << LOCAL_SHIFT) - 1)) | (index << LOCAL_SHIFT);
  }

  /** Reading from the socket (not stopped by a pause, a decode or a held event). */
  private get reading(): boolean {
    return (this.bits & READING) !== 0;
  }

  private set reading(on: boolean) {
    this.bits = on ? this.bits | READING : this.bits & ~READING;
  }

  /** Input is wanted now: reading, and not paused by the application. */
  private get wantsInput(): boolean {
    return (this.bits & (READING | USER_PAUSED)) === READING;
  }

  /** The application paused the socket. */
  private get userPaused(): boolean {
    return (this.bits & USER_PAUSED) !== 0;
  }

  private set userPaused(on: boolean) {
    this.bits = on ? this.bits | USER_PAUSED : this.bits & ~USER_PAUSED;
  }

  /** The socket closed. */
  private get closed(): boolean {
    return (this.bits & CLOSED) !== 0;
  }

  private set closed(on: boolean) {
    this.bits = on ? this.bits | CLOSED : this.bits & ~CLOSED;
  }

  /** The socket closed while received input was still being delivered: report once it is. */
  private get closeReportPending(): boolean {
    return (this.bits & CLOSE_REPORT_PENDING) !== 0;
  }

  private set closeReportPending(on: boolean) {
    this.bits = on ? this.bits | CLOSE_REPORT_PENDING : this.bits & ~CLOSE_REPORT_PENDING;
  }

  /** Bytes written but not yet flushed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.gatheredBytes + (this.scheduler?.queuedBytes ?? 0);
  }

  /** `true` when the socket's write buffer is below its high-water mark and nothing waits in the send queue. */
  get writable(): boolean {
    return this.socketWritable && (this.scheduler === null || this.scheduler.idle);
  }

  /** @internal `true` when the socket's write buffer is below its high-water mark. */
  get socketWritable(): boolean {
    const socket = this.socket;
    return !socket.writableNeedDrain && socket.writableLength + this.gatheredBytes < socket.writableHighWaterMark;
  }

  /** An idle connection has written nothing and holds no batch. */
  private get batch(): WriteBatch {
    return this.batchState ?? (this.batchState = new WriteBatch(this.socket));
  }

  /** Bytes gathered in the batch, not yet handed to the socket. */
  private get gatheredBytes(): number {
    return this.batchState === null ? 0 : this.batchState.pendingBytes;
  }

  // ---- ConnectionHandler ----

  writeFrame(
    first: number,
    _payloadLength: number,
    buffer: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    cb?: SendCallback,
  ): void {
    const socket = this.socket;
    if (this.closed || socket.destroyed || socket.writableEnded) {
      if (cb) queueMicrotask(() => cb(new Error('The socket is closed')));
      return;
    }
    routeFrame(this, first, buffer, start, end, payload, cb);
  }

  writeMessage(message: FragmentedMessage): void {
    const socket = this.socket;
    if (this.closed || socket.destroyed || socket.writableEnded) {
      queueMicrotask(() => message.abandon(new Error('The socket is closed')));
      return;
    }
    routeMessage(this, message);
  }

  /** @internal Hands bytes to the socket past the send scheduler (which calls this). */
  passOut(buffer: Buffer, start: number, end: number, cb?: SendCallback): void {
    this.batch.write(buffer, start, end, cb);
  }

  /** @internal The send queue went out and the socket has room again (send-scheduler.ts). */
  schedulerDrained(): void {
    this.owner.onTransportDrain();
  }

  /** @internal More than `maxBufferedAmount` bytes wait to be sent (send-scheduler.ts). */
  outputOverflow(): void {
    if (this.localClose !== null || this.closed) return;
    this.owner.onTransportOverflow();
  }

  /** @internal The send queue is empty after an end was deferred: end now. */
  finishEnd(): void {
    this.flush();
    if (!this.socket.writableEnded) this.socket.end();
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    const monitor = this.monitor;
    if (monitor !== null && !monitor.messageIn(data, isBinary)) return;
    this.owner.onTransportMessage(data, isBinary);
    if (!this.settings.allowSynchronousEvents) this.yieldAfterEvent();
  }

  onPing(data: Buffer): void {
    this.monitor?.controlIn();
    this.owner.onTransportPing(data);
    if (!this.settings.allowSynchronousEvents) this.yieldAfterEvent();
  }

  onPong(data: Buffer): void {
    this.monitor?.controlIn();
    this.owner.onTransportPong(data);
    if (!this.settings.allowSynchronousEvents) this.yieldAfterEvent();
  }

  /** `allowSynchronousEvents: false`: nothing more is parsed until the next turn of the event loop. */
  private yieldAfterEvent(): void {
    if (this.closed) return;
    this.connection.hold();
    this.setReading(false);
    setImmediate(releaseHold, this);
  }

  /** @internal The turn after an event (see yieldAfterEvent). */
  releaseHold(): void {
    this.setReading(true);
    this.connection.release();
  }

  onCloseFrame(code: number, reason: Buffer): void {
    this.owner.onTransportCloseFrame(code, reason);
  }

  onProtocolError(err: WebSocketError): void {
    if (this.localClose === null) this.localClose = protocolCloseReason(err);
    if (this.localClose === 'pingFlood') {
      // A peer that does not read will not answer our close frame either: stop reading what
      // it keeps sending and give the close frame a moment before the socket goes.
      this.reading = false;
      setTimeout(destroySocket, ABORT_GRACE, this.socket).unref();
    } else {
      // Nothing more is parsed, but reading must go on (even if paused by a decode or by the
      // application) so that the peer's FIN is seen and the close completes without the timer.
      this.reading = true;
      this.userPaused = false;
    }
    this.applyReading();
    this.owner.onTransportError(err, this.localClose);
  }

  endTransport(): void {
    // Frames still in the send queue (the close frame among them) go out first.
    if (this.scheduler !== null && this.scheduler.deferEnd()) {
      this.armCloseTimer();
      return;
    }
    this.flush();
    if (!this.socket.writableEnded) this.socket.end();
    this.armCloseTimer();
  }

  awaitClose(): void {
    this.armCloseTimer();
  }

  setReading(reading: boolean): void {
    this.reading = reading;
    this.applyReading();
  }

  // ---- commands from the WebSocket ----

  /** Stops reading and delivering messages. */
  pause(): void {
    this.userPaused = true;
    this.connection.pause();
    this.applyReading();
  }

  /** Resumes reading and delivers held messages. */
  resume(): void {
    this.userPaused = false;
    this.applyReading();
    // Held input is delivered on the next tick, as a resumed stream emits what it buffered:
    // never from inside resume(), before the caller could add a listener.
    this.connection.resume(false);
    process.nextTick(deliverHeld, this);
  }

  /** @internal The tick after {@link resume}: delivers held input unless paused again. */
  deliverHeld(): void {
    if (!this.userPaused) this.connection.resume();
  }

  /**
   * Destroys the socket at once. Frames already encoded this tick (a close frame just sent,
   * say) are handed to the socket first, as `ws` writes frames as soon as they are sent.
   */
  destroy(): void {
    if (!this.closed) this.flush();
    this.socket.destroy();
  }

  /** Writes out batched frames now. */
  flush(): void {
    this.batchState?.flush();
  }

  /**
   * @internal Bytes read into the shared input buffer (borrowed: parsed or copied before this
   * returns). Returns `false`, which stops reading, when input is not wanted now: like a paused
   * stream, which still takes what arrives up to its limit, a paused transport takes one more
   * read (at most INPUT_SIZE bytes, held by the parser) and then stops.
   */
  receiveShared(chunk: Buffer): boolean {
    this.connection.receive(chunk, true);
    if (this.wantsInput) return true;
    this.bits |= INPUT_STOPPED;
    return false;
  }

  private applyReading(): void {
    const socket = this.socket;
    if ((this.bits & SHARED_INPUT) !== 0) {
      // Stopped from the read callback (receiveShared), restarted here.
      if (this.wantsInput && (this.bits & INPUT_STOPPED) !== 0) {
        this.bits &= ~INPUT_STOPPED;
        socket.resume();
      }
      return;
    }
    if (this.wantsInput) {
      if (socket.isPaused()) socket.resume();
    } else if (!socket.isPaused()) {
      socket.pause();
    }
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== null || this.closed) return;
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.settings.closeTimeout);
    this.closeTimer.unref();
  }

  /** @internal The peer sent FIN. */
  onEnd(): void {
    // The peer sent FIN: nothing more can arrive, so finish our side too.
    this.connection.receiveEnd();
    this.scheduler?.discard();
    this.flush();
    if (!this.socket.writableEnded) this.socket.end();
  }

  /** @internal The socket's write buffer emptied. */
  onSocketDrain(): void {
    const scheduler = this.scheduler;
    if (scheduler !== null) scheduler.onDrain();
    else this.owner.onTransportDrain();
  }

  /** @internal The socket failed. */
  onSocketError(): void {
    // A reset or write after the peer left: the connection is over (reported as 1006 on close).
    this.socket.destroy();
  }

  /** @internal The received input held at the end has been delivered (see Connection.receiveEnd). */
  inputFinished(): void {
    if (this.closeReportPending) {
      this.closeReportPending = false;
      this.reportClosed();
    }
  }

  /** @internal The socket closed. */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.batchState?.discard('The socket is closed');
    const scheduler = this.scheduler;
    if (scheduler !== null && !scheduler.idle) scheduler.discard(new Error('The socket is closed'), false);
    const connection = this.connection;
    // Bytes the socket received while we were not reading (paused for a decode or by the
    // application) are still in its buffer: they were sent before the end, so parse them too.
    const socket = this.socket;
    stopData(socket);
    for (let chunk: Buffer | null; socket.readableLength > 0 && (chunk = socket.read() as Buffer | null) !== null; ) {
      connection.receive(chunk);
    }
    // A message still being decoded, and the frames behind it, are delivered before `close`.
    if (!connection.receiveEnd()) {
      this.closeReportPending = true;
      return;
    }
    this.reportClosed();
  }

  /** Reports the end of the connection, with the peer's close code if its close frame arrived. */
  private reportClosed(): void {
    const connection = this.connection;
    const clean = connection.closeSent && connection.closeReceived;
    const code = connection.closeReceived ? connection.closeCode : CloseCode.Abnormal;
    // Without the peer's close frame, the reason says which policy of ours ended it, if one did.
    const local = this.localClose;
    const reason = connection.closeReceived ? connection.closeReason : local === null ? EMPTY : Buffer.from(LOCAL_CLOSE_TEXT[local]);
    this.monitor?.closed(this, code, local);
    this.owner.onTransportClosed(code, reason, clean, local);
  }
}

const EMPTY = Buffer.alloc(0);

function destroySocket(socket: Duplex): void {
  socket.destroy();
}

function deliverHeld(transport: Transport): void {
  transport.deliverHeld();
}

function releaseHold(transport: Transport): void {
  transport.releaseHold();
}
