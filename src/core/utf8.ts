/**
 * UTF-8 validation for text messages and close reasons (RFC 6455 §5.6, §8.1).
 *
 * Two tools: a native whole-buffer check (`buffer.isUtf8`, SIMD in Node 20) and a byte DFA
 * written from the well-formed byte sequence table of RFC 3629 §4. The incremental
 * {@link Utf8Validator} combines them: the native check skips over the bulk of each chunk, and
 * the DFA handles the few bytes of a sequence split across chunk boundaries, so an invalid
 * byte is reported in the chunk that carries it rather than at the end of the message.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';

// Byte classes. RFC 3629 §4 splits the continuation range 80-BF three ways because the
// byte after E0, ED, F0 and F4 is restricted to a sub-range (no overlongs, no surrogates,
// nothing above U+10FFFF).
const ASCII = 0; // 00-7F
const CONT_80_8F = 1;
const CONT_90_9F = 2;
const CONT_A0_BF = 3;
const LEAD2 = 4; // C2-DF
const LEAD_E0 = 5; // E0 A0-BF 80-BF
const LEAD3 = 6; // E1-EC, EE-EF, then two of 80-BF
const LEAD_ED = 7; // ED 80-9F 80-BF (excludes surrogates D800-DFFF)
const LEAD_F0 = 8; // F0 90-BF 80-BF 80-BF
const LEAD4 = 9; // F1-F3, then three of 80-BF
const LEAD_F4 = 10; // F4 80-8F 80-BF 80-BF (stops at U+10FFFF)
const INVALID = 11; // C0-C1 (always overlong), F5-FF (beyond U+10FFFF)

/** Byte → class. */
const CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  CLASS[b] =
    b < 0x80 ? ASCII
    : b < 0x90 ? CONT_80_8F
    : b < 0xa0 ? CONT_90_9F
    : b < 0xc0 ? CONT_A0_BF
    : b < 0xc2 ? INVALID
    : b < 0xe0 ? LEAD2
    : b === 0xe0 ? LEAD_E0
    : b === 0xed ? LEAD_ED
    : b < 0xf0 ? LEAD3
    : b === 0xf0 ? LEAD_F0
    : b < 0xf4 ? LEAD4
    : b === 0xf4 ? LEAD_F4
    : INVALID;
}

// States, pre-multiplied by the row stride (16) so a transition is one add and one load.
const ACCEPT = 0; // at a code point boundary
const REJECT = 16; // sticky: no continuation can make the input valid
const NEED1 = 32; // one more 80-BF
const NEED2 = 48; // two more 80-BF
const NEED3 = 64; // three more 80-BF
const AFTER_E0 = 80; // next must be A0-BF
const AFTER_ED = 96; // next must be 80-9F
const AFTER_F0 = 112; // next must be 90-BF
const AFTER_F4 = 128; // next must be 80-8F

/** TRANSITION[state + class] → next state. Unlisted entries stay REJECT. */
const TRANSITION = new Uint8Array(144).fill(REJECT);
function allow(state: number, classes: readonly number[], next: number): void {
  for (const c of classes) TRANSITION[state + c] = next;
}
const ANY_CONT = [CONT_80_8F, CONT_90_9F, CONT_A0_BF] as const;
allow(ACCEPT, [ASCII], ACCEPT);
allow(ACCEPT, [LEAD2], NEED1);
allow(ACCEPT, [LEAD_E0], AFTER_E0);
allow(ACCEPT, [LEAD3], NEED2);
allow(ACCEPT, [LEAD_ED], AFTER_ED);
allow(ACCEPT, [LEAD_F0], AFTER_F0);
allow(ACCEPT, [LEAD4], NEED3);
allow(ACCEPT, [LEAD_F4], AFTER_F4);
allow(NEED1, ANY_CONT, ACCEPT);
allow(NEED2, ANY_CONT, NEED1);
allow(NEED3, ANY_CONT, NEED2);
allow(AFTER_E0, [CONT_A0_BF], NEED1);
allow(AFTER_ED, [CONT_80_8F, CONT_90_9F], NEED1);
allow(AFTER_F0, [CONT_90_9F, CONT_A0_BF], NEED2);
allow(AFTER_F4, [CONT_80_8F], NEED2);

/**
 * Runs the DFA over `bytes[start..end)` from `state`; returns the final state, or REJECT as
 * soon as a byte makes the input impossible to complete.
 */
function run(state: number, bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    let b = bytes[i]!;
    if (state === ACCEPT) {
      // ASCII at a boundary is by far the commonest case: a tight loop that skips the
      // table (measured ~25% faster than testing the state on every byte).
      while (b < 0x80) {
        if (++i === end) return ACCEPT;
        b = bytes[i]!;
      }
    }
    state = TRANSITION[state + CLASS[b]!]!;
    if (state === REJECT) return REJECT;
    i++;
  }
  return state;
}

/**
 * Below this many bytes the pure-JS DFA beats the native call's fixed cost (~20 ns of
 * argument checks and the C++ transition) on a whole buffer. Measured on Node 20 / x64.
 */
const WHOLE_NATIVE_THRESHOLD = 24;

/**
 * Same crossover for {@link Utf8Validator.write}, higher because the native call there also
 * needs a subarray view (an allocation) of the range.
 */
const SPLIT_NATIVE_THRESHOLD = 32;

/**
 * Whole-buffer check with the pure-JS DFA only, no native code. Used for short inputs, where
 * it is faster than the native call, and as an independent implementation in tests and
 * benchmarks.
 *
 * @param bytes - The bytes to check.
 * @param start - First index (default 0).
 * @param end - One past the last index (default `bytes.length`).
 * @returns `true` if `bytes[start..end)` is well-formed UTF-8 (RFC 3629 §4).
 */
export function isValidUtf8Js(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  return run(ACCEPT, bytes, start, end) === ACCEPT;
}

/**
 * Whether `bytes` is well-formed UTF-8 (RFC 3629 §4): no overlong forms, no surrogates
 * (U+D800-DFFF), nothing above U+10FFFF, no truncated sequence at the end.
 *
 * @param bytes - The complete text to check (e.g. a close reason or a whole message).
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return bytes.length < WHOLE_NATIVE_THRESHOLD ? run(ACCEPT, bytes, 0, bytes.length) === ACCEPT : isUtf8(bytes);
}

/**
 * Incremental UTF-8 validator for text that arrives in pieces: fragments of a message
 * (RFC 6455 §5.4) and partial frame payloads. RFC 6455 §8.1 says to fail the connection when
 * invalid UTF-8 is received; this validator fails on the first byte that cannot be part of
 * valid UTF-8, whatever the split, rather than at the end of the message.
 *
 * @example
 * ```ts
 * const v = new Utf8Validator();
 * if (!v.write(payload, 0, payload.length)) fail(1007);
 * if (fin && !v.end()) fail(1007);
 * ```
 */
export class Utf8Validator {
  /** DFA state; ACCEPT between code points, REJECT once invalid (sticky until reset). */
  private state = ACCEPT;

  /**
   * Feeds `bytes[start..end)`, continuing any sequence left open by the previous call.
   *
   * @returns `false` as soon as the input so far cannot be a prefix of valid UTF-8 (and on
   * every later call until {@link Utf8Validator.reset}); `true` otherwise.
   */
  write(bytes: Uint8Array, start: number, end: number): boolean {
    let state = this.state;
    if (state === REJECT) return false;
    let i = start;
    // Finish a sequence split by the previous call: at most 3 bytes through the DFA.
    while (state !== ACCEPT && i < end) {
      state = TRANSITION[state + CLASS[bytes[i]!]!]!;
      i++;
      if (state === REJECT) {
        this.state = REJECT;
        return false;
      }
    }
    if (end - i >= SPLIT_NATIVE_THRESHOLD) {
      // At a boundary: hand the native check the longest prefix that should end on a
      // boundary. Only the last 3 bytes can hold the start of an incomplete sequence (a
      // sequence is at most 4 bytes, RFC 3629 §3), so look back no further.
      let cut = end;
      const stop = end - 3;
      for (let j = end - 1; j >= stop; j--) {
        const b = bytes[j]!;
        if ((b & 0xc0) !== 0x80) {
          // The last non-continuation byte: if it is a lead whose sequence would run past
          // `end`, it is incomplete and goes to the DFA instead.
          if (b >= 0xc0 && j + (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) > end) cut = j;
          break;
        }
      }
      // If the input is a valid prefix, bytes[i..cut) is complete valid UTF-8; so a native
      // failure proves the input invalid, whichever byte the native check stopped at.
      const whole = i === 0 && cut === bytes.length;
      if (!isUtf8(whole ? bytes : bytes.subarray(i, cut))) {
        this.state = REJECT;
        return false;
      }
      i = cut;
    }
    state = run(state, bytes, i, end);
    this.state = state;
    return state !== REJECT;
  }

  /**
   * Ends the text.
   *
   * @returns `true` if everything written is valid UTF-8 with no sequence left open; a
   * sequence truncated at the end of the message is invalid.
   */
  end(): boolean {
    return this.state === ACCEPT;
  }

  /** Forgets all input, ready for the next message. */
  reset(): void {
    this.state = ACCEPT;
  }
}
