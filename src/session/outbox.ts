/**
 * The resend buffer: messages sent (or queued to be sent) and not yet acknowledged by the peer,
 * bounded in messages and in bytes. Sequence numbers in it are contiguous, so a message is
 * found by arithmetic.
 *
 * @module
 */
import { SessionError } from './errors.js';
import type { StoredMessage } from './store.js';

/** Called once per message: `null` when the peer acknowledged it, else why it never will be. */
export type SendCallback = (err: SessionError | null) => void;

/** One message in the resend buffer. */
export interface OutboundMessage extends StoredMessage {
  /** What it counts against `maxBytes`: bytes, or UTF-16 code units for a string. */
  readonly bytes: number;
  /** The sender's completion, if any. */
  done: SendCallback | null;
  /** Whether the store has it (the server writes a message only once it has); always true on a client. */
  persisted: boolean;
  /** For byte payloads: tag byte + payload, `data` being a view of it past the tag; built when first written otherwise. */
  frame: Uint8Array | null;
}

/** Default of `maxMessages`: messages in the resend buffer. */
export const DEFAULT_MAX_MESSAGES = 1000;
/** Default of `maxBytes`: payload bytes in the resend buffer (1 MiB; strings count code units). */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** A FIFO of {@link OutboundMessage}s with contiguous sequence numbers. */
export class Outbox {
  /** Most messages held. */
  readonly maxMessages: number;
  /** Most payload bytes held. */
  readonly maxBytes: number;
  private items: Array<OutboundMessage | undefined> = [];
  private head = 0;
  private bytesValue = 0;

  /** @throws RangeError for a bound that is not a positive number */
  constructor(maxMessages = DEFAULT_MAX_MESSAGES, maxBytes = DEFAULT_MAX_BYTES) {
    if (!(maxMessages >= 1) || !(maxBytes >= 1)) throw new RangeError('maxMessages and maxBytes must be at least 1');
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  /** Messages held. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.bytesValue;
  }

  /** Why a message of `bytes` bytes cannot be added now, or `null` when it can. */
  refusal(bytes: number): SessionError | null {
    if (bytes > this.maxBytes) {
      return new SessionError('WS_SESSION_TOO_LARGE', `Message of ${bytes} bytes is larger than the resend buffer (${this.maxBytes} bytes)`);
    }
    if (this.length >= this.maxMessages || this.bytesValue + bytes > this.maxBytes) {
      return new SessionError('WS_SESSION_BUFFER_FULL', `Resend buffer is full (${this.length} messages, ${this.bytesValue} bytes unacknowledged)`);
    }
    return null;
  }

  /** Appends `entry` (its seq must follow the last one's; bounds are the caller's to check). */
  push(entry: OutboundMessage): void {
    this.items.push(entry);
    this.bytesValue += entry.bytes;
  }

  /** The oldest message. */
  first(): OutboundMessage | undefined {
    return this.items[this.head];
  }

  /** The message numbered `seq`, if held. */
  at(seq: number): OutboundMessage | undefined {
    const first = this.items[this.head];
    if (first === undefined) return undefined;
    const index = this.head + (seq - first.seq);
    return index >= this.head && index < this.items.length ? this.items[index] : undefined;
  }

  /** Removes and returns the oldest message. */
  shift(): OutboundMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const entry = this.items[this.head] as OutboundMessage;
    this.items[this.head] = undefined;
    this.head += 1;
    this.bytesValue -= entry.bytes;
    // Compact now and then so a long-lived buffer does not keep a growing array of holes.
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }
}
