import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../core/helpers.js';
import { SessionError } from '../../src/session/errors.js';
import {
  ackMessage,
  controlMessage,
  controlWords,
  dataHeader,
  decodeHeader,
  encodeDigits,
  frameBytes,
  frameBytesWithDigits,
  frameText,
  KIND_ACK,
  KIND_CONTROL,
  KIND_DATA,
  MAX_CONTROL_LENGTH,
  newHeader,
  parseDecimal,
  payloadOf,
} from '../../src/session/wire.js';

const encoder = new TextEncoder();

type Decoded = { kind: number; delta: number; payload: string } | { error: string; closeCode: number | null };

/** Decodes a message given as text or as its UTF-8 bytes; both forms must agree. */
function decode(message: string | Uint8Array): Decoded {
  const forms: Array<string | Uint8Array> = typeof message === 'string' ? [message, encoder.encode(message)] : [message];
  const results = forms.map((form): Decoded => {
    const h = newHeader();
    try {
      decodeHeader(form, h);
      const payload = h.kind === KIND_DATA ? payloadOf(form, h.start) : '';
      return { kind: h.kind, delta: h.delta, payload: typeof payload === 'string' ? payload : Buffer.from(payload).toString('latin1') };
    } catch (err) {
      if (!(err instanceof SessionError)) throw err;
      return { error: err.code, closeCode: err.closeCode };
    }
  });
  const [first, second] = results as [Decoded, Decoded | undefined];
  if (second !== undefined && 'payload' in first && 'payload' in second) {
    // The byte form's payload is the UTF-8 of the string form's.
    expect(Buffer.from(second.payload, 'latin1').toString('utf8')).toBe(first.payload);
    return first;
  }
  if (second !== undefined) expect(second).toEqual(first);
  return first;
}

describe('session wire format', () => {
  it('data messages carry the acknowledgement delta in the tag (0-62) or in digits', () => {
    expect(decode('@hello')).toEqual({ kind: KIND_DATA, delta: 0, payload: 'hello' });
    expect(decode('Ahello')).toEqual({ kind: KIND_DATA, delta: 1, payload: 'hello' });
    expect(decode('~x')).toEqual({ kind: KIND_DATA, delta: 62, payload: 'x' });
    expect(decode('@')).toEqual({ kind: KIND_DATA, delta: 0, payload: '' });
    expect(decode('1Zpayload')).toEqual({ kind: KIND_DATA, delta: 35, payload: 'payload' });
    expect(decode('2100')).toEqual({ kind: KIND_DATA, delta: 64, payload: '0' });
    expect(decode('@é€😀')).toEqual({ kind: KIND_DATA, delta: 0, payload: 'é€😀' });
  });

  it('headers round-trip at every length boundary', () => {
    const values = [0, 1, 61, 62, 63, 64, 4095, 4096, 64 ** 3 - 1, 64 ** 3, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    for (const delta of values) {
      expect(decode(frameText(delta, 'p'))).toEqual({ kind: KIND_DATA, delta, payload: 'p' });
      const bytes = frameBytesWithDigits(delta, Uint8Array.of(1, 2));
      expect(decode(bytes)).toEqual({ kind: KIND_DATA, delta, payload: '\x01\x02' });
      if (delta > 0) expect(decode(ackMessage(delta))).toEqual({ kind: KIND_ACK, delta, payload: '' });
    }
    expect(dataHeader(62)).toHaveLength(1);
    expect(dataHeader(63)).toBe('1_');
    expect(encodeDigits(Number.MAX_SAFE_INTEGER)).toHaveLength(9);
  });

  it('a byte payload is framed with one tag byte and read back as a view', () => {
    const frame = frameBytes(Uint8Array.of(0, 255, 7));
    expect([...frame]).toEqual([0x40, 0, 255, 7]);
    const h = newHeader();
    decodeHeader(frame, h);
    const payload = payloadOf(frame, h.start) as Uint8Array;
    expect(payload.buffer).toBe(frame.buffer); // no copy
    expect([...payload]).toEqual([0, 255, 7]);
  });

  it('acknowledgements alone and control messages', () => {
    expect(decode('#1')).toEqual({ kind: KIND_ACK, delta: 1, payload: '' });
    expect(decode('#0')).toEqual({ kind: KIND_ACK, delta: 0, payload: '' });
    expect(decode('#__')).toEqual({ kind: KIND_ACK, delta: 4095, payload: '' });
    expect(decode('!ok')).toEqual({ kind: KIND_CONTROL, delta: 0, payload: '' });
    expect(controlWords('!resumed a.b 1 2')).toEqual(['resumed', 'a.b', '1', '2']);
    expect(controlWords(encoder.encode('!end closed'))).toEqual(['end', 'closed']);
    expect(controlMessage(['new', 'tok'])).toBe('!new tok');
  });

  it('refuses every malformed message with 1002 WS_SESSION_BAD_FRAME', () => {
    const bad: Array<string | Uint8Array> = [
      '', // empty
      '\x00x', // unknown tags
      ' x',
      '"x',
      '0x', // '0' is not a digit count
      'é', // non-ASCII tag
      Uint8Array.of(0xff, 1),
      Uint8Array.of(0x80),
      '1', // digits missing
      '3AB', // truncated digits
      '2A!', // not a digit
      '1é',
      '#', // acknowledgement without digits
      '#ABCDEFGHIJ', // ten digits
      '#A.', // not a digit
      '#_________', // above 2^53 - 1
      '9_________x',
      '!', // control without words
      '!ok ', // empty word
      '! ok',
      '!a  b',
      '!ok\n',
      '!é',
      Uint8Array.of(0x21, 0x6f, 0x6b, 0x00),
      '!' + 'x'.repeat(MAX_CONTROL_LENGTH),
    ];
    for (const m of bad) {
      const h = newHeader();
      let error: unknown = null;
      try {
        decodeHeader(m, h);
        if (h.kind === KIND_CONTROL) controlWords(m);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(typeof m === 'string' ? m : [...m])).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('WS_SESSION_BAD_FRAME');
      expect((error as SessionError).closeCode).toBe(1002);
    }
  });

  it('every prefix of a valid message decodes or is refused, never throws anything else', () => {
    const valid = [frameText(5000, 'payload'), ackMessage(123456), controlMessage(['resumed', 'abc.def', '12', '34']), frameText(3, 'x')];
    for (const m of valid) {
      for (let n = 0; n <= m.length; n++) {
        for (const form of [m.slice(0, n), encoder.encode(m.slice(0, n))]) {
          const h = newHeader();
          try {
            decodeHeader(form, h);
            if (h.kind === KIND_CONTROL) controlWords(form);
          } catch (err) {
            expect(err).toBeInstanceOf(SessionError);
          }
        }
      }
    }
  });

  it('random garbage (seeded, 20,000 inputs) is decoded or refused with a SessionError', () => {
    const next = mulberry32(7);
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = new Uint8Array(next() % 24);
      for (let k = 0; k < bytes.length; k++) bytes[k] = next() % 4 === 0 ? 0x21 + (next() % 94) : next() & 0xff;
      const h = newHeader();
      try {
        decodeHeader(bytes, h);
        if (h.kind === KIND_CONTROL) controlWords(bytes);
        expect(h.delta).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
        expect(h.start).toBeLessThanOrEqual(bytes.length);
      } catch (err) {
        expect(err).toBeInstanceOf(SessionError);
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  it('reads decimal numbers strictly', () => {
    expect(parseDecimal('0')).toBe(0);
    expect(parseDecimal('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of ['', '01', '-1', '+1', '1.0', '1e3', ' 1', '9007199254740992', '12345678901234567']) expect(parseDecimal(bad), bad).toBe(-1);
  });
});
