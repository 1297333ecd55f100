/**
 * The client's WebSocket over HTTP/2 (RFC 8441), for `new WebSocket(url, { http2: true })`: an
 * extended CONNECT on a stream of the origin's shared session (http2-sessions.ts), verified as
 * RFC 8441 §5 says, then the WebSocket runs on the stream. `wss:` dials HTTP/2 over TLS (ALPN
 * `h2`), `ws:` and `ws+unix:` HTTP/2 over cleartext with prior knowledge (RFC 9113 §3.3). When
 * the server does not offer WebSockets over HTTP/2, the dial goes on over HTTP/1.1, and the
 * application sees the same events either way.
 *
 * @module
 */
import { IncomingMessage, STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';
import net, { type Socket } from 'node:net';
import { WebSocketError } from '../../core/errors.js';
import { isTunnelOpen } from '../../core/extended-connect.js';
import { verifyAgreement } from '../../core/handshake.js';
import { formatExtensions } from '../../core/headers.js';
import {
  EXTENSION_NAME,
  PerMessageDeflate,
  acceptServerResponse,
  buildClientOffer,
  resolveDeflateOptions,
  type PerMessageDeflateOptions,
} from '../../deflate/index.js';
import type { ConnectionSettings } from '../io/connection-options.js';
import { resetWithCancel } from '../io/stream-reset.js';
import type { WebSocket } from '../socket/websocket.js';
import { acquireSession, connectSession, type SessionLease, sessionKey } from './http2-sessions.js';
import type { ClientOptions } from './options.js';
import type { DialTarget } from './url.js';
import { clientOpened } from './watch.js';

/** What the dialer hands over besides the options. @internal */
export interface Http2DialSetup {
  /** Milliseconds for the whole handshake, the wait for the session included; 0: no limit. */
  timeout: number;
  /** The options that are the connection's (TLS, address family, local address), without ours. */
  connectOptions: Record<string, unknown>;
  /** Dials over HTTP/1.1 instead, with what is left of the handshake time. */
  http1(handshakeTimeout: number): void;
}

// The fields of the handshake the dialer owns, and fields HTTP/2 forbids (RFC 9113 §8.2.2).
const NOT_FROM_USER = new Set([
  'connection',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'http2-settings',
  'host',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

// The server may not push (RFC 9113 §8.4): a WebSocket client has no use for it. One object, so
// that it does not make every dial's session key distinct.
const CLIENT_SETTINGS = Object.freeze({ enablePush: false });

// Options that make no sense for http2.connect.
const NOT_FOR_SESSION = ['agent', 'createConnection', 'auth', 'headers', 'origin', 'http2', 'socketPath'];

/**
 * Dials `target` over HTTP/2 for `ws`. Header errors throw synchronously, as `http.request`
 * throws them for HTTP/1.1; everything later is reported through `ws` (`error` and `close`, or
 * `open`), or handed to `setup.http1` when the server does not offer WebSockets over HTTP/2.
 * @internal
 *
 * @throws TypeError (Node's `ERR_INVALID_HTTP_TOKEN`, `ERR_INVALID_CHAR`) for an invalid header
 */
export function dialHttp2(
  ws: WebSocket,
  target: DialTarget,
  protocols: string[],
  options: ClientOptions,
  settings: ConnectionSettings,
  setup: Http2DialSetup,
): void {
  new Http2Dial(ws, target, protocols, options, settings, setup).start();
}

/** One extended CONNECT, from the wait for a session to the open WebSocket. */
class Http2Dial {
  private readonly ws: WebSocket;
  private readonly target: DialTarget;
  private readonly protocols: string[];
  private readonly options: ClientOptions;
  private readonly settings: ConnectionSettings;
  private readonly setup: Http2DialSetup;
  private readonly deflate: PerMessageDeflateOptions | null;
  private readonly headers: OutgoingHttpHeaders;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private settled = false;
  private withdraw: (() => void) | null = null;
  private lease: SessionLease | null = null;
  private stream: ClientHttp2Stream | null = null;
  /** A session retired by GOAWAY between the lease and the request is replaced once. */
  private retried = false;
  /** The stream and response belong to an `unexpected-response` listener. */
  private handedOver = false;

  constructor(ws: WebSocket, target: DialTarget, protocols: string[], options: ClientOptions, settings: ConnectionSettings, setup: Http2DialSetup) {
    this.ws = ws;
    this.target = target;
    this.protocols = protocols;
    this.options = options;
    this.settings = settings;
    this.setup = setup;
    this.deflate = resolveDeflateOptions(options.perMessageDeflate, true);
    this.headers = this.requestHeaders();
  }

  start(): void {
    const timeout = this.setup.timeout;
    if (timeout > 0) {
      this.timer = setTimeout(() => {
        this.fail(new WebSocketError('WS_ERR_HANDSHAKE_TIMEOUT', 'Opening handshake has timed out'));
      }, timeout);
    }
    this.ws.abortHandshake = (err) => this.fail(err, true);
    this.acquire();
  }

  private acquire(): void {
    const target = this.target;
    const authority = `${target.secure ? 'https' : 'http'}://${target.socketPath === undefined ? target.url.host : 'localhost'}`;
    const connectOptions: SecureClientSessionOptions & { socketPath?: string } = { ...this.setup.connectOptions };
    for (const name of NOT_FOR_SESSION) delete (connectOptions as Record<string, unknown>)[name];
    // RFC 6066 §3: SNI carries host names only, never IP literals.
    if (target.secure && connectOptions.servername === undefined && net.isIP(target.host) === 0) connectOptions.servername = target.host;
    connectOptions.settings = CLIENT_SETTINGS;
    const socketPath = target.socketPath;
    const key = sessionKey(authority, socketPath === undefined ? connectOptions : { ...connectOptions, socketPath });
    if (socketPath !== undefined) connectOptions.createConnection = () => net.connect(socketPath);
    this.withdraw = acquireSession(key, () => connectSession(authority, connectOptions), (outcome) => {
      this.withdraw = null;
      if (this.settled) {
        if ('lease' in outcome) outcome.lease.release();
        return;
      }
      if ('fallback' in outcome) this.fallBack();
      else if ('error' in outcome) this.fail(outcome.error);
      else this.request(outcome.lease);
    });
  }

  /** RFC 8441 §4-5: the extended CONNECT's header fields. */
  private requestHeaders(): OutgoingHttpHeaders {
    const target = this.target;
    const headers: OutgoingHttpHeaders = {};
    let authority = target.socketPath === undefined ? target.url.host : 'localhost';
    for (const [name, value] of Object.entries(this.options.headers ?? {})) {
      const lower = name.toLowerCase();
      validateHeaderName(lower);
      for (const one of Array.isArray(value) ? value : [value]) validateHeaderValue(lower, one);
      // A Host header names the authority (RFC 9113 §8.3.1: the two must not differ).
      if (lower === 'host' && typeof value === 'string') authority = value;
      if (NOT_FROM_USER.has(lower) || lower.startsWith(':')) continue;
      headers[lower] = value;
    }
    const credentials = target.auth ?? (typeof this.options.auth === 'string' ? this.options.auth : undefined);
    if (credentials !== undefined && headers.authorization === undefined) {
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const origin = this.options.origin;
    if (origin !== undefined && origin !== '') {
      validateHeaderValue('origin', origin);
      headers.origin = origin;
    }
    headers[':method'] = 'CONNECT';
    headers[':protocol'] = 'websocket';
    // RFC 8441 §5: https for wss:, http for ws:; the rest of the target as in the WebSocket URI.
    headers[':scheme'] = target.secure ? 'https' : 'http';
    headers[':path'] = target.path;
    headers[':authority'] = authority;
    headers['sec-websocket-version'] = '13';
    if (this.protocols.length > 0) headers['sec-websocket-protocol'] = this.protocols.join(',');
    if (this.deflate !== null) headers['sec-websocket-extensions'] = buildClientOffer(this.deflate);
    return headers;
  }

  private request(lease: SessionLease): void {
    this.lease = lease;
    let stream: ClientHttp2Stream;
    try {
      // A CONNECT's stream stays open for the tunnel (RFC 9113 §8.5): no END_STREAM.
      stream = lease.session.request(this.headers, { endStream: false });
    } catch (err) {
      lease.release();
      this.lease = null;
      const code = (err as { code?: string }).code;
      // A GOAWAY that arrived after the lease was handed out: once more, on a new session.
      if (!this.retried && (code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION')) {
        this.retried = true;
        this.acquire();
        return;
      }
      this.fail(err as Error);
      return;
    }
    this.stream = stream;
    resetWithCancel(stream);
    stream.on('error', this.onStreamError);
    stream.once('close', this.onStreamClosed);
    stream.once('response', (headers) => this.onResponse(stream, headers));
  }

  private readonly onStreamError = (err: Error): void => {
    if (!this.settled) this.fail(err);
  };

  private readonly onStreamClosed = (): void => {
    this.lease?.release();
    if (this.settled || this.handedOver) return;
    const code = this.stream?.rstCode ?? constants.NGHTTP2_NO_ERROR;
    this.fail(new WebSocketError('WS_ERR_HANDSHAKE', `The stream closed before the server answered (RST_STREAM code ${code})`));
  };

  private onResponse(stream: ClientHttp2Stream, headers: IncomingHttpHeaders): void {
    if (this.settled) return;
    const status = Number(headers[':status'] ?? 0);
    const res = responseOf(stream, headers, status);
    if (!isTunnelOpen(status)) {
      this.unexpected(stream, res, status);
      return;
    }
    // As over HTTP/1.1, `upgrade` comes before the answer is checked; a listener may close the
    // WebSocket, which aborts the handshake.
    this.ws.emitUpgrade(res);
    if (this.settled) return;
    let protocol: string;
    let extension: PerMessageDeflate | null = null;
    let extensions = '';
    try {
      // RFC 8441 §5: Sec-WebSocket-Protocol and -Extensions as RFC 6455 §4.1 steps 5-6 check them.
      const offered = this.deflate === null ? [] : [EXTENSION_NAME];
      const verified = verifyAgreement(headers as Record<string, string | string[] | undefined>, { protocols: this.protocols, extensionNames: offered });
      protocol = verified.protocol;
      if (this.deflate !== null && verified.extensions.length > 0) {
        const params = acceptServerResponse(verified.extensions, this.deflate);
        if (params !== null) {
          extension = new PerMessageDeflate(params, 'client', this.deflate, this.settings.maxPayload);
          extensions = formatExtensions(verified.extensions);
        }
      }
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.settle();
    stream.off('error', this.onStreamError);
    this.ws.attach(stream, undefined, { role: 'client', protocol, extensions, extension, settings: this.settings });
    clientOpened(this.ws, this.options);
  }

  /**
   * A status other than 2xx: an error, or, when someone listens to `unexpected-response`, the
   * stream (as the request) and the response for the listener, as over HTTP/1.1. A 3xx is not
   * followed over HTTP/2.
   */
  private unexpected(stream: ClientHttp2Stream, res: IncomingMessage, status: number): void {
    if (this.ws.listenerCount('unexpected-response') === 0) {
      this.fail(new WebSocketError('WS_ERR_UNEXPECTED_RESPONSE', `Unexpected server response: ${status}`));
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.handedOver = true;
    // The body reaches the response as it is read.
    stream.on('data', (chunk: Buffer) => {
      if (!res.push(chunk)) stream.pause();
    });
    stream.once('end', () => res.push(null));
    // The response reads from the stream, not from the session's socket (which Node guards).
    const own = res as IncomingMessage & { _read: () => void; _destroy: (err: Error | null, cb: (err: Error | null) => void) => void };
    own._read = () => {
      stream.resume();
    };
    own._destroy = (err, cb) => {
      if (!stream.destroyed) stream.destroy();
      cb(err);
    };
    this.ws.emit('unexpected-response', stream, res);
  }

  private fallBack(): void {
    if (!this.settle()) return;
    const timeout = this.setup.timeout;
    const left = timeout === 0 ? 0 : Math.max(1, timeout - (Date.now() - this.started));
    this.ws.abortHandshake = null;
    try {
      this.setup.http1(left);
    } catch (err) {
      this.ws.failHandshake(err as Error);
    }
  }

  /** Marks the handshake finished and releases the timer; returns false if it already was. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    return true;
  }

  /** Aborts the handshake: cancels the wait or the stream and reports `err` (then 1006). */
  private fail(err: Error, deferred = false): void {
    if (!this.settle()) return;
    this.withdraw?.();
    this.withdraw = null;
    const stream = this.stream;
    if (stream !== null) {
      stream.off('error', this.onStreamError);
      // Errors after the handshake failed have nothing to report.
      stream.on('error', ignore);
      stream.destroy();
    } else {
      this.lease?.release();
    }
    if (!deferred) {
      this.ws.failHandshake(err);
      return;
    }
    this.ws.handshakeAborted();
    process.nextTick(() => this.ws.failHandshake(err));
  }
}

function ignore(): void {}

/** The answer as an `IncomingMessage`, for `upgrade` and `unexpected-response` listeners. */
function responseOf(stream: ClientHttp2Stream, headers: IncomingHttpHeaders, status: number): IncomingMessage {
  // The session's socket is a proxy that reports addresses but refuses reads and writes.
  const res = new IncomingMessage(stream.session?.socket as Socket);
  res.statusCode = status;
  res.statusMessage = STATUS_CODES[status] ?? '';
  res.httpVersionMajor = 2;
  res.httpVersionMinor = 0;
  res.httpVersion = '2.0';
  const copy: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) copy[name] = headers[name];
  res.headers = copy;
  res.rawHeaders = Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, String(value)]));
  return res;
}
