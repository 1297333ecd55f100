/**
 * Retry delays after a failed Redis command, and a sleep that `stop()` can cut short.
 *
 * @module
 */

/** First and largest retry delay (ms). @internal */
export const RETRY_MIN_MS = 50;
/** @internal */
export const RETRY_MAX_MS = 2000;

/** Delay before retry `n` (1-based): doubling from 50 ms up to 2 s, with up to 20% jitter. @internal */
export function retryDelay(n: number): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(n - 1, 16));
  return Math.round(base * (0.8 + Math.random() * 0.2));
}

/** A sleep that can be cancelled (it then resolves at once). @internal */
export class Sleeper {
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve();
      }, ms);
    });
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
