import { describe, expect, it } from 'vitest';
import { isKernelResident, maskBytewise, maskInPlace, maskInto, maskResident, setSimdMasking, SIMD_THRESHOLD, writeMaskKey } from '../../src/core/mask.js';
import { INPUT_OFFSET, INPUT_SIZE, simdKernel } from '../../src/core/mask-simd.js';
import { prng } from './helpers.js';

function randomBytes(n: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
// Every length 0-300 covers the short path, the word-path threshold and several unrolled
// word blocks with every tail; then a few large ones.
const LENGTHS = [...Array.from({ length: 301 }, (_, i) => i), 1000, 4099, 65536 + 3];

describe('maskInPlace', () => {
  it('matches the RFC 6455 §5.3 example ("Hello" masked with 37 fa 21 3d)', () => {
    const bytes = new TextEncoder().encode('Hello');
    maskInPlace(bytes, 0, bytes.length, KEY, 0);
    expect(Array.from(bytes)).toEqual([0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  });

  it('agrees with the byte loop for every offset, key index and length', () => {
    const rand = prng(1);
    for (const length of LENGTHS) {
      // A larger backing buffer with guard bytes on both sides of every range.
      const backing = randomBytes(length + 16, rand);
      for (let offset = 0; offset < 4; offset++) {
        // subarray gives byteOffset % 4 === offset; `start` inside it shifts alignment again.
        const view = backing.subarray(offset, offset + length + 8);
        for (let start = 0; start < 2; start++) {
          for (let keyIndex = 0; keyIndex < 4; keyIndex++) {
            const actual = Uint8Array.from(backing);
            const expected = Uint8Array.from(backing);
            maskInPlace(actual.subarray(offset, offset + length + 8), start, start + length, KEY, keyIndex);
            maskBytewise(expected.subarray(offset, offset + length + 8), start, start + length, KEY, keyIndex);
            if (!buffersEqual(actual, expected)) {
              throw new Error(`mismatch: length ${length}, offset ${offset}, start ${start}, keyIndex ${keyIndex}`);
            }
          }
        }
        expect(view.length).toBe(length + 8);
      }
    }
  });

  it('actually changes the bytes (the key is applied)', () => {
    const bytes = new Uint8Array(1000);
    maskInPlace(bytes, 0, 1000, KEY, 0);
    for (let i = 0; i < 1000; i++) expect(bytes[i]).toBe(KEY[i & 3]);
  });

  it('masking twice restores the input, including a payload split across calls', () => {
    const rand = prng(2);
    const original = randomBytes(70_001, rand);
    const bytes = Uint8Array.from(original);
    maskInPlace(bytes, 0, bytes.length, KEY, 0);
    expect(buffersEqual(bytes, original)).toBe(false);
    // Unmask in uneven pieces, carrying the key index as a frame parser does.
    let pos = 0;
    let keyIndex = 0;
    for (const step of [1, 3, 5, 200, 7, 4096, 13]) {
      maskInPlace(bytes, pos, pos + step, KEY, keyIndex);
      keyIndex = (keyIndex + step) & 3;
      pos += step;
    }
    maskInPlace(bytes, pos, bytes.length, KEY, keyIndex);
    expect(buffersEqual(bytes, original)).toBe(true);
  });

  it('leaves bytes outside the range untouched in a shared Node Buffer pool', () => {
    const a = Buffer.from('a'.repeat(300));
    const b = Buffer.from('b'.repeat(300));
    maskInPlace(a, 1, 299, KEY, 0);
    expect(a[0]).toBe(0x61);
    expect(a[299]).toBe(0x61);
    expect(b.toString()).toBe('b'.repeat(300));
  });

  it('refuses a long range past the end of the view instead of writing into its neighbours', () => {
    const backing = new Uint8Array(512);
    const view = backing.subarray(0, 256);
    expect(() => maskInPlace(view, 0, 300, KEY, 0)).toThrow(RangeError);
    expect(backing.every((b) => b === 0)).toBe(true);
  });
});

describe('maskInPlace on a resizable ArrayBuffer', () => {
  it('masks the whole range after the buffer grows (a cached word view must not go stale)', () => {
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & {
      resize(n: number): void;
    };
    const ab = new Resizable(256, { maxByteLength: 8192 });
    const view = new Uint8Array(ab); // length-tracking
    maskInPlace(view, 0, 256, KEY, 0); // caches a word view of 256 bytes
    ab.resize(8192);
    view.fill(0);
    maskInPlace(view, 0, 8192, KEY, 0);
    for (let i = 0; i < 8192; i++) if (view[i] !== KEY[i & 3]) throw new Error(`byte ${i} not masked`);
    const target = new Uint8Array(8192);
    maskInto(view, 0, 8192, KEY, target, 0);
    expect(target.every((b) => b === 0)).toBe(true);
  });
});

describe('maskInto', () => {
  it('agrees with copy + byte loop for every source/target alignment and length', () => {
    const rand = prng(3);
    for (const length of LENGTHS) {
      const source = randomBytes(length + 8, rand);
      const snapshot = Uint8Array.from(source);
      for (let so = 0; so < 4; so++) {
        const expected = source.slice(so, so + length);
        maskBytewise(expected, 0, length, KEY, 0);
        for (let to = 0; to < 4; to++) {
          const target = new Uint8Array(length + 8).fill(0xee);
          // Source offset via subarray (byteOffset), target offset via targetStart.
          maskInto(source.subarray(so), 0, length, KEY, target, to);
          if (!buffersEqual(target.subarray(to, to + length), expected)) {
            throw new Error(`mismatch: length ${length}, source offset ${so}, target offset ${to}`);
          }
          // Guard bytes around the written range are untouched.
          for (let i = 0; i < to; i++) expect(target[i]).toBe(0xee);
          for (let i = to + length; i < target.length; i++) expect(target[i]).toBe(0xee);
        }
        // sourceStart rather than byteOffset.
        const target = new Uint8Array(length);
        maskInto(source, so, length, KEY, target, 0);
        expect(buffersEqual(target, expected)).toBe(true);
      }
      // The caller's buffer is never modified.
      expect(buffersEqual(source, snapshot)).toBe(true);
    }
  });

  it('round-trips through maskInPlace', () => {
    const source = randomBytes(65536 + 3, prng(4));
    const target = new Uint8Array(source.length);
    maskInto(source, 0, source.length, KEY, target, 0);
    maskInPlace(target, 0, target.length, KEY, 0);
    expect(buffersEqual(target, source)).toBe(true);
  });
});

describe('writeMaskKey', () => {
  it('writes 4 bytes at the offset and nothing else', () => {
    const out = new Uint8Array(10).fill(0xaa);
    writeMaskKey(out, 3);
    expect(out[0]).toBe(0xaa);
    expect(out[1]).toBe(0xaa);
    expect(out[2]).toBe(0xaa);
    expect(out[7]).toBe(0xaa);
    expect(out[8]).toBe(0xaa);
    expect(out[9]).toBe(0xaa);
  });

  it('gives varying keys across 10,000 calls (several pool refills)', () => {
    const key = new Uint8Array(4);
    const seen = new Set<number>();
    const byteCounts = new Uint32Array(256);
    for (let i = 0; i < 10_000; i++) {
      writeMaskKey(key, 0);
      seen.add(((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0);
      for (const b of key) byteCounts[b]!++;
    }
    // 10,000 random 32-bit keys: a handful of collisions at most.
    expect(seen.size).toBeGreaterThan(9_990);
    // Every byte value shows up (40,000 samples, ~156 expected per value).
    expect(byteCounts.every((c) => c > 50)).toBe(true);
  });
});

function buffersEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

describe('WebAssembly SIMD kernel', () => {
  it('is available on this Node (so the fast path is the one tested below)', () => {
    expect(simdKernel()).not.toBeNull();
  });

  it('agrees with the JavaScript word path and the byte loop across pieces, offsets and key indexes', () => {
    const rand = prng(7);
    // Around the SIMD threshold, across the 64 KiB piece boundary, and several pieces long.
    for (const length of [SIMD_THRESHOLD - 1, SIMD_THRESHOLD, SIMD_THRESHOLD + 1, 1024, 2049, 4099, 65535, 65536, 65537, 200_003]) {
      const original = randomBytes(length + 8, rand);
      for (let offset = 0; offset < 4; offset++) {
        for (let keyIndex = 0; keyIndex < 4; keyIndex++) {
          const viaSimd = original.slice();
          const viaJs = original.slice();
          const viaBytes = original.slice();
          const end = offset + length;
          setSimdMasking(true);
          maskInPlace(viaSimd, offset, end, KEY, keyIndex);
          setSimdMasking(false);
          maskInPlace(viaJs, offset, end, KEY, keyIndex);
          setSimdMasking(true);
          maskBytewise(viaBytes, offset, end, KEY, keyIndex);
          expect(Buffer.compare(viaSimd, viaBytes)).toBe(0);
          expect(Buffer.compare(viaJs, viaBytes)).toBe(0);
        }
      }
    }
  });

  it('masks bytes that sit in its own memory where they are, and nothing around them', () => {
    const kernel = simdKernel();
    expect(kernel).not.toBeNull();
    const memory = (kernel as NonNullable<typeof kernel>).memory;
    const rand = prng(11);
    // Around the 16-byte block (whole blocks by the kernel, the rest in JavaScript), at every
    // position within a block, over the whole input area.
    for (const length of [0, 1, 15, 16, 17, 31, 32, 33, 95, 96, 97, 1000, 65_541, INPUT_SIZE - 32]) {
      for (let offset = 0; offset < 16; offset++) {
        const keyIndex = offset & 3;
        // A view into the input area, with guard bytes on both sides of the range.
        const view = Buffer.from(memory.buffer, INPUT_OFFSET + offset, length + 16);
        const original = randomBytes(length + 16, rand);
        view.set(original);
        expect(isKernelResident(view)).toBe(true);
        maskResident(view, 8, 8 + length, KEY, keyIndex);
        const expected = original.slice();
        maskBytewise(expected, 8, 8 + length, KEY, keyIndex);
        expect(buffersEqual(view, expected), `length ${length}, offset ${offset}`).toBe(true);
      }
    }
    // Anything else is not resident, nor is the kernel's memory while the kernel is turned off.
    expect(isKernelResident(Buffer.alloc(64))).toBe(false);
    setSimdMasking(false);
    expect(isKernelResident(Buffer.from(memory.buffer, INPUT_OFFSET, 64))).toBe(false);
    setSimdMasking(true);
  });

  it('masks into another buffer without touching the source', () => {
    const rand = prng(9);
    const source = randomBytes(70_001, rand);
    const before = source.slice();
    const target = new Uint8Array(70_010);
    maskInto(source, 1, 70_000, KEY, target, 5);
    expect(Buffer.compare(source, before)).toBe(0);
    const expected = before.slice(1, 70_001);
    maskBytewise(expected, 0, expected.length, KEY, 0);
    expect(Buffer.compare(target.subarray(5, 70_005), expected)).toBe(0);
  });
});
