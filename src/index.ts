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
export type { HeartbeatOptions } from './node/heartbeat.js';
export { DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT } from './node/heartbeat.js';
export type { RateLimitOptions } from './node/rate-limit.js';
export { MemoryBudget, DEFAULT_BUDGET_CHECK_INTERVAL } from './node/memory-budget.js';
export type { MemoryBudgetOptions } from './node/memory-budget.js';
export type { ServerStats } from './node/stats.js';
export { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './node/prometheus.js';
export type { PrometheusOptions } from './node/prometheus.js';
export { DIAGNOSTICS_CHANNELS } from './node/diagnostics.js';
export type { OpenDiagnostic, CloseDiagnostic, ErrorDiagnostic } from './node/diagnostics.js';
export type { LocalCloseReason } from './node/local-close.js';
export type { DrainOptions, DrainResult } from './node/drain.js';
export { DEFAULT_DRAIN_DEADLINE } from './node/drain.js';
export type { PerMessageDeflateOptions } from './deflate/options.js';
export type { SendData } from './node/send-data.js';
export { WsEvent, WsMessageEvent, WsCloseEvent, WsErrorEvent } from './node/events.js';
export type { WsListenerOptions } from './node/events.js';
export type { WsEventListener } from './node/event-target.js';
export { WebSocketError, ProtocolError } from './core/errors.js';
export type { WsErrorCode } from './core/errors.js';
export {
  CloseCode,
  Opcode,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_CLOSE_TIMEOUT,
} from './core/constants.js';
