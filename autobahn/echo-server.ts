/**
 * Autobahn testee: a WebSocketServer that echoes every message back, text as text and binary as binary.
 *
 *   PORT=9001 HOST=127.0.0.1 npm run autobahn:server        (our library)
 *   IMPL=ws npm run autobahn:server                         (the `ws` package, as a reference)
 */
import http2 from 'node:http2';
import { pathToFileURL } from 'node:url';
import { loadImpl } from './impl.js';
import type { ImplName, TesteeServer } from './impl.js';

/** Options of the echo server. */
export interface EchoServerOptions {
  readonly port?: number;
  readonly host?: string;
  readonly impl?: ImplName;
  /** Serve WebSockets as streams of an h2c server (RFC 8441) instead of on our own port (ws6455 only). */
  readonly http2?: boolean;
}

/** A running echo server. */
export interface EchoServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Largest message the testee accepts: section 9 sends 16 MiB, so 64 MiB leaves room. */
export const MAX_PAYLOAD = 64 * 1024 * 1024;

/** Starts the echo server and resolves once it listens. */
export async function startEchoServer(options: EchoServerOptions = {}): Promise<EchoServer> {
  const { WebSocketServer } = await loadImpl(options.impl ?? 'ws6455');
  const host = options.host ?? '127.0.0.1';
  if (options.http2 === true && options.impl === 'ws') throw new Error('ws serves no WebSockets over HTTP/2');
  const h2 = options.http2 === true ? http2.createServer() : null;
  const h2sessions = new Set<http2.ServerHttp2Session>();
  h2?.on('session', (session) => {
    h2sessions.add(session);
    session.on('close', () => h2sessions.delete(session));
  });
  const server: TesteeServer = new WebSocketServer({
    ...(h2 === null ? { port: options.port ?? 9001, host } : { server: h2 }),
    maxPayload: MAX_PAYLOAD,
    // Sections 12/13: accept permessage-deflate with the default settings (off by default on servers).
    perMessageDeflate: true,
  });
  h2?.listen(options.port ?? 9001, host);
  server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {}); // protocol errors are what the suite provokes; the library closes the socket itself
  });
  await new Promise<void>((resolve, reject) => {
    server.on('listening', resolve);
    server.on('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 9001);
  return {
    port,
    url: `ws://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients ?? []) c.terminate?.();
        server.close(() => {
          if (h2 === null) return resolve();
          for (const session of h2sessions) session.destroy();
          h2.close(() => resolve());
        });
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const impl = (process.env.IMPL ?? 'ws6455') as ImplName;
  const server = await startEchoServer({ port: Number(process.env.PORT ?? 9001), host: process.env.HOST ?? '127.0.0.1', impl });
  console.log(`echo server (${impl}) listening on ${server.url}`);
}
