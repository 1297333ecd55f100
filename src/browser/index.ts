/**
 * `ws6455/browser`: what a web page needs to talk to a ws6455 server, on the browser's own
 * WebSocket and without any Node module: the reconnecting client (backoff, bounded queue,
 * final close codes), its session mode (exactly once and in order across reconnections, the
 * same protocol code as the server's and the Node client's), and the JSON router. ES module
 * only.
 *
 * @module ws6455/browser
 */
export { ReconnectingWebSocket } from './reconnecting-websocket.js';
export type {
  BrowserReconnectOptions,
  BrowserReconnectingEvents,
  BrowserSendData,
  BrowserSendOptions,
} from './reconnecting-websocket.js';
export type { BrowserSocket, BrowserSocketConstructor, BrowserSocketEvent } from './socket.js';
export { Emitter } from './emitter.js';
export type { EventMap } from './emitter.js';
export { Backoff, backoffDelay, DEFAULT_FACTOR, DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY } from '../reconnect/backoff.js';
export type { BackoffOptions } from '../reconnect/backoff.js';
export { DEFAULT_FINAL_CLOSE_CODES, DEFAULT_RESET_AFTER } from '../reconnect/policy.js';
export type { CloseCodeRule, ConnectInfo } from '../reconnect/policy.js';
export { DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_MESSAGES } from '../reconnect/send-queue.js';
export type { QueuePolicy, SendQueueOptions } from '../reconnect/send-queue.js';
export type { MessageInfo, RejectedSend, SessionInfo, SessionModeOptions } from '../reconnect/session-mode.js';
export type { DataPathOptions } from '../session/index.js';
export { ReconnectError } from '../reconnect/errors.js';
export type { ReconnectErrorCode } from '../reconnect/errors.js';
export { SessionError, SESSION_PROTOCOL } from '../session/index.js';
export type { SessionErrorCode } from '../session/index.js';
export { Router, DEFAULT_REQUEST_TIMEOUT } from '../router/router.js';
export type { RouterOptions } from '../router/router.js';
export { RouterPeer } from '../router/peer.js';
export { RouterError } from '../router/errors.js';
export type { BuiltinRouterErrorCode, RouterErrorCode } from '../router/errors.js';
export { ERROR_TYPE, RESPONSE_TYPE, encodeEnvelope, parseEnvelope } from '../router/envelope.js';
export type { Envelope, ErrorPayload, ParseResult, RequestId } from '../router/envelope.js';
export type {
  FallbackHandler,
  Handler,
  HandlerContext,
  MessageSpec,
  PayloadOf,
  RawData,
  RequestOptions,
  ResultOf,
  ResumableRouterSocket,
  RouterPeerLike,
  RouterSocket,
  Schema,
  TypeOf,
  UntypedSchema,
} from '../router/types.js';
