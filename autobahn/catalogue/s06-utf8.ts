/** Section 6 — UTF-8 handling: valid text in odd fragmentations, invalid text, fail-fast (6.4.x), sequence tables. */
import { hex, utf8 } from '../peer/bytes.js';
import { NORMAL_CLOSE, closeAfter, failedBy, frame, killAfter, message } from './build.js';
import type { Action, CaseDef, Observed } from './types.js';
import { CLOSE_INVALID_PAYLOAD } from './types.js';
import { UTF8_GROUPS } from './utf8-tables.js';

const MIXED = 'Hello-µ@ßöäüàá-UTF-8!!';
const GREEK = hex('cebae1bdb9cf83cebcceb5');
// Invalid at byte 12: 0xED 0xA0 starts a surrogate.
const SURROGATE_TEXT = Buffer.concat([GREEK, hex('eda080'), utf8('edited')]);
// Fail-fast payload: 0xF4 0x90 would encode U+110000, invalid at byte 12 (0x90).
const PART1 = GREEK;
const PART2 = hex('f4908080');
const PART3 = utf8('edited');
const FAST = Buffer.concat([PART1, PART2, PART3]);

const FAIL_1007 = failedBy(CLOSE_INVALID_PAYLOAD);
const FAIL_1007_FATAL = failedBy(CLOSE_INVALID_PAYLOAD, true);

function validText(id: string, description: string, payload: Buffer, actions: Action[]): CaseDef {
  return {
    id,
    description,
    expectation: "The message is echo'ed back to us.",
    expected: { OK: [message(payload)] },
    expectedClose: NORMAL_CLOSE,
    actions: [...actions, closeAfter(1)],
  };
}

/**
 * 6.4.x: the invalid octet arrives after a one-second pause. OK when the testee fails the connection then (we never
 * reach mark B); NON-STRICT when it waits for the whole message (we reach B and send the rest).
 */
function failFast(id: string, description: string, parts: readonly [Buffer, Buffer, Buffer], streamed: boolean): CaseDef {
  const [a, b, c] = parts;
  const actions: Action[] = streamed
    ? [
        { do: 'beginFrame', opcode: 1, length: a.length + b.length + c.length },
        { do: 'frameData', payload: a },
        { do: 'wait', seconds: 1, mark: 'A' },
        { do: 'frameData', payload: b },
        { do: 'wait', seconds: 1, mark: 'B' },
        { do: 'frameData', payload: c },
        { do: 'endMessage' },
        killAfter(1),
      ]
    : [
        frame(1, a, { fin: false }),
        { do: 'wait', seconds: 1, mark: 'A' },
        frame(0, b, { fin: false }),
        { do: 'wait', seconds: 1, mark: 'B' },
        frame(0, c, { fin: true }),
        killAfter(1),
      ];
  const timeoutA: Observed = { kind: 'timeout', tag: 'A' };
  const timeoutB: Observed = { kind: 'timeout', tag: 'B' };
  return {
    id,
    description,
    expectation:
      'The first frame is accepted, we expect to timeout on the first wait. The 2nd frame should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.',
    expected: { OK: [timeoutA], 'NON-STRICT': [timeoutA, timeoutB] },
    expectedClose: FAIL_1007_FATAL,
    actions,
  };
}

function tables(): CaseDef[] {
  const out: CaseDef[] = [];
  UTF8_GROUPS.forEach((group, g) => {
    group.sequences.forEach((seq, s) => {
      const id = `6.${g + 5}.${s + 1}`;
      const hexText = seq.bytes.toString('hex');
      out.push({
        id,
        description: seq.valid
          ? `Send a text message with payload which is valid UTF-8 in one fragment. Payload: 0x${hexText}`
          : `Send a text message with payload which is not valid UTF-8 in one fragment. Payload: 0x${hexText}`,
        expectation: seq.valid
          ? "The message is echo'ed back to us."
          : 'The connection is failed immediately, since the payload is not valid UTF-8.',
        expected: { OK: seq.valid ? [message(seq.bytes)] : [] },
        expectedClose: seq.valid ? NORMAL_CLOSE : FAIL_1007_FATAL,
        actions: [{ do: 'message', payload: seq.bytes, binary: false }, killAfter(0.5)],
      });
    });
  });
  return out;
}

/** Sub-section titles of 6.5 – 6.23, for reports. */
export const SECTION_6_TITLES: Readonly<Record<string, string>> = Object.fromEntries(
  UTF8_GROUPS.map((g, i) => [`6.${i + 5}`, g.title]),
);

/** Cases 6.1.1 – 6.23.7. */
export const SECTION_6: readonly CaseDef[] = [
  validText('6.1.1', 'Send text message of length 0.', Buffer.alloc(0), [frame(1, Buffer.alloc(0))]),
  validText('6.1.2', 'Send fragmented text message, 3 fragments each of length 0.', Buffer.alloc(0), [
    frame(1, Buffer.alloc(0), { fin: false }),
    frame(0, Buffer.alloc(0), { fin: false }),
    frame(0, Buffer.alloc(0), { fin: true }),
  ]),
  validText('6.1.3', 'Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.', utf8('middle frame payload'), [
    frame(1, Buffer.alloc(0), { fin: false }),
    frame(0, 'middle frame payload', { fin: false }),
    frame(0, Buffer.alloc(0), { fin: true }),
  ]),
  validText('6.2.1', 'Send a valid UTF-8 text message in one fragment.', utf8(MIXED), [
    { do: 'message', payload: utf8(MIXED), binary: false },
  ]),
  validText('6.2.2', 'Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.', utf8(MIXED), [
    frame(1, 'Hello-µ@ßöä', { fin: false }),
    frame(0, 'üàá-UTF-8!!', { fin: true }),
  ]),
  validText('6.2.3', 'Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.', utf8(MIXED), [
    { do: 'message', payload: utf8(MIXED), binary: false, fragmentSize: 1 },
  ]),
  validText('6.2.4', 'Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.', GREEK, [
    { do: 'message', payload: GREEK, binary: false, fragmentSize: 1 },
  ]),
  {
    id: '6.3.1',
    description: 'Send invalid UTF-8 text message unfragmented.',
    expectation: 'The connection is failed immediately, since the payload is not valid UTF-8.',
    expected: { OK: [] },
    expectedClose: FAIL_1007,
    actions: [{ do: 'message', payload: SURROGATE_TEXT, binary: false }, killAfter(1)],
  },
  {
    id: '6.3.2',
    description: 'Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.',
    expectation: 'The connection is failed immediately, since the payload is not valid UTF-8.',
    expected: { OK: [] },
    expectedClose: FAIL_1007_FATAL,
    actions: [{ do: 'message', payload: SURROGATE_TEXT, binary: false, fragmentSize: 1 }, killAfter(1)],
  },
  failFast('6.4.1', 'Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest.', [PART1, PART2, PART3], false),
  failFast('6.4.2', 'Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.', [FAST.subarray(0, 12), FAST.subarray(12, 13), FAST.subarray(13)], false),
  failFast('6.4.3', 'Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.', [PART1, PART2, PART3], true),
  failFast('6.4.4', 'Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.', [FAST.subarray(0, 12), FAST.subarray(12, 13), FAST.subarray(13)], true),
  ...tables(),
];
