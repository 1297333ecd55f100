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
import type { CloseCodeRule, ConnectInfo } from './policy.js';
import type { SendQueueOptions } from './send-queue.js';

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
  /** A message from the current connection. */
  message: [data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean];
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
    minDelay,
    maxDelay,
    factor,
    random,
    ...client
  } = options;
  return {
    own: { protocols, maxAttempts, resetAfter, finalCloseCodes, queue, heartbeat, binaryType, onConnect, minDelay, maxDelay, factor, random },
    client,
  };
}
