/**
 * The HTTP side of WebSocketServer: answers to requests that are not (acceptable) upgrades, and
 * the bookkeeping that lets several WebSocketServers share one HTTP server's `upgrade` event.
 *
 * @internal
 * @module
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { buildRejectResponse, checkUpgradeRequest } from '../../core/handshake.js';

/** @internal How a request that is not an upgrade is answered: a status, a body and extra headers. */
export interface PlainRefusal {
  status: number;
  message: string;
  headers: Record<string, string>;
}

/**
 * @internal The answer of a server we created to a request that is not an upgrade: 426
 * Upgrade Required, or 400 when it is a WebSocket handshake that is not one (no Upgrade
 * header, or a Connection header without the "upgrade" token: RFC 6455 §4.2.1 items 3-4).
 */
export function plainRequestRefusal(req: IncomingMessage): PlainRefusal {
  const check = req.headers['sec-websocket-key'] !== undefined ? checkUpgradeRequest(req) : null;
  if (check !== null && !check.ok) return { status: check.status, message: check.message, headers: check.headers ?? {} };
  return { status: 426, message: 'Upgrade Required', headers: { 'Content-Type': 'text/plain', Upgrade: 'websocket' } };
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

/**
 * @internal Answers a refused handshake with an HTTP error and closes the socket; `toHead`:
 * the request was a HEAD, so the answer has no body.
 */
export function abort(socket: Duplex, status: number, message?: string, headers?: Record<string, string>, toHead = false): void {
  socket.off('error', onHandshakeSocketError);
  socket.on('error', onHandshakeSocketError);
  if (socket.writable) socket.end(buildRejectResponse(status, message, headers, toHead));
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
