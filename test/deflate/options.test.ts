import { describe, expect, it } from 'vitest';
import { resolveDeflateOptions, validateDeflateOptions } from '../../src/deflate/options.js';

describe('validateDeflateOptions', () => {
  it('accepts the empty object and every valid field', () => {
    expect(() => validateDeflateOptions({})).not.toThrow();
    for (let bits = 8; bits <= 15; bits++) {
      expect(() => validateDeflateOptions({ serverMaxWindowBits: bits, clientMaxWindowBits: bits })).not.toThrow();
    }
    expect(() =>
      validateDeflateOptions({
        serverNoContextTakeover: false,
        clientNoContextTakeover: true,
        serverMaxWindowBits: true,
        clientMaxWindowBits: false,
        threshold: 0,
        concurrencyLimit: Infinity,
      }),
    ).not.toThrow();
  });

  it('rejects bad values, naming the field', () => {
    expect(() => validateDeflateOptions({ serverMaxWindowBits: 7 })).toThrow(/serverMaxWindowBits/);
    expect(() => validateDeflateOptions({ clientMaxWindowBits: 16 })).toThrow(/clientMaxWindowBits/);
    expect(() => validateDeflateOptions({ clientMaxWindowBits: '10' as unknown as number })).toThrow(RangeError);
    expect(() => validateDeflateOptions({ clientNoContextTakeover: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => validateDeflateOptions({ threshold: -1 })).toThrow(/threshold/);
    expect(() => validateDeflateOptions({ threshold: NaN })).toThrow(/threshold/);
    expect(() => validateDeflateOptions({ concurrencyLimit: 0 })).toThrow(/concurrencyLimit/);
    expect(() => validateDeflateOptions({ concurrencyLimit: 2.5 })).toThrow(/concurrencyLimit/);
  });
});

describe('resolveDeflateOptions', () => {
  it('reads the perMessageDeflate option like ws', () => {
    expect(resolveDeflateOptions(undefined, false)).toBeNull();
    expect(resolveDeflateOptions(undefined, true)).toEqual({});
    expect(resolveDeflateOptions(true, false)).toEqual({});
    expect(resolveDeflateOptions(false, true)).toBeNull();
    const opts = { threshold: 10 };
    expect(resolveDeflateOptions(opts, false)).toBe(opts);
  });

  it('validates objects and rejects other types', () => {
    expect(() => resolveDeflateOptions({ serverMaxWindowBits: 99 }, true)).toThrow(RangeError);
    expect(() => resolveDeflateOptions('yes' as unknown as boolean, true)).toThrow(TypeError);
    expect(() => resolveDeflateOptions(null as unknown as boolean, true)).toThrow(TypeError);
  });
});
