/**
 * The outbound scheduler of one connection: our own queue behind the socket, so that control
 * frames are never stuck behind data.
 *
 * - Data goes to the socket only while the socket is below its high-water mark; the rest waits
 *   here and follows on `drain`. The socket therefore never holds more than about one
 *   high-water mark plus one fragment.
 * - Data frames with a payload above the fragment size are sent as fragments of that size
 *   (RFC 6455 §5.4: "a sender MAY create fragments of any size for non-control messages").
 * - Ping and pong frames skip the queue and go out at the next frame boundary, i.e. between two
 *   fragments if a large message is under way (RFC 6455 §5.4: "control frames MAY be injected in
 *   the middle of a fragmented message"). A close frame keeps its place behind queued data,
 *   unless the close answers the peer's or is one of our policy closes: then the data still
 *   queued is dropped and the close frame goes next (RFC 6455 §5.5.1: nothing follows a close).
 *
 * The scheduler sees the bytes the encoder produced, one frame at a time (a header and its
 * payload may come in several writes, but a header is never split), so it needs no change in
 * the core. Re-fragmenting a masked (client) frame re-masks each fragment with a fresh key
 * (RFC 6455 §5.3: a new key for every frame).
 *
 * @module
 */
import type { SendCallback } from '../core/connection.js';
import { Opcode } from '../core/constants.js';
import { WebSocketError } from '../core/errors.js';
import { createSplit, DEFAULT_FRAGMENT_SIZE, MAX_FRAGMENT_SIZE, type Split, writeFragment } from './fragmenter.js';
import { head, readHeader } from './frame-header.js';
import { isUrgentClose } from './local-close.js';
import { addCallback, type Entry, FrameQueue, joinCallbacks } from './frame-queue.js';
import type { SchedulerHost } from './outbound.js';

export { DEFAULT_FRAGMENT_SIZE } from './fragmenter.js';
export { routeOutbound, type SchedulerHost } from './outbound.js';

/** The outbound queue of one connection; see the module comment. */
export class SendScheduler {
  private readonly host: SchedulerHost;
  private readonly masked: boolean;
  private readonly fragmentSize: number;
  /** Size of the next fragment: grows while the kernel takes each one at once. */
  private nextFragment: number;
  private readonly queue = new FrameQueue();
  /** The frame whose payload is still arriving from the encoder. */
  private collecting: Entry | null = null;
  /** Payload bytes of a frame whose header went straight to the socket. */
  private passLeft = 0;
  /** Payload bytes of a dropped frame still to arrive (and be ignored). */
  private skipLeft = 0;
  private endRequested = false;
  /** A write left data queued: report when the queue is empty again. */
  private drainWanted = false;
  private repumpScheduled = false;
  /** Looks that found the socket full with nothing sent: later ones wait for the next loop turn. */
  private stalls = 0;

  constructor(host: SchedulerHost, masked: boolean, fragmentSize = DEFAULT_FRAGMENT_SIZE) {
    this.host = host;
    this.masked = masked;
    this.fragmentSize = Math.max(4, fragmentSize);
    this.nextFragment = this.fragmentSize;
  }

  /** Bytes queued here (not counting what the socket holds). */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Nothing is queued or half received. */
  get idle(): boolean {
    return this.queue.length === 0 && this.collecting === null && this.passLeft === 0;
  }

  /** Takes encoded bytes: whole frames, or a frame's header and payload over several writes. */
  write(buffer: Buffer, start: number, end: number, cb?: SendCallback): void {
    const wasEmpty = this.queue.length === 0;
    let pos = start;
    while (pos < end) {
      if (this.skipLeft > 0) {
        const n = Math.min(this.skipLeft, end - pos);
        this.skipLeft -= n;
        pos += n;
        if (pos === end && cb) process.nextTick(cb, notOpen());
        continue;
      }
      if (this.passLeft > 0) {
        const n = Math.min(this.passLeft, end - pos);
        this.passLeft -= n;
        this.host.passOut(buffer, pos, pos + n, pos + n === end ? cb : undefined);
        pos += n;
        continue;
      }
      if (this.collecting !== null) {
        pos = this.collect(buffer, pos, end, cb);
        continue;
      }
      if (!readHeader(buffer, pos, end)) {
        throw new Error('send scheduler: a frame header was split across writes');
      }
      const frameEnd = pos + head.headerLength + head.payloadLength;
      if (frameEnd <= end) this.frame(buffer, pos, frameEnd, frameEnd === end ? cb : undefined);
      else this.startFrame(buffer, pos, end, cb);
      pos = Math.min(frameEnd, end);
    }
    this.pump();
    const queue = this.queue;
    if (queue.length > 0) {
      this.drainWanted = true;
      const host = this.host;
      if (wasEmpty) host.monitor?.backpressure();
      // A peer that stops reading must not make us hold its output without bound.
      if (queue.bytes + host.socket.writableLength > host.settings.maxBufferedAmount) host.outputOverflow();
    }
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
      const split = entry.split;
      if (split === null) {
        queue.shift(entry);
        host.passOut(entry.buffer, entry.start, entry.end, joinCallbacks(entry.cb));
        continue;
      }
      if (!this.sendFragment(entry, split)) break;
      if (split.sent === split.length) queue.shift(entry);
    }
    if (queue.length > 0) {
      this.stalls = queue.bytes < before ? 0 : this.stalls + 1;
      this.scheduleRepump();
      return false;
    }
    if (this.endRequested && this.idle) {
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
   * Drops every queued data frame, failing their callbacks with `err`; a close frame already
   * queued goes out at once instead (unless `keepClose` is false: the socket is gone). A
   * message cut short this way is never completed: only a close frame may follow (RFC 6455
   * §5.5.1).
   */
  discard(err?: Error, keepClose = true): void {
    // Nothing queued (the usual close): no error to build, nothing to do.
    if (this.idle) return;
    const close = this.dropQueued(err ?? notOpen());
    if (close !== null && keepClose) this.host.passOut(close.buffer, close.start, close.end, joinCallbacks(close.cb));
    if (this.endRequested && this.idle) {
      this.endRequested = false;
      this.host.finishEnd();
    }
  }

  /** Empties the queue; returns the queued close frame, if there was one. */
  private dropQueued(err: Error): Entry | null {
    const close = this.queue.clear(err);
    const collecting = this.collecting;
    if (collecting !== null && collecting.split !== null) {
      this.skipLeft = collecting.split.length - collecting.split.collected;
      this.collecting = null;
    }
    return close;
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

  // ---- frames in ---------------------------------------------------------------------------

  /** A whole frame `buffer[start, end)`; `head` holds its header. */
  private frame(buffer: Buffer, start: number, end: number, cb: SendCallback | undefined): void {
    const host = this.host;
    const empty = this.queue.length === 0;
    if (head.opcode >= Opcode.Close) {
      if (head.opcode === Opcode.Close) {
        const urgent = host.connection.closeReceived || isUrgentClose(host.localClose);
        if (!urgent && !empty) {
          this.queue.push({ buffer, start, end, split: null, cb, size: end - start });
          return;
        }
        if (urgent && !empty) this.dropQueued(notOpen());
      }
      // Ping, pong, or a close with nothing (left) before it: straight out.
      host.passOut(buffer, start, end, cb);
      return;
    }
    if (head.fin) host.monitor?.messageOut();
    if (head.payloadLength > this.fragmentSize) {
      const entry = splitEntry(buffer, start, head.headerLength + head.payloadLength);
      const split = entry.split as Split;
      split.parts.push(buffer.subarray(start + head.headerLength, end));
      split.collected = split.length;
      entry.cb = cb;
      this.queue.push(entry);
      return;
    }
    if (empty && host.socketWritable) host.passOut(buffer, start, end, cb);
    else this.queue.push({ buffer, start, end, split: null, cb, size: end - start });
  }

  /** The header (and maybe part of the payload) of a frame that continues in later writes. */
  private startFrame(buffer: Buffer, start: number, end: number, cb: SendCallback | undefined): void {
    const host = this.host;
    const total = head.headerLength + head.payloadLength;
    const isData = head.opcode < Opcode.Close;
    if (isData && head.fin) host.monitor?.messageOut();
    if (isData && head.payloadLength <= this.fragmentSize && this.queue.length === 0 && host.socketWritable) {
      // Nothing queued: the header and the payload to come pass straight through.
      this.passLeft = total - (end - start);
      host.passOut(buffer, start, end, cb);
      return;
    }
    const entry = splitEntry(buffer, start, total);
    const split = entry.split as Split;
    const payloadStart = start + head.headerLength;
    if (end > payloadStart) {
      split.parts.push(buffer.subarray(payloadStart, end));
      split.collected = end - payloadStart;
    }
    addCallback(entry, cb);
    this.collecting = entry;
    this.queue.push(entry);
  }

  /** More payload of the frame being collected; returns the position after what it took. */
  private collect(buffer: Buffer, pos: number, end: number, cb: SendCallback | undefined): number {
    const entry = this.collecting as Entry;
    const split = entry.split as Split;
    const n = Math.min(end - pos, split.length - split.collected);
    if (n > 0) split.parts.push(pos === 0 && n === buffer.length ? buffer : buffer.subarray(pos, pos + n));
    split.collected += n;
    if (split.collected === split.length) {
      this.collecting = null;
      if (pos + n === end) addCallback(entry, cb);
    }
    return pos + n;
  }

  // ---- fragments out -----------------------------------------------------------------------

  /** Sends the next fragment of `split`; false when its bytes have not all arrived yet. */
  private sendFragment(entry: Entry, split: Split): boolean {
    const remaining = split.length - split.sent;
    const n = Math.min(this.nextFragment, remaining);
    if (split.collected - split.sent < n) return false;
    const first = split.sent === 0;
    const host = this.host;
    writeFragment(host, split, n, this.masked, n === remaining ? joinCallbacks(entry.cb) : undefined, host.connection.maskGenerator);
    // A fragment the kernel took at once is not in the way of a control frame: the next one may
    // be twice as large (fewer writes for a fast peer); one left in the socket's buffer resets the
    // size, so that what a control frame can wait behind stays small.
    this.nextFragment = host.socket.writableLength === 0 ? Math.min(this.nextFragment * 2, MAX_FRAGMENT_SIZE) : this.fragmentSize;
    const consumed = (first ? entry.size - split.length : 0) + n;
    entry.size -= consumed;
    this.queue.bytes -= consumed;
    return true;
  }
}

function repump(scheduler: SendScheduler): void {
  scheduler.repump();
}

/** A queue entry for the frame at `buffer[start]` (header in `head`), to be sent in fragments. */
function splitEntry(buffer: Buffer, start: number, size: number): Entry {
  return { buffer, start, end: start, split: createSplit(buffer, start), cb: undefined, size };
}

function notOpen(): WebSocketError {
  return new WebSocketError('WS_ERR_NOT_OPEN', 'WebSocket is not open: the message was dropped by a close');
}
