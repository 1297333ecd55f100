/**
 * The queue of frames waiting in a send scheduler: whole frames, or frames being sent in
 * fragments, with the number of bytes they still hold.
 *
 * @internal
 * @module
 */
import type { SendCallback } from '../core/connection.js';
import { Opcode } from '../core/constants.js';
import type { Split } from './fragmenter.js';

/** A queued frame: whole bytes `buffer[start, end)`, or a frame to fragment (`split`). @internal */
export interface Entry {
  buffer: Buffer;
  start: number;
  end: number;
  split: Split | null;
  cb: SendCallback | SendCallback[] | undefined;
  /** Bytes not yet handed to the socket. */
  size: number;
}

/** First-in, first-out frames with their byte count. @internal */
export class FrameQueue {
  private entries: Array<Entry | undefined> = [];
  private head = 0;
  /** Bytes the queued frames still hold. */
  bytes = 0;

  /** Frames queued. */
  get length(): number {
    return this.entries.length - this.head;
  }

  push(entry: Entry): void {
    this.entries.push(entry);
    this.bytes += entry.size;
  }

  /** The first frame (the queue must not be empty). */
  peek(): Entry {
    return this.entries[this.head] as Entry;
  }

  /** Removes the first frame, which `entry` is. */
  shift(entry: Entry): void {
    this.entries[this.head++] = undefined;
    this.bytes -= entry.size;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    }
  }

  /**
   * Empties the queue, failing the callbacks with `err` (on the next tick), and returns the
   * queued close frame, if there was one, unfailed.
   */
  clear(err: Error): Entry | null {
    const entries = this.entries;
    let close: Entry | null = null;
    for (let i = this.head; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      if (entry.split === null && ((entry.buffer[entry.start] as number) & 0x0f) === Opcode.Close) {
        close = entry;
        continue;
      }
      const cb = joinCallbacks(entry.cb);
      if (cb) process.nextTick(cb, err);
    }
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
    return close;
  }
}

/** Adds a callback to a frame (a frame written in several pieces may bring several). @internal */
export function addCallback(entry: Entry, cb: SendCallback | undefined): void {
  if (cb === undefined) return;
  const current = entry.cb;
  if (current === undefined) entry.cb = cb;
  else if (Array.isArray(current)) current.push(cb);
  else entry.cb = [current, cb];
}

/** One callback calling all of a frame's callbacks. @internal */
export function joinCallbacks(cb: SendCallback | SendCallback[] | undefined): SendCallback | undefined {
  if (!Array.isArray(cb)) return cb;
  return (err) => {
    for (const fn of cb) fn(err);
  };
}
