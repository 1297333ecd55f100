/**
 * Backpressure policies: what a broadcast does for a recipient that is not keeping up.
 *
 * @module
 */
import { CloseCode } from '../core/constants.js';

/**
 * Skip the message for this recipient (it is counted) while more than `highWaterMark` bytes
 * are waiting to be sent to it. Suits state that the next message replaces (positions,
 * prices, presence).
 */
export interface DropPolicy {
  /** Selects this policy. */
  policy: 'drop';
  /** Bytes that may wait for this recipient before messages are skipped (default 256 KiB). */
  highWaterMark?: number;
}

/**
 * Close a recipient that has more than `highWaterMark` bytes waiting, with `code`: 1013 (try
 * again later, the default) or 1008 (policy violation). Its queued data is dropped and its
 * socket is destroyed shortly after the close frame. Suits feeds where a gap is worse than a
 * reconnect.
 */
export interface ClosePolicy {
  /** Selects this policy. */
  policy: 'close';
  /** Bytes that may wait for this recipient before it is closed (default 256 KiB). */
  highWaterMark?: number;
  /** Close code (default 1013). */
  code?: 1008 | 1013;
}

/**
 * Keep messages for this recipient in a bounded queue of its own while more than
 * `highWaterMark` bytes are waiting, and send them in order as the socket drains. When the
 * queue is full, `overflow` decides: drop the oldest queued messages (the default) or close the
 * recipient like the `close` policy.
 */
export interface QueuePolicy {
  /** Selects this policy. */
  policy: 'queue';
  /** Bytes that may wait in the connection itself before messages are queued (default 256 KiB). */
  highWaterMark?: number;
  /** Bytes the queue may hold (default 1 MiB). */
  maxQueuedBytes?: number;
  /** Messages the queue may hold (default: no limit besides bytes). */
  maxQueuedMessages?: number;
  /** When the queue is full: `dropOldest` (default) or `close` (with 1013). */
  overflow?: 'dropOldest' | 'close';
}

/** What a broadcast does for a recipient that is not keeping up. */
export type BackpressurePolicy = DropPolicy | ClosePolicy | QueuePolicy;

/** Default high-water mark of every policy (bytes). */
export const DEFAULT_HUB_HIGH_WATER_MARK = 256 * 1024;
/** Default {@link QueuePolicy.maxQueuedBytes}. */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

/** A policy with defaults applied. @internal */
export interface ResolvedPolicy {
  kind: 'drop' | 'close' | 'queue';
  highWaterMark: number;
  code: number;
  maxQueuedBytes: number;
  maxQueuedMessages: number;
  overflow: 'dropOldest' | 'close';
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) throw new RangeError(`${name} must be a positive number`);
  return value;
}

/** Validates a policy and applies its defaults. @internal */
export function resolvePolicy(policy: BackpressurePolicy | undefined): ResolvedPolicy {
  const p: BackpressurePolicy = policy ?? { policy: 'drop' };
  const highWaterMark = positive('highWaterMark', p.highWaterMark, DEFAULT_HUB_HIGH_WATER_MARK);
  const base: ResolvedPolicy = {
    kind: p.policy,
    highWaterMark,
    code: CloseCode.TryAgainLater,
    maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
    maxQueuedMessages: Infinity,
    overflow: 'dropOldest',
  };
  switch (p.policy) {
    case 'drop':
      return base;
    case 'close': {
      const code = p.code ?? CloseCode.TryAgainLater;
      if (code !== CloseCode.TryAgainLater && code !== CloseCode.PolicyViolation) throw new RangeError('close policy code must be 1008 or 1013');
      return { ...base, code };
    }
    case 'queue': {
      const overflow = p.overflow ?? 'dropOldest';
      if (overflow !== 'dropOldest' && overflow !== 'close') throw new TypeError("queue overflow must be 'dropOldest' or 'close'");
      return {
        ...base,
        maxQueuedBytes: positive('maxQueuedBytes', p.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES),
        maxQueuedMessages: positive('maxQueuedMessages', p.maxQueuedMessages, Infinity),
        overflow,
      };
    }
    default:
      throw new TypeError(`Unknown backpressure policy: ${String((p as { policy: unknown }).policy)}`);
  }
}
