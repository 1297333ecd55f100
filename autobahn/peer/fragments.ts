/**
 * How the suite splits a message into frames (its `sendMessage` with a fragment size, or `autoFragmentSize`).
 *
 * A payload no longer than the fragment size goes out as one frame. A longer one goes out in frames of exactly
 * `size` octets, and the frame that carries FIN is the first one whose end would pass the payload's end. When the
 * size divides the length, that frame starts at the end of the payload: the message ends with an extra, empty
 * final frame, so it has `length / size + 1` frames instead of `length / size`. That empty frame matters to
 * testees that count fragments: 4 MiB in fragments of 256 octets is 16,385 frames, not 16,384.
 */

/** One frame's share of the payload: `[start, end)` and whether it ends the message. */
export interface FragmentSlice {
  readonly start: number;
  readonly end: number;
  readonly fin: boolean;
}

/**
 * The frames the suite sends for a payload of `length` octets in fragments of `size` octets (`size` absent or not
 * positive: one frame).
 */
export function suiteFragments(length: number, size: number | undefined): FragmentSlice[] {
  if (size === undefined || size <= 0 || length <= size) return [{ start: 0, end: length, fin: true }];
  const slices: FragmentSlice[] = [];
  for (let start = 0; ; start += size) {
    // The suite marks FIN only when the next fragment would pass the end (`j > n`), not when it reaches it.
    const last = start + size > length;
    slices.push({ start, end: last ? length : start + size, fin: last });
    if (last) return slices;
  }
}

/** How many frames {@link suiteFragments} gives, without building them. */
export function suiteFragmentCount(length: number, size: number | undefined): number {
  if (size === undefined || size <= 0 || length <= size) return 1;
  return Math.floor(length / size) + 1;
}
