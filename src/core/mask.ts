/**
 * XOR masking of frame payloads (RFC 6455 §5.3).
 *
 * `transformed[i] = original[i] ^ key[i % 4]`, and masking twice restores the input, so one
 * routine both masks and unmasks. Long runs are XORed a 32-bit word at a time over the
 * 4-byte-aligned middle of the range; short runs and the unaligned head and tail go byte by byte.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { SIMD_OFFSET, SIMD_PIECE, type SimdKernel, simdKernel } from './mask-simd.js';
import { bufferView, uint8View } from './views.js';

/**
 * Runs shorter than this use the unrolled byte loop. Measured with benchmarks/codec/mask.ts:
 * below roughly this size the word path's setup (key rotation, view lookup) costs more than it saves.
 */
const WORD_THRESHOLD = 96;

/**
 * Runs at least this long go through the WebAssembly SIMD kernel (see mask-simd.ts), whose
 * copies in and out cost more than they save on shorter runs. Measured on a payload inside a
 * 64 KiB read: the two paths tie near 600 bytes; at 1 KiB the kernel takes 100 ns, the word
 * path 160 ns.
 */
export const SIMD_THRESHOLD = 768;

let useSimd = true;

/** Turns the SIMD kernel off or on (tests compare both paths; the default is on). */
export function setSimdMasking(enabled: boolean): void {
  useSimd = enabled;
}

/**
 * Masks `source[sourceStart, +length)` into `target[targetStart]` (the same range for in-place
 * masking) with the kernel, in pieces of at most {@link SIMD_PIECE} bytes.
 */
function maskSimd(
  simd: SimdKernel,
  source: Uint8Array,
  sourceStart: number,
  length: number,
  key: Uint8Array,
  keyIndex: number,
  target: Uint8Array,
  targetStart: number,
): void {
  // Pieces are multiples of 4 bytes, so the key phase is the same for every piece.
  const word = rotatedKeyWord(key, keyIndex);
  const memory = simd.memory;
  for (let done = 0; done < length; done += SIMD_PIECE) {
    const n = Math.min(SIMD_PIECE, length - done);
    memory.set(bufferView(source, sourceStart + done, sourceStart + done + n), SIMD_OFFSET);
    simd.xor(SIMD_OFFSET, SIMD_OFFSET + ((n + 15) & ~15), word);
    target.set(uint8View(memory, SIMD_OFFSET, SIMD_OFFSET + n), targetStart + done);
  }
}

/**
 * `true` when `buf` lies in the SIMD kernel's memory (socket input, see INPUT_OFFSET) and the
 * kernel is in use: {@link maskResident} may then mask it. Asked once per input chunk, not per
 * payload: reading a typed array's `buffer` is a call into V8's runtime.
 */
export function isKernelResident(buf: Uint8Array): boolean {
  if (!useSimd) return false;
  const simd = simdKernel();
  return simd !== null && buf.buffer === simd.buffer;
}

/**
 * {@link maskInPlace} for bytes in the kernel's memory ({@link isKernelResident}): masked where
 * they are, the whole 16-byte blocks by the kernel with no copy at any length, the 0-15 bytes
 * after them in JavaScript (whole blocks keep the key phase). Short runs take the byte loop.
 */
export function maskResident(buf: Uint8Array, start: number, end: number, key: Uint8Array, keyIndex: number): void {
  const simd = simdKernel();
  if (simd === null) {
    maskInPlace(buf, start, end, key, keyIndex);
    return;
  }
  if (end - start < WORD_THRESHOLD) {
    maskShort(buf, start, end, key, keyIndex);
    return;
  }
  if (start < 0 || end > buf.length) throw new RangeError('maskResident: range outside the buffer');
  const from = buf.byteOffset + start;
  const blocks = (end - start) & ~15;
  simd.xor(from, from + blocks, rotatedKeyWord(key, keyIndex));
  maskShort(buf, start + blocks, end, key, keyIndex);
}

// The rotated key is written byte by byte into `keyBytes` and read back through `keyWord`,
// so the 32-bit word has the platform's byte order and matches the Uint32Array views over
// the payload on any endianness, without asking `os` which one we run on.
const keyBytes = new Uint8Array(4);
const keyWord = new Uint32Array(keyBytes.buffer);

// The Uint32Array view over the last ArrayBuffer masked, covering the whole buffer: the frames
// of one socket chunk (or one slab) reuse it instead of allocating a view per call. A single
// entry, not a WeakMap: every socket chunk is a new ArrayBuffer, and a WeakMap entry per chunk
// costs more (ephemeron work in every GC) than the view it saves.
// Two slots, so maskInto's source and target do not evict each other.
const cachedBuffers: Array<ArrayBufferLike | null> = [null, null];
const cachedViews: Array<Uint32Array | null> = [null, null];

function wordViewOf(buffer: ArrayBufferLike, minWords: number, slot: 0 | 1): Uint32Array {
  // A resizable ArrayBuffer may have grown (or shrunk, leaving the view out of bounds with
  // length 0) since the view was made: writes past a view's end would be silently dropped.
  const cached = cachedViews[slot];
  if (cachedBuffers[slot] === buffer && cached != null && cached.length >= minWords) return cached;
  const view = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  cachedBuffers[slot] = buffer;
  cachedViews[slot] = view;
  return view;
}

/** Loads key[(keyIndex + 0..3) & 3] into `keyWord` and returns it as one 32-bit word. */
function rotatedKeyWord(key: Uint8Array, keyIndex: number): number {
  keyBytes[0] = key[keyIndex & 3]!;
  keyBytes[1] = key[(keyIndex + 1) & 3]!;
  keyBytes[2] = key[(keyIndex + 2) & 3]!;
  keyBytes[3] = key[(keyIndex + 3) & 3]!;
  return keyWord[0]!;
}

/**
 * Byte loop with the rotated key held in locals and unrolled by four: about twice as fast
 * than indexing the key per byte, and the fastest choice for runs below {@link WORD_THRESHOLD}.
 */
function maskShort(buf: Uint8Array, start: number, end: number, key: Uint8Array, keyIndex: number): void {
  const k0 = key[keyIndex & 3]!;
  const k1 = key[(keyIndex + 1) & 3]!;
  const k2 = key[(keyIndex + 2) & 3]!;
  const k3 = key[(keyIndex + 3) & 3]!;
  let i = start;
  const end4 = start + ((end - start) & ~3);
  for (; i < end4; i += 4) {
    buf[i] = buf[i]! ^ k0;
    buf[i + 1] = buf[i + 1]! ^ k1;
    buf[i + 2] = buf[i + 2]! ^ k2;
    buf[i + 3] = buf[i + 3]! ^ k3;
  }
  if (i < end) {
    buf[i] = buf[i]! ^ k0;
    if (++i < end) {
      buf[i] = buf[i]! ^ k1;
      if (++i < end) buf[i] = buf[i]! ^ k2;
    }
  }
}

/**
 * XORs `buf[start..end)` in place with a 4-byte masking key (RFC 6455 §5.3).
 *
 * Key byte `key[(keyIndex + i) & 3]` applies to `buf[start + i]`, so a payload split across
 * several calls continues with `keyIndex = (keyIndex + previousLength) & 3`. Correct for any
 * `byteOffset`, range and `keyIndex`; allocation-free after the first call on a given ArrayBuffer.
 *
 * @param buf - Bytes to transform in place.
 * @param start - First index to transform.
 * @param end - One past the last index to transform.
 * @param key - The masking key in `key[0..3]`.
 * @param keyIndex - Position in the key of the byte that applies to `buf[start]` (taken mod 4).
 */
export function maskInPlace(buf: Uint8Array, start: number, end: number, key: Uint8Array, keyIndex: number): void {
  if (end - start < WORD_THRESHOLD) {
    // Out-of-range typed-array writes are no-ops here, so no check is needed on this path.
    maskShort(buf, start, end, key, keyIndex);
    return;
  }
  // The word view spans the whole ArrayBuffer: an out-of-range `end` would corrupt bytes that
  // belong to other views of it (Node's pooled Buffers share one), so refuse it.
  if (start < 0 || end > buf.length) throw new RangeError('maskInPlace: range outside the buffer');
  if (end - start >= SIMD_THRESHOLD && useSimd) {
    const simd = simdKernel();
    if (simd !== null) {
      maskSimd(simd, buf, start, end - start, key, keyIndex, buf, start);
      return;
    }
  }
  // Head: bytes until the absolute address is a multiple of 4, as Uint32Array views require.
  const base = buf.byteOffset;
  const head = (4 - ((base + start) & 3)) & 3;
  maskShort(buf, start, start + head, key, keyIndex);
  const pos = start + head;
  const k = (keyIndex + head) & 3;
  const word = rotatedKeyWord(key, k);
  const first = (base + pos) >>> 2;
  const last = first + ((end - pos) >>> 2);
  const words = wordViewOf(buf.buffer, last, 0);
  // Unrolled by 8: measured ~1.6x faster than the simple word loop on V8 (fewer bound checks
  // and loop branches per byte).
  let w = first;
  const last8 = first + ((last - first) & ~7);
  for (; w < last8; w += 8) {
    words[w] = words[w]! ^ word;
    words[w + 1] = words[w + 1]! ^ word;
    words[w + 2] = words[w + 2]! ^ word;
    words[w + 3] = words[w + 3]! ^ word;
    words[w + 4] = words[w + 4]! ^ word;
    words[w + 5] = words[w + 5]! ^ word;
    words[w + 6] = words[w + 6]! ^ word;
    words[w + 7] = words[w + 7]! ^ word;
  }
  for (; w < last; w++) words[w] = words[w]! ^ word;
  // Tail: the 0-3 bytes after the last whole word; the key phase is unchanged (whole words).
  maskShort(buf, pos + ((last - first) << 2), end, key, k);
}

/**
 * Writes `source[sourceStart..sourceStart+length) ^ key` into `target` at `targetStart`
 * (RFC 6455 §5.3), key index 0 at `sourceStart`. The source is left untouched, so a client can
 * mask an outgoing payload without modifying the caller's buffer.
 *
 * The ranges must not overlap unless they are identical.
 *
 * @param source - Unmasked bytes.
 * @param sourceStart - First source index.
 * @param length - Number of bytes.
 * @param key - The masking key in `key[0..3]`.
 * @param target - Receives the masked bytes.
 * @param targetStart - First target index.
 */
export function maskInto(
  source: Uint8Array,
  sourceStart: number,
  length: number,
  key: Uint8Array,
  target: Uint8Array,
  targetStart: number,
): void {
  if (length >= WORD_THRESHOLD) {
    // As in maskInPlace: the word views span whole ArrayBuffers, so ranges must be checked.
    if (sourceStart < 0 || targetStart < 0 || sourceStart + length > source.length || targetStart + length > target.length) {
      throw new RangeError('maskInto: range outside the buffer');
    }
    if (length >= SIMD_THRESHOLD && useSimd) {
      const simd = simdKernel();
      if (simd !== null) {
        maskSimd(simd, source, sourceStart, length, key, 0, target, targetStart);
        return;
      }
    }
    const srcAddr = source.byteOffset + sourceStart;
    const dstAddr = target.byteOffset + targetStart;
    if (((srcAddr ^ dstAddr) & 3) === 0) {
      // Same alignment: XOR words from source straight into target.
      const head = (4 - (srcAddr & 3)) & 3;
      for (let i = 0; i < head; i++) target[targetStart + i] = source[sourceStart + i]! ^ key[i]!;
      const word = rotatedKeyWord(key, head);
      const n = (length - head) >>> 2;
      const s0 = (srcAddr + head) >>> 2;
      const d0 = (dstAddr + head) >>> 2;
      const src = wordViewOf(source.buffer, s0 + n, 0);
      const dst = wordViewOf(target.buffer, d0 + n, 1);
      // Deliberately not shared with maskInPlace's loop: one function serving both the in-place
      // and the copying case measured at half the speed (1 KiB: 4.0 vs 6.7 GB/s).
      let w = 0;
      const n8 = n & ~7;
      for (; w < n8; w += 8) {
        const s = s0 + w;
        const d = d0 + w;
        dst[d] = src[s]! ^ word;
        dst[d + 1] = src[s + 1]! ^ word;
        dst[d + 2] = src[s + 2]! ^ word;
        dst[d + 3] = src[s + 3]! ^ word;
        dst[d + 4] = src[s + 4]! ^ word;
        dst[d + 5] = src[s + 5]! ^ word;
        dst[d + 6] = src[s + 6]! ^ word;
        dst[d + 7] = src[s + 7]! ^ word;
      }
      for (; w < n; w++) dst[d0 + w] = src[s0 + w]! ^ word;
      for (let i = head + (n << 2); i < length; i++) {
        target[targetStart + i] = source[sourceStart + i]! ^ key[i & 3]!;
      }
      return;
    }
    // Different alignments: a native copy, then the aligned in-place path on the target.
    target.set(source.subarray(sourceStart, sourceStart + length), targetStart);
    maskInPlace(target, targetStart, targetStart + length, key, 0);
    return;
  }
  maskIntoShort(source, sourceStart, length, key, target, targetStart);
}

/** Copying counterpart of {@link maskShort}, key index 0 at `sourceStart`. */
function maskIntoShort(
  source: Uint8Array,
  sourceStart: number,
  length: number,
  key: Uint8Array,
  target: Uint8Array,
  targetStart: number,
): void {
  const k0 = key[0]!;
  const k1 = key[1]!;
  const k2 = key[2]!;
  const k3 = key[3]!;
  let i = 0;
  const end4 = length & ~3;
  for (; i < end4; i += 4) {
    const s = sourceStart + i;
    const t = targetStart + i;
    target[t] = source[s]! ^ k0;
    target[t + 1] = source[s + 1]! ^ k1;
    target[t + 2] = source[s + 2]! ^ k2;
    target[t + 3] = source[s + 3]! ^ k3;
  }
  for (; i < length; i++) target[targetStart + i] = source[sourceStart + i]! ^ key[i & 3]!;
}

/**
 * Reference implementation: the plain byte loop, same contract as {@link maskInPlace}.
 * Kept for tests and benchmarks; not used on any hot path.
 *
 * @param buf - Bytes to transform in place.
 * @param start - First index to transform.
 * @param end - One past the last index to transform.
 * @param key - The masking key in `key[0..3]`.
 * @param keyIndex - Position in the key of the byte that applies to `buf[start]`.
 */
export function maskBytewise(buf: Uint8Array, start: number, end: number, key: Uint8Array, keyIndex: number): void {
  for (let i = start; i < end; i++) buf[i] = buf[i]! ^ key[(keyIndex + i - start) & 3]!;
}

// RFC 6455 §5.3: each frame's key must be freshly chosen and unpredictable. Random bytes
// come from a pooled buffer refilled by the CSPRNG when used up, so a key costs no syscall
// and no allocation; one 8 KiB refill serves 2,048 frames.
const KEY_POOL_SIZE = 8192;
const keyPool = new Uint8Array(KEY_POOL_SIZE);
let keyPoolOffset = KEY_POOL_SIZE;

/** Fills a 4-byte masking key (the `generateMask` option); the default draws random bytes. */
export type MaskGenerator = (mask: Buffer) => void;

/** The buffer handed to a {@link MaskGenerator}, shared by all connections (read right after the call). */
const generatedKey = Buffer.alloc(4);

/**
 * Writes a fresh random 4-byte masking key into `target[offset..offset+4)` (RFC 6455 §5.3).
 *
 * @param target - Receives the key (e.g. the last 4 bytes of a client frame header).
 * @param offset - Index of the first key byte.
 * @param generate - Fills the key instead of the CSPRNG (the `generateMask` option).
 */
export function writeMaskKey(target: Uint8Array, offset: number, generate?: MaskGenerator | null): void {
  if (generate) {
    generate(generatedKey);
    target.set(generatedKey, offset);
    return;
  }
  if (keyPoolOffset === KEY_POOL_SIZE) {
    randomFillSync(keyPool);
    keyPoolOffset = 0;
  }
  const p = keyPoolOffset;
  target[offset] = keyPool[p]!;
  target[offset + 1] = keyPool[p + 1]!;
  target[offset + 2] = keyPool[p + 2]!;
  target[offset + 3] = keyPool[p + 3]!;
  keyPoolOffset = p + 4;
}
