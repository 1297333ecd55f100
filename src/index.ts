/**
 * ws6455: a strict, fast RFC 6455 WebSocket server and client for Node.js.
 *
 * Module shape, as `ws`: the default export (and, through cjs/index.cjs, `require('ws6455')`) is the
 * {@link WebSocket} class, which carries every named value export as a static property.
 * @module ws6455
 */
import { WebSocket as WebSocketClass } from './node/socket/websocket.js';
import { DEFAULT_ITERATOR_HIGH_WATER_MARK, DEFAULT_ITERATOR_MAX_BYTES } from './node/socket/iterate.js';
import { createWebSocketStream } from './node/socket/stream.js';
import { WebSocketServer, DEFAULT_HANDSHAKE_TIMEOUT } from './node/server/server.js';
import { DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT } from './node/ops/heartbeat.js';
import { MemoryBudget, DEFAULT_BUDGET_CHECK_INTERVAL } from './node/ops/memory-budget.js';
import { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './node/ops/prometheus.js';
import { DIAGNOSTICS_CHANNELS } from './node/ops/diagnostics.js';
import { DEFAULT_DRAIN_DEADLINE } from './node/ops/drain.js';
import { WsEvent, WsMessageEvent, WsCloseEvent, WsErrorEvent } from './node/socket/events.js';
import { WebSocketError, ProtocolError } from './core/errors.js';
import { Session } from './node/server/session.js';
import { MemorySessionStore, SessionError, SESSION_PROTOCOL } from './session/index.js';
import {
  CloseCode,
  Opcode,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_CLOSE_TIMEOUT,
} from './core/constants.js';
// This very module, as a type: the check below compares its exports with `statics`.
import type * as self from './index.js';

export type { BinaryType, SendOptions, SendCallback } from './node/socket/websocket.js';
export type { ConnectOptions } from './node/client/connect.js';
export type { MessageIteratorOptions, WebSocketMessage } from './node/socket/iterate.js';
export { DEFAULT_ITERATOR_HIGH_WATER_MARK, DEFAULT_ITERATOR_MAX_BYTES } from './node/socket/iterate.js';
export { createWebSocketStream } from './node/socket/stream.js';
export type { WebSocketStreamOptions } from './node/socket/stream.js';
export { WebSocketServer, DEFAULT_HANDSHAKE_TIMEOUT } from './node/server/server.js';
export type {
  ServerOptions,
  VerifyClient,
  VerifyClientCallback,
  VerifyClientInfo,
  HandleProtocols,
} from './node/server/options.js';
export type { ClientOptions } from './node/client/options.js';
export { Session } from './node/server/session.js';
export type { SessionEvents, SessionMessageInfo, SessionSendOptions } from './node/server/session.js';
export type { ServerSessionOptions } from './node/server/sessions.js';
export { MemorySessionStore, SessionError, SESSION_PROTOCOL } from './session/index.js';
export type { Awaitable, ClaimResult, SessionErrorCode, SessionRecord, SessionStore, StoredMessage, Refusal } from './session/index.js';
export type { HeartbeatOptions } from './node/ops/heartbeat.js';
export { DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT } from './node/ops/heartbeat.js';
export type { RateLimitOptions } from './node/ops/rate-limit.js';
export { MemoryBudget, DEFAULT_BUDGET_CHECK_INTERVAL } from './node/ops/memory-budget.js';
export type { MemoryBudgetOptions } from './node/ops/memory-budget.js';
export type { ServerStats } from './node/ops/stats.js';
export { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './node/ops/prometheus.js';
export type { PrometheusOptions } from './node/ops/prometheus.js';
export { DIAGNOSTICS_CHANNELS } from './node/ops/diagnostics.js';
export type { OpenDiagnostic, CloseDiagnostic, ErrorDiagnostic } from './node/ops/diagnostics.js';
export type { LocalCloseReason } from './node/io/local-close.js';
export type { DrainOptions, DrainResult } from './node/ops/drain.js';
export { DEFAULT_DRAIN_DEADLINE } from './node/ops/drain.js';
export type { PerMessageDeflateOptions } from './deflate/options.js';
export type { SendData } from './node/socket/send-data.js';
export { WsEvent, WsMessageEvent, WsCloseEvent, WsErrorEvent } from './node/socket/events.js';
export type { WsListenerOptions } from './node/socket/events.js';
export type { WsEventListener } from './node/socket/event-target.js';
export { WebSocketError, ProtocolError } from './core/errors.js';
export type { WsErrorCode } from './core/errors.js';
export {
  CloseCode,
  Opcode,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_CLOSE_TIMEOUT,
} from './core/constants.js';

/**
 * What the {@link WebSocket} class carries besides its own statics: every named value export of
 * this module, plus `Server`, the older name `ws` keeps for {@link WebSocketServer}. Assigned
 * once, below, when this module is evaluated (the one side effect of the entry points, declared in
 * package.json's `sideEffects`).
 */
const statics = {
  /** `ws`'s older name for {@link WebSocketServer}. */
  Server: WebSocketServer,
  /** The named export {@link WebSocketServer}. */
  WebSocketServer,
  /** The named export {@link createWebSocketStream}. */
  createWebSocketStream,
  DEFAULT_ITERATOR_HIGH_WATER_MARK,
  DEFAULT_ITERATOR_MAX_BYTES,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_HEARTBEAT_TIMEOUT,
  /** The named export {@link MemoryBudget}. */
  MemoryBudget,
  DEFAULT_BUDGET_CHECK_INTERVAL,
  /** The named export {@link renderPrometheus}. */
  renderPrometheus,
  PROMETHEUS_CONTENT_TYPE,
  DIAGNOSTICS_CHANNELS,
  DEFAULT_DRAIN_DEADLINE,
  /** The named export {@link WsEvent}. */
  WsEvent,
  /** The named export {@link WsMessageEvent}. */
  WsMessageEvent,
  /** The named export {@link WsCloseEvent}. */
  WsCloseEvent,
  /** The named export {@link WsErrorEvent}. */
  WsErrorEvent,
  /** The named export {@link WebSocketError}. */
  WebSocketError,
  /** The named export {@link ProtocolError}. */
  ProtocolError,
  /** The named export {@link Session}. */
  Session,
  /** The named export {@link MemorySessionStore}. */
  MemorySessionStore,
  /** The named export {@link SessionError}. */
  SessionError,
  SESSION_PROTOCOL,
  CloseCode,
  Opcode,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_CLOSE_TIMEOUT,
} as const;

/** Compiles only while every named value export of this module is in `statics` (names any missing). */
type StaticsComplete<Missing extends never> = Missing;
type CheckStatics = StaticsComplete<Exclude<keyof typeof self, keyof typeof statics | 'WebSocket' | 'default'>>;

/** The type of the {@link WebSocket} class value: the class, its statics, and itself as `WebSocket`. */
type WebSocketModule = typeof WebSocketClass &
  typeof statics & {
    /** The class itself (`WebSocket.WebSocket === WebSocket`), as in `ws`. */
    readonly WebSocket: WebSocketModule;
  };

/**
 * A WebSocket connection, for both roles (see the class in `node/socket/websocket.ts`). The very same
 * class value also carries `Server`, `WebSocketServer`, `WebSocket`, `createWebSocketStream` and
 * every other named value export as statics, so code written for `ws`
 * (`const WebSocket = require('ws')`, `new WebSocket.Server(...)`) runs unchanged.
 *
 * @class
 */
export const WebSocket = WebSocketClass as WebSocketModule;
/** A WebSocket connection (the instance type of the {@link WebSocket} class). */
export type WebSocket = WebSocketClass;
Object.assign(WebSocket, statics, { WebSocket });

export default WebSocket;

/**
 * `ws`'s name for what a `message` listener receives as `data`: a Buffer (text messages too), an
 * ArrayBuffer or a Buffer[], by `binaryType`.
 */
export type RawData = Buffer | ArrayBuffer | Buffer[];
/** `ws`'s name for any message payload: a string or {@link RawData}. */
export type Data = string | RawData;

/**
 * The types the namespace below gives new names to. The namespace refers to them through this
 * interface rather than by name: inside `namespace WebSocket`, `ServerOptions` means the
 * namespace's own member, so `type ServerOptions = ServerOptions` would refer to itself once the
 * declarations are bundled into one file.
 */
interface AliasedTypes {
  WebSocket: WebSocketClass;
  WebSocketServer: import('./node/server/server.js').WebSocketServer;
  ServerOptions: import('./node/server/options.js').ServerOptions;
  ClientOptions: import('./node/client/options.js').ClientOptions;
  PerMessageDeflateOptions: import('./deflate/options.js').PerMessageDeflateOptions;
  RawData: RawData;
  Data: Data;
}

/**
 * The types `@types/ws` declares on `ws`'s export, for code that reaches them through the class:
 * `WebSocket.Server`, `WebSocket.RawData`, `WebSocket.ServerOptions` and so on. (With
 * `require('ws6455')`, cjs/index.d.cts gives every named type of this module this way.)
 *
 * Keep to names `@types/ws` has here. The declaration bundler takes a type alias declared anywhere
 * in the file, even in a namespace, as proof that an export of the same name is a type only: a
 * member named `WsEvent` would turn the class export into `export { type WsEvent }`, since that
 * class is declared in a shared chunk. `WebSocket` (declared here) is safe; `WebSocketServer` is
 * safe while its class is declared in this entry's file, which test/package.test.ts checks by
 * compiling `new WebSocketServer()` against the built declarations.
 */
export declare namespace WebSocket {
  /** A WebSocket connection (the instance type of the class). */
  type WebSocket = AliasedTypes['WebSocket'];
  /** `ws`'s older name for {@link WebSocketServer}. */
  type Server = AliasedTypes['WebSocketServer'];
  /** A WebSocket server. */
  type WebSocketServer = AliasedTypes['WebSocketServer'];
  /** `ws`'s name for what a `message` listener receives (see {@link RawData}). */
  type RawData = AliasedTypes['RawData'];
  /** `ws`'s name for any message payload (see {@link Data}). */
  type Data = AliasedTypes['Data'];
  /** Options of {@link WebSocketServer}. */
  type ServerOptions = AliasedTypes['ServerOptions'];
  /** Options of `new WebSocket(url, protocols, options)`. */
  type ClientOptions = AliasedTypes['ClientOptions'];
  /** Options of permessage-deflate (RFC 7692). */
  type PerMessageDeflateOptions = AliasedTypes['PerMessageDeflateOptions'];
}
