/**
 * Control messages (`!` + words). After the opening handshake the server speaks first:
 *
 * | message | from | meaning |
 * | --- | --- | --- |
 * | `!new <token>` | server | a new session; its token |
 * | `!new <token> <refusal>` | server | the resumption was refused (`unknown`, `expired`, `stale`); a new session instead |
 * | `!resumed <token> <received> <sent>` | server | resumed: the rotated token, the last sequence number received from the client, the highest sent to it |
 * | `!ok` | client | the welcome (and so the new token) arrived; nothing else may come from the client before it |
 * | `!end <reason>` | either | the session is over (`replaced`, `closed`, `overflow`, `error`); the connection closes next |
 *
 * @module
 */
import { SessionError, protocolError, type SessionErrorCode } from './errors.js';
import { parseToken } from './token.js';
import { parseDecimal } from './wire.js';

/** Why a resumption was refused, as written in `!new`. */
export type Refusal = 'unknown' | 'expired' | 'stale';

/** Why a session ended, as written in `!end`. */
export type EndReason = 'replaced' | 'closed' | 'overflow' | 'error';

/** The welcome a client reads. */
export type Welcome =
  | { kind: 'new'; token: string; id: string; refusal: Refusal | null }
  | { kind: 'resumed'; token: string; id: string; received: number; sent: number };

/** `!new …` */
export function newWords(token: string, refusal: Refusal | null): string[] {
  return refusal === null ? ['new', token] : ['new', token, refusal];
}

/** `!resumed …` */
export function resumedWords(token: string, received: number, sent: number): string[] {
  return ['resumed', token, String(received), String(sent)];
}

const REFUSALS: ReadonlySet<string> = new Set(['unknown', 'expired', 'stale']);
const END_REASONS: ReadonlySet<string> = new Set(['replaced', 'closed', 'overflow', 'error']);

/**
 * Reads a welcome from control words.
 * @throws SessionError `WS_SESSION_BAD_HANDSHAKE` (1002) when malformed, `WS_SESSION_UNEXPECTED` when not a welcome
 */
export function parseWelcome(words: readonly string[]): Welcome {
  const [verb, token = '', a, b, ...rest] = words;
  if (verb !== 'new' && verb !== 'resumed') throw protocolError('WS_SESSION_UNEXPECTED', `Expected a session welcome, got "!${verb ?? ''}"`);
  const parts = parseToken(token);
  if (parts === null) throw protocolError('WS_SESSION_BAD_HANDSHAKE', 'Malformed token in the session welcome');
  if (verb === 'new') {
    if (b !== undefined) throw protocolError('WS_SESSION_BAD_HANDSHAKE', 'Malformed session welcome');
    if (a !== undefined && !REFUSALS.has(a)) throw protocolError('WS_SESSION_BAD_HANDSHAKE', 'Unknown refusal in the session welcome');
    return { kind: 'new', token, id: parts.id, refusal: (a as Refusal | undefined) ?? null };
  }
  const received = parseDecimal(a ?? '');
  const sent = parseDecimal(b ?? '');
  if (received < 0 || sent < 0 || rest.length > 0) throw protocolError('WS_SESSION_BAD_HANDSHAKE', 'Malformed session welcome');
  return { kind: 'resumed', token, id: parts.id, received, sent };
}

/** The reason of `!end`, or `null` when the words are not an end message. */
export function parseEnd(words: readonly string[]): EndReason | null {
  if (words[0] !== 'end') return null;
  if (words.length !== 2 || !END_REASONS.has(words[1] as string)) throw protocolError('WS_SESSION_BAD_FRAME', 'Malformed session end message');
  return words[1] as EndReason;
}

/** The error a side reports when its peer ended the session for `reason`. */
export function endError(reason: EndReason): SessionError {
  const code: SessionErrorCode =
    reason === 'replaced' ? 'WS_SESSION_REPLACED' : reason === 'overflow' ? 'WS_SESSION_OVERFLOW' : 'WS_SESSION_ENDED';
  const text =
    reason === 'replaced' ? 'Another connection resumed the session'
    : reason === 'overflow' ? 'The session ended: its resend buffer overflowed'
    : reason === 'error' ? 'The session ended after an error on the other side'
    : 'The other side ended the session';
  return new SessionError(code, text);
}

/** The error a client reports when its resumption was refused for `refusal`. */
export function refusalError(refusal: Refusal): SessionError {
  return refusal === 'expired' ? new SessionError('WS_SESSION_EXPIRED', 'The session expired before it could be resumed')
    : refusal === 'stale' ? new SessionError('WS_SESSION_STALE_TOKEN', 'The session token is no longer current')
    : new SessionError('WS_SESSION_UNKNOWN', 'The server does not know the session');
}
