/**
 * Resumable sessions: exactly-once, in-order delivery in both directions across reconnections,
 * as a sans-I/O protocol (no sockets, timers or Node modules) that the server, the Node client
 * and the browser client drive with plain calls.
 *
 * @packageDocumentation
 */
export { SessionClient } from './client.js';
export type { SessionClientHandler, SessionClientOptions, SessionClientState } from './client.js';
export { SessionServer, DEFAULT_MAX_SESSIONS, DEFAULT_RESUME_WINDOW } from './server.js';
export type { SessionServerOptions } from './server.js';
export { ServerSession } from './server-session.js';
export type { SessionServerHandler } from './server-session.js';
export { DEFAULT_ACK_BYTES, DEFAULT_ACK_DELAY, DEFAULT_ACK_EVERY, DEFAULT_MAX_RESEND } from './channel.js';
export type { DataPathOptions, SendOptions, SessionConnection, SessionLink, SessionMessage } from './channel.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES } from './outbox.js';
export type { SendCallback } from './outbox.js';
export { MemorySessionStore } from './memory-store.js';
export type { ClaimResult, SessionRecord, SessionStore, StoredMessage } from './store.js';
export type { Awaitable } from './awaitable.js';
export { MAX_RESUME_ENTRY, offerProtocols, parseOffer, RESUME_PREFIX, SESSION_PROTOCOL } from './handshake.js';
export type { ResumeOffer, SessionOffer } from './handshake.js';
export type { EndReason, Refusal } from './control.js';
export { CLOSE_SESSION_ENDED, CLOSE_SESSION_REPLACED, SessionError } from './errors.js';
export type { SessionErrorCode } from './errors.js';
export type { RandomSource } from './token.js';
