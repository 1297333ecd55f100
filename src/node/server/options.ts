import type { PerMessageDeflateOptions } from '../../deflate/options.js';
import type { HeartbeatOptions } from '../ops/heartbeat.js';
import type { MemoryBudget } from '../ops/memory-budget.js';
import type { RateLimitOptions } from '../ops/rate-limit.js';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { WebSocket } from '../socket/websocket.js';
import type { ServerSessionOptions } from './sessions.js';
import type { Server as HttpsServer } from 'node:https';
import type { Http2SecureServer, Http2Server } from 'node:http2';

/** What `verifyClient` is told about a handshake. */
export interface VerifyClientInfo {
  /**
   * The `Origin` header. As in `ws`, it is `undefined` when the request has none (not a
   * browser); typed `string`, as `ws`'s types have it, so code written for them compiles.
   */
  origin: string;
  /** `true` when the request came over TLS. */
  secure: boolean;
  /** The upgrade request. */
  req: IncomingMessage;
}

/** Answer of an asynchronous `verifyClient`: accept, or refuse with a status, message and headers. */
export type VerifyClientCallback = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string>,
) => void;

/** Decides whether to accept a handshake, synchronously or through the callback. */
export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean)
  | ((info: VerifyClientInfo, callback: VerifyClientCallback) => void);

/** Picks a subprotocol from the client's offer, or `false` for none. */
export type HandleProtocols = (protocols: Set<string>, req: IncomingMessage) => string | false;

/** Options of `new WebSocketServer(options)`, named as in the `ws` package. */
export interface ServerOptions {
  /**
   * Port to listen on. The server then listens itself, reading upgrade requests without
   * `node:http`; plain HTTP requests get 426 Upgrade Required.
   */
  port?: number;
  /** Host to bind when `port` is given. */
  host?: string;
  /** Listen backlog when `port` is given. */
  backlog?: number;
  /**
   * An existing HTTP(S) server whose `upgrade` requests this server handles. An HTTP/2 server
   * (`http2.createServer()`, `http2.createSecureServer()`) also gets its WebSocket streams
   * handled (RFC 8441 extended CONNECT): its settings get `enableConnectProtocol: true` for the
   * sessions it accepts from then on; with `allowHTTP1: true` its HTTP/1.1 upgrades are handled too.
   */
  server?: HttpServer | HttpsServer | Http2Server | Http2SecureServer;
  /** Handle upgrades only through {@link WebSocketServer.handleUpgrade}. */
  noServer?: boolean;
  /** Accept only upgrades whose path (without query) equals this. */
  path?: string;
  /** Largest message accepted, in bytes (default 1 MiB; larger messages close with 1009). */
  maxPayload?: number;
  /** Most frames one message may be split into (default 1,048,576; memory is bounded by `maxPayload`). */
  maxFragments?: number;
  /**
   * Most socket reads one frame may span, header included (as `ws` counts them); one more
   * closes with 1008 (`WS_ERR_TOO_MANY_BUFFERED_PARTS`). Default 262,144, as in `ws`; 0: no
   * limit. Memory is bounded by `maxPayload` either way: this stops a frame trickled in tiny reads.
   */
  maxBufferedChunks?: number;
  /** Skip UTF-8 validation of received text and close reasons (default `false`). */
  skipUTF8Validation?: boolean;
  /** Emit several `message`, `ping` and `pong` events per tick (default `true`); `false`: one per turn. */
  allowSynchronousEvents?: boolean;
  /** The class of accepted connections: `WebSocket` (default) or a subclass of it. */
  WebSocket?: typeof WebSocket;
  /** Chooses the subprotocol (default: the first one offered). */
  handleProtocols?: HandleProtocols;
  /** Accepts or refuses a handshake (refused: 401 unless a code is given). */
  verifyClient?: VerifyClient;
  /**
   * Origins allowed for browser requests whose `Origin` differs from `Host`, e.g.
   * `['https://app.example.com']`; `['*']` allows any. Requests without `Origin` always pass.
   * Default: only same-origin browser requests (others get 403).
   */
  allowedOrigins?: readonly string[];
  /** permessage-deflate (RFC 7692): `true`, `false` or settings (default: off, as in `ws`). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Track connections in `server.clients` (default `true`). */
  clientTracking?: boolean;
  /** Milliseconds allowed for the upgrade request's headers and an asynchronous `verifyClient` (default 10,000). */
  handshakeTimeout?: number;
  /**
   * Largest upgrade request head (request line and headers) accepted by the server created for
   * `port`, in bytes; larger heads get 431. Default 16,384, as `node:http`. With `server`, the
   * HTTP server's own limit applies.
   */
  maxHeaderSize?: number;
  /** Milliseconds to wait for a peer's half of the close handshake before destroying its socket (default 30,000). */
  closeTimeout?: number;
  /**
   * Most bytes waiting to be sent to the peer (our send queue and the socket's buffer); past it
   * the connection is closed with 1008 (local reason `backpressure`) and its output dropped.
   * Default 64 MiB; 0: no limit.
   */
  maxBufferedAmount?: number;
  /**
   * Read TCP sockets into one buffer shared by every connection (default `true`): no buffer is
   * allocated per read, masked payloads are unmasked where they land, and a message is copied
   * once, into its own buffer. Such a socket emits no `data` events. `false`: Node's own buffer
   * per read, and `data` events on the socket, as with `ws`. TLS sockets and HTTP/2 streams
   * always use Node's buffers.
   */
  sharedReadBuffer?: boolean;
  /** Answer pings automatically (default `true`). */
  autoPong?: boolean;
  /**
   * Most automatic pongs waiting to be written (the peer does not read them); a ping beyond
   * closes with 1008 (local reason `pingFlood`). Default 60, as in `ws`. 0: no limit; at most 256
   * pongs then wait and later pings are answered by one pong for the latest (RFC 6455 §5.5.3).
   */
  maxPendingAutoPongs?: number;
  /**
   * Ping a connection after `interval` ms without anything received, and terminate it when
   * nothing arrives within `timeout` ms more (its `close` event: 1006, reason `heartbeat
   * timeout`). One timer serves every connection of the server. Default: off.
   */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Close a connection (1001, reason `idle timeout`) after this many milliseconds without a
   * data message in either direction; pings and pongs do not count. Default 0: off.
   */
  idleTimeout?: number;
  /** Per-connection limits on received messages and bytes (token buckets). Default: none. */
  rateLimit?: RateLimitOptions;
  /** Most open connections; further handshakes are refused with 503. Default: no limit. */
  maxConnections?: number;
  /** Most open connections per remote address; further handshakes get 429. Default: no limit. */
  maxConnectionsPerAddress?: number;
  /**
   * A budget for buffered bytes, shared with other servers given the same instance: while
   * exhausted, handshakes are refused with 503 and the largest holders are closed with 1013.
   */
  memoryBudget?: MemoryBudget;
  /**
   * Resumable sessions: clients that offer the `ws6455.session.1` subprotocol get a session
   * (exactly-once, in-order delivery both ways across reconnections) and the server emits
   * `session` for each new one instead of `connection`; other clients are served as before.
   * `true` for the defaults. Default: off.
   */
  sessions?: boolean | ServerSessionOptions;
}
