import type { PerMessageDeflateOptions } from '../deflate/options.js';
import type { HeartbeatOptions } from './heartbeat.js';
import type { Agent, ClientRequestArgs, IncomingMessage } from 'node:http';
import type { SecureContextOptions } from 'node:tls';

/** Options of `new WebSocket(url, protocols, options)`, named as in the `ws` package. */
export interface ClientOptions extends SecureContextOptions {
  /** Milliseconds allowed for the opening handshake (default 30,000; 0 disables). */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes (default 1 MiB). */
  maxPayload?: number;
  /** Answer pings automatically (default `true`). */
  autoPong?: boolean;
  /** Milliseconds to wait for the server to end TCP after the close handshake (default 30,000). */
  closeTimeout?: number;
  /** Follow HTTP redirects during the handshake (default `false`). */
  followRedirects?: boolean;
  /** Most redirects followed (default 10). */
  maxRedirects?: number;
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
}

/** Signature of the `unexpected-response` listener. */
export type UnexpectedResponseListener = (req: unknown, res: IncomingMessage) => void;
