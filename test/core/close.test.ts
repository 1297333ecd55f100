import { describe, expect, it } from 'vitest';
import { encodeClosePayload, isValidCloseCode, parseClosePayload } from '../../src/core/close.js';
import { ProtocolError } from '../../src/core/errors.js';

/** [code, valid on the wire] at every boundary of RFC 6455 §7.4. */
const BOUNDARIES: readonly (readonly [number, boolean])[] = [
  [0, false],
  [999, false],
  [1000, true],
  [1001, true],
  [1002, true],
  [1003, true],
  [1004, false],
  [1005, false],
  [1006, false],
  [1007, true],
  [1011, true],
  [1014, true],
  [1015, false],
  [1016, false],
  [2999, false],
  [3000, true],
  [3999, true],
  [4000, true],
  [4999, true],
  [5000, false],
  [65535, false],
];

function payload(code: number, reason: Uint8Array | string = ''): Uint8Array {
  const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
  return Uint8Array.from([code >>> 8, code & 0xff, ...r]);
}

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('isValidCloseCode', () => {
  it.each(BOUNDARIES)('%i → %s', (code, valid) => {
    expect(isValidCloseCode(code)).toBe(valid);
  });

  it('rejects non-integers and non-finite numbers', () => {
    for (const code of [1000.5, 3000.1, Number.NaN, Number.POSITIVE_INFINITY, -1000]) {
      expect(isValidCloseCode(code)).toBe(false);
    }
  });
});

describe('parseClosePayload', () => {
  it('empty payload → 1005 with an empty reason', () => {
    const { code, reason } = parseClosePayload(new Uint8Array(0));
    expect(code).toBe(1005);
    expect(reason.length).toBe(0);
    expect(Buffer.isBuffer(reason)).toBe(true);
  });

  it('1-byte payload → WS_ERR_INVALID_CLOSE_PAYLOAD, 1002', () => {
    const err = protocolError(() => parseClosePayload(Uint8Array.of(0x03)));
    expect(err.code).toBe('WS_ERR_INVALID_CLOSE_PAYLOAD');
    expect(err.closeCode).toBe(1002);
  });

  it.each(BOUNDARIES)('code %i on the wire: accepted = %s', (code, valid) => {
    if (valid) {
      expect(parseClosePayload(payload(code, 'bye'))).toEqual({ code, reason: Buffer.from('bye') });
      expect(parseClosePayload(payload(code)).code).toBe(code);
    } else {
      const err = protocolError(() => parseClosePayload(payload(code, 'bye')));
      expect(err.code).toBe('WS_ERR_INVALID_CLOSE_CODE');
      expect(err.closeCode).toBe(1002);
    }
  });

  it('reads the code in network byte order', () => {
    expect(parseClosePayload(Uint8Array.of(0x0f, 0xa0)).code).toBe(4000);
  });

  it.each([
    ['lone continuation', [0x80]],
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['truncated sequence', [0x61, 0xe2, 0x82]],
    ['overlong', [0xc0, 0xaf]],
  ])('invalid UTF-8 reason (%s) → WS_ERR_INVALID_UTF8, 1007', (_name, bytes) => {
    const err = protocolError(() => parseClosePayload(payload(1000, Uint8Array.from(bytes))));
    expect(err.code).toBe('WS_ERR_INVALID_UTF8');
    expect(err.closeCode).toBe(1007);
  });

  it('a long invalid reason is caught too (native check path)', () => {
    const reason = Buffer.from('x'.repeat(100) + '\u00e9');
    reason[reason.length - 1] = 0x41; // cut the 2-byte é short: C3 41
    const err = protocolError(() => parseClosePayload(payload(1000, reason)));
    expect(err.code).toBe('WS_ERR_INVALID_UTF8');
  });

  it('an invalid code is reported before the reason is looked at', () => {
    const err = protocolError(() => parseClosePayload(payload(1005, Uint8Array.of(0xff))));
    expect(err.code).toBe('WS_ERR_INVALID_CLOSE_CODE');
  });

  it('returns a copy of the reason, not a view into the payload', () => {
    const p = payload(1000, 'héllo');
    const { reason } = parseClosePayload(p);
    p.fill(0);
    expect(reason.toString()).toBe('héllo');
  });

  it('accepts a multi-byte UTF-8 reason', () => {
    const { reason } = parseClosePayload(payload(4001, '€ 😀'));
    expect(reason.toString('utf8')).toBe('€ 😀');
  });
});

describe('encodeClosePayload', () => {
  it('no code → empty payload', () => {
    expect(encodeClosePayload().length).toBe(0);
    expect(encodeClosePayload(undefined, '').length).toBe(0);
  });

  it('a reason without a code is dropped, as in ws (the payload starts with the code or is empty)', () => {
    expect(encodeClosePayload(undefined, 'why').length).toBe(0);
    expect(encodeClosePayload(undefined, Uint8Array.of(0x61)).length).toBe(0);
  });

  it.each(BOUNDARIES)('code %i may be sent: %s', (code, valid) => {
    if (valid) {
      expect(Array.from(encodeClosePayload(code))).toEqual([code >>> 8, code & 0xff]);
    } else {
      expect(() => encodeClosePayload(code)).toThrow(TypeError);
      expect(() => encodeClosePayload(code, 'x')).toThrow(/Invalid close code/);
    }
  });

  it('writes code then reason, round-tripping through parseClosePayload', () => {
    const out = encodeClosePayload(1001, 'going away');
    expect(Array.from(out.subarray(0, 2))).toEqual([0x03, 0xe9]);
    expect(out.subarray(2).toString()).toBe('going away');
    expect(parseClosePayload(out)).toEqual({ code: 1001, reason: Buffer.from('going away') });
  });

  it('accepts a byte reason', () => {
    const out = encodeClosePayload(3000, Uint8Array.of(0xce, 0xba));
    expect(Array.from(out)).toEqual([0x0b, 0xb8, 0xce, 0xba]);
  });

  it('rejects a byte reason that is not UTF-8 (the peer would fail with 1007)', () => {
    expect(() => encodeClosePayload(1000, Uint8Array.of(0xff))).toThrow(TypeError);
  });

  it.each([
    ['ASCII', 'a'.repeat(123), 'a'.repeat(124)],
    // 41 × 3-byte € = 123 bytes; one more ASCII byte makes 124 though only 42 characters.
    ['3-byte characters', '€'.repeat(41), '€'.repeat(41) + 'a'],
    // 30 × 4-byte 😀 + 3 = 123 bytes.
    ['4-byte characters', '😀'.repeat(30) + 'abc', '😀'.repeat(30) + 'abcd'],
    ['2-byte characters', 'é'.repeat(61) + 'a', 'é'.repeat(62)],
  ])('%s: 123 bytes is allowed, 124 is a RangeError', (_name, ok, tooLong) => {
    expect(Buffer.byteLength(ok)).toBe(123);
    expect(Buffer.byteLength(tooLong)).toBe(124);
    const out = encodeClosePayload(1000, ok);
    expect(out.length).toBe(125);
    expect(out.subarray(2).toString()).toBe(ok);
    expect(() => encodeClosePayload(1000, tooLong)).toThrow(RangeError);
    expect(() => encodeClosePayload(1000, Buffer.from(tooLong))).toThrow(RangeError);
    expect(encodeClosePayload(1000, Buffer.from(ok)).length).toBe(125);
  });

  it('checks the code before the reason length', () => {
    expect(() => encodeClosePayload(1006, 'a'.repeat(200))).toThrow(TypeError);
  });
});
