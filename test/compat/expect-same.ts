/**
 * Assertions over two transcripts (see harness.ts). Kept apart from the harness so that child
 * processes can use the harness without vitest.
 */
import { expect } from 'vitest';
import type { Comparison } from './harness.js';

/**
 * Ours must equal `ws`'s transcript. `ws`'s own transcript must be non-trivial (at least
 * `minLines` lines, no harness timeout), so that a scenario that observes nothing cannot pass.
 */
export function expectSame(result: Comparison, minLines = 2): void {
  expect(result.ws.length, 'ws transcript too short: the scenario observes nothing').toBeGreaterThanOrEqual(minLines);
  expect(
    result.ws.filter((l) => l.startsWith('harness ')),
    'the scenario timed out against ws itself',
  ).toEqual([]);
  expect(result.ours).toEqual(result.ws);
}

/** Asserts `ws`'s transcript is exactly `expected` (pins what the comparison relies on). */
export function expectWs(result: Comparison, expected: string[]): void {
  expect(result.ws).toEqual(expected);
}

/**
 * For an option `ws` has: ours must behave as `ws` (equal transcripts) or refuse the option at
 * construction with an error whose message names it (recorded as `<actor> refused [shape]`,
 * see `construct` in options.test.ts). Silently ignoring it fails either way.
 */
export function expectSameOrRefused(result: Comparison, option: string): void {
  expect(result.ws.filter((l) => / refused \[/.test(l)), 'ws itself refused the option').toEqual([]);
  const refusal = result.ours.find((l) => / refused \[/.test(l));
  if (refusal !== undefined) {
    expect(refusal, `the refusal must name the option ${option}`).toContain(option);
    return;
  }
  expectSame(result);
}
