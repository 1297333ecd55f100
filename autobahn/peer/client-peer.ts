/**
 * The fuzzing client: runs catalogue cases against a WebSocket server under test, one TCP connection per case,
 * one case after the other (as the suite's fuzzingclient does). Only ws:// URLs; traffic goes where the URL says,
 * which callers keep on 127.0.0.1.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { CaseDef } from '../catalogue/types.js';
import type { Profile } from './bytes.js';
import { handshakeFailure, runCase } from './case-runner.js';
import type { CaseResult, RunContext } from './case-runner.js';
import { PeerDeflate } from './deflate-codec.js';
import { checkServerResponse, clientRequest, parseHead } from './handshake.js';
import { formatOffers, readServerResponse } from './pmce-negotiation.js';
import { FuzzSession } from './session.js';
import { PeerSession, openStream } from './h2.js';

/** Options of a run against one server. */
export interface ClientPeerOptions {
  readonly url: string;
  readonly agent: string;
  readonly profile: Profile;
  readonly cases: readonly CaseDef[];
  /** Stretches the protocol timeouts (close handshake, server drop, kill timers); case pauses stay exact. */
  readonly timeScale?: number;
  readonly onResult?: (result: CaseResult, index: number, total: number) => void;
  /** Run every case on a stream of an HTTP/2 session (RFC 8441, h2c) instead of its own TCP connection. */
  readonly http2?: boolean;
}

const OPEN_HANDSHAKE_TIMEOUT = 5;
const USER_AGENT = 'ws6455-conformance-peer';

/** Runs every case in order; resolves with one result per case. */
export async function runClientPeer(options: ClientPeerOptions): Promise<CaseResult[]> {
  const url = new URL(options.url);
  if (url.protocol !== 'ws:') throw new Error(`only ws:// URLs are supported, got ${options.url}`);
  // Over HTTP/2 the URL names an h2c server (RFC 9113 §3.3: prior knowledge).
  const results: CaseResult[] = [];
  let index = 0;
  const h2 = options.http2 === true ? new PeerSession(`http://${url.host}`) : null;
  try {
    for (const def of options.cases) {
      const result = h2 === null ? await runOne(url, def, options) : await runOneH2(h2, url, def, options);
      results.push(result);
      options.onResult?.(result, index++, options.cases.length);
    }
  } finally {
    h2?.close();
  }
  return results;
}

/** One case on a stream of the shared HTTP/2 session (h2.ts). */
async function runOneH2(h2: PeerSession, url: URL, def: CaseDef, options: ClientPeerOptions): Promise<CaseResult> {
  const scale = options.timeScale ?? 1;
  const offer = def.flow?.kind === 'deflate' ? formatOffers(def.flow.clientOffers) : undefined;
  const opened = await openStream(h2, url, USER_AGENT, offer, OPEN_HANDSHAKE_TIMEOUT * scale);
  const baseCtx: RunContext = { agent: options.agent, profile: options.profile, httpRequest: opened.request, httpResponse: opened.response };
  if ('error' in opened) return handshakeFailure(def, baseCtx, 'server', opened.error, opened.timedOut);
  const answer = offer !== undefined ? readServerResponse(opened.extensions) : null;
  if (answer && 'error' in answer) {
    opened.stream.destroy();
    return handshakeFailure(def, baseCtx, 'server', answer.error, false);
  }
  if (offer === undefined && opened.extensions !== undefined) {
    opened.stream.destroy();
    return handshakeFailure(def, baseCtx, 'server', 'server selected an extension that was not offered', false);
  }
  const session = new FuzzSession(opened.stream, { isServer: false, timeScale: scale, deflate: answer ? new PeerDeflate(answer.params, false) : null });
  const running = runCase(session, def, baseCtx, scale);
  opened.stream.resume();
  return running;
}

async function runOne(url: URL, def: CaseDef, options: ClientPeerOptions): Promise<CaseResult> {
  const scale = options.timeScale ?? 1;
  // Sections 12/13 offer permessage-deflate as the case says; every other case offers no extension.
  const offer = def.flow?.kind === 'deflate' ? formatOffers(def.flow.clientOffers) : undefined;
  const { request, key } = clientRequest(url, USER_AGENT, offer);
  const baseCtx: RunContext = { agent: options.agent, profile: options.profile, httpRequest: request, httpResponse: '' };
  const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) });
  const opened = await openHandshake(socket, request, key, OPEN_HANDSHAKE_TIMEOUT * scale, offer !== undefined);
  if ('error' in opened) {
    socket.destroy();
    return handshakeFailure(def, { ...baseCtx, httpResponse: opened.response }, 'server', opened.error, opened.timedOut);
  }
  const session = new FuzzSession(socket, { isServer: false, timeScale: scale, deflate: opened.deflate });
  const running = runCase(session, def, { ...baseCtx, httpResponse: opened.response }, scale);
  session.receive(opened.rest);
  socket.resume();
  return running;
}

type Opened = { response: string; rest: Buffer; deflate: PeerDeflate | null } | { error: string; response: string; timedOut: boolean };

function openHandshake(socket: Socket, request: string, key: string, timeoutSecs: number, offered: boolean): Promise<Opened> {
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (value: Opened): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(value);
    };
    const timer = setTimeout(() => finish({ error: 'peer did not finish (in time) the opening handshake', response: '', timedOut: true }), timeoutSecs * 1000);
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      const head = parseHead(data);
      if (!head) {
        if (data.length > 64 * 1024) finish({ error: 'HTTP response head too large', response: '', timedOut: false });
        return;
      }
      const problem = checkServerResponse(head, key, offered);
      // Pause so no frame byte is lost between this listener and the session's; runOne resumes.
      socket.pause();
      if (problem) return finish({ error: problem, response: head.raw, timedOut: false });
      const answer = offered ? readServerResponse(head.headers.get('sec-websocket-extensions')) : null;
      if (answer && 'error' in answer) return finish({ error: answer.error, response: head.raw, timedOut: false });
      finish({ response: head.raw, rest: head.rest, deflate: answer ? new PeerDeflate(answer.params, false) : null });
    };
    const onError = (err: Error): void => finish({ error: `connection failed: ${err.message}`, response: '', timedOut: false });
    const onClose = (): void => finish({ error: 'connection closed during the opening handshake', response: data.toString('latin1'), timedOut: false });
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('connect', () => socket.write(request));
  });
}
