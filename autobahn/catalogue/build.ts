/**
 * Small constructors that keep the section files close to the suite's own case descriptions.
 */
import { utf8 } from '../peer/bytes.js';
import type { PayloadSpec } from '../peer/bytes.js';
import { CLOSE_NORMAL } from './types.js';
import type { Action, ExpectedClose, Observed } from './types.js';

/** Text given as a string is encoded as UTF-8. */
export type Text = string | Uint8Array;

function bytes(payload: Text): Uint8Array {
  return typeof payload === 'string' ? utf8(payload) : payload;
}

/** An expected echoed message. */
export function message(payload: Text, binary = false): Observed {
  return { kind: 'message', payload: bytes(payload), binary };
}

/** An expected pong. */
export function pong(payload: Text = ''): Observed {
  return { kind: 'pong', payload: bytes(payload) };
}

/** The peer closes with 1000 once it saw what it expected; the handshake must complete cleanly. */
export const NORMAL_CLOSE: ExpectedClose = { closedByMe: true, closeCode: [CLOSE_NORMAL], requireClean: true };

/** The testee must fail the connection (close code `code`, or just drop TCP). */
export function failedBy(code: number, fatalIfWrongSide = false): ExpectedClose {
  return fatalIfWrongSide
    ? { closedByMe: false, closeCode: [code], requireClean: false, closedByWrongEndpointIsFatal: true }
    : { closedByMe: false, closeCode: [code], requireClean: false };
}

/** Options of a raw frame. */
export interface FrameOptions {
  readonly fin?: boolean;
  readonly rsv?: number;
  readonly chop?: number;
  readonly sync?: boolean;
}

/** A raw frame action. */
export function frame(opcode: number, payload?: Text | PayloadSpec, options: FrameOptions = {}): Action {
  const spec: PayloadSpec | undefined =
    payload === undefined ? undefined : typeof payload === 'string' ? utf8(payload) : payload;
  return { do: 'frame', opcode, ...(spec === undefined ? {} : { payload: spec }), ...options };
}

export const killAfter = (seconds: number): Action => ({ do: 'killAfter', seconds });
export const closeAfter = (seconds: number): Action => ({ do: 'closeAfter', seconds });
