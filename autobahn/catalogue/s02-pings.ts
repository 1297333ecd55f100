/** Section 2 — Pings/Pongs: control frame payloads, unsolicited pongs, many pings. */
import { fill, hex } from '../peer/bytes.js';
import { NORMAL_CLOSE, closeAfter, failedBy, frame, killAfter, pong } from './build.js';
import type { Action, CaseDef } from './types.js';
import { CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR } from './types.js';

const PING = 9;
const PONG = 10;

function tenPings(chop: number | undefined): { actions: Action[]; expected: ReturnType<typeof pong>[] } {
  const actions: Action[] = [];
  const expected = [];
  for (let i = 0; i < 10; i++) {
    const payload = `payload-${i}`;
    expected.push(pong(payload));
    actions.push(frame(PING, payload, chop === undefined ? {} : { chop }));
  }
  actions.push(closeAfter(3));
  return { actions, expected };
}

const ten = tenPings(undefined);
const tenChopped = tenPings(1);

/** Cases 2.1 – 2.11. */
export const SECTION_2: readonly CaseDef[] = [
  {
    id: '2.1',
    description: 'Send ping without payload.',
    expectation: "Pong (with empty payload) is sent in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong()] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PING), closeAfter(1)],
  },
  {
    id: '2.2',
    description: 'Send ping with small text payload.',
    expectation: "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong('Hello, world!')] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PING, 'Hello, world!'), closeAfter(1)],
  },
  {
    id: '2.3',
    description: 'Send ping with small binary (non UTF-8) payload.',
    expectation: "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong(hex('00ff fefd fcfb 00ff'))] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PING, hex('00ff fefd fcfb 00ff')), closeAfter(1)],
  },
  {
    id: '2.4',
    description: 'Send ping with binary payload of 125 octets.',
    expectation: "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong(fill(0xfe, 125))] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PING, fill(0xfe, 125)), closeAfter(1)],
  },
  {
    id: '2.5',
    description: 'Send ping with binary payload of 126 octets.',
    expectation:
      'Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets.',
    expected: { OK: [] },
    expectedClose: failedBy(CLOSE_PROTOCOL_ERROR),
    actions: [frame(PING, fill(0xfe, 126)), killAfter(1)],
  },
  {
    id: '2.6',
    description: 'Send ping with binary payload of 125 octets, send in octet-wise chops.',
    expectation:
      "Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code.",
    expected: { OK: [pong(fill(0xfe, 125))] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PING, fill(0xfe, 125), { chop: 1 }), closeAfter(2)],
  },
  {
    id: '2.7',
    description: 'Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.',
    expectation: 'Nothing.',
    expected: { OK: [] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PONG), { do: 'close', code: CLOSE_NORMAL }, closeAfter(1)],
  },
  {
    id: '2.8',
    description: 'Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.',
    expectation: 'Nothing.',
    expected: { OK: [] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PONG, 'unsolicited pong payload'), { do: 'close', code: CLOSE_NORMAL }, closeAfter(1)],
  },
  {
    id: '2.9',
    description: 'Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.',
    expectation: "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong('ping payload')] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(PONG, 'unsolicited pong payload'), frame(PING, 'ping payload'), closeAfter(1)],
  },
  {
    id: '2.10',
    description: 'Send 10 Pings with payload.',
    expectation:
      'Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.',
    expected: { OK: ten.expected },
    expectedClose: NORMAL_CLOSE,
    actions: ten.actions,
  },
  {
    id: '2.11',
    description: 'Send 10 Pings with payload. Send out octets in octet-wise chops.',
    expectation:
      'Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.',
    expected: { OK: tenChopped.expected },
    expectedClose: NORMAL_CLOSE,
    actions: tenChopped.actions,
  },
];
