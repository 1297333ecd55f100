/** The verdict rules, case by case as the suite applies them. */
import { describe, expect, it } from 'vitest';
import { caseById } from '../../autobahn/catalogue/index.js';
import type { CaseDef, Observed } from '../../autobahn/catalogue/types.js';
import type { CloseFacts } from '../../autobahn/peer/session.js';
import { computeVerdict } from '../../autobahn/peer/verdict.js';

const clean: CloseFacts = {
  closedByMe: true,
  failedByMe: false,
  droppedByMe: false,
  wasClean: true,
  wasNotCleanReason: null,
  wasServerConnectionDropTimeout: false,
  wasCloseHandshakeTimeout: false,
  localCloseCode: 1000,
  localCloseReason: null,
  remoteCloseCode: 1000,
  remoteCloseReason: null,
};

function verdict(id: string, received: Observed[], facts: Partial<CloseFacts>, peerIsServer = false) {
  return computeVerdict({
    def: caseById(id) as CaseDef,
    received,
    flowBehavior: 'FAILED',
    flowResult: 'x',
    wasOpen: true,
    facts: { ...clean, ...facts },
    peerIsServer,
    txFrameStats: {},
  });
}

const echo = (text: string): Observed => ({ kind: 'message', payload: Buffer.from(text), binary: false });

describe('verdict', () => {
  it('OK when the echo matches and the close is clean', () => {
    expect(verdict('1.1.2', [echo('*'.repeat(125))], {})).toMatchObject({ behavior: 'OK', behaviorClose: 'OK' });
  });

  it('NON-STRICT when the testee failed before echoing the valid message (3.2)', () => {
    const v = verdict('3.2', [], { closedByMe: false, remoteCloseCode: 1002, wasClean: true });
    expect(v).toMatchObject({ behavior: 'NON-STRICT', behaviorClose: 'OK' });
  });

  it('WRONG CODE, and in section 7 FAILED, for a code outside the accepted list', () => {
    expect(verdict('3.1', [], { closedByMe: false, remoteCloseCode: 1000 }).behaviorClose).toBe('WRONG CODE');
    expect(verdict('7.9.1', [], { remoteCloseCode: 1000 })).toMatchObject({ behavior: 'FAILED', behaviorClose: 'WRONG CODE' });
  });

  it('UNCLEAN when a clean close is required but the handshake did not complete', () => {
    expect(verdict('1.1.1', [echo('')], { wasClean: false, droppedByMe: true }).behaviorClose).toBe('UNCLEAN');
  });

  it('FAILED BY CLIENT when the client peer had to drop TCP itself', () => {
    expect(verdict('3.1', [], { closedByMe: false, droppedByMe: true, wasClean: false, remoteCloseCode: null }).behaviorClose).toBe('FAILED BY CLIENT');
    // As the server, dropping TCP is the peer's job.
    expect(verdict('3.1', [], { closedByMe: false, droppedByMe: true, wasClean: false, remoteCloseCode: null }, true).behaviorClose).toBe('OK');
  });

  it('fail-fast UTF-8: OK at mark A, NON-STRICT at mark B, FAILED if the peer had to close', () => {
    const a: Observed = { kind: 'timeout', tag: 'A' };
    const b: Observed = { kind: 'timeout', tag: 'B' };
    const failed = { closedByMe: false, remoteCloseCode: 1007 };
    expect(verdict('6.4.1', [a], failed).behavior).toBe('OK');
    expect(verdict('6.4.1', [a, b], failed).behavior).toBe('NON-STRICT');
    expect(verdict('6.4.1', [a], { closedByMe: true, remoteCloseCode: 1000 }).behavior).toBe('FAILED');
  });

  it('INFORMATIONAL whatever happens in 7.13.x', () => {
    expect(verdict('7.13.1', [], { remoteCloseCode: 5000 })).toMatchObject({ behavior: 'INFORMATIONAL', behaviorClose: 'INFORMATIONAL' });
  });
});
