/**
 * The queue of messages sent while disconnected: bounded in messages and in bytes, with a
 * policy for when it is full. Each entry carries the settle functions of its `send()` promise.
 *
 * @module
 */
import { ReconnectError } from './errors.js';

/** What to do with a new message when the queue is full. */
export type QueuePolicy = 'reject' | 'drop-oldest';

/** Bounds of the send queue. */
export interface SendQueueOptions {
  /** Most messages held (default 1,000). */
  maxMessages?: number;
  /** Most payload bytes held (default 1 MiB). */
  maxBytes?: number;
  /**
   * `reject` (default): the new send is rejected with `WS_ERR_QUEUE_FULL`. `drop-oldest`: the
   * oldest messages are evicted (their sends reject with `WS_ERR_QUEUE_DROPPED`) until it fits.
   */
  policy?: QueuePolicy;
}

/** Default of {@link SendQueueOptions.maxMessages}. */
export const DEFAULT_QUEUE_MESSAGES = 1000;
/** Default of {@link SendQueueOptions.maxBytes}. */
export const DEFAULT_QUEUE_BYTES = 1024 * 1024;

/** One queued message. */
export interface QueuedMessage<T> {
  /** The message as the caller gave it, with its send options. */
  item: T;
  /** Payload bytes counted against `maxBytes`. */
  bytes: number;
  /** Settles the caller's promise: the bytes were handed to a socket. */
  resolve: () => void;
  /** Settles the caller's promise: the message will never be sent. */
  reject: (err: Error) => void;
}

/** A FIFO bounded in messages and bytes. */
export class SendQueue<T> {
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly policy: QueuePolicy;
  private readonly items: Array<QueuedMessage<T>> = [];
  private head = 0;
  private bytesValue = 0;

  /** @throws RangeError for a negative bound or an unknown policy */
  constructor(options: SendQueueOptions = {}) {
    this.maxMessages = options.maxMessages ?? DEFAULT_QUEUE_MESSAGES;
    this.maxBytes = options.maxBytes ?? DEFAULT_QUEUE_BYTES;
    this.policy = options.policy ?? 'reject';
    if (!(this.maxMessages >= 0) || !(this.maxBytes >= 0)) throw new RangeError('Queue bounds must not be negative');
    if (this.policy !== 'reject' && this.policy !== 'drop-oldest') throw new RangeError(`Unknown queue policy: ${String(this.policy)}`);
  }

  /** Messages held. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.bytesValue;
  }

  /**
   * Queues `entry`, or rejects it (or evicts older entries) per the policy. A message larger
   * than `maxBytes` can never fit and is rejected with `WS_ERR_QUEUE_DROPPED` under either policy.
   */
  push(entry: QueuedMessage<T>): void {
    if (entry.bytes > this.maxBytes || this.maxMessages === 0) {
      entry.reject(new ReconnectError('WS_ERR_QUEUE_DROPPED', `Message of ${entry.bytes} bytes exceeds the send queue (${this.maxBytes} bytes)`));
      return;
    }
    if (!this.fits(entry.bytes)) {
      if (this.policy === 'reject') {
        entry.reject(new ReconnectError('WS_ERR_QUEUE_FULL', `Send queue is full (${this.length} messages, ${this.bytesValue} bytes)`));
        return;
      }
      while (!this.fits(entry.bytes)) {
        this.shift()?.reject(new ReconnectError('WS_ERR_QUEUE_DROPPED', 'Dropped from a full send queue (drop-oldest)'));
      }
    }
    this.items.push(entry);
    this.bytesValue += entry.bytes;
  }

  /** Removes and returns the oldest entry. */
  shift(): QueuedMessage<T> | undefined {
    if (this.head >= this.items.length) return undefined;
    const entry = this.items[this.head] as QueuedMessage<T>;
    this.items[this.head] = undefined as unknown as QueuedMessage<T>;
    this.head += 1;
    this.bytesValue -= entry.bytes;
    // Compact now and then, so a long-lived queue does not keep a growing array of holes.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    } else if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    return entry;
  }

  /** Empties the queue, rejecting every entry with `err`. */
  rejectAll(err: Error): void {
    for (let entry = this.shift(); entry !== undefined; entry = this.shift()) entry.reject(err);
  }

  private fits(bytes: number): boolean {
    return this.length < this.maxMessages && this.bytesValue + bytes <= this.maxBytes;
  }
}
