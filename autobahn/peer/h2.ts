/**
 * The peer over HTTP/2 (RFC 8441): each case runs on a stream opened by an extended CONNECT, and the stream plays
 * the part of the TCP connection (RFC 8441 §5): dropping TCP is a RST_STREAM with CANCEL, closing it is
 * END_STREAM, and a stream whose other side ended is ended here too, as a TCP socket without half-open ends when
 * the FIN arrives. The framing underneath is Node's `http2` module, never the library under test.
 */
import http2, { constants, type ClientHttp2Session, type ClientHttp2Stream, type Http2Stream, type ServerHttp2Stream } from 'node:http2';
import { Duplex } from 'node:stream';

const destroyDuplex = Duplex.prototype.destroy;

/** Makes `stream` behave as the session's TCP socket would (see the module comment) and returns it. */
export function streamAsSocket<T extends Http2Stream>(stream: T): T {
  (stream as Http2Stream).destroy = function destroyWithCancel(this: Http2Stream, err?: Error): Http2Stream {
    if (err === undefined && !this.closed && !this.destroyed) this.close(constants.NGHTTP2_CANCEL);
    return destroyDuplex.call(this, err) as Http2Stream;
  };
  stream.on('end', () => {
    if (!stream.writableEnded && !stream.destroyed) stream.end();
  });
  return stream;
}

/** The headers of a request or response as the text a report shows. */
export function headersText(headers: http2.IncomingHttpHeaders | http2.OutgoingHttpHeaders): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`)
    .join('\r\n');
}

/** One HTTP/2 session to the server under test, opened again when the previous one is gone or retired. */
export class PeerSession {
  private session: ClientHttp2Session | null = null;
  private ready: Promise<ClientHttp2Session> | null = null;

  constructor(private readonly origin: string) {}

  /** Resolves with a session whose SETTINGS arrived (RFC 8441 §3: they must allow extended CONNECT). */
  get(): Promise<ClientHttp2Session> {
    const current = this.session;
    if (current !== null && !current.closed && !current.destroyed && this.ready !== null) return this.ready;
    const session = http2.connect(this.origin);
    this.session = session;
    session.on('error', () => {});
    session.on('goaway', () => {
      if (this.session === session) this.session = null;
    });
    this.ready = new Promise((resolve, reject) => {
      session.once('remoteSettings', (settings) => {
        if (settings.enableConnectProtocol === true) resolve(session);
        else reject(new Error('the server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL'));
      });
      session.once('close', () => reject(new Error('HTTP/2 session closed')));
    });
    this.ready.catch(() => {});
    return this.ready;
  }

  close(): void {
    this.session?.destroy();
    this.session = null;
  }
}

/** The outcome of an extended CONNECT. */
export type StreamOpened =
  | { stream: ClientHttp2Stream; request: string; response: string; extensions: string | undefined }
  | { error: string; request: string; response: string; timedOut: boolean };

/** Sends a WebSocket extended CONNECT for `url` (RFC 8441 §5) and waits for a 200 answer. */
export async function openStream(peer: PeerSession, url: URL, userAgent: string, extensions: string | undefined, timeoutSecs: number): Promise<StreamOpened> {
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'http',
    ':path': `${url.pathname || '/'}${url.search}`,
    ':authority': url.host,
    'user-agent': userAgent,
    'sec-websocket-version': '13',
  };
  if (extensions) headers['sec-websocket-extensions'] = extensions;
  const request = headersText(headers);
  let session: ClientHttp2Session;
  try {
    session = await peer.get();
  } catch (err) {
    return { error: `connection failed: ${(err as Error).message}`, request, response: '', timedOut: false };
  }
  const stream = session.request(headers, { endStream: false });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve({ error: 'peer did not finish (in time) the opening handshake', request, response: '', timedOut: true });
    }, timeoutSecs * 1000);
    stream.on('error', () => {});
    stream.once('close', () => {
      clearTimeout(timer);
      resolve({ error: 'stream closed during the opening handshake', request, response: '', timedOut: false });
    });
    stream.once('response', (answer) => {
      clearTimeout(timer);
      // Pause so no frame byte is lost before the session's listener is attached.
      stream.pause();
      const response = headersText(answer);
      if (answer[':status'] !== 200) {
        stream.destroy();
        resolve({ error: `expected :status 200, got ${String(answer[':status'])}`, request, response, timedOut: false });
        return;
      }
      if (answer['sec-websocket-accept'] !== undefined) {
        stream.destroy();
        resolve({ error: 'Sec-WebSocket-Accept in an HTTP/2 answer (RFC 8441 §5)', request, response, timedOut: false });
        return;
      }
      const accepted = answer['sec-websocket-extensions'];
      resolve({ stream: streamAsSocket(stream), request, response, extensions: Array.isArray(accepted) ? accepted.join(', ') : accepted });
    });
  });
}

/** A validated extended CONNECT on the server side. */
export interface StreamRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly extensions: string | undefined;
}

/** Server side: checks a stream's request (RFC 8441 §4-5); returns the request or an error text. */
export function checkStreamRequest(headers: http2.IncomingHttpHeaders): StreamRequest | string {
  if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') return 'not a WebSocket extended CONNECT';
  if (headers['sec-websocket-version'] !== '13') return 'Sec-WebSocket-Version must be 13';
  if (headers['sec-websocket-key'] !== undefined) return 'Sec-WebSocket-Key has no place in an HTTP/2 request (RFC 8441 §5)';
  const url = new URL(String(headers[':path'] ?? '/'), 'http://peer.invalid');
  const offer = headers['sec-websocket-extensions'];
  return { path: url.pathname, query: url.searchParams, extensions: Array.isArray(offer) ? offer.join(', ') : offer };
}

/** Server side: answers a stream with 200 (and the accepted extension); returns the answer as text. */
export function acceptStream(stream: ServerHttp2Stream, server: string, extensions?: string): string {
  const headers: http2.OutgoingHttpHeaders = { ':status': 200, server };
  if (extensions) headers['sec-websocket-extensions'] = extensions;
  stream.respond(headers);
  streamAsSocket(stream);
  return headersText(headers);
}

/** Server side: refuses a stream. */
export function refuseStream(stream: ServerHttp2Stream, status: number, text: string): void {
  stream.respond({ ':status': status, 'content-type': 'text/plain' });
  stream.end(text);
}
