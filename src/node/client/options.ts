import type { PerMessageDeflateOptions } from '../../deflate/options.js';
import type { HeartbeatOptions } from '../ops/heartbeat.js';
import type { Agent, ClientRequest, ClientRequestArgs, IncomingMessage } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import type { WebSocket } from '../socket/websocket.js';

/** Options of `new WebSocket(url, protocols, options)`, named as in the `ws` package. */
export interface ClientOptions extends SecureContextOptions {
  /** Milliseconds allowed for the opening handshake (default 30,000; 0 disables). */
  handshakeTimeout?: number;
  /** Subprotocols to offer, when the constructor's second argument is this options object (as in `ws`). */
  protocols?: string | string[];
  /** Largest message accepted, in bytes (default 1 MiB). */
  maxPayload?: number;
  /** Most frames one message may be split into (default 1,048,576; memory is bounded by `maxPayload`). */
  maxFragments?: number;
  /**
   * Most socket reads one frame may span, header included (as `ws` counts them); one more
   * closes with 1008 (`WS_ERR_TOO_MANY_BUFFERED_PARTS`). Default 262,144, as in `ws`; 0: no
   * limit. Memory is bounded by `maxPayload` either way: this stops a frame trickled in tiny reads.
   */
  maxBufferedChunks?: number;
  /**
   * Skip UTF-8 validation of text messages and close reasons (default `false`). Only for peers
   * whose text is known to be valid: invalid text then reaches listeners as it came.
   */
  skipUTF8Validation?: boolean;
  /**
   * Emit several `message`, `ping` and `pong` events in the same tick (default `true`, as in
   * `ws` 8). `false` emits at most one per turn of the event loop, as browsers do.
   */
  allowSynchronousEvents?: boolean;
  /**
   * Fills the 4-byte masking key of each frame (default: random bytes from the CSPRNG, as
   * RFC 6455 §5.3 requires). Only for testing or for peers on a trusted path.
   */
  generateMask?: (mask: Buffer) => void;
  /**
   * Called with each upgrade request (the first and every redirect's) instead of `req.end()`:
   * add headers, then call `req.end()` yourself.
   */
  finishRequest?: (req: ClientRequest, websocket: WebSocket) => void;
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
  /** Milliseconds to wait for the server to end TCP after the close handshake (default 30,000). */
  closeTimeout?: number;
  /** Follow HTTP redirects during the handshake (default `false`). */
  followRedirects?: boolean;
  /** Most redirects followed (default 10). */
  maxRedirects?: number;
  /**
   * Basic authentication, `user:password` (as `http.request`). Sent only to the first server
   * and to redirects that keep its host and TLS, like the URL's userinfo.
   */
  auth?: string;
  /** Value of the `Origin` header. */
  origin?: string;
  /** Extra request headers. */
  headers?: Record<string, string | string[]>;
  /** A custom `http.Agent` / `https.Agent`. */
  agent?: Agent;
  /** Value of `Sec-WebSocket-Version` (only 13 is supported; default 13). */
  protocolVersion?: number;
  /** permessage-deflate (RFC 7692): `true`, `false` or settings (default: on, as in `ws`). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Verify the server's TLS certificate (default `true`). */
  rejectUnauthorized?: boolean;
  /** TLS server name (SNI). */
  servername?: string;
  /** Local interface to bind for the connection. */
  localAddress?: string;
  /** IP family to use when resolving the host (4 or 6). */
  family?: number;
  /** Custom socket factory, as in `http.request`. */
  createConnection?: ClientRequestArgs['createConnection'];
  /**
   * Ping the server after `interval` ms without anything received; terminate the connection
   * (`close` 1006, reason `heartbeat timeout`) when nothing arrives within `timeout` ms more.
   * All clients of the process share one timer. Default: off.
   */
  heartbeat?: HeartbeatOptions | false;
  /** Close (1001, reason `idle timeout`) after this many ms without a data message either way. Default 0: off. */
  idleTimeout?: number;
  /**
   * Dial over HTTP/2 (RFC 8441): the WebSocket is a stream of one HTTP/2 session per origin,
   * shared with every other WebSocket dialled to that origin with the same connection options.
   * `wss:` negotiates `h2` by TLS ALPN; `ws:` speaks HTTP/2 in clear text at once (prior
   * knowledge). When the server does not offer it (no `h2`, or no
   * `SETTINGS_ENABLE_CONNECT_PROTOCOL`), the handshake goes on over HTTP/1.1. Default `false`.
   */
  http2?: boolean;
}

/** Signature of the `unexpected-response` listener. */
export type UnexpectedResponseListener = (req: unknown, res: IncomingMessage) => void;
