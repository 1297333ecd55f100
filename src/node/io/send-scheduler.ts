/**
 * The outbound scheduler of one connection: our own queue behind the socket, so that control
 * frames are never stuck behind data.
 *
 * - Data goes to the socket only while the socket is below its high-water mark; the rest waits
 *   here and follows on `drain`. The socket therefore never holds more than about one
 *   high-water mark plus one fragment.
 * - A large data frame (core/fragmented-message.ts) is written a fragment at a time (RFC 6455
 *   §5.4: "a sender MAY create fragments of any size for non-control messages"): 64 KiB,
 *   growing up to 1 MiB while the kernel takes each one at once, back to 64 KiB as soon as one
 *   stays in the socket's buffer.
 * - Ping and pong frames skip the queue and go out at the next frame boundary, i.e. between two
 *   fragments if a large message is under way (RFC 6455 §5.4: "control frames MAY be injected in
 *   the middle of a fragmented message"). A close frame keeps its place behind queued data,
 *   unless the close answers the peer's or is one of our policy closes: then the data still
 *   queued is dropped and the close frame goes next (RFC 6455 §5.5.1: nothing follows a close).
 *
 * The connection hands over whole frames with their first header byte, so nothing here ever
 * parses a header.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import type { Connection } from '../../core/connection.js';
import { Opcode } from '../../core/constants.js';
import { WebSocketError } from '../../core/errors.js';
import { FRAGMENT_THRESHOLD, type FragmentedMessage } from '../../core/fragmented-message.js';
import type { FrameOutput, WriteCallback } from '../../core/frame-encoder.js';
import type { MaskGenerator } from '../../core/mask.js';
import type { ConnectionSettings } from './connection-options.js';
import { type Entry, FrameQueue } from './frame-queue.js';
import { isUrgentClose, type LocalCloseReason } from './local-close.js';
import type { TransportMonitor } from './monitor.js';

/** Fragments start at this size (and never exceed a frame handed over whole). */
export const DEFAULT_FRAGMENT_SIZE = FRAGMENT_THRESHOLD;

/** Fragments grow up to this size while the kernel takes each one at once. */
export const MAX_FRAGMENT_SIZE = 1024 * 1024;

/** What the scheduler needs from the transport that owns it. @internal */
export interface SchedulerHost {
  /** The protocol state (role, whether the peer's close frame arrived, the mask generator). */
  readonly connection: Connection;
  /** The socket. */
  readonly socket: Duplex;
  /** Why this end is closing, if one of our policies is closing it. */
  readonly localClose: LocalCloseReason | null;
  /** Toolkit hooks, if any. */
  readonly monitor: TransportMonitor | null;
  /** The connection settings (`maxBufferedAmount`). */
  readonly settings: ConnectionSettings;
  /** The socket can take bytes without going above its high-water mark. */
  readonly socketWritable: boolean;
  /** Hands bytes to the socket, after everything handed over before. */
  passOut(buffer: Buffer, start: number, end: number, cb?: WriteCallback): void;
  /** Ends the socket now that everything queued went out (see {@link SendScheduler.deferEnd}). */
  finishEnd(): void;
  /** Everything queued went out and the socket has room: the connection is writable again. */
  schedulerDrained(): void;
  /** More than `maxBufferedAmount` bytes wait to be sent: the peer does not read; close it. */
  outputOverflow(): void;
}

/** A host whose scheduler is created on first need. @internal */
export interface RoutingHost extends SchedulerHost {
  /** The scheduler in use, or `null` while every write can go straight to the socket. */
  scheduler: SendScheduler | null;
}

/**
 * Routes one whole frame: with nothing queued, a control frame, or data while the socket has
 * room, goes straight to the socket without a scheduler (the common case allocates nothing);
 * anything else goes through the scheduler, created on first need. @internal
 */
export function routeFrame(
  host: RoutingHost,
  first: number,
  buffer: Buffer,
  start: number,
  end: number,
  payload: Buffer | null,
  cb: WriteCallback | undefined,
): void {
  const scheduler = host.scheduler;
  if (scheduler !== null) {
    scheduler.frame(first, buffer, start, end, payload, cb);
    return;
  }
  const control = (first & 0x08) !== 0;
  if (!control && !host.socketWritable) {
    schedulerOf(host).frame(first, buffer, start, end, payload, cb);
    return;
  }
  if (!control && (first & 0x80) !== 0) host.monitor?.messageOut();
  if (payload === null) {
    host.passOut(buffer, start, end, cb);
  } else {
    host.passOut(buffer, start, end);
    host.passOut(payload, 0, payload.length, cb);
  }
  // This write may have filled the socket (`send` now returns false) in a way Node will not
  // follow with 'drain' (bytes still gathered for this tick): the scheduler watches for it.
  if (!host.socketWritable) schedulerOf(host).watchDrain();
}

/** Routes a large data frame: it is always written a fragment at a time by the scheduler. @internal */
export function routeMessage(host: RoutingHost, message: FragmentedMessage): void {
  schedulerOf(host).message(message, message.final);
}

function schedulerOf(host: RoutingHost): SendScheduler {
  return (host.scheduler ??= new SendScheduler(host));
}

/** The outbound queue of one connection; see the module comment. */
export class SendScheduler implements FrameOutput {
  private readonly host: SchedulerHost;
  private readonly fragmentSize: number;
  /** Size of the next fragment: grows while the kernel takes each one at once. */
  private nextFragment: number;
  private readonly queue = new FrameQueue();
  private endRequested = false;
  /** A write left data queued: report when the queue is empty again. */
  private drainWanted = false;
  private repumpScheduled = false;
  /** Looks that found the socket full with nothing sent: later ones wait for the next loop turn. */
  private stalls = 0;

  constructor(host: SchedulerHost, fragmentSize = DEFAULT_FRAGMENT_SIZE) {
    this.host = host;
    this.fragmentSize = Math.max(1, fragmentSize);
    this.nextFragment = this.fragmentSize;
  }

  /** Bytes queued here (not counting what the socket holds). */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Nothing is queued. */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  /** FrameOutput (fragments of a large message): the connection's mask generator. */
  get maskGenerator(): MaskGenerator | null {
    return this.host.connection.maskGenerator;
  }

  /**
   * A whole frame: `buffer[start, end)`, then `payload` when not `null`. Control frames go out
   * at once (a close frame as the module comment says); data waits behind queued data or a full
   * socket.
   */
  frame(first: number, buffer: Buffer, start: number, end: number, payload: Buffer | null, cb: WriteCallback | undefined): void {
    const host = this.host;
    const empty = this.queue.length === 0;
    const size = end - start + (payload === null ? 0 : payload.length);
    if ((first & 0x08) !== 0) {
      if ((first & 0x0f) === Opcode.Close) {
        const urgent = host.connection.closeReceived || isUrgentClose(host.localClose);
        if (!urgent && !empty) {
          this.enqueue({ first, buffer, start, end, payload, message: null, cb, size });
          return;
        }
        if (urgent && !empty) this.queue.clear(notOpen());
      }
      // Ping, pong, or a close with nothing (left) before it: straight out.
      this.writeOut(buffer, start, end, payload, cb);
      return;
    }
    if ((first & 0x80) !== 0) host.monitor?.messageOut();
    if (empty && host.socketWritable) this.writeOut(buffer, start, end, payload, cb);
    else this.enqueue({ first, buffer, start, end, payload, message: null, cb, size });
  }

  /** A large data frame, written a fragment at a time behind what is queued. */
  message(message: FragmentedMessage, fin: boolean): void {
    if (fin) this.host.monitor?.messageOut();
    this.enqueue({ first: 0, buffer: EMPTY, start: 0, end: 0, payload: null, message, cb: undefined, size: message.size });
  }

  private enqueue(entry: Entry): void {
    const queue = this.queue;
    const wasEmpty = queue.length === 0;
    queue.push(entry);
    this.pump();
    if (queue.length === 0) return;
    this.drainWanted = true;
    const host = this.host;
    if (wasEmpty) host.monitor?.backpressure();
    // A peer that stops reading must not make us hold its output without bound.
    if (queue.bytes + host.socket.writableLength > host.settings.maxBufferedAmount) host.outputOverflow();
  }

  /**
   * Sends queued frames while the socket has room. Returns `true` when the queue is empty.
   * Call it on the socket's `drain`.
   */
  pump(): boolean {
    const host = this.host;
    const queue = this.queue;
    const before = queue.bytes;
    while (queue.length > 0 && host.socketWritable) {
      const entry = queue.peek();
      const message = entry.message;
      if (message === null) {
        queue.shift(entry);
        this.writeOut(entry.buffer, entry.start, entry.end, entry.payload, entry.cb);
        continue;
      }
      this.sendFragment(entry, message);
      if (message.done) queue.shift(entry);
    }
    if (queue.length > 0) {
      this.stalls = queue.bytes < before ? 0 : this.stalls + 1;
      this.scheduleRepump();
      return false;
    }
    if (this.endRequested) {
      this.endRequested = false;
      host.finishEnd();
    }
    return true;
  }

  /** @internal The deferred look of {@link pump}. */
  repump(): void {
    this.repumpScheduled = false;
    if (this.host.socket.destroyed) return;
    if (this.pump() && this.drainWanted) this.reportDrained();
  }

  /** The socket is full although nothing is queued here: report `drain` once it has room again. */
  watchDrain(): void {
    this.drainWanted = true;
    this.scheduleRepump();
  }

  /** Call on the socket's 'drain': sends what is queued, then reports `drain` once all went out. */
  onDrain(): void {
    if (this.pump()) this.reportDrained();
  }

  /** The queue is empty: report `drain` as soon as the socket has room too. */
  private reportDrained(): void {
    const host = this.host;
    if (host.socketWritable) {
      this.stalls = 0;
      this.drainWanted = false;
      host.schedulerDrained();
      return;
    }
    this.drainWanted = true;
    this.stalls++;
    this.scheduleRepump();
  }

  /**
   * Bytes the transport gathered this tick may leave in a write that completes at once; Node
   * then emits no 'drain' (only a write() that returned false leads to one). So look again
   * right after that write; if the socket does push back, its 'drain' calls {@link onDrain}.
   * A look that finds no progress retries on the next turn of the event loop, never in a
   * tight loop.
   */
  private scheduleRepump(): void {
    const socket = this.host.socket;
    if (this.repumpScheduled || socket.writableNeedDrain || socket.destroyed) return;
    this.repumpScheduled = true;
    if (this.stalls <= 1) process.nextTick(repump, this);
    else setImmediate(repump, this);
  }

  /**
   * Drops every queued frame, failing their callbacks with `err`; a close frame already queued
   * goes out at once instead (unless `keepClose` is false: the socket is gone). A message cut
   * short this way is never completed: only a close frame may follow (RFC 6455 §5.5.1).
   */
  discard(err?: Error, keepClose = true): void {
    // Nothing queued (the usual close): no error to build, nothing to do.
    if (this.idle) return;
    const close = this.queue.clear(err ?? notOpen());
    if (close !== null && keepClose) this.writeOut(close.buffer, close.start, close.end, close.payload, close.cb);
    if (this.endRequested) {
      this.endRequested = false;
      this.host.finishEnd();
    }
  }

  /**
   * Asks to end the socket once the queue is empty. Returns `false` when it already is (the
   * caller ends it now) and `true` when {@link SchedulerHost.finishEnd} will be called later.
   */
  deferEnd(): boolean {
    if (this.idle) return false;
    this.endRequested = true;
    return true;
  }

  /** FrameOutput: a fragment encoded by a {@link FragmentedMessage} goes to the socket. */
  writeFrame(
    _first: number,
    _payloadLength: number,
    buffer: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    cb?: WriteCallback,
  ): void {
    this.writeOut(buffer, start, end, payload, cb);
  }

  private writeOut(buffer: Buffer, start: number, end: number, payload: Buffer | null, cb: WriteCallback | undefined): void {
    const host = this.host;
    if (payload === null) {
      host.passOut(buffer, start, end, cb);
      return;
    }
    host.passOut(buffer, start, end);
    host.passOut(payload, 0, payload.length, cb);
  }

  /** Sends the next fragment of a large frame. */
  private sendFragment(entry: Entry, message: FragmentedMessage): void {
    const before = message.size;
    message.writeNext(this, this.nextFragment);
    // A fragment the kernel took at once is not in the way of a control frame: the next one may
    // be twice as large (fewer writes for a fast peer); one left in the socket's buffer resets the
    // size, so that what a control frame can wait behind stays small.
    this.nextFragment =
      this.host.socket.writableLength === 0 ? Math.min(this.nextFragment * 2, MAX_FRAGMENT_SIZE) : this.fragmentSize;
    const written = before - message.size;
    entry.size -= written;
    this.queue.bytes -= written;
  }
}

const EMPTY = Buffer.alloc(0);

function repump(scheduler: SendScheduler): void {
  scheduler.repump();
}

function notOpen(): WebSocketError {
  return new WebSocketError('WS_ERR_NOT_OPEN', 'WebSocket is not open: the message was dropped by a close');
}
