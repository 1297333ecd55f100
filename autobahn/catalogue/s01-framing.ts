/** Section 1 — Framing: text (1.1.x) and binary (1.2.x) messages around the 7/16/64-bit length boundaries. */
import { fill } from '../peer/bytes.js';
import { NORMAL_CLOSE, frame, killAfter, message } from './build.js';
import type { CaseDef } from './types.js';

// [length, chop size, kill timer] in suite order; 1.x.8 trickles the 64 KiB frame out in 997-byte TCP writes.
const SIZES: ReadonlyArray<readonly [number, number | undefined, number]> = [
  [0, undefined, 1],
  [125, undefined, 1],
  [126, undefined, 1],
  [127, undefined, 1],
  [128, undefined, 1],
  [65535, undefined, 10],
  [65536, undefined, 10],
  [65536, 997, 10],
];

function sized(sub: 1 | 2): CaseDef[] {
  const binary = sub === 2;
  const kind = binary ? 'binary' : 'text';
  return SIZES.map(([length, chop, kill], i): CaseDef => {
    // Text uses '*', binary uses 0xFE (not valid UTF-8, so a testee that mixes the types up is caught).
    const payload = fill(binary ? 0xfe : 0x2a, length);
    return {
      id: `1.${sub}.${i + 1}`,
      description:
        `Send ${kind} message with payload of length ${length}.` +
        (chop === undefined ? '' : ` Sent out data in chops of ${chop} octets.`),
      expectation: `Receive echo'ed ${kind} message (with payload as sent). Clean close with normal code.`,
      expected: { OK: [message(payload, binary)] },
      expectedClose: NORMAL_CLOSE,
      actions: [frame(binary ? 2 : 1, payload, chop === undefined ? {} : { chop }), killAfter(kill)],
    };
  });
}

/** Cases 1.1.1 – 1.2.8. */
export const SECTION_1: readonly CaseDef[] = [...sized(1), ...sized(2)];
