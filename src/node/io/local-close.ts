/**
 * Why this end closed a connection when the close was one of our own policies rather than the
 * application's or the peer's choice. The reason travels with the `close` diagnostics event
 * and the server's statistics; it also decides whether the close frame may skip queued data.
 *
 * @module
 */
import type { WebSocketError } from '../../core/errors.js';

/**
 * A local reason for closing:
 * - `maxPayload`: a message was larger than `maxPayload` (1009 sent);
 * - `protocolError`: the peer broke RFC 6455 or the extension failed (1002, 1007, 1011);
 * - `heartbeat`: no answer to a ping within `heartbeat.timeout` (socket destroyed, 1006);
 * - `idleTimeout`: no message either way for `idleTimeout` ms (1001 sent);
 * - `rateLimit`: the peer exceeded `rateLimit` (1008 sent);
 * - `pingFlood`: more than `maxPendingAutoPongs` pings waited for their pong (1008 sent);
 * - `backpressure`: a broadcast recipient fell too far behind (1013 or 1008 sent), or more
 *   than `maxBufferedAmount` bytes waited to be sent to a peer (1008 sent);
 * - `memoryBudget`: the process-wide memory budget was exhausted (1013 sent);
 * - `shutdown`: `server.close()` or `server.drain()` (1001 or 1012 sent).
 */
export type LocalCloseReason =
  | 'maxPayload'
  | 'protocolError'
  | 'heartbeat'
  | 'idleTimeout'
  | 'rateLimit'
  | 'pingFlood'
  | 'backpressure'
  | 'memoryBudget'
  | 'shutdown';

/** Every {@link LocalCloseReason}, in a stable order (used for metrics). */
export const LOCAL_CLOSE_REASONS: readonly LocalCloseReason[] = [
  'maxPayload',
  'protocolError',
  'heartbeat',
  'idleTimeout',
  'rateLimit',
  'pingFlood',
  'backpressure',
  'memoryBudget',
  'shutdown',
];

/** The close reason text sent to the peer (and reported locally when the peer never answered). */
export const LOCAL_CLOSE_TEXT: Readonly<Record<LocalCloseReason, string>> = {
  maxPayload: 'message too big',
  protocolError: 'protocol error',
  heartbeat: 'heartbeat timeout',
  idleTimeout: 'idle timeout',
  rateLimit: 'rate limit exceeded',
  pingFlood: 'too many pings',
  backpressure: 'too slow to receive',
  memoryBudget: 'memory budget exhausted',
  shutdown: 'server shutting down',
};

/**
 * Whether the close frame for `reason` goes ahead of data still queued for sending, which is
 * then dropped. A shutdown keeps the order (messages sent before it are delivered first); a
 * connection closed for misbehaving, falling behind or holding memory gets its close frame at
 * once (RFC 6455 §5.5.1: after a Close frame no data follows, so dropping the rest is allowed).
 */
export function isUrgentClose(reason: LocalCloseReason | null): boolean {
  return reason !== null && reason !== 'shutdown';
}

/** The local reason for a connection failed by `err` (RFC 6455 §7.1.7). */
export function protocolCloseReason(err: WebSocketError): LocalCloseReason {
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 'maxPayload';
  if (err.code === 'WS_ERR_TOO_MANY_PENDING_PONGS') return 'pingFlood';
  return 'protocolError';
}

/**
 * How long a connection closed for not reading (ping flood, output overflow) or for our own
 * policy with `abort` may take to flush its close frame before its socket is destroyed (ms).
 */
export const ABORT_GRACE = 1000;
