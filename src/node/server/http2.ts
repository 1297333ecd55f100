/**
 * WebSockets on the streams of an HTTP/2 server (RFC 8441): a WebSocketServer attached to an
 * `http2.createServer()` or `http2.createSecureServer()` takes every extended CONNECT with
 * `:protocol websocket` whose path it handles, runs the same checks as for an HTTP/1.1 upgrade
 * (server.ts), answers `:status 200` and carries the connection's frames on the stream.
 *
 * What this file adds to the server:
 * - {@link StreamFront}: turns `SETTINGS_ENABLE_CONNECT_PROTOCOL` on for the server's new
 *   sessions (RFC 8441 §3) and listens to its `stream` event; with `allowHTTP1: true`, the
 *   HTTP/1.1 upgrades on the same port keep arriving through the `upgrade` event as before.
 * - {@link streamRequest}: the `IncomingMessage` that `verifyClient`, `handleProtocols`,
 *   `shouldHandle` and `connection` listeners receive for a stream: `method` `CONNECT`, `url`
 *   the `:path`, `httpVersion` `2.0`, `headers` with the pseudo-headers and `host` set to the
 *   `:authority` when the request has no `host`, `socket` the session's socket.
 * - {@link refuseStream} and {@link acceptStream}: the HTTP/2 answers.
 *
 * @internal
 * @module
 */
import { IncomingMessage } from 'node:http';
import {
  constants,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkExtendedConnect, isWebSocketConnect } from '../../core/extended-connect.js';
import { checkUpgradeRequest, type RequestCheck } from '../../core/handshake.js';
import { resetWithCancel } from '../io/stream-reset.js';
import { abort, claimedSockets, onHandshakeSocketError } from './http.js';

/** The HTTP/2 servers a WebSocketServer can be attached to. */
export type Http2ServerLike = Http2Server | Http2SecureServer;

/** Whether `server` is an HTTP/2 server (`node:http` servers have no `updateSettings`). @internal */
export function isHttp2Server(server: object): server is Http2ServerLike {
  return typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
}

/** What a {@link StreamFront} asks of its WebSocketServer. @internal */
export interface StreamHost {
  /** Whether the server handles this request (its `path`). */
  shouldHandle(req: IncomingMessage): boolean;
  /** Takes a WebSocket extended CONNECT whose path the server handles. */
  take(req: IncomingMessage, stream: ServerHttp2Stream): void;
}

/** `stream` and `connect` listeners of WebSocketServers, so that each can tell the others apart. */
const ourListeners = new WeakSet<object>();

/** Headers that only HTTP/1.1 knows (RFC 9113 §8.2.2): never sent on a stream. */
const CONNECTION_SPECIFIC = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'http2-settings']);

/** The listeners a WebSocketServer adds to an HTTP/2 server. @internal */
export class StreamFront {
  private readonly server: Http2ServerLike;
  private readonly onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders?: string[]) => void;
  private readonly onConnect: (req: Http2ServerRequest, res: Http2ServerResponse) => void;

  constructor(server: Http2ServerLike, host: StreamHost) {
    this.server = server;
    // RFC 8441 §3: a client may send an extended CONNECT only once the server's SETTINGS said
    // SETTINGS_ENABLE_CONNECT_PROTOCOL = 1. Node merges this into the settings of new sessions.
    server.updateSettings({ enableConnectProtocol: true });
    this.onStream = (stream, headers, _flags, rawHeaders) => {
      if (!isWebSocketConnect(headers) || claimedSockets.has(stream)) return;
      const req = streamRequest(stream, headers, rawHeaders);
      if (!host.shouldHandle(req)) {
        // Another WebSocketServer on the same HTTP/2 server may own this path.
        process.nextTick(refuseUnclaimed, server, stream);
        return;
      }
      claimedSockets.add(stream);
      host.take(req, stream);
    };
    // Node's compatibility layer (present once the server has a `request` listener) answers
    // every CONNECT with 405 unless someone listens to `connect`: listen, and leave WebSocket
    // CONNECTs to the `stream` listener. Any other CONNECT gets the 405 Node would have sent,
    // from the first WebSocketServer's listener, unless the application listens too.
    const onConnect = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
      if (isWebSocketConnect(req.headers)) return;
      const listeners = server.listeners('connect');
      if (listeners[0] !== onConnect || !listeners.every(isOurs)) return;
      res.statusCode = 405;
      res.end();
    };
    this.onConnect = onConnect;
    ourListeners.add(this.onStream);
    ourListeners.add(onConnect);
    server.on('stream', this.onStream);
    server.on('connect', onConnect);
  }

  /** Removes the listeners (the server keeps advertising the setting: RFC 8441 §3 forbids withdrawing it). */
  close(): void {
    this.server.off('stream', this.onStream);
    this.server.off('connect', this.onConnect);
  }
}

function isOurs(listener: object): boolean {
  return ourListeners.has(listener);
}

/** Node's compatibility layer's `stream` listener (it answers through `request` and `connect`). */
function isCompatListener(listener: { name: string }): boolean {
  return listener.name === 'bound onServerStream';
}

/**
 * Runs after every `stream` listener: a WebSocket CONNECT that no WebSocketServer took and that
 * nothing answered gets 400 when every listener is a WebSocketServer's (or Node's compatibility
 * layer, which leaves CONNECTs to `connect` listeners); otherwise the stream would hang open
 * with no answer. The application's own listeners may own it, so then it is left alone.
 */
function refuseUnclaimed(server: Http2ServerLike, stream: ServerHttp2Stream): void {
  if (claimedSockets.has(stream) || stream.destroyed || stream.headersSent) return;
  if (!server.listeners('stream').every((l) => isOurs(l) || isCompatListener(l))) return;
  if (!server.listeners('connect').every(isOurs)) return;
  claimedSockets.add(stream);
  refuseStream(stream, 400, 'Unknown WebSocket path');
}

/** The stream of a request made by {@link streamRequest}. */
const kStream = Symbol('ws6455.stream');

type StreamRequest = IncomingMessage & { [kStream]?: ServerHttp2Stream };

/**
 * The `IncomingMessage` for a WebSocket extended CONNECT on `stream`, which handlers written for
 * HTTP/1.1 upgrades can read: method, url, version, headers (with `host`), and the session's
 * socket for `remoteAddress` and `encrypted`. @internal
 */
export function streamRequest(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders?: string[]): IncomingMessage {
  // The session's socket is a proxy that refuses reads and writes (Node guards the session's
  // framing), but reports the addresses and TLS state.
  const req = new IncomingMessage(stream.session?.socket as Socket);
  req.method = 'CONNECT';
  req.url = typeof headers[':path'] === 'string' ? headers[':path'] : '';
  req.httpVersionMajor = 2;
  req.httpVersionMinor = 0;
  req.httpVersion = '2.0';
  const copy: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) copy[name] = headers[name];
  // RFC 9113 §8.3.1: the authority travels as :authority. Code written for HTTP/1.1 (and our
  // same-origin check) reads `host`.
  if (copy.host === undefined && typeof headers[':authority'] === 'string') copy.host = headers[':authority'];
  req.headers = copy;
  req.rawHeaders = rawHeaders ?? Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, String(value)]));
  (req as StreamRequest)[kStream] = stream;
  // The request has no body to read (the stream carries WebSocket frames), and the session's
  // socket must not be touched: nothing the request does as a stream reaches it.
  const own = req as IncomingMessage & { _read: () => void; _destroy: (err: Error | null, cb: (err: Error | null) => void) => void };
  own._read = noop;
  own._destroy = passError;
  return req;
}

function noop(): void {}

function passError(err: Error | null, cb: (err: Error | null) => void): void {
  cb(err);
}

/** The stream behind a request made by {@link streamRequest}; `undefined` for an HTTP/1.1 request. @internal */
export function streamOf(req: IncomingMessage): ServerHttp2Stream | undefined {
  return (req as StreamRequest)[kStream];
}

/** Header fields for a stream's answer: lower-case names, HTTP/1.1-only fields left out. */
function addHeaders(out: OutgoingHttpHeaders, headers: Record<string, string> | undefined): void {
  if (headers === undefined) return;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-length' || CONNECTION_SPECIFIC.has(lower)) continue;
    out[lower] = value;
  }
}

/**
 * Refuses a WebSocket extended CONNECT with an HTTP status, a plain-text body and extra
 * headers, then ends the stream. @internal
 */
export function refuseStream(stream: ServerHttp2Stream, status: number, message?: string, headers?: Record<string, string>): void {
  stream.off('error', onHandshakeSocketError);
  stream.on('error', onHandshakeSocketError);
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.destroy();
    return;
  }
  const body = Buffer.from(message ?? String(status), 'utf8');
  const out: OutgoingHttpHeaders = { ':status': status, 'content-type': 'text/plain; charset=utf-8' };
  addHeaders(out, headers);
  out['content-length'] = body.length;
  stream.respond(out);
  // RFC 9113 §8.1: once its response is complete, a server may ask the client to stop sending
  // with RST_STREAM(NO_ERROR); a tunnel that was refused has nothing more to carry.
  stream.end(body, () => stream.close(constants.NGHTTP2_NO_ERROR));
  // Do not wait forever for a peer that never reads the answer (flow control).
  setTimeout(destroyStream, 1000, stream).unref();
}

function destroyStream(stream: Duplex): void {
  stream.destroy();
}

/**
 * Answers a WebSocket extended CONNECT with `:status 200` (RFC 8441 §5), the agreed subprotocol
 * and extensions, and what `headers` listeners add: `emitHeaders`, when given, receives lines
 * as the `headers` event has them for HTTP/1.1 (a status line, then `Name: value`), and the
 * lines it leaves become the answer's fields (names lower-cased; HTTP/1.1-only fields such as
 * `Connection` left out, RFC 9113 §8.2.2). Returns `false` when the stream can no longer be
 * answered (reset by the peer, or answered by someone else). @internal
 *
 * @throws TypeError when a line added by a listener is not `Name: value`
 */
export function acceptStream(req: IncomingMessage, protocol: string, extensions: string, emitHeaders: ((lines: string[]) => void) | null): boolean {
  const stream = streamOf(req);
  if (stream === undefined || stream.destroyed || stream.closed || stream.headersSent) return false;
  const out: OutgoingHttpHeaders = { ':status': 200 };
  if (emitHeaders === null) {
    if (protocol !== '') out['sec-websocket-protocol'] = protocol;
    if (extensions !== '') out['sec-websocket-extensions'] = extensions;
  } else {
    const lines = ['HTTP/2 200'];
    if (protocol !== '') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    if (extensions !== '') lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
    emitHeaders(lines);
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new TypeError(`Invalid header line: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      if (CONNECTION_SPECIFIC.has(name) || name.startsWith(':')) continue;
      const value = line.slice(colon + 1).trim();
      const previous = out[name];
      if (previous === undefined) out[name] = value;
      else out[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
    }
  }
  stream.respond(out);
  resetWithCancel(stream);
  return true;
}

/**
 * The server's check of a handshake request, by HTTP version: RFC 8441 §4-5 for a stream's
 * extended CONNECT, RFC 6455 §4.2.1 for an HTTP/1.1 upgrade. @internal
 */
export function checkRequest(req: IncomingMessage): RequestCheck {
  return streamOf(req) === undefined ? checkUpgradeRequest(req) : checkExtendedConnect(req.headers);
}

/**
 * Refuses a handshake with an HTTP status, by HTTP version: a response on the stream, or an
 * HTTP/1.1 response on the socket (no body for a HEAD), then the end of either. @internal
 */
export function refuseRequest(req: IncomingMessage, socket: Duplex, status: number, message?: string, headers?: Record<string, string>): void {
  const stream = streamOf(req);
  if (stream !== undefined) refuseStream(stream, status, message, headers);
  else abort(socket, status, message, headers, req.method === 'HEAD');
}
