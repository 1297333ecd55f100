/** Section 10 — Auto-fragmentation: the peer sends 64 KiB auto-fragmented into 1300-byte frames. */
import { fill } from '../peer/bytes.js';
import { NORMAL_CLOSE, killAfter, message } from './build.js';
import type { CaseDef } from './types.js';

const PAYLOAD = fill(0x2a, 65536);
const FRAGMENT = 1300;

/** Case 10.1.1. */
export const SECTION_10: readonly CaseDef[] = [
  {
    id: '10.1.1',
    description: `Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = ${FRAGMENT}.`,
    expectation: "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
    expected: { OK: [message(PAYLOAD)] },
    expectedClose: NORMAL_CLOSE,
    actions: [{ do: 'message', payload: PAYLOAD, binary: false, fragmentSize: FRAGMENT }, killAfter(10)],
    // The suite checks its own transmit statistics: 1 text frame and floor(65536 / 1300) = 50 continuations.
    post: [{ txFrames: { 0: Math.floor(PAYLOAD.length / FRAGMENT), 1: PAYLOAD.length % FRAGMENT > 0 ? 1 : 0 } }],
  },
];
