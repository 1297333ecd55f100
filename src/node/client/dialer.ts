/**
 * The client dialer: sends the opening handshake over `http(s).request`, verifies the 101
 * response (RFC 6455 §4.1), follows redirects when asked, bounds the handshake with a timer,
 * and hands the upgraded socket to the WebSocket.
 *
 * @module
 */
import http, { type ClientRequest, type ClientRequestArgs, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { WebSocketError } from '../../core/errors.js';
import { generateKey, verifyUpgradeResponse } from '../../core/handshake.js';
import { formatExtensions } from '../../core/headers.js';
import {
  EXTENSION_NAME,
  PerMessageDeflate,
  acceptServerResponse,
  buildClientOffer,
  resolveDeflateOptions,
  type PerMessageDeflateOptions,
} from '../../deflate/index.js';
import { isToken } from '../../core/headers.js';
import { type DialTarget, parseAddress, resolveLocation } from './url.js';
import type { ClientOptions } from './options.js';
import { clientOpened, clientWatchConfig } from './watch.js';
import { dialHttp2 } from './http2.js';
import { type ConnectionSettings, resolveConnectionOptions } from '../io/connection-options.js';
import type { WebSocket } from '../socket/websocket.js';

/** Default of {@link ClientOptions.handshakeTimeout} (milliseconds). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;
/** Default of {@link ClientOptions.maxRedirects}. */
export const DEFAULT_MAX_REDIRECTS = 10;

// Headers the dialer owns: a user value would break the handshake or offer what we cannot
// honour (only the extensions this package implements may be offered).
const RESERVED = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

// Options of ours that `http.request` has no use for.
const OWN_OPTIONS = [
  'handshakeTimeout',
  'protocols',
  'maxPayload',
  'maxFragments',
  'maxBufferedChunks',
  'skipUTF8Validation',
  'allowSynchronousEvents',
  'generateMask',
  'finishRequest',
  // Credentials are the dialer's: see Dialer.credentials.
  'auth',
  'autoPong',
  'maxPendingAutoPongs',
  'maxBufferedAmount',
  'sharedReadBuffer',
  'closeTimeout',
  'followRedirects',
  'maxRedirects',
  'origin',
  'headers',
  'protocolVersion',
  'perMessageDeflate',
  'heartbeat',
  'idleTimeout',
  'http2',
] as const;

/** The options that are the connection's (TLS, agent, addresses): the client options without ours. */
function connectionOptions(options: ClientOptions): Record<string, unknown> {
  const passthrough: Record<string, unknown> = { ...options };
  for (const name of OWN_OPTIONS) delete passthrough[name];
  return passthrough;
}

/**
 * Starts the opening handshake for `ws`. Argument errors throw synchronously (so the
 * WebSocket constructor throws, as in `ws`); everything after that is reported through
 * `ws.failHandshake` (`error`, then `close` 1006) or `ws.attach` (`open`).
 *
 * @param ws - the WebSocket being constructed
 * @param address - `ws:`, `wss:`, `http:`, `https:` or `ws+unix:` URL
 * @param protocols - subprotocols to offer, in order of preference
 * @param options - client options
 * @throws WebSocketError `WS_ERR_INVALID_URL` for an unusable address
 * @throws SyntaxError for an invalid or duplicated subprotocol
 * @throws RangeError for a `protocolVersion` other than 13
 */
export function dial(ws: WebSocket, address: string | URL, protocols: readonly unknown[], options: ClientOptions): void {
  const version = options.protocolVersion ?? 13;
  // RFC 6455 §4.1 item 9: this library speaks version 13 only.
  if (version !== 13) throw new RangeError(`Unsupported protocol version: ${String(version)} (supported versions: 13)`);
  const target = parseAddress(address);
  const offered = validateProtocols(protocols);
  clientWatchConfig(options);
  const settings = resolveConnectionOptions(options);
  if (options.finishRequest !== undefined && typeof options.finishRequest !== 'function') {
    throw new TypeError('finishRequest must be a function');
  }
  setUrl(ws, target.url.href);
  if (options.http2 === true) {
    // RFC 8441: a stream of the origin's HTTP/2 session, or HTTP/1.1 when the server has none.
    dialHttp2(ws, target, offered, options, settings, {
      timeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
      connectOptions: connectionOptions(options),
      http1: (handshakeTimeout) => new Dialer(ws, target, offered, { ...options, handshakeTimeout }, settings).start(),
    });
    return;
  }
  new Dialer(ws, target, offered, options, settings).start();
}

function validateProtocols(protocols: readonly unknown[]): string[] {
  // RFC 6455 §4.1 item 10: each subprotocol is a token, and none may repeat.
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !isToken(protocol) || seen.has(protocol)) {
      throw new SyntaxError('An invalid or duplicated subprotocol was specified');
    }
    seen.add(protocol);
  }
  return [...seen];
}

/** Records the URL actually dialled (normalised, or after a redirect) as `ws.url`. */
function setUrl(ws: WebSocket, href: string): void {
  ws.setUrl(href);
}

/** One opening handshake, across redirects. */
class Dialer {
  private readonly ws: WebSocket;
  private readonly protocols: string[];
  private readonly options: ClientOptions;
  private readonly settings: ConnectionSettings;
  private readonly first: DialTarget;
  /** User headers still to send; Authorization and Cookie are dropped on a cross-host redirect. */
  private headers: Array<[string, string | string[]]>;
  /**
   * Basic credentials of the first request: the URL's userinfo, else the `auth` option. They
   * stay the ones sent across same-host redirects, even when a `Location` carries userinfo of
   * its own (as in `ws` and curl).
   */
  private readonly credentials: string | undefined;
  /** Whether credentials may still be sent (not after a redirect to another host or to `ws:`). */
  private sendAuth = true;
  private target: DialTarget;
  private key = '';
  private redirects = 0;
  private req: ClientRequest | null = null;
  /** The upgraded socket between `upgrade` and `attach`. */
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settled = false;
  private readonly deflate: PerMessageDeflateOptions | null;

  constructor(ws: WebSocket, target: DialTarget, protocols: string[], options: ClientOptions, settings: ConnectionSettings) {
    this.ws = ws;
    this.protocols = protocols;
    this.options = options;
    this.settings = settings;
    this.first = target;
    this.target = target;
    this.credentials = target.auth ?? (typeof options.auth === 'string' ? options.auth : undefined);
    this.headers = Object.entries(options.headers ?? {}).filter(([name]) => !RESERVED.has(name.toLowerCase()));
    // permessage-deflate is offered by default, as `ws` does; `perMessageDeflate: false` turns it off.
    this.deflate = resolveDeflateOptions(options.perMessageDeflate, true);
  }

  start(): void {
    // A synchronous throw (e.g. an invalid header value) leaves the constructor, as in `ws`.
    this.send(this.target);
    const timeout = this.options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (timeout > 0) {
      this.timer = setTimeout(() => {
        this.fail(new WebSocketError('WS_ERR_HANDSHAKE_TIMEOUT', 'Opening handshake has timed out'));
      }, timeout);
    }
    // close() or terminate() while CONNECTING: as in `ws`, the WebSocket is CLOSING at once and
    // reports `error` and `close` on the next tick (a listener added right after still hears them).
    this.ws.abortHandshake = (err) => this.fail(err, true);
  }

  /** Sends one upgrade request (the first, or one after a redirect). */
  private send(target: DialTarget): void {
    this.target = target;
    this.key = generateKey();
    const req = (target.secure ? https.request : http.request)(this.requestOptions(target));
    this.req = req;
    req.on('error', (err) => this.onRequestError(req, err));
    req.on('response', (res) => this.onResponse(req, res));
    req.on('upgrade', (res, socket: Socket, head: Buffer) => this.onUpgrade(req, res, socket, head));
    // `ws` 8 semantics: listeners may inspect or remove headers before the request is sent. An
    // exception thrown by a listener (or by createConnection above) propagates, as in `ws`.
    if (this.redirects > 0 && this.ws.listenerCount('redirect') > 0) this.ws.emit('redirect', target.url.href, req);
    if (this.settled) return;
    const finish = this.options.finishRequest;
    if (finish !== undefined) finish(req, this.ws);
    else req.end();
  }

  private requestOptions(target: DialTarget): ClientRequestArgs {
    const opts: ClientRequestArgs = {
      ...connectionOptions(this.options),
      method: 'GET',
      host: target.host,
      hostname: target.host,
      defaultPort: target.defaultPort,
      path: target.path,
      headers: this.requestHeaders(),
    };
    // The port as the URL spells it (a string; the default port as a number), as `ws` passes it
    // on to `createConnection`.
    if (target.socketPath !== undefined) opts.socketPath = target.socketPath;
    else opts.port = target.url.port === '' ? target.defaultPort : (target.url.port as unknown as number);
    const auth = this.sendAuth ? (this.credentials ?? target.auth) : undefined;
    if (auth !== undefined) opts.auth = auth;
    // Without an agent, dial a dedicated socket: an upgraded connection is never pooled.
    if (opts.agent === undefined && opts.createConnection === undefined) {
      opts.createConnection = target.secure ? tlsConnect : netConnect;
    }
    return opts;
  }

  private requestHeaders(): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of this.headers) headers[name] = value;
    const protocols = this.protocols;
    const origin = this.options.origin;
    // RFC 6455 §4.1 items 5-10: the fields of the opening handshake. Set after the user's
    // headers, case-insensitively replacing them, so none can be overridden.
    const own: OutgoingHttpHeaders = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': this.key,
      'Sec-WebSocket-Version': '13',
    };
    if (protocols.length > 0) own['Sec-WebSocket-Protocol'] = protocols.join(',');
    if (this.deflate !== null) own['Sec-WebSocket-Extensions'] = buildClientOffer(this.deflate);
    if (origin !== undefined && origin !== '') own.Origin = origin;
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === 'origin' && own.Origin !== undefined) delete headers[name];
    }
    return { ...headers, ...own };
  }

  private onRequestError(req: ClientRequest, err: Error): void {
    if (req !== this.req || this.settled) return;
    // Network errors keep Node's own code (ECONNREFUSED, ENOTFOUND, ...), as `ws` users expect.
    this.fail(err);
  }

  private onResponse(req: ClientRequest, res: IncomingMessage): void {
    if (req !== this.req || this.settled) {
      res.resume();
      return;
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    // RFC 6455 §4.1: a 3xx MAY be followed; `ws` only does so with `followRedirects`.
    if (this.options.followRedirects === true && status >= 300 && status < 400 && location !== undefined) {
      this.redirect(req, location);
      return;
    }
    if (status === 101) {
      // Node reports a 101 without `Upgrade` as a plain response: a broken handshake (§4.1 step 2).
      this.fail(handshakeError(res, this.key, this.protocols));
      return;
    }
    if (this.ws.listenerCount('unexpected-response') === 0) {
      this.fail(new WebSocketError('WS_ERR_UNEXPECTED_RESPONSE', `Unexpected server response: ${status}`));
      return;
    }
    // `ws` semantics: the listener owns the response. No `error` or `close` follows unless it
    // calls `ws.close()`/`terminate()` (which end the request and its socket); the handshake
    // timer stops. Without an agent the socket is ours alone (never pooled): once the response
    // was read it has no use, so it is closed then (Node keeps a keep-alive socket open, and
    // `req.destroy()` does nothing once the response ended).
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.options.agent === undefined) res.once('end', () => destroySocketOf(req));
    this.ws.emit('unexpected-response', req, res);
  }

  private redirect(req: ClientRequest, location: string): void {
    this.req = null;
    req.destroy();
    const max = this.options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    if (++this.redirects > max) {
      this.fail(new WebSocketError('WS_ERR_TOO_MANY_REDIRECTS', 'Maximum redirects exceeded'));
      return;
    }
    let next: DialTarget;
    try {
      next = resolveLocation(location, this.target);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (this.ws.listenerCount('redirect') === 0) this.dropCredentials(next);
    setUrl(this.ws, next.url.href);
    this.send(next);
  }

  /**
   * Credentials meant for one server are not sent to another (as curl does): Authorization,
   * Cookie, URL userinfo and the `auth` option go when the host changes or TLS is dropped; a
   * custom Host header goes when the host changes.
   */
  private dropCredentials(next: DialTarget): void {
    const sameHost = next.origin === this.first.origin;
    if (sameHost && (next.secure || !this.first.secure)) return;
    const drop = sameHost ? ['authorization', 'cookie'] : ['authorization', 'cookie', 'host'];
    this.headers = this.headers.filter(([name]) => !drop.includes(name.toLowerCase()));
    this.sendAuth = false;
  }

  private onUpgrade(req: ClientRequest, res: IncomingMessage, socket: Socket, head: Buffer): void {
    if (req !== this.req || this.settled) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    // As in `ws`, `upgrade` comes before the response is checked; a listener may close the
    // WebSocket, which aborts the handshake.
    this.ws.emitUpgrade(res);
    if (this.settled) return;
    const settings = this.settings;
    const maxPayload = settings.maxPayload;
    let protocol: string;
    let extension: PerMessageDeflate | null = null;
    let extensions = '';
    try {
      // RFC 6455 §4.1: only extensions that were offered may be in the answer.
      const offered = this.deflate === null ? [] : [EXTENSION_NAME];
      const verified = verifyUpgradeResponse(res, { key: this.key, protocols: this.protocols, extensionNames: offered });
      protocol = verified.protocol;
      if (this.deflate !== null && verified.extensions.length > 0) {
        const params = acceptServerResponse(verified.extensions, this.deflate);
        if (params !== null) {
          extension = new PerMessageDeflate(params, 'client', this.deflate, maxPayload);
          extensions = formatExtensions(verified.extensions);
        }
      }
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.settle();
    this.ws.attach(socket, head, { role: 'client', protocol, extensions, extension, settings });
    clientOpened(this.ws, this.options);
  }

  /** Marks the handshake finished and releases the timer; returns false if it already was. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.req = null;
    this.socket = null;
    return true;
  }

  /**
   * Aborts the handshake: tears down the request and socket and reports `err` (then 1006), at
   * once or, when the application asked for it, on the next tick.
   */
  private fail(err: Error, deferred = false): void {
    const req = this.req;
    const socket = this.socket;
    if (!this.settle()) return;
    if (req !== null) {
      req.destroy();
      // After a keep-alive response ended, req.destroy() leaves its socket open.
      destroySocketOf(req);
    }
    socket?.destroy();
    if (!deferred) {
      this.ws.failHandshake(err);
      return;
    }
    this.ws.handshakeAborted();
    process.nextTick(() => this.ws.failHandshake(err));
  }
}

/** Destroys the socket of a request (ours alone: requests are never pooled). */
function destroySocketOf(req: ClientRequest): void {
  const socket = req.socket;
  if (socket !== null && !socket.destroyed) socket.destroy();
}

/** The verification error for a 101 that Node did not treat as an upgrade. */
function handshakeError(res: IncomingMessage, key: string, protocols: string[]): Error {
  try {
    verifyUpgradeResponse(res, { key, protocols, extensionNames: [] });
  } catch (err) {
    return err as Error;
  }
  return new WebSocketError('WS_ERR_HANDSHAKE', 'Invalid Upgrade header');
}

type ConnectArgs = ClientRequestArgs & { servername?: string };

function netConnect(options: ClientRequestArgs): Socket {
  // `http` passes the request path as `path`, which `net.connect` would take for an IPC path.
  return net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
}

function tlsConnect(options: ConnectArgs): Socket {
  const host = options.host ?? 'localhost';
  // RFC 6066 §3: SNI carries host names only, never IP literals.
  const servername = options.servername ?? (net.isIP(host) === 0 ? host : '');
  return tls.connect({ ...(options as tls.ConnectionOptions), path: undefined, host, servername });
}
