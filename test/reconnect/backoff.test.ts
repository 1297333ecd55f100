import { afterEach, describe, expect, it, vi } from 'vitest';
import { Backoff, backoffDelay } from '../../src/reconnect/backoff.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay (full jitter)', () => {
  const options = { minDelay: 100, maxDelay: 5000, factor: 2 };

  it('draws from [minDelay, min(maxDelay, minDelay * factor ** attempt)]', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(5000, 100 * 2 ** attempt);
      expect(backoffDelay(attempt, { ...options, random: () => 0 })).toBe(100);
      expect(backoffDelay(attempt, { ...options, random: () => 0.999999 })).toBe(Math.round(100 + 0.999999 * (ceiling - 100)));
      expect(backoffDelay(attempt, { ...options, random: () => 0.5 })).toBe(Math.round(100 + 0.5 * (ceiling - 100)));
    }
  });

  it('stays within bounds for any random value, including out-of-range ones', () => {
    let seed = 42;
    const lcg = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 5000; i++) {
      const attempt = 1 + (i % 40);
      const d = backoffDelay(attempt, { ...options, random: lcg });
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(Math.min(5000, 100 * 2 ** attempt));
    }
    for (const r of [-1, 2, Number.NaN, Infinity]) {
      const d = backoffDelay(3, { ...options, random: () => r });
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('caps at maxDelay even when the exponential overflows', () => {
    expect(backoffDelay(5000, { ...options, random: () => 0.999999 })).toBeLessThanOrEqual(5000);
    expect(backoffDelay(5000, { ...options, random: () => 0.999999 })).toBeGreaterThan(4990);
  });

  it('spreads clients: the first attempt is jittered, not a fixed delay', () => {
    const delays = new Set<number>();
    for (let i = 0; i < 50; i++) delays.add(backoffDelay(1, { minDelay: 100, maxDelay: 1000 }));
    expect(delays.size).toBeGreaterThan(10);
  });

  it('rejects nonsensical settings', () => {
    expect(() => new Backoff({ minDelay: -1 })).toThrow(RangeError);
    expect(() => new Backoff({ minDelay: 100, maxDelay: 50 })).toThrow(RangeError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError);
  });
});

describe('Backoff', () => {
  it('counts attempts, grows the ceiling and resets', () => {
    const backoff = new Backoff({ minDelay: 10, maxDelay: 1000, random: () => 0.999999 });
    expect(backoff.attempt).toBe(0);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([20, 40, 80]);
    expect(backoff.attempt).toBe(3);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(20);
  });

  it('drives a timer schedule that stays within bounds (fake timers)', () => {
    vi.useFakeTimers();
    const backoff = new Backoff({ minDelay: 50, maxDelay: 400, random: Math.random });
    const fired: number[] = [];
    const start = Date.now();
    let elapsed = 0;
    const schedule = (): void => {
      if (backoff.attempt >= 8) return;
      const delay = backoff.next();
      const ceiling = Math.min(400, 50 * 2 ** backoff.attempt);
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(ceiling);
      elapsed += delay;
      setTimeout(() => {
        fired.push(Date.now() - start);
        schedule();
      }, delay);
    };
    schedule();
    vi.runAllTimers();
    expect(fired).toHaveLength(8);
    expect(fired.at(-1)).toBe(elapsed);
    expect(elapsed).toBeLessThanOrEqual(50 * 2 + 50 * 4 + 50 * 8 + 400 * 5);
  });
});
