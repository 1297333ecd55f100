// Types of the CommonJS entry point (index.cjs), written by hand: the module is the WebSocket
// class (`export =`, the shape `@types/ws` gives `ws`), with the named exports of
// dist/index.d.cts as its static properties (values) and as its namespace members (types), so
// `import ws = require('ws6455')`, `const { WebSocketServer } = require('ws6455')` and
// `import { type ServerOptions } from 'ws6455'` all type-check in a CommonJS project.
// test/package.test.ts checks that every named export of the ES module is reachable here.
import api = require('../dist/index.cjs');

/** The WebSocket class, carrying every named value export of the package as a static. */
declare const WebSocket: typeof api.WebSocket;
/** A WebSocket connection. */
type WebSocket = api.WebSocket;

declare namespace WebSocket {
  // `ws`'s older name for WebSocketServer, which `@types/ws` declares on `ws`'s export.
  type Server = api.WebSocket.Server;
  // The named exports of the ES module that have a type meaning.
  type RawData = api.RawData;
  type Data = api.Data;
  type WebSocket = api.WebSocket;
  type WebSocketServer = api.WebSocketServer;
  type BinaryType = api.BinaryType;
  type SendOptions = api.SendOptions;
  type SendCallback = api.SendCallback;
  type ConnectOptions = api.ConnectOptions;
  type MessageIteratorOptions = api.MessageIteratorOptions;
  type WebSocketMessage = api.WebSocketMessage;
  type WebSocketStreamOptions = api.WebSocketStreamOptions;
  type ServerOptions = api.ServerOptions;
  type VerifyClient = api.VerifyClient;
  type VerifyClientCallback = api.VerifyClientCallback;
  type VerifyClientInfo = api.VerifyClientInfo;
  type HandleProtocols = api.HandleProtocols;
  type ClientOptions = api.ClientOptions;
  type HeartbeatOptions = api.HeartbeatOptions;
  type RateLimitOptions = api.RateLimitOptions;
  type MemoryBudget = api.MemoryBudget;
  type MemoryBudgetOptions = api.MemoryBudgetOptions;
  type ServerStats = api.ServerStats;
  type PrometheusOptions = api.PrometheusOptions;
  type OpenDiagnostic = api.OpenDiagnostic;
  type CloseDiagnostic = api.CloseDiagnostic;
  type ErrorDiagnostic = api.ErrorDiagnostic;
  type LocalCloseReason = api.LocalCloseReason;
  type DrainOptions = api.DrainOptions;
  type DrainResult = api.DrainResult;
  type PerMessageDeflateOptions = api.PerMessageDeflateOptions;
  type SendData = api.SendData;
  type WsEvent = api.WsEvent;
  type WsMessageEvent = api.WsMessageEvent;
  type WsCloseEvent = api.WsCloseEvent;
  type WsErrorEvent = api.WsErrorEvent;
  type WsListenerOptions = api.WsListenerOptions;
  type WsEventListener = api.WsEventListener;
  type WebSocketError = api.WebSocketError;
  type ProtocolError = api.ProtocolError;
  type WsErrorCode = api.WsErrorCode;
  type Opcode = api.Opcode;
  type Session = api.Session;
  type SessionEvents = api.SessionEvents;
  type SessionMessageInfo = api.SessionMessageInfo;
  type SessionSendOptions = api.SessionSendOptions;
  type ServerSessionOptions = api.ServerSessionOptions;
  type MemorySessionStore = api.MemorySessionStore;
  type SessionError = api.SessionError;
  type SessionErrorCode = api.SessionErrorCode;
  type SessionStore = api.SessionStore;
  type SessionRecord = api.SessionRecord;
  type StoredMessage = api.StoredMessage;
  type Awaitable<T> = api.Awaitable<T>;
  type ClaimResult = api.ClaimResult;
  type Refusal = api.Refusal;
}

export = WebSocket;
