/**
 * Byte helpers shared by the catalogue and the peer. Payloads are plain `Uint8Array`s (Node `Buffer`s are
 * accepted everywhere), so a case definition can be written as data without touching sockets.
 */

/** A payload given as a short pattern repeated (and cut) to `length` bytes, like the suite's `payload_len`. */
export interface Repeat {
  readonly pattern: Uint8Array;
  readonly length: Size;
}

/** A size that differs between the quick CI profile and the suite's full sizes (sections 9, 12 and 13). */
export interface Scaled {
  readonly ci: number;
  readonly full: number;
}

/** A plain number, or a number that depends on the run profile. */
export type Size = number | Scaled;

/** Which sizes a run uses: `ci` shrinks sections 9, 12 and 13 so the whole catalogue fits in a CI budget. */
export type Profile = 'ci' | 'full';

/** A payload as written in the catalogue: literal bytes or a repeated pattern. */
export type PayloadSpec = Uint8Array | Repeat;

/** Bytes of an ASCII / UTF-8 string literal. */
export function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** Bytes from a hex string; spaces are ignored so long sequences stay readable in the catalogue. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** `count` copies of one byte value. */
export function fill(byte: number, count: number): Buffer {
  return Buffer.alloc(count, byte);
}

/** Resolves a profile-dependent size. */
export function sizeOf(size: Size, profile: Profile): number {
  return typeof size === 'number' ? size : size[profile];
}

/** True when the spec is a repeated pattern rather than literal bytes. */
export function isRepeat(spec: PayloadSpec): spec is Repeat {
  return !(spec instanceof Uint8Array);
}

/** Materialises a payload spec; a repeat is built once, with `Buffer.fill`, which repeats the pattern natively. */
export function materialise(spec: PayloadSpec, profile: Profile): Buffer {
  if (!isRepeat(spec)) return Buffer.from(spec.buffer, spec.byteOffset, spec.byteLength);
  const length = sizeOf(spec.length, profile);
  if (spec.pattern.length === 0) throw new RangeError('cannot repeat an empty pattern');
  return Buffer.alloc(length).fill(spec.pattern);
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Hex of at most `limit` bytes, with a marker when cut, for wire logs and reports. */
export function hexPreview(data: Uint8Array, limit = 256): string {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, limit)).toString('hex');
  return data.byteLength > limit ? `${head} ... (${data.byteLength} bytes)` : head;
}
