/** Section 7 — Close handling: data after close, close payload lengths, reasons, valid and invalid codes. */
import { fill, hex, utf8 } from '../peer/bytes.js';
import { NORMAL_CLOSE, frame, killAfter, message } from './build.js';
import type { Action, CaseDef, ExpectedClose, PostVerdict } from './types.js';
import { CLOSE_INVALID_PAYLOAD, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR } from './types.js';

const WRONG_CODE_FAILS: readonly PostVerdict[] = ['wrong-code-fails'];
const PEER_CLOSES_1002: ExpectedClose = { closedByMe: true, closeCode: [CLOSE_PROTOCOL_ERROR], requireClean: false };

/** A case where the peer sends the first close itself (so no automatic close on a match). */
function closing(id: string, description: string, expectation: string, actions: Action[], close: ExpectedClose = NORMAL_CLOSE): CaseDef {
  return { id, description, expectation, expected: { OK: [] }, expectedClose: close, actions: [...actions, killAfter(1)], suppressClose: true, post: WRONG_CODE_FAILS };
}

const closeNormal: Action = { do: 'close', code: CLOSE_NORMAL };

// 7.7.x: valid codes the testee must accept (it may echo the code or answer 1000).
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
// 7.9.x: codes that must not appear on the wire; the testee must fail with 1002 (or drop).
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

/** Cases 7.1.1 – 7.13.2. */
export const SECTION_7: readonly CaseDef[] = [
  {
    id: '7.1.1',
    description: 'Send a message followed by a close frame',
    expectation: 'Echoed message followed by clean close with normal code.',
    expected: { OK: [message('Hello World!')] },
    expectedClose: NORMAL_CLOSE,
    actions: [frame(1, 'Hello World!'), killAfter(1)],
    post: WRONG_CODE_FAILS,
  },
  closing('7.1.2', 'Send two close frames', 'Clean close with normal code. Second close frame ignored.', [closeNormal, frame(8)]),
  closing('7.1.3', 'Send a ping after close message', 'Clean close with normal code, no pong.', [closeNormal, frame(9)]),
  closing('7.1.4', 'Send text message after sending a close frame.', 'Clean close with normal code. Text message ignored.', [closeNormal, frame(1, 'Hello World!')]),
  closing('7.1.5', 'Send message fragment1 followed by close then fragment', 'Clean close with normal code.', [
    frame(1, 'fragment1', { fin: false }),
    closeNormal,
    frame(0, 'fragment2', { fin: true }),
  ]),
  {
    id: '7.1.6',
    description: 'Send 256K message followed by close then a ping',
    expectation:
      'Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.',
    expected: { OK: [message('Hello World!')], 'NON-STRICT': [] },
    expectedClose: NORMAL_CLOSE,
    actions: [
      frame(1, { pattern: utf8('BAsd7&jh23'), length: 256 * 1024 }),
      frame(1, 'Hello World!'),
      closeNormal,
      frame(9),
      killAfter(1),
    ],
    suppressClose: true,
    post: ['informational-close-order'],
  },
  closing('7.3.1', 'Send a close frame with payload length 0 (no close code, no close reason)', 'Clean close with normal code.', [{ do: 'closeFrame' }]),
  closing('7.3.2', 'Send a close frame with payload length 1', 'Clean close with protocol error or drop TCP.', [{ do: 'closeFrame', rawPayload: utf8('a') }], PEER_CLOSES_1002),
  closing('7.3.3', 'Send a close frame with payload length 2 (regular close with a code)', 'Clean close with normal code.', [closeNormal]),
  closing('7.3.4', 'Send a close frame with close code and close reason', 'Clean close with normal code.', [{ do: 'close', code: CLOSE_NORMAL, reason: utf8('Hello World!') }]),
  closing('7.3.5', 'Send a close frame with close code and close reason of maximum length (123)', 'Clean close with normal code.', [
    { do: 'close', code: CLOSE_NORMAL, reason: fill(0x2a, 123) },
  ]),
  closing(
    '7.3.6',
    'Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets',
    'Clean close with protocol error code or dropped TCP connection.',
    [{ do: 'closeFrame', code: CLOSE_NORMAL, reason: fill(0x2a, 124) }],
    PEER_CLOSES_1002,
  ),
  closing(
    '7.5.1',
    'Send a close frame with invalid UTF8 payload',
    'Clean close with protocol error or invalid utf8 code or dropped TCP.',
    [{ do: 'closeFrame', code: CLOSE_NORMAL, reason: hex('cebae1bdb9cf83cebcceb5 eda080 656469746564') }],
    { closedByMe: true, closeCode: [CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_PAYLOAD], requireClean: false },
  ),
  ...VALID_CODES.map(
    (code, i): CaseDef => ({
      id: `7.7.${i + 1}`,
      description: `Send close with valid close code ${code}`,
      expectation: 'Clean close with normal or echoed code',
      expected: { OK: [] },
      expectedClose: { closedByMe: true, closeCode: [CLOSE_NORMAL, code], requireClean: true },
      actions: [{ do: 'closeFrame', code }, killAfter(1)],
      post: WRONG_CODE_FAILS,
    }),
  ),
  ...INVALID_CODES.map(
    (code, i): CaseDef => ({
      id: `7.9.${i + 1}`,
      description: `Send close with invalid close code ${code}`,
      expectation: 'Clean close with protocol error code or drop TCP',
      expected: { OK: [] },
      expectedClose: PEER_CLOSES_1002,
      actions: [{ do: 'closeFrame', code }, killAfter(1)],
      post: WRONG_CODE_FAILS,
    }),
  ),
  ...[5000, 65535].map(
    (code, i): CaseDef => ({
      id: `7.13.${i + 1}`,
      description: `Send close with close code ${code}`,
      expectation: 'Actual events are undefined by the spec.',
      expected: { OK: [] },
      expectedClose: { closedByMe: true, closeCode: [CLOSE_NORMAL, code, CLOSE_PROTOCOL_ERROR], requireClean: false },
      actions: [{ do: 'closeFrame', code }, killAfter(1)],
      suppressClose: true,
      post: ['informational'],
    }),
  ),
];
