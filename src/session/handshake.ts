/**
 * Negotiation in the opening handshake. A client offers the subprotocol
 * {@link SESSION_PROTOCOL}; to resume, it also offers one entry that carries the token and its
 * two counters:
 *
 * ```
 * Sec-WebSocket-Protocol: ws6455.session.1, ws6455.session.1.resume.<id>.<secret>.<received>.<sent>
 * ```
 *
 * The server always answers with `ws6455.session.1` (RFC 6455 §4.2.2: it selects one of the
 * offered values; a browser fails the connection otherwise), never with the resume entry, so
 * the token is not echoed. The token travels in a request header rather than in the URL because
 * browsers cannot set other headers on a WebSocket, and URLs end up in access logs, proxy logs
 * and error reports while `Sec-WebSocket-Protocol` does not by default. A server that does not
 * know sessions selects nothing (or another protocol) and the client knows at once.
 *
 * @module
 */
import { isSecret, isSessionId } from './token.js';
import { parseDecimal } from './wire.js';

/** The subprotocol of the session layer, version 1. */
export const SESSION_PROTOCOL = 'ws6455.session.1';
/** The prefix of the resume entry offered next to {@link SESSION_PROTOCOL}. */
export const RESUME_PREFIX = `${SESSION_PROTOCOL}.resume.`;
/** The longest resume entry accepted (characters). */
export const MAX_RESUME_ENTRY = 128;

/** What a resuming client states in its offer. */
export interface ResumeOffer {
  /** The token `<id>.<secret>` (a credential: never log it). */
  token: string;
  /** The last sequence number it received from the server. */
  received: number;
  /** The highest sequence number it wrote to any connection. */
  sent: number;
}

/** A client's offer as the server reads it. */
export type SessionOffer =
  /** Start a new session. */
  | { kind: 'new' }
  /** Resume the session `id` with token secret `secret` (a credential: never log it). */
  | { kind: 'resume'; id: string; secret: string; received: number; sent: number }
  /** A resume entry that is malformed: the server closes with 1002 `WS_SESSION_BAD_HANDSHAKE`. */
  | { kind: 'invalid'; reason: string };

/**
 * The subprotocols a client offers: `[SESSION_PROTOCOL]` for a new session, plus the resume
 * entry when it has one to resume.
 */
export function offerProtocols(resume: ResumeOffer | null): string[] {
  if (resume === null) return [SESSION_PROTOCOL];
  return [SESSION_PROTOCOL, `${RESUME_PREFIX}${resume.token}.${resume.received}.${resume.sent}`];
}

/**
 * Reads the subprotocols a client offered (the `Sec-WebSocket-Protocol` header value or its
 * list). Returns `null` when {@link SESSION_PROTOCOL} is not offered (a plain client: serve it
 * without sessions).
 */
export function parseOffer(protocols: string | readonly string[] | null | undefined): SessionOffer | null {
  if (protocols === null || protocols === undefined) return null;
  const list = typeof protocols === 'string' ? protocols.split(',').map((p) => p.trim()) : protocols;
  let base = false;
  let entry: string | null = null;
  let entries = 0;
  for (const p of list) {
    if (p === SESSION_PROTOCOL) base = true;
    else if (p.startsWith(RESUME_PREFIX)) {
      entries += 1;
      entry = p;
    }
  }
  if (!base) return null;
  if (entry === null) return { kind: 'new' };
  if (entries > 1) return { kind: 'invalid', reason: 'more than one resume entry' };
  if (entry.length > MAX_RESUME_ENTRY) return { kind: 'invalid', reason: 'resume entry too long' };
  const parts = entry.slice(RESUME_PREFIX.length).split('.');
  if (parts.length !== 4) return { kind: 'invalid', reason: 'resume entry is not <id>.<secret>.<received>.<sent>' };
  const [id, secret, receivedText, sentText] = parts as [string, string, string, string];
  if (!isSessionId(id) || !isSecret(secret)) return { kind: 'invalid', reason: 'malformed token' };
  const received = parseDecimal(receivedText);
  const sent = parseDecimal(sentText);
  if (received < 0 || sent < 0) return { kind: 'invalid', reason: 'malformed sequence number' };
  return { kind: 'resume', id, secret, received, sent };
}
