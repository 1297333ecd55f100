/**
 * The HTTP side of WebSocketServer: answers to requests that are not (acceptable) upgrades, and
 * the bookkeeping that lets several WebSocketServers share one HTTP server's `upgrade` event.
 *
 * @internal
 * @module
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { buildRejectResponse, checkUpgradeRequest } from '../core/handshake.js';

/** @internal The request handler of a server we created: plain HTTP gets 426, a broken upgrade 400. */
export function refuseHttp(req: IncomingMessage, res: ServerResponse): void {
  // A WebSocket handshake that Node did not treat as an upgrade (no Upgrade header, or a
  // Connection header without the "upgrade" token) is a bad request (RFC 6455 §4.2.1 items 3-4):
  // answer 400 and close, as for any other refused handshake.
  const check = req.headers['sec-websocket-key'] !== undefined ? checkUpgradeRequest(req) : null;
  if (check !== null && !check.ok) {
    res.writeHead(check.status, {
      ...check.headers,
      Connection: 'close',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(check.message),
    });
    res.end(check.message);
    return;
  }
  const body = 'Upgrade Required';
  res.writeHead(426, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body), Upgrade: 'websocket' });
  res.end(body);
}

/** Sockets some WebSocketServer took on, and the `upgrade` listeners that WebSocketServers added. */
export const claimedSockets = new WeakSet<Duplex>();
export const upgradeListeners = new WeakSet<(...args: never[]) => void>();

/**
 * Runs after every `upgrade` listener: when all of them are WebSocketServers and none handles
 * the path, refuse with 400 — otherwise the socket would hang open with no answer. A foreign
 * listener (another library) may own it, so then it is left alone.
 */
export function refuseUnclaimed(server: HttpServer, socket: Duplex): void {
  if (claimedSockets.has(socket) || socket.destroyed) return;
  if (!server.listeners('upgrade').every((listener) => upgradeListeners.has(listener as (...args: never[]) => void))) return;
  claimedSockets.add(socket);
  abort(socket, 400, 'Unknown WebSocket path');
}

/** @internal Answers a refused handshake with an HTTP error and closes the socket. */
export function abort(socket: Duplex, status: number, message?: string, headers?: Record<string, string>): void {
  socket.off('error', onHandshakeSocketError);
  socket.on('error', onHandshakeSocketError);
  if (socket.writable) socket.end(buildRejectResponse(status, message, headers));
  socket.once('finish', () => socket.destroy());
  // Do not wait forever for a peer that never reads the response.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** @internal Error listener during the handshake: the socket is simply destroyed. */
export function onHandshakeSocketError(this: Duplex): void {
  this.destroy();
}

/** @internal The first value of a header. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
