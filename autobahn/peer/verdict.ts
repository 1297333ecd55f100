/**
 * Verdicts, computed the way the suite computes them when a case's connection is lost:
 * behaviour — the first expected observation list that equals what was observed (else what the case flow set);
 * close behaviour — wrong side closed → FAILED; unclean where a clean close is required → UNCLEAN; a close code
 * outside the accepted list → WRONG CODE; the client peer had to drop TCP itself → FAILED BY CLIENT; else OK.
 * Then the per-case adjustments (section 7 wrong codes, informational cases, fail-fast UTF-8, 10.1.1 frame counts).
 */
import type { Behavior, CaseDef, CloseBehavior, Observed } from '../catalogue/types.js';
import { bytesEqual } from './bytes.js';
import type { CloseFacts } from './session.js';

/** The verdict pair with the suite's explanatory texts. */
export interface Verdict {
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  result: string;
  resultClose: string;
}

/** Deep equality of observation lists (payloads byte for byte). */
export function sameObservations(a: readonly Observed[], b: readonly Observed[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i] as Observed;
    if (x.kind !== y.kind) return false;
    if (x.kind === 'timeout') return y.kind === 'timeout' && x.tag === y.tag;
    if (x.kind === 'pong') return y.kind === 'pong' && bytesEqual(x.payload, y.payload);
    return y.kind === 'message' && x.binary === y.binary && bytesEqual(x.payload, y.payload);
  });
}

/** Inputs of the verdict. */
export interface VerdictInput {
  readonly def: CaseDef;
  readonly received: readonly Observed[];
  /** Behaviour as set by a custom flow (sections 9, 12, 13), FAILED otherwise. */
  readonly flowBehavior: Behavior;
  readonly flowResult: string;
  /** False when the opening handshake never completed. */
  readonly wasOpen: boolean;
  readonly facts: CloseFacts;
  /** True when the peer is the server (testing a client). */
  readonly peerIsServer: boolean;
  readonly txFrameStats: Readonly<Record<number, number>>;
}

/** Computes the verdict of one finished case. */
export function computeVerdict(input: VerdictInput): Verdict {
  const { def, facts } = input;
  const v: Verdict = {
    behavior: input.flowBehavior,
    behaviorClose: 'FAILED',
    result: input.flowResult,
    resultClose: 'TCP connection was dropped without close handshake',
  };
  for (const cls of ['OK', 'NON-STRICT'] as const) {
    const list = def.expected[cls];
    if (list && sameObservations(input.received, list)) {
      v.behavior = cls;
      v.result = 'Actual events match at least one expected.';
      break;
    }
  }
  if (!input.wasOpen) {
    v.behaviorClose = 'FAILED';
    v.resultClose = 'The WebSocket opening handshake was never completed!';
  } else {
    const ec = def.expectedClose;
    if (ec.closedByMe !== facts.closedByMe) {
      v.behaviorClose = 'FAILED';
      v.resultClose = 'The connection was failed by the wrong endpoint';
    } else if (ec.requireClean && !facts.wasClean) {
      v.behaviorClose = 'UNCLEAN';
      v.resultClose = 'The spec requires the connection to be failed cleanly here';
    } else if (facts.remoteCloseCode !== null && !ec.closeCode.includes(facts.remoteCloseCode)) {
      v.behaviorClose = 'WRONG CODE';
      v.resultClose = `The close code should have been ${ec.closeCode.join(',')} or empty`;
    } else if (!input.peerIsServer && facts.droppedByMe) {
      v.behaviorClose = 'FAILED BY CLIENT';
      v.resultClose = 'It is preferred that the server close the TCP connection';
    } else {
      v.behaviorClose = 'OK';
      v.resultClose = 'Connection was properly closed';
    }
    // UTF-8 cases: if the wrong side closed, the testee never noticed the invalid text.
    if (ec.closedByWrongEndpointIsFatal && ec.closedByMe !== facts.closedByMe) v.behavior = 'FAILED';
  }
  for (const post of def.post ?? []) {
    if (post === 'wrong-code-fails') {
      if (v.behaviorClose === 'WRONG CODE') {
        v.behavior = 'FAILED';
        v.result = v.resultClose;
      }
    } else if (post === 'informational' || post === 'informational-close-order') {
      if (post === 'informational') v.result = 'Actual events are undefined by the spec.';
      else if (v.behavior === 'OK') v.result = 'Text message was processed before close.';
      else if (v.behavior === 'NON-STRICT') v.result = 'Close was processed before text message could be returned.';
      v.behavior = 'INFORMATIONAL';
      v.behaviorClose = 'INFORMATIONAL';
    } else if (input.wasOpen) {
      const wanted = post.txFrames;
      const mismatch = Object.entries(wanted).some(([op, n]) => (input.txFrameStats[Number(op)] ?? 0) !== n);
      if (mismatch) {
        v.behavior = 'FAILED';
        v.result = `Frames transmitted ${JSON.stringify(input.txFrameStats)} do not match what we expected ${JSON.stringify(wanted)}.`;
      }
    } else {
      v.behavior = 'FAILED';
      v.result = 'WebSocket connection was never open';
    }
  }
  return v;
}
