/**
 * Errors of the session layer. Every error has a stable `code`; the ones that end a connection
 * also carry the close code sent to the peer.
 *
 * @module
 */

/** Stable codes of {@link SessionError}. */
export type SessionErrorCode =
  /** Close 1002: a session message that cannot be parsed (empty, unknown tag, bad digits, bad control text). */
  | 'WS_SESSION_BAD_FRAME'
  /** Close 1002: an acknowledgement of messages never sent on this connection. */
  | 'WS_SESSION_BAD_ACK'
  /** Close 1002: a sequence number stated on resumption contradicts this side's (behind what was acknowledged, beyond what was sent). */
  | 'WS_SESSION_BAD_SEQUENCE'
  /** Close 1002: a message that is not allowed in the current state (data before the welcome, a second welcome, …). */
  | 'WS_SESSION_UNEXPECTED'
  /** Close 1002: a malformed resume offer (subprotocol entry) or welcome. */
  | 'WS_SESSION_BAD_HANDSHAKE'
  /** Close 1008: the peer states more messages to resend than `maxResend` allows. */
  | 'WS_SESSION_RESEND_TOO_LARGE'
  /** Close 1013: a new session was refused because the server holds `maxSessions` sessions. */
  | 'WS_SESSION_LIMIT'
  /** Close 1011: the session store failed; the session cannot keep its guarantee and ends on this server. */
  | 'WS_SESSION_STORE_FAILED'
  /** Close 4001: another connection resumed the session (sent to the connection it replaced). */
  | 'WS_SESSION_REPLACED'
  /** Close 4002: the peer ended the session (`end()` / `close()`). */
  | 'WS_SESSION_ENDED'
  /** Close 4002: the server ended the session because its resend buffer overflowed (`overflow: 'end'`). */
  | 'WS_SESSION_OVERFLOW'
  /** The session expired: away longer than `resumeWindow`. */
  | 'WS_SESSION_EXPIRED'
  /** A resumption was refused: the server does not know the session (never existed, expired and removed, or the server restarted with a memory store). */
  | 'WS_SESSION_UNKNOWN'
  /** A resumption was refused: the token is no longer current (an old token replayed after its successor was confirmed). */
  | 'WS_SESSION_STALE_TOKEN'
  /** `send()` refused: the resend buffer holds `maxMessages` messages or would exceed `maxBytes`. */
  | 'WS_SESSION_BUFFER_FULL'
  /** `send()` refused: the message alone is larger than `maxBytes`. */
  | 'WS_SESSION_TOO_LARGE'
  /** This side closed the session (`close()` / `end()`): pending messages will not be delivered. */
  | 'WS_SESSION_CLOSED'
  /** A method called in a state that does not allow it (a programming error, thrown). */
  | 'WS_SESSION_INVALID_STATE';

/** Close code for a connection replaced by a newer resumption of its session (private-use range, RFC 6455 §7.4.2). */
export const CLOSE_SESSION_REPLACED = 4001;
/** Close code for a connection whose session was ended by its peer or by the server (private-use range, RFC 6455 §7.4.2). */
export const CLOSE_SESSION_ENDED = 4002;

/** An error of the session layer, with a stable `code` and, when it ends the connection, the close code. */
export class SessionError extends Error {
  /** A stable machine-readable code. */
  readonly code: SessionErrorCode;
  /** The close code sent to the peer when this error ends the connection, else `null`. */
  readonly closeCode: number | null;

  constructor(code: SessionErrorCode, message: string, closeCode: number | null = null) {
    super(message);
    this.name = 'SessionError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** A violation by the peer: the connection is closed with `closeCode` (1002 unless said otherwise). */
export function protocolError(code: SessionErrorCode, message: string, closeCode = 1002): SessionError {
  return new SessionError(code, message, closeCode);
}
