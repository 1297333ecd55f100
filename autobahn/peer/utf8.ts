/**
 * Incremental UTF-8 validator for the peer's own receive side and for classifying the 6.x test sequences.
 * It is deliberately independent of src/: the conformance peer must not share code with the library it judges.
 *
 * Rules (RFC 3629 §4): no overlongs, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Each lead byte fixes
 * how many continuation bytes follow and the allowed range of the first one; later ones are always 0x80..0xBF.
 */
export class Utf8Validator {
  private remaining = 0;
  private lower = 0x80;
  private upper = 0xbf;
  private failed = false;

  /** Starts a new message. */
  reset(): void {
    this.remaining = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    this.failed = false;
  }

  /** Feeds bytes; returns false as soon as the bytes seen so far cannot become valid UTF-8. */
  push(bytes: Uint8Array): boolean {
    if (this.failed) return false;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (this.remaining === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) this.expect(1, 0x80, 0xbf);
        else if (b === 0xe0) this.expect(2, 0xa0, 0xbf); // below 0xA0 would be an overlong 3-byte form
        else if (b === 0xed) this.expect(2, 0x80, 0x9f); // 0xA0.. would encode a UTF-16 surrogate
        else if (b >= 0xe1 && b <= 0xef) this.expect(2, 0x80, 0xbf);
        else if (b === 0xf0) this.expect(3, 0x90, 0xbf); // below 0x90 would be an overlong 4-byte form
        else if (b >= 0xf1 && b <= 0xf3) this.expect(3, 0x80, 0xbf);
        else if (b === 0xf4) this.expect(3, 0x80, 0x8f); // above 0x8F would pass U+10FFFF
        else return this.fail();
      } else {
        if (b < this.lower || b > this.upper) return this.fail();
        this.remaining--;
        this.lower = 0x80;
        this.upper = 0xbf;
      }
    }
    return true;
  }

  /** True when no code point is left open (call at the end of a message). */
  get complete(): boolean {
    return !this.failed && this.remaining === 0;
  }

  private expect(count: number, lower: number, upper: number): void {
    this.remaining = count;
    this.lower = lower;
    this.upper = upper;
  }

  private fail(): false {
    this.failed = true;
    return false;
  }
}

/** Whole-buffer check: valid and complete. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.push(bytes) && v.complete;
}
