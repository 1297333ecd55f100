import { describe, expect, it } from 'vitest';
import { Utf8Validator, isValidUtf8, isValidUtf8Js } from '../../src/core/utf8.js';
import { prng } from './helpers.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The oracle: the platform's strict decoder. */
function decodes(bytes: Uint8Array): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

// A prefix can still become valid iff some completion of at most 3 bytes makes it decode.
// Only the first completion byte has a restricted range (80-8F, 90-9F or A0-BF after E0, ED,
// F0, F4; RFC 3629 §4), so one representative of each range and 80 for the rest cover every case.
const COMPLETIONS: number[][] = [[]];
for (let k = 1; k <= 3; k++) {
  for (const first of [0x80, 0x90, 0xa0]) COMPLETIONS.push([first, ...Array<number>(k - 1).fill(0x80)]);
}

function isValidPrefix(bytes: Uint8Array): boolean {
  return COMPLETIONS.some((tail) => decodes(Uint8Array.from([...bytes, ...tail])));
}

/**
 * Oracle for fail-fast: the index of the first byte after which the input can no longer be a
 * prefix of valid UTF-8; `bytes.length` if it is a valid prefix. Prefix validity is monotone,
 * so binary search.
 */
function earliestFailure(bytes: Uint8Array): number {
  let lo = 0; // bytes[0..lo) is a valid prefix
  let hi = bytes.length + 1; // bytes[0..hi) is not (hi = length + 1 means "never fails")
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (isValidPrefix(bytes.subarray(0, mid))) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(/\s+/).filter(Boolean), (h) => parseInt(h, 16));

type Case = readonly [name: string, bytes: string, result: 'valid' | 'truncated' | number];

// `number` = index of the first byte that makes the input impossible to complete.
const CASES: readonly Case[] = [
  ['empty', '', 'valid'],
  ['ASCII', '48 65 6c 6c 6f', 'valid'],
  ['Greek "kosme"', 'ce ba e1 bd b9 cf 83 ce bc ce b5', 'valid'],
  // First code point of each length (RFC 3629 §4 boundaries)
  ['U+0000', '00', 'valid'],
  ['U+0080', 'c2 80', 'valid'],
  ['U+0800', 'e0 a0 80', 'valid'],
  ['U+10000', 'f0 90 80 80', 'valid'],
  // Last code point of each length
  ['U+007F', '7f', 'valid'],
  ['U+07FF', 'df bf', 'valid'],
  ['U+FFFF', 'ef bf bf', 'valid'],
  ['U+10FFFF', 'f4 8f bf bf', 'valid'],
  // Around the surrogates and other boundaries
  ['U+D7FF', 'ed 9f bf', 'valid'],
  ['U+E000', 'ee 80 80', 'valid'],
  ['U+FFFD', 'ef bf bd', 'valid'],
  ['U+FFFE (noncharacter, still well-formed)', 'ef bf be', 'valid'],
  ['U+FDD0 (noncharacter)', 'ef b7 90', 'valid'],
  ['U+1FFFF', 'f0 9f bf bf', 'valid'],
  ['U+10FFFE', 'f4 8f bf be', 'valid'],
  ['U+3FFFF via F0', 'f0 bf bf bf', 'valid'],
  ['U+40000 via F1', 'f1 80 80 80', 'valid'],
  ['U+FFFFF via F3', 'f3 bf bf bf', 'valid'],
  // Beyond U+10FFFF
  ['U+110000', 'f4 90 80 80', 1],
  ['F4 90', 'f4 90', 1],
  ['F4 BF', 'f4 bf', 1],
  ['F5 lead', 'f5 80 80 80', 0],
  ['F7 BF BF BF (U+1FFFFF)', 'f7 bf bf bf', 0],
  ['5-byte form', 'f8 88 80 80 80', 0],
  ['6-byte form', 'fc 84 80 80 80 80', 0],
  // Lone and unexpected continuation bytes
  ['lone 80', '80', 0],
  ['lone BF', 'bf', 0],
  ['80 BF', '80 bf', 0],
  ['continuation after a complete sequence', '61 ce ba 80', 3],
  ['extra continuation after 3-byte', 'e2 82 ac bf', 3],
  // Lead bytes followed by something that is not a continuation
  ['C0 space', 'c0 20', 0],
  ['C2 space', 'c2 20', 1],
  ['E0 space', 'e0 20', 1],
  ['E1 80 space', 'e1 80 20', 2],
  ['F0 space', 'f0 20', 1],
  ['F1 80 80 space', 'f1 80 80 20', 3],
  ['two leads', 'c2 c2', 1],
  ['E0 A0 C0', 'e0 a0 c0', 2],
  ['F0 90 80 C0', 'f0 90 80 c0', 3],
  // Truncated at the end: a valid prefix, but not valid text
  ['C2 alone', 'c2', 'truncated'],
  ['DF alone', 'df', 'truncated'],
  ['E0 A0', 'e0 a0', 'truncated'],
  ['EF BF', 'ef bf', 'truncated'],
  ['F0 90 80', 'f0 90 80', 'truncated'],
  ['F4 8F BF', 'f4 8f bf', 'truncated'],
  ['ASCII then E2 82', '61 62 e2 82', 'truncated'],
  ['lone E0', 'e0', 'truncated'],
  ['lone F4', 'f4', 'truncated'],
  // Impossible bytes
  ['FE', 'fe', 0],
  ['FF', 'ff', 0],
  ['FE FE FF FF', 'fe fe ff ff', 0],
  ['C0 at once', 'c0', 0],
  ['C1 at once', 'c1', 0],
  ['F5 at once', 'f5', 0],
  ['ASCII then FF', '61 62 63 ff', 3],
  // Overlong forms
  ['overlong / (2 bytes)', 'c0 af', 0],
  ['overlong / (3 bytes)', 'e0 80 af', 1],
  ['overlong / (4 bytes)', 'f0 80 80 af', 1],
  ['overlong / (5 bytes)', 'f8 80 80 80 af', 0],
  ['max overlong 2-byte', 'c1 bf', 0],
  ['max overlong 3-byte', 'e0 9f bf', 1],
  ['max overlong 4-byte', 'f0 8f bf bf', 1],
  ['overlong NUL 2-byte', 'c0 80', 0],
  ['overlong NUL 3-byte', 'e0 80 80', 1],
  ['overlong NUL 4-byte', 'f0 80 80 80', 1],
  ['E0 80', 'e0 80', 1],
  // Surrogates U+D800-DFFF (RFC 3629 §3)
  ['U+D800', 'ed a0 80', 1],
  ['U+DB7F', 'ed ad bf', 1],
  ['U+DB80', 'ed ae 80', 1],
  ['U+DBFF', 'ed af bf', 1],
  ['U+DC00', 'ed b0 80', 1],
  ['U+DF80', 'ed be 80', 1],
  ['U+DFFF', 'ed bf bf', 1],
  ['ED A0', 'ed a0', 1],
  ['surrogate pair', 'ed a0 80 ed b0 80', 1],
  // Autobahn 6.4.x shape: valid text, then a surrogate in the middle of the message
  ['kosme then surrogate', 'ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64', 12],
];

/** Feeds `bytes` in the given pieces; returns the index of the byte that ended the piece that failed. */
function feed(v: Utf8Validator, bytes: Uint8Array, cuts: readonly number[]): { failedPiece: number; ended: boolean } {
  // Embed in a larger buffer with invalid guard bytes, so reading outside [start, end) would show.
  const backing = new Uint8Array(bytes.length + 8).fill(0xff);
  backing.set(bytes, 4);
  const bounds = [0, ...cuts, bytes.length];
  for (let p = 0; p + 1 < bounds.length; p++) {
    if (!v.write(backing, 4 + bounds[p]!, 4 + bounds[p + 1]!)) return { failedPiece: p, ended: false };
  }
  return { failedPiece: -1, ended: v.end() };
}

function checkAllSplits(bytes: Uint8Array, fail: number | null, truncated: boolean): void {
  const v = new Utf8Validator();
  // One byte at a time: write must return false exactly at the failing byte.
  const byByte = Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1);
  const r = feed(v, bytes, byByte);
  if (fail === null) {
    expect(r.failedPiece).toBe(-1);
    expect(r.ended).toBe(!truncated);
  } else {
    expect(r.failedPiece).toBe(fail);
    // Sticky: once failed, every later write fails, even with valid input.
    expect(v.write(Uint8Array.of(0x61), 0, 1)).toBe(false);
    expect(v.end()).toBe(false);
  }
  // Every two-piece split: the first piece fails iff it contains the failing byte.
  for (let s = 0; s <= bytes.length; s++) {
    v.reset();
    const r2 = feed(v, bytes, [s]);
    if (fail === null) {
      expect(r2).toEqual({ failedPiece: -1, ended: !truncated });
    } else {
      expect(r2.failedPiece).toBe(fail < s ? 0 : 1);
    }
  }
}

describe('UTF-8 case table', () => {
  it.each(CASES)('%s: the table agrees with the TextDecoder oracle', (_name, h, result) => {
    const bytes = hex(h);
    expect(decodes(bytes)).toBe(result === 'valid');
    const expectedFail = typeof result === 'number' ? result : bytes.length;
    expect(earliestFailure(bytes)).toBe(expectedFail);
  });

  it.each(CASES)('%s: whole-buffer checks', (_name, h, result) => {
    const bytes = hex(h);
    expect(isValidUtf8(bytes)).toBe(result === 'valid');
    expect(isValidUtf8Js(bytes)).toBe(result === 'valid');
    const v = new Utf8Validator();
    expect(v.write(bytes, 0, bytes.length) && v.end()).toBe(result === 'valid');
  });

  it.each(CASES)('%s: fails at the earliest byte, however it is split', (_name, h, result) => {
    const bytes = hex(h);
    checkAllSplits(bytes, typeof result === 'number' ? result : null, result === 'truncated');
  });

  it.each(CASES)('%s: same inside long ASCII runs (native fast path), at every split', (_name, h, result) => {
    // 40 bytes either side push each piece over the native-check threshold, so the
    // look-back that finds an incomplete trailing sequence is exercised at every offset.
    const pad = new Uint8Array(40).fill(0x61);
    const core = hex(h);
    const tail = result === 'truncated' ? new Uint8Array(0) : pad;
    const bytes = Uint8Array.from([...pad, ...core, ...tail]);
    const fail = typeof result === 'number' ? 40 + result : null;
    expect(isValidUtf8(bytes)).toBe(result === 'valid');
    checkAllSplits(bytes, fail, result === 'truncated');
  });
});

describe('Utf8Validator', () => {
  it('reset() makes a failed validator usable again', () => {
    const v = new Utf8Validator();
    expect(v.write(hex('ff'), 0, 1)).toBe(false);
    v.reset();
    expect(v.write(hex('ce ba'), 0, 2)).toBe(true);
    expect(v.end()).toBe(true);
  });

  it('reset() forgets an open sequence', () => {
    const v = new Utf8Validator();
    expect(v.write(hex('e2 82'), 0, 2)).toBe(true);
    expect(v.end()).toBe(false);
    v.reset();
    expect(v.end()).toBe(true);
    expect(v.write(hex('41'), 0, 1)).toBe(true);
  });

  it('a long first piece ending mid-sequence is accepted and continued', () => {
    const bytes = Uint8Array.from([...new Uint8Array(40).fill(0x61), 0xe2, 0x82]);
    const v = new Utf8Validator();
    expect(v.write(bytes, 0, bytes.length)).toBe(true);
    expect(v.end()).toBe(false);
    expect(v.write(hex('ac'), 0, 1)).toBe(true);
    expect(v.end()).toBe(true);
  });

  it('reads only [start, end), also when start is 0', () => {
    const bytes = Uint8Array.from([...new Uint8Array(40).fill(0x61), 0xff, 0xff]);
    const v = new Utf8Validator();
    expect(v.write(bytes, 0, 40)).toBe(true);
    expect(v.end()).toBe(true);
    expect(v.write(bytes, 1, 41)).toBe(false);
  });

  it('an empty write keeps the state', () => {
    const v = new Utf8Validator();
    expect(v.write(hex('f0 9f'), 0, 2)).toBe(true);
    expect(v.write(hex('98'), 0, 0)).toBe(true);
    expect(v.end()).toBe(false);
    expect(v.write(hex('98 80'), 0, 2)).toBe(true);
    expect(v.end()).toBe(true);
  });

  it('handles a 1 MiB mixed message in uneven fragments', () => {
    const text = 'héllo wörld € 😀 '.repeat(50_000);
    const bytes = new TextEncoder().encode(text);
    const v = new Utf8Validator();
    let pos = 0;
    let step = 1;
    while (pos < bytes.length) {
      const end = Math.min(bytes.length, pos + step);
      expect(v.write(bytes, pos, end)).toBe(true);
      pos = end;
      step = (step * 7 + 3) % 5003; // varied sizes, some tiny, some over the native threshold
    }
    expect(v.end()).toBe(true);
    // A surrogate near the end is still caught.
    bytes.set(hex('ed b0 80'), bytes.length - 10);
    v.reset();
    expect(v.write(bytes, 0, bytes.length)).toBe(false);
  });
});

const TRICKY = [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
const encoder = new TextEncoder();

/** Mostly well-formed text with occasional damage, so both outcomes are common. */
function randomText(rand: () => number): Uint8Array {
  const out: number[] = [];
  const tokens = (rand() * 60) | 0;
  const damage = rand() < 0.5 ? 0 : 0.03;
  for (let t = 0; t < tokens; t++) {
    const r = rand();
    if (r < damage) {
      out.push(TRICKY[(rand() * TRICKY.length) | 0]!);
    } else if (r < damage * 2) {
      out.push((rand() * 256) | 0);
    } else if (r < 0.4) {
      out.push((rand() * 128) | 0);
    } else {
      // A random scalar value of each length, skipping surrogates.
      const ranges = [
        [0x80, 0x7ff],
        [0x800, 0xd7ff],
        [0xe000, 0xffff],
        [0x10000, 0x10ffff],
      ] as const;
      const [lo, hi] = ranges[(rand() * ranges.length) | 0]!;
      const cp = lo + ((rand() * (hi - lo + 1)) | 0);
      const encoded = encoder.encode(String.fromCodePoint(cp));
      // Sometimes cut a sequence short.
      const keep = rand() < damage * 3 ? 1 + ((rand() * (encoded.length - 1)) | 0) : encoded.length;
      for (let i = 0; i < keep; i++) out.push(encoded[i]!);
    }
  }
  return Uint8Array.from(out);
}

describe('agreement with TextDecoder({ fatal: true }) on random input', () => {
  it('3,000 seeded strings, whole, split at a random point, and byte by byte', () => {
    const rand = prng(0x6455);
    let valid = 0;
    let invalid = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes = randomText(rand);
      const ok = decodes(bytes);
      if (ok) valid++;
      else invalid++;
      const fail = earliestFailure(bytes);
      const truncated = !ok && fail === bytes.length;
      const context = `case ${n}: ${Buffer.from(bytes).toString('hex')}`;
      expect(isValidUtf8(bytes), context).toBe(ok);
      expect(isValidUtf8Js(bytes), context).toBe(ok);

      const v = new Utf8Validator();
      expect(v.write(bytes, 0, bytes.length) && v.end(), context).toBe(ok);

      v.reset();
      const s = (rand() * (bytes.length + 1)) | 0;
      const r = feed(v, bytes, [s]);
      if (fail === bytes.length) expect(r, context).toEqual({ failedPiece: -1, ended: !truncated });
      else expect(r.failedPiece, context).toBe(fail < s ? 0 : 1);

      v.reset();
      const byByte = Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1);
      const rb = feed(v, bytes, byByte);
      expect(rb.failedPiece, context).toBe(fail === bytes.length ? -1 : fail);
    }
    // The generator must exercise both outcomes for the comparison to mean anything.
    expect(valid).toBeGreaterThan(600);
    expect(invalid).toBeGreaterThan(600);
  });

  it('uniformly random bytes (mostly invalid) agree too', () => {
    const rand = prng(99);
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array((rand() * 12) | 0);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (rand() * 256) | 0;
      const ok = decodes(bytes);
      expect(isValidUtf8(bytes)).toBe(ok);
      expect(isValidUtf8Js(bytes)).toBe(ok);
      const v = new Utf8Validator();
      const byByte = Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1);
      const fail = earliestFailure(bytes);
      expect(feed(v, bytes, byByte).failedPiece).toBe(fail === bytes.length ? -1 : fail);
    }
  });
});
