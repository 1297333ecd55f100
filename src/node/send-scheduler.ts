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
import type { Duplex } from 'node:stream';
import type { Connection, SendCallback } from '../core/connection.js';
import { Opcode } from '../core/constants.js';
import { WebSocketError } from '../core/errors.js';
import { headerSize, writeHeader } from '../core/frame-encoder.js';
import { maskInto } from '../core/mask.js';
import { type LocalCloseReason, isUrgentClose } from './local-close.js';
import type { TransportMonitor } from './monitor.js';

/** Data frames with a larger payload are split into fragments of this many bytes. */
export const DEFAULT_FRAGMENT_SIZE = 64 * 1024;

/** What the scheduler needs from the transport that owns it. */
export interface SchedulerHost {
  /** The scheduler in use, or `null` while every write can go straight to the socket. */
  scheduler: SendScheduler | null;
  /** The protocol state (role, whether the peer's close frame arrived). */
  readonly connection: Connection;
  /** The socket. */
  readonly socket: Duplex;
  /** Why this end is closing, if one of our policies is closing it. */
  readonly localClose: LocalCloseReason | null;
  /** Toolkit hooks, if any. */
  readonly monitor: TransportMonitor | null;
  /** The socket can take bytes without going above its high-water mark. */
  readonly socketWritable: boolean;
  /** Hands bytes to the socket, after everything handed over before. */
  passOut(buffer: Buffer, start: number, end: number, cb?: SendCallback): void;
  /** Ends the socket now that everything queued went out (see {@link SendScheduler.deferEnd}). */
  finishEnd(): void;
  /** Everything queued went out and the socket has room: the connection is writable again. */
  schedulerDrained(): void;
}

/** Header fields of the frame at the start of a range, filled by {@link readHeader}. */
const head = { opcode: 0, fin: false, rsv: 0, masked: false, headerLength: 0, payloadLength: 0 };

/** Reads the frame header at `buffer[start]` (RFC 6455 §5.2); false when it is incomplete. */
function readHeader(buffer: Buffer, start: number, end: number): boolean {
  const available = end - start;
  if (available < 2) return false;
  const b0 = buffer[start] as number;
  const b1 = buffer[start + 1] as number;
  let length = b1 & 0x7f;
  let size = 2;
  if (length === 126) {
    if (available < 4) return false;
    length = buffer.readUInt16BE(start + 2);
    size = 4;
  } else if (length === 127) {
    if (available < 10) return false;
    length = buffer.readUInt32BE(start + 2) * 0x100000000 + buffer.readUInt32BE(start + 6);
    size = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  if (masked) size += 4;
  if (available < size) return false;
  head.opcode = b0 & 0x0f;
  head.fin = (b0 & 0x80) !== 0;
  head.rsv = b0 & 0x70;
  head.masked = masked;
  head.headerLength = size;
  head.payloadLength = length;
  return true;
}

/**
 * Routes one write of encoded bytes. Returns `false` when the bytes may go straight to the
 * socket (a whole frame, small enough, and the socket has room, or a control frame), and
 * `true` when the scheduler took them (created on first need).
 */
export function routeOutbound(host: SchedulerHost, buffer: Buffer, start: number, end: number, cb?: SendCallback): boolean {
  const scheduler = host.scheduler;
  if (scheduler !== null) {
    scheduler.write(buffer, start, end, cb);
    return true;
  }
  if (readHeader(buffer, start, end) && head.headerLength + head.payloadLength === end - start) {
    if (head.opcode >= Opcode.Close) return false;
    if (head.payloadLength <= DEFAULT_FRAGMENT_SIZE && host.socketWritable) {
      if (head.fin) host.monitor?.messageOut();
      return false;
    }
  }
  const created = new SendScheduler(host, host.connection.role === 'client');
  host.scheduler = created;
  created.write(buffer, start, end, cb);
  return true;
}

/** A data frame being sent in fragments. */
interface Split {
  opcode: number;
  fin: boolean;
  rsv: number;
  /** The original masking key (client role), to re-mask each fragment with a new one. */
  key: Uint8Array | null;
  /** Payload bytes in order, as views (still masked with `key` when masked). */
  parts: Buffer[];
  part: number;
  offset: number;
  /** Payload length, bytes received from the encoder so far, bytes sent. */
  length: number;
  collected: number;
  sent: number;
}

/** A queued frame: whole bytes, or a frame to fragment. */
interface Entry {
  buffer: Buffer;
  start: number;
  end: number;
  split: Split | null;
  cb: SendCallback | SendCallback[] | undefined;
  /** Bytes not yet handed to the socket. */
  size: number;
}

const combinedKey = new Uint8Array(4);

/** The outbound queue of one connection; see the module comment. */
export class SendScheduler {
  private readonly host: SchedulerHost;
  private readonly masked: boolean;
  private readonly fragmentSize: number;
  private queue: Array<Entry | undefined> = [];
  private head = 0;
  private bytes = 0;
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
  }

  /** Bytes queued here (not counting what the socket holds). */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Nothing is queued or half received. */
  get idle(): boolean {
    return this.head === this.queue.length && this.collecting === null && this.passLeft === 0;
  }

  /** Takes encoded bytes: whole frames, or a frame's header and payload over several writes. */
  write(buffer: Buffer, start: number, end: number, cb?: SendCallback): void {
    const wasEmpty = this.head === this.queue.length;
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
    if (this.head < this.queue.length) {
      this.drainWanted = true;
      if (wasEmpty) this.host.monitor?.backpressure();
    }
  }

  /**
   * Sends queued frames while the socket has room. Returns `true` when the queue is empty.
   * Call it on the socket's `drain`.
   */
  pump(): boolean {
    const host = this.host;
    const queue = this.queue;
    const before = this.bytes;
    while (this.head < queue.length && host.socketWritable) {
      const entry = queue[this.head] as Entry;
      const split = entry.split;
      if (split === null) {
        this.shift(entry);
        host.passOut(entry.buffer, entry.start, entry.end, joinCallbacks(entry.cb));
        continue;
      }
      if (!this.sendFragment(entry, split)) break;
      if (split.sent === split.length) this.shift(entry);
    }
    if (this.head < queue.length) {
      this.stalls = this.bytes < before ? 0 : this.stalls + 1;
      this.scheduleRepump();
      return false;
    }
    if (queue.length > 0) {
      this.queue = [];
      this.head = 0;
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
   * queued goes out at once instead (unless `keepClose` is false: the socket is gone). A message cut short this way is never completed: only a
   * close frame may follow (RFC 6455 §5.5.1).
   */
  discard(err: Error = notOpen(), keepClose = true): void {
    const close = this.dropQueued(err);
    if (close !== null && keepClose) this.host.passOut(close.buffer, close.start, close.end, joinCallbacks(close.cb));
    if (this.endRequested && this.idle) {
      this.endRequested = false;
      this.host.finishEnd();
    }
  }

  /** Empties the queue; returns the queued close frame, if there was one. */
  private dropQueued(err: Error): Entry | null {
    const queue = this.queue;
    let close: Entry | null = null;
    for (let i = this.head; i < queue.length; i++) {
      const entry = queue[i] as Entry;
      if (entry.split === null && ((entry.buffer[entry.start] as number) & 0x0f) === Opcode.Close) {
        close = entry;
        continue;
      }
      const cb = joinCallbacks(entry.cb);
      if (cb) process.nextTick(cb, err);
    }
    this.queue = [];
    this.head = 0;
    this.bytes = 0;
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
    const empty = this.head === this.queue.length;
    if (head.opcode >= Opcode.Close) {
      if (head.opcode === Opcode.Close) {
        const urgent = host.connection.closeReceived || isUrgentClose(host.localClose);
        if (!urgent && !empty) {
          this.push({ buffer, start, end, split: null, cb, size: end - start });
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
      const entry = this.splitEntry(head.headerLength + head.payloadLength, buffer, start);
      const split = entry.split as Split;
      split.parts.push(buffer.subarray(start + head.headerLength, end));
      split.collected = split.length;
      entry.cb = cb;
      this.push(entry);
      return;
    }
    if (empty && host.socketWritable) host.passOut(buffer, start, end, cb);
    else this.push({ buffer, start, end, split: null, cb, size: end - start });
  }

  /** The header (and maybe part of the payload) of a frame that continues in later writes. */
  private startFrame(buffer: Buffer, start: number, end: number, cb: SendCallback | undefined): void {
    const host = this.host;
    const total = head.headerLength + head.payloadLength;
    const isData = head.opcode < Opcode.Close;
    if (isData && head.fin) host.monitor?.messageOut();
    if (isData && head.payloadLength <= this.fragmentSize && this.head === this.queue.length && host.socketWritable) {
      // Nothing queued: the header and the payload to come pass straight through.
      this.passLeft = total - (end - start);
      host.passOut(buffer, start, end, cb);
      return;
    }
    const entry = this.splitEntry(total, buffer, start);
    const split = entry.split as Split;
    const payloadStart = start + head.headerLength;
    if (end > payloadStart) {
      split.parts.push(buffer.subarray(payloadStart, end));
      split.collected = end - payloadStart;
    }
    addCallback(entry, cb);
    this.collecting = entry;
    this.push(entry);
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

  private splitEntry(total: number, buffer: Buffer, start: number): Entry {
    let key: Uint8Array | null = null;
    if (head.masked) {
      const k = start + head.headerLength - 4;
      key = Uint8Array.of(buffer[k] as number, buffer[k + 1] as number, buffer[k + 2] as number, buffer[k + 3] as number);
    }
    const split: Split = {
      opcode: head.opcode,
      fin: head.fin,
      rsv: head.rsv,
      key,
      parts: [],
      part: 0,
      offset: 0,
      length: head.payloadLength,
      collected: 0,
      sent: 0,
    };
    return { buffer, start, end: start, split, cb: undefined, size: total };
  }

  private push(entry: Entry): void {
    this.queue.push(entry);
    this.bytes += entry.size;
  }

  private shift(entry: Entry): void {
    this.queue[this.head++] = undefined;
    this.bytes -= entry.size;
  }

  // ---- fragments out -----------------------------------------------------------------------

  /** Sends the next fragment of `split`; false when its bytes have not all arrived yet. */
  private sendFragment(entry: Entry, split: Split): boolean {
    const remaining = split.length - split.sent;
    const n = Math.min(this.fragmentSize, remaining);
    if (split.collected - split.sent < n) return false;
    const first = split.sent === 0;
    const last = n === remaining;
    // RFC 6455 §5.4: the first fragment keeps the opcode (and RSV1 of a compressed message,
    // RFC 7692 §6); the others are continuations; only the last carries the original FIN.
    const opcode = first ? split.opcode : Opcode.Continuation;
    const rsv = first ? split.rsv : 0;
    const fin = last ? split.fin : false;
    const cb = last ? joinCallbacks(entry.cb) : undefined;
    const masked = this.masked || split.key !== null;
    const size = headerSize(n, masked);
    const host = this.host;
    if (!masked) {
      const header = Buffer.allocUnsafe(size);
      writeHeader(header, 0, opcode, fin, rsv, n, false);
      host.passOut(header, 0, size, n === 0 ? cb : undefined);
      let left = n;
      while (left > 0) {
        const part = split.parts[split.part] as Buffer;
        const take = Math.min(left, part.length - split.offset);
        left -= take;
        host.passOut(part, split.offset, split.offset + take, left === 0 ? cb : undefined);
        this.advance(split, part, take);
      }
    } else {
      const frame = Buffer.allocUnsafe(size + n);
      writeHeader(frame, 0, opcode, fin, rsv, n, true);
      this.remask(split, frame, size, n);
      host.passOut(frame, 0, size + n, cb);
    }
    const consumed = (first ? entry.size - split.length : 0) + n;
    entry.size -= consumed;
    this.bytes -= consumed;
    split.sent += n;
    return true;
  }

  /**
   * Copies the next `n` payload bytes into `frame` after its header, turning the original mask
   * (key K, from payload offset `sent`) into the fragment's fresh key N: XOR with K ^ N.
   */
  private remask(split: Split, frame: Buffer, at: number, n: number): void {
    const oldKey = split.key;
    const k = at - 4;
    let done = 0;
    while (done < n) {
      const part = split.parts[split.part] as Buffer;
      const take = Math.min(n - done, part.length - split.offset);
      const from = split.sent + done;
      for (let i = 0; i < 4; i++) {
        const original = oldKey === null ? 0 : (oldKey[(from + i) & 3] as number);
        combinedKey[i] = original ^ (frame[k + ((done + i) & 3)] as number);
      }
      maskInto(part, split.offset, take, combinedKey, frame, at + done);
      done += take;
      this.advance(split, part, take);
    }
  }

  private advance(split: Split, part: Buffer, take: number): void {
    split.offset += take;
    if (split.offset === part.length) {
      split.parts[split.part] = EMPTY;
      split.part++;
      split.offset = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);

function repump(scheduler: SendScheduler): void {
  scheduler.repump();
}

function addCallback(entry: Entry, cb: SendCallback | undefined): void {
  if (cb === undefined) return;
  const current = entry.cb;
  if (current === undefined) entry.cb = cb;
  else if (Array.isArray(current)) current.push(cb);
  else entry.cb = [current, cb];
}

function joinCallbacks(cb: SendCallback | SendCallback[] | undefined): SendCallback | undefined {
  if (!Array.isArray(cb)) return cb;
  return (err) => {
    for (const fn of cb) fn(err);
  };
}

function notOpen(): WebSocketError {
  return new WebSocketError('WS_ERR_NOT_OPEN', 'WebSocket is not open: the message was dropped by a close');
}
