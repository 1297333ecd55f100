/** Section 4 — Opcodes: reserved non-control (3-7) and control (11-15) opcodes must fail the connection. */
import { failedBy, frame, killAfter, message } from './build.js';
import type { CaseDef } from './types.js';
import { CLOSE_PROTOCOL_ERROR } from './types.js';

const HELLO = 'Hello, world!';
const RESERVED_PAYLOAD = 'reserved opcode payload';

/**
 * Each sub-section has the same five shapes: bare frame, frame with payload, then three "message, reserved frame,
 * ping" variants (empty reserved frame; with payload; with payload and octet-wise chops).
 */
function sub(sub: 1 | 2, opcodes: readonly number[]): CaseDef[] {
  const kind = sub === 1 ? 'non-control' : 'control';
  const fail = failedBy(CLOSE_PROTOCOL_ERROR);
  const failText = 'The connection is failed immediately.';
  const echoThenFail =
    "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.";
  const [a, b, c, d, e] = opcodes as [number, number, number, number, number];
  return [
    {
      id: `4.${sub}.1`,
      description: `Send frame with reserved ${kind} Opcode = ${a}.`,
      expectation: failText,
      expected: { OK: [] },
      expectedClose: fail,
      actions: [frame(a), killAfter(1)],
    },
    {
      id: `4.${sub}.2`,
      description: `Send frame with reserved ${kind} Opcode = ${b} and non-empty payload.`,
      expectation: failText,
      expected: { OK: [] },
      expectedClose: fail,
      actions: [frame(b, RESERVED_PAYLOAD), killAfter(1)],
    },
    {
      id: `4.${sub}.3`,
      description: `Send small text message, then send frame with reserved ${kind} Opcode = ${c}, then send Ping.`,
      expectation: echoThenFail,
      expected: { OK: [message(HELLO)], 'NON-STRICT': [] },
      expectedClose: fail,
      actions: [frame(1, HELLO), frame(c), frame(9), killAfter(1)],
    },
    {
      id: `4.${sub}.4`,
      description: `Send small text message, then send frame with reserved ${kind} Opcode = ${d} and non-empty payload, then send Ping.`,
      expectation: echoThenFail,
      expected: { OK: [message(HELLO)], 'NON-STRICT': [] },
      expectedClose: fail,
      actions: [frame(1, HELLO), frame(d, HELLO), frame(9), killAfter(1)],
    },
    {
      id: `4.${sub}.5`,
      description: `Send small text message, then send frame with reserved ${kind} Opcode = ${e} and non-empty payload, then send Ping. Octets are sent in octet-wise chops.`,
      expectation: echoThenFail,
      expected: { OK: [message(HELLO)], 'NON-STRICT': [] },
      expectedClose: fail,
      actions: [frame(1, HELLO, { chop: 1 }), frame(e, HELLO, { chop: 1 }), frame(9, undefined, { chop: 1 }), killAfter(1)],
    },
  ];
}

/** Cases 4.1.1 – 4.2.5. */
export const SECTION_4: readonly CaseDef[] = [...sub(1, [3, 4, 5, 6, 7]), ...sub(2, [11, 12, 13, 14, 15])];
