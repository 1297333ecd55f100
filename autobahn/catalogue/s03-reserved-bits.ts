/** Section 3 — Reserved bits: any RSV bit without a negotiated extension must fail the connection (1002). */
import { hex } from '../peer/bytes.js';
import { failedBy, frame, killAfter, message } from './build.js';
import type { CaseDef, ExpectedClose } from './types.js';
import { CLOSE_PROTOCOL_ERROR } from './types.js';

const HELLO = 'Hello, world!';
const FAIL: ExpectedClose = failedBy(CLOSE_PROTOCOL_ERROR);
const FAIL_TEXT = 'The connection is failed immediately, since RSV must be 0.';
const ECHO_THEN_FAIL =
  'Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.';

/** Message, then the same with RSV set, then a ping; written in one go, per frame, or per octet. */
function thenBad(id: string, rsv: number, how: 'one' | 'sync' | 'chop', description: string): CaseDef {
  const opts = how === 'sync' ? { sync: true } : how === 'chop' ? { chop: 1 } : {};
  return {
    id,
    description,
    expectation: ECHO_THEN_FAIL,
    // NON-STRICT: the testee failed before echoing the valid first message (allowed, but not preferred).
    expected: { OK: [message(HELLO)], 'NON-STRICT': [] },
    expectedClose: FAIL,
    actions: [frame(1, HELLO, opts), frame(1, HELLO, { rsv, ...opts }), frame(9, undefined, opts), killAfter(1)],
  };
}

/** Cases 3.1 – 3.7. */
export const SECTION_3: readonly CaseDef[] = [
  {
    id: '3.1',
    description: 'Send small text message with RSV = 1.',
    expectation:
      'The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.',
    expected: { OK: [] },
    expectedClose: FAIL,
    actions: [frame(1, HELLO, { rsv: 1 }), killAfter(1)],
  },
  thenBad('3.2', 2, 'one', 'Send small text message, then send again with RSV = 2, then send Ping.'),
  thenBad('3.3', 3, 'sync', 'Send small text message, then send again with RSV = 3, then send Ping. Octets are sent in frame-wise chops.'),
  thenBad('3.4', 4, 'chop', 'Send small text message, then send again with RSV = 4, then send Ping. Octets are sent in octet-wise chops.'),
  {
    id: '3.5',
    description: 'Send small binary message with RSV = 5.',
    expectation: FAIL_TEXT,
    expected: { OK: [] },
    expectedClose: FAIL,
    actions: [frame(2, hex('00ff fefd fcfb 00ff'), { rsv: 5 }), killAfter(1)],
  },
  {
    id: '3.6',
    // The suite's description says "Ping", but its script sends a binary frame; we send what it sends.
    description: 'Send Ping with RSV = 6.',
    expectation: FAIL_TEXT,
    expected: { OK: [] },
    expectedClose: FAIL,
    actions: [frame(2, HELLO, { rsv: 6 }), killAfter(1)],
  },
  {
    id: '3.7',
    description: 'Send Close with RSV = 7.',
    expectation: FAIL_TEXT,
    expected: { OK: [] },
    expectedClose: FAIL,
    actions: [frame(8, undefined, { rsv: 7 }), killAfter(1)],
  },
];
