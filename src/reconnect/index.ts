/**
 * `ws6455/reconnect`: a WebSocket client that reconnects with backoff and queues sends while
 * disconnected.
 *
 * @module ws6455/reconnect
 */
export { ReconnectingWebSocket } from './reconnecting-websocket.js';
export { DEFAULT_FINAL_CLOSE_CODES, DEFAULT_RESET_AFTER } from './options.js';
export type { CloseCodeRule, ConnectInfo, ReconnectOptions, ReconnectSendOptions, ReconnectingEvents } from './options.js';
export { Backoff, backoffDelay, DEFAULT_FACTOR, DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_MESSAGES } from './send-queue.js';
export type { QueuePolicy, SendQueueOptions } from './send-queue.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { ReconnectError } from './errors.js';
export type { ReconnectErrorCode } from './errors.js';
