/**
 * A small seeded pseudo-random generator (mulberry32) so every generated data set is the same on every run and
 * every machine: a case that fails can be replayed byte for byte.
 */

/** Deterministic generator of 32-bit values from a seed. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next value in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)] as T;
  }
}

/** Collects text pieces until `size` bytes are reached, then cuts to exactly `size` bytes. */
export function fillText(size: number, piece: () => string): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  // Each piece is non-empty, so this ends after at most `size` pieces.
  for (let guard = 0; total < size && guard <= size; guard++) {
    const b = Buffer.from(piece(), 'utf8');
    parts.push(b);
    total += b.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}
