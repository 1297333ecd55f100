/**
 * Options, events and send options of the reconnecting client, their defaults, and the
 * close-code rule.
 *
 * @module
 */
import type { ClientOptions } from '../node/client/options.js';
import type { BinaryType, WebSocket } from '../node/socket/websocket.js';
import type { BackoffOptions } from './backoff.js';
import type { HeartbeatOptions } from './heartbeat.js';
import type { SessionError } from '../session/index.js';
import type { CloseCodeRule, ConnectInfo } from './policy.js';
import type { SendQueueOptions } from './send-queue.js';
import type { MessageInfo, RejectedSend, SessionInfo, SessionModeOptions } from './session-mode.js';

export { DEFAULT_FINAL_CLOSE_CODES, DEFAULT_RESET_AFTER, matchesCloseCode } from './policy.js';
export type { CloseCodeRule, ConnectInfo } from './policy.js';

/** Options of `new ReconnectingWebSocket(url, options)`: the client options plus the policy. */
export interface ReconnectOptions extends ClientOptions, BackoffOptions {
  /** Subprotocols to offer on every connection. */
  protocols?: string | string[];
  /** Consecutive reconnection attempts before giving up (default `Infinity`; 0 never reconnects). */
  maxAttempts?: number;
  /** A connection that stayed open this many milliseconds resets the backoff (default 5,000). */
  resetAfter?: number;
  /**
   * Close codes after which the client stops instead of reconnecting (default `[1008, [4000, 4999]]`).
   * Any other code from the server (1000, 1001, 1011, 1012, 1013, ...) and any network error or
   * failed handshake leads to a reconnection.
   */
  finalCloseCodes?: readonly CloseCodeRule[];
  /** Bounds and policy of the queue that holds sends while disconnected. */
  queue?: SendQueueOptions;
  /** Ping every `interval` ms; no pong within `timeout` ms terminates the connection (default off). */
  heartbeat?: HeartbeatOptions | false;
  /** `binaryType` of every underlying WebSocket (default `nodebuffer`). */
  binaryType?: BinaryType;
  /**
   * Runs on every (re)connection before the queue is flushed: re-authenticate or resubscribe
   * here, sending on `socket` directly (those messages go out before the queued ones). Sends on
   * the ReconnectingWebSocket meanwhile are queued. If it throws or rejects, the connection is
   * closed with 1011 and the client reconnects with backoff.
   */
  onConnect?: (socket: WebSocket, info: ConnectInfo) => void | Promise<void>;
  /**
   * Session mode (default off): offer the resumable-session subprotocol on every connection,
   * resume the session after a disconnection, and resolve `send()` only once the server
   * acknowledged the message; `true` for the defaults, or the resend buffer's bounds and the
   * acknowledgement timing. Excludes `onConnect`, `queue` and `protocols` (RangeError).
   */
  session?: boolean | SessionModeOptions;
}

/** Options of `ReconnectingWebSocket.send`. */
export interface ReconnectSendOptions {
  /** Send as binary (default: `true` unless `data` is a string). */
  binary?: boolean;
  /** Compress when permessage-deflate was negotiated (default `true`). */
  compress?: boolean;
}

/** Events of `ReconnectingWebSocket` and their arguments. */
export interface ReconnectingEvents {
  /** A connection opened, the `onConnect` hook ran and the queue was flushed. */
  open: [socket: WebSocket];
  /** Like `open`, for every connection after the first (emitted after `open`). */
  reconnect: [socket: WebSocket];
  /** A reconnection attempt (1-based) will be made after `delay` ms. */
  reconnecting: [attempt: number, delay: number];
  /** A connection closed; `willReconnect` is `false` once the client has stopped for good. */
  close: [code: number, reason: string, willReconnect: boolean];
  /**
   * A message from the current connection; in session mode a message of the session, once and
   * in order, with `info` (text as a Buffer, binary per `binaryType`).
   */
  message: [data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean, info?: MessageInfo];
  /** Session mode: the session is established on a new connection (before `open`). */
  session: [info: SessionInfo];
  /**
   * Session mode: the session could not be resumed (`WS_SESSION_UNKNOWN`, `_EXPIRED`,
   * `_STALE_TOKEN`) or was lost (`WS_SESSION_ENDED`, `_REPLACED`, `_OVERFLOW`, a protocol
   * error); a new session starts. `rejected` are the sends it failed, in order (their promises
   * rejected with `err`): each may or may not have reached the server.
   */
  reset: [err: SessionError, rejected: readonly RejectedSend[]];
  /** A connection or handshake error (emitted only when listened to). */
  error: [err: Error];
}

/** The options of ours, taken out so that only client options reach the WebSocket (and `http.request`). */
export function splitReconnectOptions(options: ReconnectOptions): {
  own: Omit<ReconnectOptions, keyof ClientOptions> & Pick<ReconnectOptions, 'heartbeat' | 'protocols'>;
  client: ClientOptions;
} {
  const {
    protocols,
    maxAttempts,
    resetAfter,
    finalCloseCodes,
    queue,
    heartbeat,
    binaryType,
    onConnect,
    session,
    minDelay,
    maxDelay,
    factor,
    random,
    ...client
  } = options;
  return {
    own: { protocols, maxAttempts, resetAfter, finalCloseCodes, queue, heartbeat, binaryType, onConnect, session, minDelay, maxDelay, factor, random },
    client,
  };
}
