/**
 * ws6455: a strict, fast RFC 6455 WebSocket server and client for Node.js.
 * @packageDocumentation
 */
export { WebSocket } from './node/websocket.js';
export type { BinaryType, SendOptions, SendCallback } from './node/websocket.js';
export type { ConnectOptions } from './node/connect.js';
export type { MessageIteratorOptions, WebSocketMessage } from './node/iterate.js';
export { DEFAULT_ITERATOR_HIGH_WATER_MARK, DEFAULT_ITERATOR_MAX_BYTES } from './node/iterate.js';
export { createWebSocketStream } from './node/stream.js';
export type { WebSocketStreamOptions } from './node/stream.js';
export { WebSocketServer, DEFAULT_HANDSHAKE_TIMEOUT } from './node/server.js';
export type {
  ServerOptions,
  VerifyClient,
  VerifyClientCallback,
  VerifyClientInfo,
  HandleProtocols,
} from './node/server-options.js';
export type { ClientOptions } from './node/client-options.js';
export type { PerMessageDeflateOptions } from './deflate/options.js';
export type { SendData } from './node/send-data.js';
export { WsEvent, WsMessageEvent, WsCloseEvent, WsErrorEvent } from './node/events.js';
export type { WsListenerOptions } from './node/events.js';
export { WebSocketError, ProtocolError } from './core/errors.js';
export type { WsErrorCode } from './core/errors.js';
export {
  CloseCode,
  Opcode,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_CLOSE_TIMEOUT,
} from './core/constants.js';
