/**
 * Closing a connection because of one of our policies (heartbeat, idle timeout, rate limit,
 * backpressure, memory budget, shutdown), recording the local reason for the `close`
 * diagnostics event and the statistics.
 *
 * @module
 */
import { ABORT_GRACE, type LocalCloseReason, LOCAL_CLOSE_TEXT, isUrgentClose } from '../io/local-close.js';
import { transportOf } from '../io/internals.js';
import type { WebSocket } from '../socket/websocket.js';


const OPEN = 1;
const CLOSED = 3;

/**
 * Closes `ws` with `code` for `reason`. The close frame skips data still queued (dropped) unless
 * the reason is a shutdown. With `abort`, reading stops at once, TCP is ended right after the
 * close frame and the socket destroyed after {@link ABORT_GRACE} ms, without waiting for the
 * peer's answer (RFC 6455 §7.1.7 allows failing the connection); otherwise the close handshake
 * runs as usual, bounded by `closeTimeout`.
 */
export function closeForPolicy(ws: WebSocket, reason: LocalCloseReason, code: number, abort: boolean): void {
  const transport = transportOf(ws);
  if (transport === null || ws.readyState === CLOSED) return;
  if (transport.localClose === null) transport.localClose = reason;
  if (isUrgentClose(reason)) transport.scheduler?.discard();
  if (ws.readyState === OPEN) ws.close(code, LOCAL_CLOSE_TEXT[reason]);
  if (!abort) return;
  transport.pause();
  transport.endTransport();
  setTimeout(() => transport.destroy(), ABORT_GRACE).unref();
}

/** Destroys the socket of `ws` at once (no close frame; reported as 1006) for `reason`. */
export function terminateForPolicy(ws: WebSocket, reason: LocalCloseReason): void {
  const transport = transportOf(ws);
  if (transport === null || ws.readyState === CLOSED) return;
  if (transport.localClose === null) transport.localClose = reason;
  ws.terminate();
}

/** Records `reason` as the local reason of a close the caller is about to start itself. */
export function markLocalClose(ws: WebSocket, reason: LocalCloseReason): void {
  const transport = transportOf(ws);
  if (transport !== null && transport.localClose === null) transport.localClose = reason;
}
