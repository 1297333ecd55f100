/**
 * Access from the toolkit (hub, server features) to the transport behind a public WebSocket.
 * Kept in one place so the rest of the code never reaches into WebSocket's private fields.
 *
 * @internal
 * @module
 */
import type { Transport } from './transport.js';
import type { WebSocket } from '../socket/websocket.js';

/** The transport of `ws`, or `null` before it opened. @internal */
export function transportOf(ws: WebSocket): Transport | null {
  // Element access reaches a private member while staying type-checked: renaming the field
  // breaks the build here rather than silently returning undefined.
  return ws['transport'];
}

/** Whether the close handshake of `ws` completed: a close frame went each way (WHATWG `wasClean`). @internal */
export function closedCleanly(ws: WebSocket): boolean {
  const connection = transportOf(ws)?.connection;
  return connection !== undefined && connection.closeSent && connection.closeReceived;
}
