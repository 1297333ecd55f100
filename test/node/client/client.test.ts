import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from '../../../src/index.js';
import { WebSocket } from '../../../src/node/socket/websocket.js';
import { delay, withTimeout } from '../helpers.js';

// ---- helpers: tiny raw servers, independent of our WebSocketServer ----

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const accept = (key: string): string => createHash('sha1').update(key + GUID).digest('base64');

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0)) fn();
});

/** Tracks a server's sockets so the test can tear everything down. */
function track<S extends net.Server>(server: S): S {
  const sockets = new Set<Duplex>();
  server.on('connection', (s: Socket) => sockets.add(s));
  server.on('secureConnection', (s: Socket) => sockets.add(s));
  server.on('upgrade', (_req: IncomingMessage, s: Duplex) => sockets.add(s));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return server;
}

async function listen<S extends net.Server>(server: S, at?: string): Promise<S> {
  track(server);
  if (at === undefined) server.listen(0, '127.0.0.1');
  else server.listen(at);
  await once(server, 'listening');
  return server;
}

const portOf = (server: net.Server): number => (server.address() as AddressInfo).port;

type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Writes a 101 response; `extra` lines are appended, `override` replaces the default lines. */
function answer101(req: IncomingMessage, socket: Duplex, extra: string[] = [], override?: string[]): void {
  const key = String(req.headers['sec-websocket-key']);
  const lines = override ?? ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept(key)}`];
  socket.write(`HTTP/1.1 101 Switching Protocols\r\n${[...lines, ...extra].join('\r\n')}\r\n\r\n`);
}

async function upgradeServer(onUpgrade: UpgradeHandler, onRequest?: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(onRequest ?? ((_req, res) => res.end('plain http')));
  server.on('upgrade', onUpgrade);
  return listen(server);
}

/** A TCP server that accepts and never answers. */
async function silentServer(): Promise<net.Server> {
  return listen(net.createServer(() => {}));
}

interface Outcome {
  errors: Error[];
  close: Promise<[number, Buffer]>;
}

/** Records `error` events and resolves with the `close` arguments. */
function watch(ws: WebSocket): Outcome {
  const errors: Error[] = [];
  ws.on('error', (err: Error) => errors.push(err));
  // Not events.once: it rejects on 'error', which these tests expect before 'close'.
  const close = new Promise<[number, Buffer]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason])));
  cleanups.push(() => ws.terminate());
  return { errors, close };
}

async function expectFailure(ws: WebSocket, code: string): Promise<Error> {
  const { errors, close } = watch(ws);
  const [closeCode] = await close;
  expect(closeCode).toBe(1006);
  expect(errors).toHaveLength(1);
  const err = errors[0] as Error & { code?: string };
  expect(err.code).toBe(code);
  expect(ws.readyState).toBe(WebSocket.CLOSED);
  return err;
}

const hasUrlHook = typeof (WebSocket.prototype as unknown as { setUrl?: unknown }).setUrl === 'function';

// ---- tests ----

describe('successful handshake', () => {
  it('sends the opening handshake, selects a subprotocol, emits upgrade and open', async () => {
    let seen: IncomingMessage | undefined;
    const server = await upgradeServer((req, socket) => {
      seen = req;
      answer101(req, socket, ['Sec-WebSocket-Protocol: b']);
      // A frame in the same segment as the 101 arrives as `head` and must not be lost.
      socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}/chat?room=1`, ['a', 'b'], {
      origin: 'https://example.com',
      headers: { 'X-Custom': 'yes', connection: 'keep-alive', 'Sec-WebSocket-Extensions': 'permessage-deflate' },
    });
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    const upgrade = once(ws, 'upgrade');
    const message = once(ws, 'message');
    await once(ws, 'open');
    const [res] = (await upgrade) as [IncomingMessage];
    expect(res.statusCode).toBe(101);
    expect(ws.protocol).toBe('b');
    expect(ws.extensions).toBe('');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    const [data, isBinary] = (await message) as [Buffer, boolean];
    expect(isBinary).toBe(false);
    expect(data.toString()).toBe('hi');

    const h = (seen as IncomingMessage).headers;
    expect(seen?.url).toBe('/chat?room=1');
    expect(seen?.method).toBe('GET');
    expect(h.connection).toBe('Upgrade');
    expect(h.upgrade).toBe('websocket');
    expect(h['sec-websocket-version']).toBe('13');
    expect(h['sec-websocket-key']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(h['sec-websocket-protocol']).toBe('a,b');
    // The user's header cannot replace the offer the client makes itself (deflate is on by default).
    expect(h['sec-websocket-extensions']).toBe('permessage-deflate; client_max_window_bits');
    expect(h.origin).toBe('https://example.com');
    expect(h['x-custom']).toBe('yes');
    expect(h.host).toBe(`127.0.0.1:${portOf(server)}`);
    ws.terminate();
    await once(ws, 'close');
  });

  it('accepts http: as ws: and a server that selects no subprotocol', async () => {
    const server = await upgradeServer((req, socket) => answer101(req, socket));
    const ws = new WebSocket(`http://127.0.0.1:${portOf(server)}`, 'chat');
    watch(ws);
    await once(ws, 'open');
    expect(ws.protocol).toBe('');
  });

  it.skipIf(!hasUrlHook)('normalises ws.url (http: → ws:)', () => {
    const ws = new WebSocket('http://127.0.0.1:1/x');
    watch(ws);
    expect(ws.url).toBe('ws://127.0.0.1:1/x');
  });

  it('sends URL credentials as Basic authorization', async () => {
    let auth: string | undefined;
    const server = await upgradeServer((req, socket) => {
      auth = req.headers.authorization;
      answer101(req, socket);
    });
    const ws = new WebSocket(`ws://us%40er:p%3Ass@127.0.0.1:${portOf(server)}/`);
    watch(ws);
    await once(ws, 'open');
    expect(auth).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  });
});

describe('response verification (RFC 6455 §4.1)', () => {
  const cases: Array<[string, (req: IncomingMessage, socket: Duplex) => void, string[]?]> = [
    [
      'a wrong Sec-WebSocket-Accept',
      (req, socket) =>
        answer101(req, socket, [], ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept('nope')}`]),
    ],
    [
      'a missing Sec-WebSocket-Accept',
      (req, socket) => answer101(req, socket, [], ['Upgrade: websocket', 'Connection: Upgrade']),
    ],
    [
      'a missing Upgrade header',
      (req, socket) =>
        answer101(req, socket, [], ['Connection: Upgrade', `Sec-WebSocket-Accept: ${accept(String(req.headers['sec-websocket-key']))}`]),
    ],
    ['a subprotocol that was not offered', (req, socket) => answer101(req, socket, ['Sec-WebSocket-Protocol: c']), ['a', 'b']],
    ['a subprotocol when none was offered', (req, socket) => answer101(req, socket, ['Sec-WebSocket-Protocol: a'])],
    [
      'an extension that was not offered',
      (req, socket) => answer101(req, socket, ['Sec-WebSocket-Extensions: x-webkit-deflate-frame']),
    ],
  ];

  for (const [name, respond, protocols] of cases) {
    it(`fails on ${name}`, async () => {
      let serverSocket: Duplex | undefined;
      const server = await upgradeServer((req, socket) => {
        serverSocket = socket;
        respond(req, socket);
      });
      const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`, protocols ?? []);
      let opened = false;
      ws.on('open', () => (opened = true));
      const err = await expectFailure(ws, 'WS_ERR_HANDSHAKE');
      expect(err.name).toBe('WebSocketError');
      expect(opened).toBe(false);
      // The client destroyed its socket, so the server sees the connection end.
      const peer = serverSocket as Duplex;
      if (!peer.readableEnded && !peer.destroyed) {
        await new Promise((resolve) => {
          peer.once('end', resolve);
          peer.once('close', resolve);
          peer.resume();
        });
      }
    });
  }
});

describe('non-101 responses', () => {
  it('fails with WS_ERR_UNEXPECTED_RESPONSE when nobody listens for unexpected-response', async () => {
    const server = await upgradeServer((_req, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
    const err = await expectFailure(ws, 'WS_ERR_UNEXPECTED_RESPONSE');
    expect(err.message).toBe('Unexpected server response: 200');
  });

  it('hands the response to an unexpected-response listener', async () => {
    const server = await upgradeServer((_req, socket) =>
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope'),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
    const { errors, close } = watch(ws);
    const [req, res] = (await once(ws, 'unexpected-response')) as [http.ClientRequest, IncomingMessage];
    expect(res.statusCode).toBe(403);
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    expect(errors).toHaveLength(0);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('nope');
    // As in `ws`: the response is the listener's; no `error` or `close` follows on its own.
    let closed = false;
    void close.then(() => (closed = true));
    req.destroy();
    await delay(50);
    expect(closed).toBe(false);
    expect(errors).toHaveLength(0);
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
  });

  for (const how of ['req.destroy()', 'ws.close()', 'ws.terminate()'] as const) {
    it(`${how} in the unexpected-response listener ends the TCP connection of a keep-alive response`, async () => {
      let serverSocketClosed: Promise<unknown> = Promise.resolve();
      const server = await upgradeServer((_req, socket) => {
        serverSocketClosed = once(socket, 'close');
        // Keep-alive: the server leaves the connection open for another request.
        socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nnope');
      });
      const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
      const { errors, close } = watch(ws);
      ws.on('unexpected-response', (req: http.ClientRequest, res: IncomingMessage) => {
        res.resume();
        res.on('end', () => {
          if (how === 'req.destroy()') req.destroy();
          else if (how === 'ws.close()') ws.close();
          else ws.terminate();
        });
      });
      await withTimeout(serverSocketClosed.then(() => undefined), 3000, 'the server sees the connection close');
      if (how === 'req.destroy()') {
        expect(errors).toHaveLength(0);
      } else {
        // Closing the WebSocket while CONNECTING reports the aborted handshake, as in `ws`.
        const [code] = await close;
        expect(code).toBe(1006);
        expect(errors.map((e) => e.message)).toEqual(['WebSocket was closed before the connection was established']);
      }
    });
  }

  it('lets the unexpected-response listener abort with terminate()', async () => {
    const server = await upgradeServer((_req, socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'));
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
    const { errors, close } = watch(ws);
    ws.on('unexpected-response', () => ws.terminate());
    const [code] = await close;
    expect(code).toBe(1006);
    expect((errors[0] as Error & { code?: string }).code).toBe('WS_ERR_NOT_OPEN');
  });

  it('does not follow a redirect unless followRedirects is set', async () => {
    const server = await upgradeServer((_req, socket) =>
      socket.end('HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n'),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
    const err = await expectFailure(ws, 'WS_ERR_UNEXPECTED_RESPONSE');
    expect(err.message).toBe('Unexpected server response: 302');
  });
});

describe('redirects', () => {
  /** A server that redirects per `routes` and accepts the upgrade on any other path. */
  async function redirectServer(routes: Record<string, string>, seen: IncomingMessage[] = []): Promise<http.Server> {
    return upgradeServer((req, socket) => {
      seen.push(req);
      const location = routes[req.url ?? ''];
      if (location === undefined) answer101(req, socket);
      else socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
    });
  }

  it('follows an absolute and a relative Location', async () => {
    const seen: IncomingMessage[] = [];
    const routes: Record<string, string> = {};
    const server = await redirectServer(routes, seen);
    const port = portOf(server);
    routes['/a'] = `ws://127.0.0.1:${port}/b`;
    routes['/b'] = 'final?x=1';
    const ws = new WebSocket(`ws://127.0.0.1:${port}/a`, { followRedirects: true });
    watch(ws);
    const redirects: string[] = [];
    ws.on('redirect', (url: string) => redirects.push(url));
    await once(ws, 'open');
    expect(seen.map((r) => r.url)).toEqual(['/a', '/b', '/final?x=1']);
    expect(redirects).toEqual([`ws://127.0.0.1:${port}/b`, `ws://127.0.0.1:${port}/final?x=1`]);
    // Each request carries a fresh key.
    expect(new Set(seen.map((r) => r.headers['sec-websocket-key'])).size).toBe(3);
    if (hasUrlHook) expect(ws.url).toBe(`ws://127.0.0.1:${port}/final?x=1`);
  });

  it('fails with WS_ERR_TOO_MANY_REDIRECTS past maxRedirects', async () => {
    const seen: IncomingMessage[] = [];
    const server = await redirectServer({ '/loop': '/loop' }, seen);
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}/loop`, { followRedirects: true, maxRedirects: 3 });
    await expectFailure(ws, 'WS_ERR_TOO_MANY_REDIRECTS');
    expect(seen).toHaveLength(4);
  });

  it('fails on a redirect to an unsupported scheme', async () => {
    const server = await redirectServer({ '/': 'ftp://127.0.0.1/' });
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}/`, { followRedirects: true });
    await expectFailure(ws, 'WS_ERR_INVALID_URL');
  });

  it('keeps credentials on the same host and drops them for another one', async () => {
    const other: IncomingMessage[] = [];
    const target = await redirectServer({}, other);
    const seen: IncomingMessage[] = [];
    const origin = await redirectServer({ '/a': '/b', '/b': `ws://127.0.0.1:${portOf(target)}/c` }, seen);
    const ws = new WebSocket(`ws://u:p@127.0.0.1:${portOf(origin)}/a`, {
      followRedirects: true,
      headers: { Authorization: 'Bearer t', Cookie: 'c=1', 'X-Keep': 'k' },
    });
    watch(ws);
    await once(ws, 'open');
    expect(seen.map((r) => r.headers.authorization)).toEqual(['Bearer t', 'Bearer t']);
    expect(seen.map((r) => r.headers.cookie)).toEqual(['c=1', 'c=1']);
    const final = other[0] as IncomingMessage;
    expect(final.url).toBe('/c');
    expect(final.headers.authorization).toBeUndefined();
    expect(final.headers.cookie).toBeUndefined();
    expect(final.headers['x-keep']).toBe('k');
  });

  const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

  it('regression: the auth option is sent on the same host and dropped for another one, like URL userinfo', async () => {
    const other: IncomingMessage[] = [];
    const target = await redirectServer({}, other);
    const seen: IncomingMessage[] = [];
    const origin = await redirectServer({ '/a': '/b', '/b': `ws://127.0.0.1:${portOf(target)}/c` }, seen);
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(origin)}/a`, { followRedirects: true, auth: 'user:secret' });
    watch(ws);
    await once(ws, 'open');
    expect(seen.map((r) => r.headers.authorization)).toEqual([basic('user:secret'), basic('user:secret')]);
    expect((other[0] as IncomingMessage).headers.authorization).toBeUndefined();
  });

  it('regression: a Location with userinfo does not replace the first URL\'s credentials (same host)', async () => {
    const seen: IncomingMessage[] = [];
    const routes: Record<string, string> = {};
    const server = await redirectServer(routes, seen);
    routes['/a'] = `ws://evil:creds@127.0.0.1:${portOf(server)}/b`;
    const ws = new WebSocket(`ws://first:pw@127.0.0.1:${portOf(server)}/a`, { followRedirects: true });
    watch(ws);
    await once(ws, 'open');
    expect(seen.map((r) => r.headers.authorization)).toEqual([basic('first:pw'), basic('first:pw')]);
  });

  it('regression: a Location with userinfo on another host sends no credentials at all', async () => {
    const other: IncomingMessage[] = [];
    const target = await redirectServer({}, other);
    const origin = await redirectServer({ '/a': `ws://u2:p2@127.0.0.1:${portOf(target)}/c` });
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(origin)}/a`, { followRedirects: true, auth: 'user:secret' });
    watch(ws);
    await once(ws, 'open');
    expect((other[0] as IncomingMessage).headers.authorization).toBeUndefined();
  });

  it('uses the userinfo of a same-host Location when the first URL had no credentials', async () => {
    const seen: IncomingMessage[] = [];
    const routes: Record<string, string> = {};
    const server = await redirectServer(routes, seen);
    routes['/a'] = `ws://late:pw@127.0.0.1:${portOf(server)}/b`;
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}/a`, { followRedirects: true });
    watch(ws);
    await once(ws, 'open');
    expect(seen.map((r) => r.headers.authorization)).toEqual([undefined, basic('late:pw')]);
  });
});

describe('handshake timeout', () => {
  it('fails with WS_ERR_HANDSHAKE_TIMEOUT when the server never answers', async () => {
    const server = await silentServer();
    const started = Date.now();
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`, { handshakeTimeout: 200 });
    const err = await expectFailure(ws, 'WS_ERR_HANDSHAKE_TIMEOUT');
    expect(err.message).toBe('Opening handshake has timed out');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});

describe('closing while CONNECTING', () => {
  it('close() from an upgrade listener aborts before open', async () => {
    const server = await upgradeServer((req, socket) => answer101(req, socket));
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
    let opened = false;
    ws.on('open', () => (opened = true));
    ws.on('upgrade', () => ws.close());
    await expectFailure(ws, 'WS_ERR_NOT_OPEN');
    expect(opened).toBe(false);
  });

  it('close() emits an error and close 1006', async () => {
    const server = await silentServer();
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
    await once(server, 'connection');
    const outcome = expectFailure(ws, 'WS_ERR_NOT_OPEN');
    ws.close();
    await outcome;
  });

  it('terminate() right after construction emits close 1006 and never opens', async () => {
    const server = await upgradeServer((req, socket) => answer101(req, socket));
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}`);
    let opened = false;
    ws.on('open', () => (opened = true));
    const outcome = expectFailure(ws, 'WS_ERR_NOT_OPEN');
    ws.terminate();
    await outcome;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(opened).toBe(false);
  });
});

describe('connection errors', () => {
  it('reports a refused connection with Node\'s own error code, as ws does', async () => {
    const server = await listen(net.createServer());
    const port = portOf(server);
    server.close();
    await once(server, 'close');
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await expectFailure(ws, 'ECONNREFUSED');
  });
});

describe('ws+unix:', () => {
  it.skipIf(process.platform === 'win32')('dials a Unix domain socket with a request path and query', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ws6455-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'app.sock');
    const urls: Array<string | undefined> = [];
    const server = http.createServer();
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      urls.push(req.url);
      answer101(req, socket);
    });
    await listen(server, sock);

    const a = new WebSocket(`ws+unix:${sock}:/chat?x=1`);
    watch(a);
    await once(a, 'open');
    const b = new WebSocket(`ws+unix://${sock}`);
    watch(b);
    await once(b, 'open');
    expect(urls).toEqual(['/chat?x=1', '/']);

    // A path-absolute Location keeps the socket and replaces the request path.
    server.removeAllListeners('upgrade');
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      urls.push(req.url);
      if (req.url === '/old') socket.end('HTTP/1.1 301 Moved\r\nLocation: /new?y=2\r\nContent-Length: 0\r\n\r\n');
      else answer101(req, socket);
    });
    const c = new WebSocket(`ws+unix:${sock}:/old`, { followRedirects: true });
    watch(c);
    await once(c, 'open');
    expect(urls.slice(2)).toEqual(['/old', '/new?y=2']);
  });
});

describe('invalid arguments', () => {
  const badUrls = [
    'not a url',
    'ftp://127.0.0.1/',
    'file:///tmp/x',
    'ws://127.0.0.1/#frag',
    'ws://127.0.0.1/#',
    'ws+unix:',
    'ws+unix::/path',
  ];
  for (const url of badUrls) {
    it(`throws WS_ERR_INVALID_URL for ${JSON.stringify(url)}`, () => {
      expect(() => new WebSocket(url)).toThrow(expect.objectContaining({ code: 'WS_ERR_INVALID_URL' }));
    });
  }

  it('throws for a URL object with a fragment', () => {
    expect(() => new WebSocket(new URL('ws://127.0.0.1/x#y'))).toThrow(expect.objectContaining({ code: 'WS_ERR_INVALID_URL' }));
  });

  it('throws SyntaxError for invalid or duplicated subprotocols', () => {
    expect(() => new WebSocket('ws://127.0.0.1:1', ['a b'])).toThrow(SyntaxError);
    expect(() => new WebSocket('ws://127.0.0.1:1', ['a', 'a'])).toThrow(SyntaxError);
    expect(() => new WebSocket('ws://127.0.0.1:1', [''])).toThrow(SyntaxError);
  });

  it('throws synchronously for a header value http cannot send', () => {
    expect(() => new WebSocket('ws://127.0.0.1:1', { headers: { 'X-Bad': 'a\r\nb' } })).toThrow(TypeError);
  });

  it('throws RangeError for an unsupported protocolVersion', () => {
    expect(() => new WebSocket('ws://127.0.0.1:1', { protocolVersion: 8 })).toThrow(RangeError);
  });
});

// ---- wss: (needs the openssl binary to make a self-signed certificate) ----

function makeCert(): { key: Buffer; cert: Buffer } | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws6455-tls-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { key: readFileSync(keyFile), cert: readFileSync(certFile) };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tlsMaterial = makeCert();

describe.skipIf(tlsMaterial === null)('wss:', () => {
  async function tlsServer(): Promise<https.Server> {
    const server = https.createServer({ key: tlsMaterial?.key, cert: tlsMaterial?.cert });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => answer101(req, socket));
    return listen(server);
  }

  it('passes TLS options through (ca) and opens', async () => {
    const server = await tlsServer();
    const ws = new WebSocket(`wss://127.0.0.1:${portOf(server)}`, { ca: tlsMaterial?.cert });
    watch(ws);
    await once(ws, 'open');
  });

  it('rejects an untrusted certificate by default', async () => {
    const server = await tlsServer();
    const ws = new WebSocket(`wss://127.0.0.1:${portOf(server)}`);
    const err = await expectFailure(ws, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(err).toBeInstanceOf(Error);
  });

  it('keeps Node\'s own reads on TLS sockets (not the shared input buffer) and echoes intact', async () => {
    const server = await listen(https.createServer({ key: tlsMaterial?.key, cert: tlsMaterial?.cert }));
    const wss = new WebSocketServer({ server });
    cleanups.push(() => wss.close());
    const serverSockets: Duplex[] = [];
    wss.on('connection', (peer: WebSocket) => {
      serverSockets.push((peer as unknown as { transport: { socket: Duplex } }).transport.socket);
      peer.on('message', (data: Buffer, isBinary: boolean) => peer.send(data, { binary: isBinary }));
    });
    const ws = new WebSocket(`wss://127.0.0.1:${portOf(server)}`, { ca: tlsMaterial?.cert });
    watch(ws);
    await once(ws, 'open');
    const sent = [Buffer.alloc(10, 1), Buffer.alloc(300_000, 2), Buffer.alloc(1000, 3)];
    const echoed: Buffer[] = [];
    ws.on('message', (data: Buffer) => echoed.push(data));
    for (const data of sent) ws.send(data);
    await withTimeout(
      (async () => {
        while (echoed.length < sent.length) await delay(10);
      })(),
    );
    echoed.forEach((data, i) => expect(data.equals(sent[i] as Buffer)).toBe(true));
    // Node's private `kBuffer` field stays null: the TLS layer reads into its own buffers.
    const readBuffer = (socket: Duplex): unknown => {
      const field = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'kBuffer');
      return field === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[field];
    };
    const clientSocket = (ws as unknown as { transport: { socket: Duplex } }).transport.socket;
    expect(serverSockets).toHaveLength(1);
    for (const socket of [clientSocket, serverSockets[0] as Duplex]) {
      expect('encrypted' in socket).toBe(true);
      expect(readBuffer(socket)).toBeNull();
    }
  });

  it('connects with rejectUnauthorized: false', async () => {
    const server = await tlsServer();
    const ws = new WebSocket(`https://127.0.0.1:${portOf(server)}`, { rejectUnauthorized: false });
    watch(ws);
    await once(ws, 'open');
  });
});
