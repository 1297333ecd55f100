/** Section 5 — Fragmentation: control frames must not be fragmented, continuation rules, pings between fragments. */
import { NORMAL_CLOSE, closeAfter, failedBy, frame, killAfter, message, pong } from './build.js';
import type { FrameOptions } from './build.js';
import type { Action, CaseDef } from './types.js';
import { CLOSE_PROTOCOL_ERROR } from './types.js';

const FAIL = failedBy(CLOSE_PROTOCOL_ERROR);
const NO_CONTINUE = 'The connection is failed immediately, since there is no message to continue.';
const ECHOED = "Message is processed and echo'ed back to us.";
const PONG_THEN_ECHO = "A pong is received, then the message is echo'ed back to us.";

type How = 'one' | 'sync' | 'chop';
const HOW_TEXT: Record<How, string> = { one: 'sent in one chop', sync: 'sent in per-frame chops', chop: 'sent in octet-wise chops' };

function opts(how: How): FrameOptions {
  return how === 'sync' ? { sync: true } : how === 'chop' ? { chop: 1 } : {};
}

function fragmentedControl(id: string, opcode: 9 | 10, name: string): CaseDef {
  return {
    id,
    description: `Send ${name} fragmented into 2 fragments.`,
    expectation: 'Connection is failed immediately, since control message MUST NOT be fragmented.',
    expected: { OK: [] },
    expectedClose: FAIL,
    actions: [frame(opcode, 'fragment1', { fin: false }), frame(0, 'fragment2', { fin: true }), killAfter(1)],
  };
}

function twoFragments(id: string, how: How, withPing: boolean): CaseDef {
  const o = opts(how);
  const tail = how === 'one' ? '' : how === 'sync' ? ' Octets are sent in frame-wise chops.' : ' Octets are sent in octet-wise chops.';
  const actions: Action[] = [frame(1, 'fragment1', { fin: false, ...o })];
  if (withPing) actions.push(frame(9, 'ping payload', { fin: true, ...o }));
  actions.push(frame(0, 'fragment2', { fin: true, ...o }), closeAfter(1));
  return {
    id,
    description: withPing
      ? `Send text Message fragmented into 2 fragments, one ping with payload in-between.${tail}`
      : `Send text Message fragmented into 2 fragments${how === 'one' ? '.' : `, octets are sent in ${how === 'sync' ? 'frame' : 'octet'}-wise chops.`}`,
    expectation: withPing ? PONG_THEN_ECHO : ECHOED,
    expected: { OK: withPing ? [pong('ping payload'), message('fragment1fragment2')] : [message('fragment1fragment2')] },
    expectedClose: NORMAL_CLOSE,
    actions,
  };
}

function nothingToContinue(id: string, fin: boolean, how: How): CaseDef {
  const o = opts(how);
  return {
    id,
    description: `Send unfragmented Text Message after Continuation Frame with FIN = ${fin}, where there is nothing to continue, ${HOW_TEXT[how]}.`,
    expectation: NO_CONTINUE,
    expected: { OK: [] },
    expectedClose: FAIL,
    actions: [frame(0, 'non-continuation payload', { fin, ...o }), frame(1, 'Hello, world!', { fin: true, ...o }), killAfter(1)],
  };
}

function repeatedTwice(id: string, firstFin: boolean): CaseDef {
  const actions: Action[] = [];
  for (let i = 0; i < 2; i++) {
    actions.push(frame(0, 'fragment1', { fin: firstFin }), frame(1, 'fragment2', { fin: false }), frame(0, 'fragment3', { fin: true }));
  }
  actions.push(killAfter(1));
  return {
    id,
    description: `Repeated 2x: Continuation Frame with FIN = ${firstFin} (where there is nothing to continue), then text Message fragmented into 2 fragments.`,
    expectation: NO_CONTINUE,
    expected: { OK: [] },
    expectedClose: FAIL,
    actions,
  };
}

/** 5.19 / 5.20: five fragments with two pings and a one-second pause in the middle of the message. */
function slowFragments(id: string, sync: boolean): CaseDef {
  const o = { sync };
  return {
    id,
    description: sync
      ? 'Same as Case 5.19, but send all frames with SYNC = True. Note, this does not change the octets sent in any way, only how the stream is chopped up on the wire.'
      : 'A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.',
    expectation:
      "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
    expected: { OK: [pong('pongme 1!'), pong('pongme 2!'), message('fragment1fragment2fragment3fragment4fragment5')] },
    expectedClose: NORMAL_CLOSE,
    actions: [
      frame(1, 'fragment1', { fin: false, ...o }),
      frame(0, 'fragment2', { fin: false, ...o }),
      frame(9, 'pongme 1!', { fin: true, ...o }),
      { do: 'wait', seconds: 1 },
      frame(0, 'fragment3', { fin: false, ...o }),
      frame(0, 'fragment4', { fin: false, ...o }),
      frame(9, 'pongme 2!', { fin: true, ...o }),
      frame(0, 'fragment5', { fin: true, ...o }),
      closeAfter(1),
    ],
  };
}

/** Cases 5.1 – 5.20. */
export const SECTION_5: readonly CaseDef[] = [
  fragmentedControl('5.1', 9, 'Ping'),
  fragmentedControl('5.2', 10, 'Pong'),
  twoFragments('5.3', 'one', false),
  twoFragments('5.4', 'sync', false),
  twoFragments('5.5', 'chop', false),
  twoFragments('5.6', 'one', true),
  twoFragments('5.7', 'sync', true),
  twoFragments('5.8', 'chop', true),
  nothingToContinue('5.9', true, 'one'),
  nothingToContinue('5.10', true, 'sync'),
  nothingToContinue('5.11', true, 'chop'),
  nothingToContinue('5.12', false, 'one'),
  nothingToContinue('5.13', false, 'sync'),
  nothingToContinue('5.14', false, 'chop'),
  {
    id: '5.15',
    description:
      'Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.',
    expectation: NO_CONTINUE,
    expected: { OK: [message('fragment1fragment2')], 'NON-STRICT': [] },
    expectedClose: FAIL,
    actions: [
      frame(1, 'fragment1', { fin: false }),
      frame(0, 'fragment2', { fin: true }),
      frame(0, 'fragment3', { fin: false }),
      frame(1, 'fragment4', { fin: true }),
      killAfter(1),
    ],
  },
  repeatedTwice('5.16', false),
  repeatedTwice('5.17', true),
  {
    id: '5.18',
    description: 'Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.',
    expectation: 'The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.',
    expected: { OK: [] },
    expectedClose: FAIL,
    actions: [frame(1, 'fragment1', { fin: false }), frame(1, 'fragment2', { fin: true }), killAfter(1)],
  },
  slowFragments('5.19', false),
  slowFragments('5.20', true),
];
