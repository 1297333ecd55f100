/**
 * Plays one catalogue case on an open FuzzSession and turns the outcome into a report record. The same runner
 * serves both roles; only the session's `isServer` differs (masking, who closes TCP).
 */
import type { Action, Behavior, CaseDef, ExpectedClose, Observed } from '../catalogue/types.js';
import { hexPreview, materialise, sizeOf } from './bytes.js';
import type { Profile } from './bytes.js';
import type { CompressionStats } from './deflate-codec.js';
import { DeflateFlow } from './deflate-flow.js';
import type { DeflateParams } from './pmce-negotiation.js';
import type { CloseFacts, FuzzSession } from './session.js';
import { computeVerdict, sameObservations } from './verdict.js';
import type { Verdict } from './verdict.js';
import type { WireEntry } from './wirelog.js';
import { isValidUtf8 } from './utf8.js';

/** An observation as printed in reports (payloads shortened). */
export interface PrintedObservation {
  readonly kind: Observed['kind'];
  readonly binary?: boolean;
  readonly length?: number;
  readonly text?: string;
  readonly hex?: string;
  readonly tag?: string;
}

/** Everything the suite records about one case run; the per-case JSON report. */
export interface CaseResult extends Verdict, CloseFacts {
  readonly id: string;
  readonly agent: string;
  /** Which side was under test: 'server' (the peer was a client) or 'client' (the peer was the server). */
  readonly testee: 'server' | 'client';
  readonly description: string;
  readonly expectation: string;
  readonly started: string;
  /** Milliseconds from the open to the loss of TCP. */
  readonly duration: number;
  readonly reportTime: boolean;
  readonly profile: Profile;
  readonly expected: Record<string, PrintedObservation[]>;
  readonly expectedClose: ExpectedClose;
  readonly received: PrintedObservation[];
  readonly isServer: boolean;
  readonly wasOpenHandshakeTimeout: boolean;
  readonly httpRequest: string;
  readonly httpResponse: string;
  readonly txFrameStats: Record<number, number>;
  readonly rxFrameStats: Record<number, number>;
  readonly wirelog: WireEntry[];
  readonly wirelogDropped: number;
  /** permessage-deflate as negotiated, with application vs. wire octet counts; null when not in use. */
  readonly pmce: { readonly params: DeflateParams; readonly stats: CompressionStats } | null;
}

/** Context of a run that is not part of the case itself. */
export interface RunContext {
  readonly agent: string;
  readonly profile: Profile;
  readonly httpRequest: string;
  readonly httpResponse: string;
}

/** Prints an observation for a report. */
export function printObservation(o: Observed): PrintedObservation {
  if (o.kind === 'timeout') return { kind: 'timeout', tag: o.tag };
  const text = o.payload.length <= 256 && isValidUtf8(o.payload) ? Buffer.from(o.payload).toString('utf8') : undefined;
  const base = { kind: o.kind, length: o.payload.length, hex: hexPreview(o.payload, 64), ...(text === undefined ? {} : { text }) };
  return o.kind === 'message' ? { ...base, binary: o.binary } : base;
}

// Bounds every case in time even if the testee never closes: the longest timer of the case plus a margin.
function safetySeconds(def: CaseDef): number {
  let longest = 0;
  let waits = 0;
  for (const a of def.actions) {
    if (a.do === 'killAfter' || a.do === 'closeAfter') longest = Math.max(longest, a.seconds);
    if (a.do === 'wait') waits += a.seconds;
  }
  if (def.flow) longest = Math.max(longest, def.flow.waitSecs);
  return waits + longest + 15;
}

/** Runs `def` on `session` (already open) and resolves with the finished record once TCP is gone. */
export async function runCase(session: FuzzSession, def: CaseDef, ctx: RunContext, timeScale = 1): Promise<CaseResult> {
  const started = new Date();
  const t0 = performance.now();
  const received: Observed[] = [];
  let behavior: Behavior = 'FAILED';
  let result = 'Actual events differ from any expected.';
  const flow = def.flow;
  const deflateFlow = flow?.kind === 'deflate' ? new DeflateFlow(session, flow, ctx.profile) : null;

  const finishWhenDone = (): void => {
    // As in the suite: close once what we observed equals every expected list (in practice: the only one).
    for (const list of Object.values(def.expected)) if (!sameObservations(received, list ?? [])) return;
    if (def.expectedClose.closedByMe && !def.suppressClose) session.sendClose(def.expectedClose.closeCode[0]);
  };

  let sent = 0;
  const tripPayload = flow?.kind === 'round-trips' ? Buffer.alloc(flow.length, flow.binary ? 0xfe : 0x2a) : Buffer.alloc(0);
  const sendOne = (): void => {
    if (flow?.kind !== 'round-trips') return;
    session.sendFrame(flow.binary ? 2 : 1, tripPayload);
    sent++;
  };

  session.handlers = {
    message(payload, binary) {
      if (deflateFlow) deflateFlow.onMessage(payload, binary);
      else if (flow?.kind === 'echo-length') {
        const want = sizeOf(flow.length, ctx.profile);
        if (binary !== flow.binary) result = `Expected ${flow.binary ? 'binary' : 'text'} message with payload, but got ${binary ? 'binary' : 'text'}.`;
        else if (payload.length !== want) result = `Expected message with payload of length ${want}, but got ${payload.length}.`;
        else {
          behavior = 'OK';
          result = `Received ${binary ? 'binary' : 'text'} message of length ${payload.length}.`;
        }
        session.wirelog.enabled = true;
        session.sendClose(1000);
      } else if (flow?.kind === 'round-trips') {
        if (binary !== flow.binary || payload.length !== flow.length) {
          behavior = 'FAILED';
          result = `Echo'ed message type or length differs from what I sent (got binary = ${binary}, payload length = ${payload.length}).`;
          session.wirelog.enabled = true;
          session.sendClose(1000);
        } else if (sent < sizeOf(flow.count, ctx.profile)) sendOne();
        else {
          behavior = 'OK';
          result = 'Ok, received all echo\'ed messages in time.';
          session.wirelog.enabled = true;
          session.sendClose(1000);
        }
      } else {
        received.push({ kind: 'message', payload, binary });
        finishWhenDone();
      }
    },
    pong(payload) {
      received.push({ kind: 'pong', payload });
      finishWhenDone();
    },
  };

  const execute = (actions: readonly Action[], from: number): void => {
    for (let i = from; i < actions.length; i++) {
      const a = actions[i] as Action;
      switch (a.do) {
        case 'frame':
          session.sendFrame(a.opcode, a.payload ? materialise(a.payload, ctx.profile) : Buffer.alloc(0), {
            ...(a.fin === undefined ? {} : { fin: a.fin }),
            ...(a.rsv === undefined ? {} : { rsv: a.rsv }),
            ...(a.chop === undefined ? {} : { chop: a.chop }),
            ...(a.sync === undefined ? {} : { sync: a.sync }),
          });
          break;
        case 'message':
          session.sendMessage(materialise(a.payload, ctx.profile), a.binary, a.fragmentSize === undefined ? undefined : sizeOf(a.fragmentSize, ctx.profile));
          break;
        case 'close':
          session.sendClose(a.code, a.reason ? Buffer.from(a.reason) : undefined);
          break;
        case 'closeFrame': {
          const reason = a.rawPayload ?? a.reason;
          session.sendCloseFrame(a.code, reason ? Buffer.from(reason) : undefined, false);
          break;
        }
        case 'killAfter':
          session.killAfter(a.seconds);
          break;
        case 'closeAfter':
          session.closeAfter(a.seconds);
          break;
        case 'wait':
          session.continueLater(
            a.seconds,
            () => {
              if (a.mark !== undefined) {
                // Reaching the mark while still open means the testee has not failed the connection yet.
                if (session.state !== 'OPEN') return;
                received.push({ kind: 'timeout', tag: a.mark });
              }
              execute(actions, i + 1);
            },
            a.mark,
          );
          return;
        case 'beginFrame':
          session.beginFrame(a.opcode, a.length);
          break;
        case 'frameData':
          session.frameData(Buffer.from(a.payload));
          break;
        case 'endMessage':
          session.endMessage();
          break;
      }
    }
  };

  if (deflateFlow) deflateFlow.start();
  else {
    if (flow) {
      session.wirelog.enabled = false;
      result = `Did not receive message within ${flow.waitSecs} seconds.`;
    }
    execute(def.actions, 0);
    if (flow?.kind === 'round-trips') sendOne();
  }

  const safety = setTimeout(() => session.failConnection('peer safety limit'), safetySeconds(def) * timeScale * 1000);
  await session.lost;
  clearTimeout(safety);
  if (deflateFlow) {
    behavior = deflateFlow.behavior;
    result = deflateFlow.result;
  }
  const verdict = computeVerdict({
    def,
    received,
    flowBehavior: behavior,
    flowResult: result,
    wasOpen: true,
    facts: session.facts,
    peerIsServer: isServerSession(session),
    txFrameStats: session.txFrameStats,
  });
  return {
    id: def.id,
    agent: ctx.agent,
    testee: isServerSession(session) ? 'client' : 'server',
    description: def.description,
    expectation: def.expectation,
    started: started.toISOString(),
    duration: Math.round(performance.now() - t0),
    reportTime: def.reportTime ?? false,
    profile: ctx.profile,
    ...verdict,
    expected: Object.fromEntries(Object.entries(def.expected).map(([k, list]) => [k, (list ?? []).map(printObservation)])),
    expectedClose: def.expectedClose,
    received: received.map(printObservation),
    ...session.facts,
    isServer: isServerSession(session),
    wasOpenHandshakeTimeout: false,
    httpRequest: ctx.httpRequest,
    httpResponse: ctx.httpResponse,
    txFrameStats: session.txFrameStats,
    rxFrameStats: session.rxFrameStats,
    wirelog: session.wirelog.entries,
    wirelogDropped: session.wirelog.dropped,
    pmce: session.deflate ? { params: session.deflate.params, stats: session.deflate.stats } : null,
  };
}

function isServerSession(session: FuzzSession): boolean {
  return session.role === 'server';
}

/** The record of a case whose opening handshake never completed. */
export function handshakeFailure(def: CaseDef, ctx: RunContext, testee: 'server' | 'client', reason: string, timedOut: boolean): CaseResult {
  const facts: CloseFacts = {
    closedByMe: false,
    failedByMe: true,
    droppedByMe: true,
    wasClean: false,
    wasNotCleanReason: reason,
    wasServerConnectionDropTimeout: false,
    wasCloseHandshakeTimeout: false,
    localCloseCode: null,
    localCloseReason: null,
    remoteCloseCode: null,
    remoteCloseReason: null,
  };
  const verdict = computeVerdict({
    def,
    received: [],
    flowBehavior: 'FAILED',
    flowResult: 'Actual events differ from any expected.',
    wasOpen: false,
    facts,
    peerIsServer: testee === 'client',
    txFrameStats: {},
  });
  return {
    id: def.id,
    agent: ctx.agent,
    testee,
    description: def.description,
    expectation: def.expectation,
    started: new Date().toISOString(),
    duration: 0,
    reportTime: def.reportTime ?? false,
    profile: ctx.profile,
    ...verdict,
    expected: Object.fromEntries(Object.entries(def.expected).map(([k, list]) => [k, (list ?? []).map(printObservation)])),
    expectedClose: def.expectedClose,
    received: [],
    ...facts,
    isServer: testee === 'client',
    wasOpenHandshakeTimeout: timedOut,
    httpRequest: ctx.httpRequest,
    httpResponse: ctx.httpResponse,
    txFrameStats: {},
    rxFrameStats: {},
    wirelog: [],
    wirelogDropped: 0,
    pmce: null,
  };
}
