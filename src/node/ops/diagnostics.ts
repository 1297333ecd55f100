/**
 * Events on `node:diagnostics_channel` (no dependency, no cost without subscribers): APM agents
 * and logs can watch every connection of the process without touching application code.
 *
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('ws6455:close', (msg) => log(msg.code, msg.localReason));
 * ```
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { LocalCloseReason } from '../io/local-close.js';
import type { WebSocket } from '../socket/websocket.js';

/** Names of the channels this package publishes on. */
export const DIAGNOSTICS_CHANNELS = {
  /** A connection opened: {@link OpenDiagnostic}. */
  open: 'ws6455:open',
  /** A connection closed: {@link CloseDiagnostic}. */
  close: 'ws6455:close',
  /** A connection failed (protocol error, extension failure): {@link ErrorDiagnostic}. */
  error: 'ws6455:error',
} as const;

/** Message of the `ws6455:open` channel. */
export interface OpenDiagnostic {
  /** The connection. */
  websocket: WebSocket;
  /** Which end this process is. */
  role: 'client' | 'server';
  /** The upgrade request (server role). */
  request?: IncomingMessage;
}

/** Message of the `ws6455:close` channel. */
export interface CloseDiagnostic {
  /** The connection. */
  websocket: WebSocket;
  /** Which end this process is. */
  role: 'client' | 'server';
  /** The code reported by the `close` event (1006 when no close frame arrived). */
  code: number;
  /** The reason reported by the `close` event. */
  reason: string;
  /** Both close frames were exchanged. */
  wasClean: boolean;
  /** Why this end closed it, when one of our policies did; `null` when the peer or the application did. */
  localReason: LocalCloseReason | null;
}

/** Message of the `ws6455:error` channel. */
export interface ErrorDiagnostic {
  /** The connection. */
  websocket: WebSocket;
  /** Which end this process is. */
  role: 'client' | 'server';
  /** The error that failed the connection. */
  error: Error;
  /** The local close reason this error maps to. */
  localReason: LocalCloseReason | null;
}

const openChannel = channel(DIAGNOSTICS_CHANNELS.open);
const closeChannel = channel(DIAGNOSTICS_CHANNELS.close);
const errorChannel = channel(DIAGNOSTICS_CHANNELS.error);

/** Publishes an open event (only when someone subscribed). @internal */
export function publishOpen(websocket: unknown, role: 'client' | 'server', request?: IncomingMessage): void {
  if (!openChannel.hasSubscribers) return;
  const message: OpenDiagnostic = { websocket: websocket as WebSocket, role };
  if (request !== undefined) message.request = request;
  openChannel.publish(message);
}

/** Publishes a close event (only when someone subscribed). @internal */
export function publishClose(
  websocket: unknown,
  role: 'client' | 'server',
  code: number,
  reason: Buffer,
  wasClean: boolean,
  localReason: LocalCloseReason | null,
): void {
  if (!closeChannel.hasSubscribers) return;
  const message: CloseDiagnostic = {
    websocket: websocket as WebSocket,
    role,
    code,
    reason: reason.toString('utf8'),
    wasClean,
    localReason,
  };
  closeChannel.publish(message);
}

/** Publishes an error event (only when someone subscribed). @internal */
export function publishError(websocket: unknown, role: 'client' | 'server', error: Error, localReason: LocalCloseReason | null): void {
  if (!errorChannel.hasSubscribers) return;
  const message: ErrorDiagnostic = { websocket: websocket as WebSocket, role, error, localReason };
  errorChannel.publish(message);
}
