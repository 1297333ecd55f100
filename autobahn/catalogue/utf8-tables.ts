/**
 * The byte sequences of sections 6.5 – 6.23, grouped as the suite groups them (after Markus Kuhn's UTF-8 decoder
 * stress test). Each group becomes one sub-section; each sequence one case, in this order. Validity of every
 * sequence is computed by our own validator (autobahn/peer/utf8.ts), except where the group states it, so a
 * mistake in either shows up as a disagreement in test/conformance.
 */
import { hex } from '../peer/bytes.js';
import { isValidUtf8 } from '../peer/utf8.js';

/** One sub-section: a title and its sequences with the validity the suite assigns. */
export interface Utf8Group {
  readonly title: string;
  readonly sequences: ReadonlyArray<{ readonly valid: boolean; readonly bytes: Buffer }>;
}

const GREEK = hex('cebae1bdb9cf83cebcceb5'); // "κόσμε"

const valid = (...hexes: string[]) => hexes.map((h) => ({ valid: true, bytes: hex(h) }));
const invalid = (...hexes: string[]) => hexes.map((h) => ({ valid: false, bytes: hex(h) }));
const hello = (middle: string) => hex(`68656c6c6f ${middle} 776f726c64`); // "hello" … "world"

function range(from: number, to: number, withSpace: boolean): Buffer {
  const out: number[] = [];
  for (let b = from; b < to; b++) {
    out.push(b);
    if (withSpace) out.push(0x20);
  }
  return Buffer.from(out);
}

// Sequences with their last continuation byte missing (3.3); concatenated again for 3.4.
const TRUNCATED = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf'];

function nonCharacters(): Array<{ valid: boolean; bytes: Buffer }> {
  // U+FFFE/U+FFFF and the last two code points of planes 1..16: noncharacters, but valid UTF-8 (RFC 3629).
  const out = valid('efbfbe', 'efbfbf');
  for (const lead of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const second of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (lead === 0xf4 && second !== 0x8f) continue; // would pass U+10FFFF
      for (const last of [0xbe, 0xbf]) {
        if (lead === 0xf0 && second === 0x8f) continue; // overlong forms of U+FFFE/U+FFFF
        out.push({ valid: true, bytes: Buffer.from([lead, second, 0xbf, last]) });
      }
    }
  }
  return out;
}

/** Sub-sections 6.5 … 6.23, in order. */
export const UTF8_GROUPS: readonly Utf8Group[] = [
  {
    title: 'Some valid UTF-8 sequences',
    sequences: [
      { valid: true, bytes: hello('24') },
      { valid: true, bytes: hello('c2a2') },
      { valid: true, bytes: hello('e282ac') },
      { valid: true, bytes: hello('f0a4ada2') },
      { valid: true, bytes: GREEK },
    ],
  },
  {
    title: 'All prefixes of a valid UTF-8 string that contains multi-byte code points',
    // A prefix that stops inside a code point is not a valid message.
    sequences: Array.from({ length: GREEK.length }, (_, i) => {
      const bytes = GREEK.subarray(0, i + 1);
      return { valid: isValidUtf8(bytes), bytes: Buffer.from(bytes) };
    }),
  },
  { title: 'First possible sequence of a certain length', sequences: valid('00', 'c280', 'e0a080', 'f0908080') },
  { title: 'First possible sequence length 5/6 (invalid codepoints)', sequences: invalid('f888808080', 'fc8480808080') },
  { title: 'Last possible sequence of a certain length', sequences: valid('7f', 'dfbf', 'efbfbf', 'f48fbfbf') },
  { title: 'Last possible sequence length 4/5/6 (invalid codepoints)', sequences: invalid('f7bfbfbf', 'fbbfbfbfbf', 'fdbfbfbfbfbf') },
  {
    title: 'Other boundary conditions',
    sequences: [...valid('ed9fbf', 'ee8080', 'efbfbd', 'f48fbfbf'), ...invalid('f4908080')],
  },
  {
    title: 'Unexpected continuation bytes',
    sequences: [
      ...invalid('80', 'bf', '80bf', '80bf80', '80bf80bf', '80bf80bf80', '80bf80bf80bf'),
      { valid: false, bytes: range(0x80, 0xbf, false) },
    ],
  },
  {
    title: 'Lonely start characters',
    sequences: [
      [0xc0, 0xdf],
      [0xe0, 0xef],
      [0xf0, 0xf7],
      [0xf8, 0xfb],
      [0xfc, 0xfd],
    ].map(([from, to]) => ({ valid: false, bytes: range(from as number, to as number, true) })),
  },
  { title: 'Sequences with last continuation byte missing', sequences: invalid(...TRUNCATED) },
  { title: 'Concatenation of incomplete sequences', sequences: invalid(TRUNCATED.join('')) },
  { title: 'Impossible bytes', sequences: invalid('fe', 'ff', 'fefeffff') },
  { title: 'Examples of an overlong ASCII character', sequences: invalid('c0af', 'e080af', 'f08080af', 'f8808080af', 'fc80808080af') },
  { title: 'Maximum overlong sequences', sequences: invalid('c1bf', 'e09fbf', 'f08fbfbf', 'f887bfbfbf', 'fc83bfbfbfbf') },
  { title: 'Overlong representation of the NUL character', sequences: invalid('c080', 'e08080', 'f0808080', 'f880808080', 'fc8080808080') },
  { title: 'Single UTF-16 surrogates', sequences: invalid('eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf') },
  {
    title: 'Paired UTF-16 surrogates',
    sequences: invalid(
      'eda080edb080',
      'eda080edbfbf',
      'edadbfedb080',
      'edadbfedbfbf',
      'edae80edb080',
      'edae80edbfbf',
      'edafbfedb080',
      'edafbfedbfbf',
    ),
  },
  { title: 'Non-character code points (valid UTF-8)', sequences: nonCharacters() },
  { title: 'Unicode specials (i.e. replacement char)', sequences: valid('efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf') },
];
