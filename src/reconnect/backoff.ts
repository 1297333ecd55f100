/**
 * Exponential backoff with full jitter: each delay is drawn uniformly between the floor and a
 * ceiling that grows by `factor` per attempt, so clients dropped together by a server restart
 * spread their reconnections instead of arriving in one wave.
 *
 * @module
 */

/** Settings of {@link Backoff}. */
export interface BackoffOptions {
  /** Shortest delay in milliseconds, and the base of the exponential (default 500). */
  minDelay?: number;
  /** Longest delay in milliseconds (default 30,000). */
  maxDelay?: number;
  /** Growth of the ceiling per attempt (default 2). */
  factor?: number;
  /** Source of randomness in [0, 1) (default `Math.random`); injectable for tests. */
  random?: () => number;
}

/** Default of {@link BackoffOptions.minDelay}. */
export const DEFAULT_MIN_DELAY = 500;
/** Default of {@link BackoffOptions.maxDelay}. */
export const DEFAULT_MAX_DELAY = 30_000;
/** Default of {@link BackoffOptions.factor}. */
export const DEFAULT_FACTOR = 2;

/**
 * The delay before attempt `attempt` (1-based): uniform in
 * `[minDelay, min(maxDelay, minDelay * factor ** attempt)]`.
 *
 * @throws RangeError for a negative delay, `maxDelay < minDelay` or `factor < 1`
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const min = options.minDelay ?? DEFAULT_MIN_DELAY;
  const max = options.maxDelay ?? DEFAULT_MAX_DELAY;
  const factor = options.factor ?? DEFAULT_FACTOR;
  if (!(min >= 0) || !(max >= min)) throw new RangeError('Backoff delays must satisfy 0 <= minDelay <= maxDelay');
  if (!(factor >= 1)) throw new RangeError('Backoff factor must be at least 1');
  const exponent = Math.max(1, Math.floor(attempt));
  // Math.min first: factor ** exponent overflows to Infinity for long outages, which is fine here.
  const ceiling = Math.min(max, min * factor ** exponent);
  const r = clamp01((options.random ?? Math.random)());
  return Math.round(min + r * (ceiling - min));
}

/** Counts consecutive failed attempts and hands out their delays. */
export class Backoff {
  private readonly options: BackoffOptions;
  private attemptValue = 0;

  /** Validates `options` at once (RangeError), so a bad setting fails at construction. */
  constructor(options: BackoffOptions = {}) {
    this.options = options;
    backoffDelay(1, { ...options, random: () => 0 });
  }

  /** Attempts counted since the last {@link reset}. */
  get attempt(): number {
    return this.attemptValue;
  }

  /** Counts one more attempt and returns the delay to wait before it. */
  next(): number {
    this.attemptValue += 1;
    return backoffDelay(this.attemptValue, this.options);
  }

  /** Starts again from the first attempt. */
  reset(): void {
    this.attemptValue = 0;
  }
}

function clamp01(x: number): number {
  if (!(x > 0)) return 0;
  return x >= 1 ? 1 : x;
}
