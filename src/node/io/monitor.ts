/**
 * The seam between a transport and the toolkit features that watch it (statistics, heartbeat,
 * idle timeout, rate limits, memory budget). A transport without any of them has no monitor
 * and pays one null check per event.
 *
 * @internal
 * @module
 */
import type { LocalCloseReason } from './local-close.js';
import type { Transport } from './transport.js';

/** Hooks a transport calls, when a monitor is installed. @internal */
export interface TransportMonitor {
  /** A data message arrived; returning `false` drops it (it is not delivered). */
  messageIn(data: Buffer, isBinary: boolean): boolean;
  /** A ping or pong arrived. */
  controlIn(): void;
  /** A data message (its final frame) was handed over for sending. */
  messageOut(): void;
  /** Outgoing data started waiting in the send queue because the socket was full. */
  backpressure(): void;
  /** A broadcast skipped this connection (hub backpressure policy). */
  broadcastDropped(): void;
  /** The connection closed with `code` (as reported by the `close` event). */
  closed(transport: Transport, code: number, local: LocalCloseReason | null): void;
}
