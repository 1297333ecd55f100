import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BUFFERED_AMOUNT, DEFAULT_MAX_BUFFERED_CHUNKS, resolveConnectionOptions } from '../../../src/node/io/connection-options.js';

describe('resolveConnectionOptions', () => {
  it('fills in the documented defaults', () => {
    expect(resolveConnectionOptions({})).toEqual({
      maxPayload: 1024 * 1024,
      maxFragments: 1 << 20,
      maxBufferedChunks: DEFAULT_MAX_BUFFERED_CHUNKS,
      skipUTF8Validation: false,
      allowSynchronousEvents: true,
      autoPong: true,
      maxPendingAutoPongs: 60,
      closeTimeout: 30_000,
      maxBufferedAmount: DEFAULT_MAX_BUFFERED_AMOUNT,
      generateMask: null,
      sharedReadBuffer: true,
    });
    expect(resolveConnectionOptions({ sharedReadBuffer: false }).sharedReadBuffer).toBe(false);
  });

  it('reads 0 as no limit where ws does (maxPayload, maxBufferedChunks) and for maxBufferedAmount', () => {
    const s = resolveConnectionOptions({ maxPayload: 0, maxBufferedChunks: 0, maxBufferedAmount: 0, maxPendingAutoPongs: 0 });
    expect([s.maxPayload, s.maxBufferedChunks, s.maxBufferedAmount, s.maxPendingAutoPongs]).toEqual([Infinity, Infinity, Infinity, 0]);
  });

  it('refuses invalid values with a RangeError naming the option, and a non-function generateMask with a TypeError', () => {
    for (const [name, value] of [
      ['maxPayload', -1],
      ['maxFragments', 0],
      ['maxBufferedChunks', 1.5],
      ['closeTimeout', Number.NaN],
      ['maxPendingAutoPongs', -2],
      ['maxBufferedAmount', '1'],
    ] as const) {
      expect(() => resolveConnectionOptions({ [name]: value }), name).toThrow(new RegExp(name));
    }
    expect(() => resolveConnectionOptions({ generateMask: 42 as unknown as () => void })).toThrow(TypeError);
  });
});
