import type { Duplex } from 'node:stream';
import { bufferView } from '../../core/views.js';

type WriteCallback = (err?: Error | null) => void;

/**
 * Buffers at or above this size are handed to the socket as they are; smaller ones are
 * gathered and copied into one buffer per tick. One plain write of a few KiB is much cheaper
 * in Node than a vectored write of many tiny buffers (each becomes its own write request).
 */
const DIRECT_WRITE = 16 * 1024;

/**
 * Gathers the frames a connection produces within one tick and writes them to the socket as
 * a single buffer on the next tick (or at once when a large buffer must keep its order).
 * Callbacks run, in order, when the write that carried their bytes completes.
 */
export class WriteBatch {
  private readonly socket: Duplex;
  /** Finished runs of bytes, in order; `null` until a tick produces more than one run. */
  private chunks: Buffer[] | null = null;
  /** The run being extended: ranges that follow each other in one buffer are merged. */
  private run: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  private bytes = 0;
  private callbacks: WriteCallback[] | null = null;
  private scheduled = false;

  constructor(socket: Duplex) {
    this.socket = socket;
  }

  /** Bytes gathered and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Queues `buffer[start, end)` behind everything written before it. */
  write(buffer: Buffer, start: number, end: number, cb?: WriteCallback): void {
    const length = end - start;
    if (length >= DIRECT_WRITE) {
      // Keep order: what was gathered goes first, in the same corked batch as this buffer.
      const socket = this.socket;
      const data = start === 0 && end === buffer.length ? buffer : bufferView(buffer, start, end);
      socket.cork();
      this.flush();
      if (cb) socket.write(data, cb);
      else socket.write(data);
      socket.uncork();
      return;
    }
    if (buffer === this.run && start === this.runEnd) {
      // Encoded right after the previous frame (see core/slab.ts): extend the run, no copy.
      this.runEnd = end;
    } else {
      this.closeRun();
      this.run = buffer;
      this.runStart = start;
      this.runEnd = end;
    }
    this.bytes += length;
    if (cb) (this.callbacks ??= []).push(cb);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushBatch, this);
    }
  }

  /** Hands everything gathered to the socket now. */
  flush(): void {
    this.scheduled = false;
    let data: Buffer;
    const chunks = this.chunks;
    if (chunks === null || chunks.length === 0) {
      // The common case: one run (frames encoded back to back in the slab), written as a view.
      const run = this.run;
      if (run === null) return;
      data = this.runStart === 0 && this.runEnd === run.length ? run : bufferView(run, this.runStart, this.runEnd);
      this.run = null;
    } else {
      this.closeRun();
      data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.bytes);
      // Reused: concat copied the bytes, so the array can be emptied.
      chunks.length = 0;
    }
    const callbacks = this.callbacks;
    this.bytes = 0;
    this.callbacks = null;
    if (callbacks === null) {
      this.socket.write(data);
    } else {
      this.socket.write(data, (err) => {
        for (const cb of callbacks) cb(err);
      });
    }
  }

  /**
   * Drops what was gathered (the socket is gone), failing its callbacks with an Error of
   * `message`, built only if there is a callback to fail (every connection's close calls this).
   */
  discard(message: string): void {
    const callbacks = this.callbacks;
    if (this.chunks !== null) this.chunks.length = 0;
    this.run = null;
    this.bytes = 0;
    this.callbacks = null;
    if (callbacks === null) return;
    const err = new Error(message);
    for (const cb of callbacks) cb(err);
  }

  private closeRun(): void {
    const run = this.run;
    if (run === null) return;
    const start = this.runStart;
    const end = this.runEnd;
    (this.chunks ??= []).push(start === 0 && end === run.length ? run : bufferView(run, start, end));
    this.run = null;
  }
}

function flushBatch(batch: WriteBatch): void {
  batch.flush();
}
