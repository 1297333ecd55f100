/**
 * Per-connection rate limits on received messages: a token bucket for messages and one for
 * bytes, refilled continuously. State is four numbers, allocated only when a limit is set.
 *
 * @module
 */

/** Settings of `rateLimit` (server option). */
export interface RateLimitOptions {
  /** Messages per second allowed on average (default: no message limit). */
  messagesPerSecond?: number;
  /** Payload bytes per second allowed on average (default: no byte limit). */
  bytesPerSecond?: number;
  /** Messages allowed in a burst (default: one second's worth, at least 1). */
  burstMessages?: number;
  /**
   * Bytes allowed in a burst (default: one second's worth). A message larger than this still
   * passes when the bucket is full; the debt is then paid off before the next one passes.
   */
  burstBytes?: number;
  /**
   * What happens to a message over the limit: `close` the connection with 1008 (policy
   * violation; later messages are dropped until it closes) or `drop` the message and go on
   * (default `close`).
   */
  action?: 'close' | 'drop';
}

/** Rate limit settings with defaults applied. @internal */
export interface ResolvedRateLimit {
  messageRate: number;
  messageBurst: number;
  byteRate: number;
  byteBurst: number;
  action: 'close' | 'drop';
}

function checkRate(name: string, value: number | undefined): number {
  if (value === undefined) return Infinity;
  if (!(value > 0)) throw new RangeError(`rateLimit.${name} must be a positive number`);
  return value;
}

/** Validates `options` and applies defaults; `null` when no limit is set. @internal */
export function resolveRateLimit(options: RateLimitOptions | undefined): ResolvedRateLimit | null {
  if (options === undefined) return null;
  const messageRate = checkRate('messagesPerSecond', options.messagesPerSecond);
  const byteRate = checkRate('bytesPerSecond', options.bytesPerSecond);
  if (messageRate === Infinity && byteRate === Infinity) return null;
  const action = options.action ?? 'close';
  if (action !== 'close' && action !== 'drop') throw new TypeError("rateLimit.action must be 'close' or 'drop'");
  const messageBurst = options.burstMessages === undefined ? Math.max(1, messageRate) : checkRate('burstMessages', options.burstMessages);
  const byteBurst = options.burstBytes === undefined ? byteRate : checkRate('burstBytes', options.burstBytes);
  return { messageRate, messageBurst, byteRate, byteBurst, action };
}

/** Token buckets of one connection. @internal */
export class TokenBucket {
  private readonly limit: ResolvedRateLimit;
  private messages: number;
  private bytes: number;
  private last: number;

  constructor(limit: ResolvedRateLimit, now: number) {
    this.limit = limit;
    this.messages = limit.messageBurst;
    this.bytes = limit.byteBurst;
    this.last = now;
  }

  /** Takes one message of `size` bytes; `false` (and nothing taken) when over the limit. */
  take(size: number, now: number): boolean {
    const limit = this.limit;
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.messages = Math.min(limit.messageBurst, this.messages + elapsed * limit.messageRate);
    this.bytes = Math.min(limit.byteBurst, this.bytes + elapsed * limit.byteRate);
    if (this.messages < 1 || this.bytes <= 0) return false;
    this.messages -= 1;
    if (limit.byteRate !== Infinity) this.bytes -= size;
    return true;
  }
}
