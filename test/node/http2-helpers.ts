/**
 * HTTP/2 servers for the RFC 8441 tests: h2c (`http2.createServer`) or h2 over TLS
 * (`http2.createSecureServer`, self-signed certificate made at test time) on 127.0.0.1 port 0,
 * each with a WebSocketServer attached, its sessions recorded, and a cleanup that destroys the
 * sessions (a client's idle session would otherwise keep `server.close()` waiting).
 */
import http2, { type ClientHttp2Session, type Http2SecureServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket } from '../../src/index.js';
import { selfSignedCert } from '../compat/tls-cert.js';
import { onCleanup, TIMEOUT, withTimeout } from './helpers.js';

export interface H2Server {
  server: Http2Server | Http2SecureServer;
  wss: WebSocketServer;
  port: number;
  /** `ws://127.0.0.1:PORT` (h2c) or `wss://localhost:PORT` (TLS). */
  url: string;
  /** Every session the server accepted, in order. */
  sessions: ServerHttp2Session[];
  /** Every WebSocket the server accepted, in order. */
  accepted: WebSocket[];
}

export interface H2ServerOptions {
  secure?: boolean;
  allowHTTP1?: boolean;
  wss?: Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'host'>;
  /** Echo every message back (default true). */
  echo?: boolean;
}

/** The TLS material of the test servers; clients trust it with `ca`. */
export function tlsMaterial(): { key: string; cert: string } {
  return selfSignedCert();
}

/** Starts an HTTP/2 server with a WebSocketServer on it. */
export async function startH2(options: H2ServerOptions = {}): Promise<H2Server> {
  const secure = options.secure ?? false;
  const server = secure
    ? http2.createSecureServer({ ...tlsMaterial(), allowHTTP1: options.allowHTTP1 ?? false })
    : http2.createServer();
  const sessions: ServerHttp2Session[] = [];
  server.on('session', (session) => sessions.push(session));
  const wss = new WebSocketServer({ ...options.wss, server });
  const accepted: WebSocket[] = [];
  wss.on('connection', (ws) => {
    accepted.push(ws);
    ws.on('error', () => {});
    if (options.echo !== false) ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  onCleanup(async () => {
    for (const ws of accepted) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    for (const session of sessions) session.destroy();
    await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), TIMEOUT, 'http2 server close');
  });
  return { server, wss, port, url: secure ? `wss://localhost:${port}` : `ws://127.0.0.1:${port}`, sessions, accepted };
}

/** A raw `node:http2` client session to `server` (not ours), destroyed on cleanup. */
export async function rawSession(h2: H2Server): Promise<ClientHttp2Session> {
  const session = http2.connect(h2.url.replace(/^ws/, 'http'), h2.url.startsWith('wss') ? { ca: tlsMaterial().cert } : {});
  session.on('error', () => {});
  onCleanup(() => session.destroy());
  await withTimeout(new Promise<void>((resolve) => session.once('remoteSettings', () => resolve())), TIMEOUT, 'remote settings');
  return session;
}

/** The headers of a WebSocket extended CONNECT (RFC 8441 §5) for `path`. */
export function connectHeaders(path: string, extra: Record<string, string> = {}): http2.OutgoingHttpHeaders {
  return { ':method': 'CONNECT', ':protocol': 'websocket', ':path': path, 'sec-websocket-version': '13', ...extra };
}

/** Resolves with the response headers of `stream`, or rejects after the timeout. */
export function responseOf(stream: http2.ClientHttp2Stream): Promise<http2.IncomingHttpHeaders> {
  return withTimeout(new Promise((resolve) => stream.once('response', resolve)), TIMEOUT, 'response');
}

/** Reads a stream's whole body (as text). */
export function bodyOf(stream: http2.ClientHttp2Stream): Promise<string> {
  return withTimeout(
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      stream.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    }),
    TIMEOUT,
    'body',
  );
}
