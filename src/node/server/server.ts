import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { DEFAULT_MAX_HEADER_SIZE } from '../../core/request-head.js';
import { WebSocketError } from '../../core/errors.js';
import { acceptResponseLines, formatResponseHead, isOriginAllowed, plainAcceptResponse } from '../../core/handshake.js';
import type { ExtensionOffer } from '../../core/headers.js';
import {
  PerMessageDeflate,
  negotiateServer,
  resolveDeflateOptions,
  type PerMessageDeflateOptions,
} from '../../deflate/index.js';
import type { DrainOptions, DrainResult } from '../ops/drain.js';
import { markLocalClose } from '../ops/policy-close.js';
import type { ServerOptions, VerifyClientCallback, VerifyClientInfo } from './options.js';
import {
  abort,
  claimedSockets,
  headerValue,
  onHandshakeSocketError,
  refuseUnclaimed,
  upgradeListeners,
} from './http.js';
import { acceptStream, checkRequest, isHttp2Server, refuseRequest, StreamFront, streamOf, streamRequest } from './http2.js';
import { ServerRuntime } from './runtime.js';
import { UpgradeFront } from './upgrade-front.js';
import type { Session } from './session.js';
import { ServerSessions } from './sessions.js';
import { RESUME_PREFIX, SESSION_PROTOCOL, type SessionOffer } from '../../session/index.js';
import type { ServerStats } from '../ops/stats.js';
import { WebSocket } from '../socket/websocket.js';
import { type ConnectionSettings, resolveConnectionOptions } from '../io/connection-options.js';
import { isTransportSocket } from '../io/socket-link.js';

/**
 * As in `ws`: a socket is upgraded once. A second `handleUpgrade()` for the same socket is an
 * application bug (e.g. two servers answering one `upgrade` event) and throws.
 */
function checkNotUpgraded(socket: Duplex): void {
  if (isTransportSocket(socket)) {
    throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
  }
}

const EMPTY = Buffer.alloc(0);

/** Default time allowed for an upgrade request's headers and an async `verifyClient` (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

/**
 * A WebSocket server: on its own port, attached to an existing HTTP(S) server, or fed through
 * {@link WebSocketServer.handleUpgrade} (`noServer`). Events and options follow the `ws`
 * package. Unlike `ws` 8, `close()` also closes every client (1001) and waits for them.
 */
export class WebSocketServer extends EventEmitter {
  /** Open connections; `undefined` when `clientTracking` is `false` (as in `ws`). */
  readonly clients: Set<WebSocket>;
  /** The options in effect. */
  readonly options: Readonly<ServerOptions>;
  /** The server listening for this one: its own (`port`) or the user's (`server`). */
  private listener: NetServer | null = null;
  /** The listener created for the `port` option. */
  private front: UpgradeFront | null = null;
  /** The `stream` listener of an HTTP/2 `server` (http2.ts). */
  private streams: StreamFront | null = null;
  private state = RUNNING;
  private detach: (() => void) | null = null;
  private readonly deflate: PerMessageDeflateOptions | null;
  /** The settings every accepted connection shares (resolved once). */
  private readonly settings: ConnectionSettings;
  /** The class of accepted connections (the `WebSocket` option). */
  private readonly socketClass: typeof WebSocket;
  /** Statistics, limits, per-connection features and drain (server-runtime.ts). */
  private readonly runtime: ServerRuntime;
  /** Resumable sessions (the `sessions` option), or `null`. */
  private readonly sessionLayer: ServerSessions | null;
  private readonly onClientClosed = (): void => {
    if (this.state === CLOSING && this.runtime.live.size === 0) this.finishClose();
  };

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    const hasPort = options.port !== undefined && options.port !== null;
    const hasServer = options.server !== undefined && options.server !== null;
    if ([hasPort, hasServer, options.noServer === true].filter(Boolean).length !== 1) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    const socketClass = options.WebSocket ?? WebSocket;
    if (socketClass !== WebSocket && !(typeof socketClass === 'function' && socketClass.prototype instanceof WebSocket)) {
      throw new TypeError('The WebSocket option must be the WebSocket class or a class that extends it');
    }
    this.socketClass = socketClass;
    this.options = options;
    this.settings = resolveConnectionOptions({ ...options, generateMask: undefined });
    const live = new Set<WebSocket>();
    // As in `ws`, `clients` does not exist without client tracking.
    this.clients = options.clientTracking === false ? (undefined as unknown as Set<WebSocket>) : live;
    // permessage-deflate is off on servers unless asked for, as in `ws`.
    this.deflate = resolveDeflateOptions(options.perMessageDeflate, false);
    this.runtime = new ServerRuntime(options, live, this.onClientClosed);
    const sessions = options.sessions;
    this.sessionLayer =
      sessions === undefined || sessions === false
        ? null
        : new ServerSessions(sessions === true ? {} : sessions, {
            opened: (session, req) => this.emit('session', session, req),
          });
    if (hasPort) {
      // Our own listener, without node:http: see upgrade-front.ts.
      const front = new UpgradeFront({
        handshakeTimeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
        onUpgrade: (req, socket, head) => this.takeUpgrade(req, socket, head, null),
        onRefused: (status) => this.runtime.metrics.frontRefused(status),
      });
      this.front = front;
      this.watch(front.server, null);
      front.server.listen(options.port, options.host, options.backlog, callback);
    } else if (hasServer) {
      const server = options.server as HttpServer;
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
        this.takeUpgrade(req, socket, head, server);
      };
      upgradeListeners.add(onUpgrade);
      this.watch(server, onUpgrade);
      // RFC 8441: WebSocket streams of an HTTP/2 server (HTTP/1.1 upgrades still come through `upgrade`).
      if (isHttp2Server(server)) {
        this.streams = new StreamFront(server, {
          shouldHandle: (req) => this.shouldHandle(req),
          take: (req, stream) => this.upgrade(req, stream, EMPTY, this.emitConnection, true),
        });
      }
    }
  }

  /** Forwards the listener's `listening` and `error` events, and takes a shared server's upgrades. */
  private watch(server: NetServer, onUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | null): void {
    this.listener = server;
    const onListening = (): void => {
      this.emit('listening');
    };
    const onError = (err: Error): void => {
      this.emit('error', err);
    };
    server.on('listening', onListening);
    server.on('error', onError);
    if (onUpgrade !== null) server.on('upgrade', onUpgrade);
    this.detach = () => {
      server.off('listening', onListening);
      server.off('error', onError);
      if (onUpgrade !== null) server.off('upgrade', onUpgrade);
    };
  }

  /**
   * An upgrade request from the listener: checks the path, then upgrades. `shared` is the user's
   * HTTP server, whose `upgrade` event other listeners (other WebSocketServers) may also hear.
   */
  private takeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, shared: HttpServer | null): void {
    const others = shared === null ? 0 : shared.listenerCount('upgrade') - 1;
    if (!this.shouldHandle(req)) {
      // Another WebSocketServer on the same HTTP server may own this path.
      if (others === 0) {
        this.runtime.metrics.refused(400);
        abort(socket, 400, 'Unknown WebSocket path', undefined, req.method === 'HEAD');
      } else {
        process.nextTick(refuseUnclaimed, shared, socket);
      }
      return;
    }
    // Only another WebSocketServer's refuseUnclaimed looks at this, and only when there is one.
    if (others > 0) claimedSockets.add(socket);
    // A subclass that overrides handleUpgrade (as with ws) still gets every upgrade through it.
    if (this.handleUpgrade === WebSocketServer.prototype.handleUpgrade) this.upgrade(req, socket, head, this.emitConnection, true);
    else this.handleUpgrade(req, socket, head, this.emitConnection);
  }

  /** The bound address (own or attached server); `null` in `noServer` mode. */
  address(): AddressInfo | string | null {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    return this.listener?.address() ?? null;
  }

  /**
   * The resumable sessions this server holds (connected or away), by id; `undefined` without
   * the `sessions` option.
   */
  get sessions(): ReadonlyMap<string, Session> | undefined {
    return this.sessionLayer?.sessions;
  }

  /**
   * Forgets session `id` on this server without touching the store, closing its connection
   * with 4001 (`WS_SESSION_REPLACED`): for a shared store, when another server claimed it.
   * With `owner`, only when the copy held here is that one (`<serverId>.<n>`, as the store
   * names it), so a notice about an older copy cannot end a newer one. Returns whether a
   * session was released; always `false` without the `sessions` option.
   */
  releaseSession(id: string, owner?: string): boolean {
    return this.sessionLayer?.release(id, owner) ?? false;
  }

  /** Whether this server handles the request; by default, checks the `path` option. */
  shouldHandle(req: IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    return (q === -1 ? url : url.slice(0, q)) === path;
  }

  /**
   * Completes (or refuses) the upgrade of `req`. On success `cb(ws, req)` is called with the
   * open WebSocket; on failure an HTTP error response is written and the socket closed (or,
   * when `wsClientError` has listeners, they get the error, socket and request instead).
   */
  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: WebSocket, req: IncomingMessage) => void,
  ): void {
    checkNotUpgraded(socket);
    this.upgrade(req, socket, head, cb, false);
  }

  /**
   * Completes (or refuses) a WebSocket over an HTTP/2 stream (RFC 8441): `stream` and `headers`
   * as the HTTP/2 server's `stream` event gives them, for a `CONNECT` with `:protocol`
   * `websocket`. The same checks as {@link handleUpgrade}; on success `cb(ws, req)` is called,
   * with `req` an `IncomingMessage` built from the headers (`httpVersion` `2.0`). The server
   * must advertise `enableConnectProtocol` in its settings.
   */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, cb: (ws: WebSocket, req: IncomingMessage) => void): void {
    checkNotUpgraded(stream);
    this.upgrade(streamRequest(stream, headers), stream, EMPTY, cb, false);
  }

  /** `emit('connection', ws, req)`, as the callback of upgrades this server's listener takes on. */
  private readonly emitConnection = (ws: WebSocket, req: IncomingMessage): void => {
    this.emit('connection', ws, req);
  };

  /** {@link handleUpgrade}; `pathChecked` says the `upgrade` listener already ran shouldHandle. */
  private upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: WebSocket, req: IncomingMessage) => void,
    pathChecked: boolean,
  ): void {
    const check = checkRequest(req);
    if (!check.ok) {
      this.refuse(req, socket, check.status, check.message, check.headers);
      return;
    }
    if (this.state !== RUNNING) {
      this.refuse(req, socket, 503, 'Server is shutting down');
      return;
    }
    // Connection limits, drain and memory budget: refused before anything is allocated.
    const refusal = this.runtime.admission(req);
    if (refusal !== null) {
      this.refuse(req, socket, refusal.status, refusal.message);
      return;
    }
    // As in `ws`, handleUpgrade honours `path` / shouldHandle in noServer mode too (once per request).
    if (!pathChecked && !this.shouldHandle(req)) {
      this.runtime.metrics.refused(400);
      refuseRequest(req, socket, 400, 'Unknown WebSocket path');
      return;
    }
    // Cross-site browser requests are refused unless their origin is listed.
    if (!isOriginAllowed(check.origin, headerValue(req.headers.host), this.options.allowedOrigins)) {
      this.refuse(req, socket, 403, 'Origin not allowed');
      return;
    }
    // A session offer is read (and its token removed from `req`) before anything else sees it.
    const offer = this.sessionLayer === null ? null : this.sessionLayer.takeOffer(req);
    let protocol = '';
    if (offer !== null) {
      protocol = SESSION_PROTOCOL;
    } else if (check.protocols.length > 0) {
      protocol = this.chooseProtocol(check.protocols, req);
    }
    const offers = check.extensions;
    const verify = this.options.verifyClient;
    if (verify === undefined) {
      this.completeUpgrade(req, socket, head, check.key, protocol, offers, offer, cb);
      return;
    }
    const info: VerifyClientInfo = {
      origin: check.origin as string,
      secure: Boolean((req.socket as { encrypted?: boolean }).encrypted),
      req,
    };
    if (verify.length < 2) {
      if ((verify as (info: VerifyClientInfo) => boolean)(info)) this.completeUpgrade(req, socket, head, check.key, protocol, offers, offer, cb);
      else this.refuse(req, socket, 401);
      return;
    }
    // Socket errors can only arrive on a later tick: the synchronous paths need no listener.
    socket.on('error', onHandshakeSocketError);
    let answered = false;
    const timeout = this.options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const timer = timeout > 0 ? setTimeout(() => answer(false, 503, 'Handshake verification timed out'), timeout) : null;
    const answer: VerifyClientCallback = (ok, code, message, headers) => {
      if (answered) return;
      answered = true;
      if (timer) clearTimeout(timer);
      if (ok) this.completeUpgrade(req, socket, head, check.key, protocol, offers, offer, cb);
      else this.refuse(req, socket, code ?? 401, message, headers);
    };
    (verify as (info: VerifyClientInfo, cb: VerifyClientCallback) => void)(info, answer);
  }

  private completeUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    key: string,
    protocol: string,
    offers: ExtensionOffer[],
    offer: SessionOffer | null,
    cb: (ws: WebSocket, req: IncomingMessage) => void,
  ): void {
    checkNotUpgraded(socket);
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    if (this.state !== RUNNING) {
      this.refuse(req, socket, 503, 'Server is shutting down');
      return;
    }
    // Checked again: an asynchronous verifyClient may have let other connections in meanwhile.
    const refusal = this.runtime.admission(req);
    if (refusal !== null) {
      this.refuse(req, socket, refusal.status, refusal.message);
      return;
    }
    // RFC 6455 §4.2.2: the server's opening handshake.
    const settings = this.settings;
    // RFC 7692 §5: take the first acceptable permessage-deflate offer, decline the others.
    const deflate = this.deflate === null ? null : negotiateServer(offers, this.deflate);
    const extensions = deflate === null ? '' : deflate.response;
    if (streamOf(req) !== undefined) {
      const emitHeaders = this.listenerCount('headers') === 0 ? null : (lines: string[]) => this.emit('headers', lines, req);
      if (!acceptStream(req, protocol, extensions, emitHeaders)) {
        socket.destroy();
        return;
      }
    } else if (protocol === '' && extensions === '' && this.listenerCount('headers') === 0) {
      socket.write(plainAcceptResponse(key));
    } else {
      const headers = acceptResponseLines(key, protocol, extensions);
      this.emit('headers', headers, req);
      socket.write(formatResponseHead(headers));
    }
    socket.off('error', onHandshakeSocketError);

    const ws = new this.socketClass(null);
    ws.attach(socket, head, {
      role: 'server',
      protocol,
      extensions,
      extension:
        deflate === null || this.deflate === null
          ? null
          : new PerMessageDeflate(deflate.params, 'server', this.deflate, settings.maxPayload),
      settings,
    });
    this.runtime.attach(ws, req);
    // A session connection belongs to its session: the application gets the `session` event.
    if (offer !== null && this.sessionLayer !== null) this.sessionLayer.accept(ws, offer, req);
    else cb(ws, req);
  }

  /**
   * The subprotocol for a plain connection: `handleProtocols`' choice, or the first offered.
   * The session protocol and resume entries are never chosen by default (a client offering them
   * to a server without sessions learns at once that it has none), nor shown to
   * `handleProtocols` when they carry a token.
   */
  private chooseProtocol(offered: readonly string[], req: IncomingMessage): string {
    const listed = offered.filter((p) => !p.startsWith(RESUME_PREFIX));
    if (this.options.handleProtocols) {
      const chosen = this.options.handleProtocols(new Set(listed), req);
      return typeof chosen === 'string' ? chosen : '';
    }
    return listed.find((p) => p !== SESSION_PROTOCOL) ?? '';
  }

  private refuse(
    req: IncomingMessage,
    socket: Duplex,
    status: number,
    message?: string,
    headers?: Record<string, string>,
  ): void {
    this.runtime.metrics.refused(status);
    if (this.listenerCount('wsClientError') > 0) {
      // The socket is the listener's now; until it acts, an error on it only destroys it.
      socket.off('error', onHandshakeSocketError);
      socket.on('error', onHandshakeSocketError);
      const err = new WebSocketError('WS_ERR_HANDSHAKE', message ?? `Handshake refused with status ${status}`);
      (err as WebSocketError & { statusCode?: number }).statusCode = status;
      this.emit('wsClientError', err, socket, req);
      return;
    }
    refuseRequest(req, socket, status, message, headers);
  }

  /**
   * Stops accepting connections, closes every client with 1001 and waits for them (each is
   * destroyed after `closeTimeout` at the latest), closes the HTTP server if this server
   * created it, then emits `close` and calls `cb`.
   */
  close(cb?: (err?: Error) => void): void {
    if (this.state === CLOSED) {
      // As in `ws`: closing a closed server emits `close` again, with an error for its callback.
      if (cb) this.once('close', () => cb(new Error('The server is not running')));
      process.nextTick(() => this.emit('close'));
      return;
    }
    if (cb) this.once('close', () => cb());
    // A second call while closing only waits for the same `close` event.
    if (this.state === CLOSING) return;
    this.state = CLOSING;
    this.detach?.();
    this.detach = null;
    this.streams?.close();
    this.streams = null;
    this.sessionLayer?.stop();
    const live = this.runtime.live;
    for (const ws of live) {
      markLocalClose(ws, 'shutdown');
      ws.close(1001, 'Server shutting down');
    }
    if (live.size === 0) this.finishClose();
  }

  /**
   * Counters of this server: open connections, handshakes accepted and refused (by status),
   * messages and bytes in and out, close codes, local close reasons, broadcasts dropped by a
   * hub policy, backpressure events. Render them with `renderPrometheus(server.stats())`.
   */
  stats(): ServerStats {
    return this.runtime.stats();
  }

  /**
   * Closes every connection gradually (`ratePerSecond`, default all at once) with `code` (1001
   * or 1012), and terminates those still open at `deadline` ms (default 30,000). From the
   * call on, new handshakes are refused with 503; the server keeps listening until
   * {@link close}. Resolves once every connection has closed; a second call joins the first.
   *
   * @throws RangeError on invalid options
   */
  drain(options?: DrainOptions): Promise<DrainResult> {
    return this.runtime.drain(options);
  }

  private finishClose(): void {
    if (this.closing) return;
    this.closing = true;
    const front = this.front;
    if (front !== null) front.close(() => this.emitClose());
    else process.nextTick(() => this.emitClose());
  }

  /** The server is CLOSED from the moment its `close` event is emitted. */
  private emitClose(): void {
    this.state = CLOSED;
    this.emit('close');
  }

  /** finishClose() ran: the listener is closing, the `close` event follows. */
  private closing = false;
}
