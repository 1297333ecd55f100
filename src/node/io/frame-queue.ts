/**
 * The queue of a send scheduler: whole frames, and large data frames written a fragment at a
 * time, with the number of bytes they still hold.
 *
 * @internal
 * @module
 */
import { Opcode } from '../../core/constants.js';
import type { WriteCallback } from '../../core/frame-encoder.js';
import type { FragmentedMessage } from '../../core/fragmented-message.js';

/**
 * A queued frame: `buffer[start, end)` followed by `payload` when it is not `null`; or, with
 * `message` set, a large data frame still to be written in fragments. @internal
 */
export interface Entry {
  /** The frame's first header byte (FIN, RSV bits, opcode). */
  first: number;
  buffer: Buffer;
  start: number;
  end: number;
  payload: Buffer | null;
  message: FragmentedMessage | null;
  cb: WriteCallback | undefined;
  /** Bytes not yet handed to the socket (for a message: when it was queued). */
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
      if (entry.message !== null) {
        const message = entry.message;
        process.nextTick(() => message.abandon(err));
      } else if ((entry.first & 0x0f) === Opcode.Close) {
        close = entry;
      } else if (entry.cb) {
        process.nextTick(entry.cb, err);
      }
    }
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
    return close;
  }
}
