import { afterEach, describe, expect, it } from 'vitest';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import {
  acceptFor,
  buildFrame,
  delay,
  listen,
  newKey,
  Op,
  openPair,
  RawClient,
  rawHttp,
  runCleanups,
  startServer,
  TIMEOUT,
  trackClient,
  trackServer,
  until,
  upgradeRequest,
  waitFor,
  watchClose,
  withTimeout,
  type HttpResponse,
} from '../helpers.js';

afterEach(runCleanups);

/** A refusal must be a complete HTTP response, after which the server closes the connection. */
function expectRefusal(res: HttpResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(res.statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${status} [A-Za-z ]+$`));
  expect(res.body.length).toBeGreaterThan(0);
  expect(Buffer.byteLength(res.body)).toBe(Number(res.headers['content-length']));
  expect(res.closedByServer).toBe(true);
}

/** Connects our client and resolves with the server-side WebSocket and the request. */
async function connectTo(wss: WebSocketServer, url: string, protocols: string[] = []): Promise<[WebSocket, WebSocket, IncomingMessage]> {
  const connection = waitFor<[WebSocket, IncomingMessage]>(wss, 'connection');
  const client = trackClient(new WebSocket(url, protocols));
  client.on('error', () => {});
  await waitFor(client, 'open');
  const [server, req] = await connection;
  return [client, server, req];
}

describe('server modes', () => {
  it('{ port: 0, host } emits listening, reports its address and accepts connections', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    trackServer(wss);
    await waitFor(wss, 'listening');
    const address = wss.address() as AddressInfo;
    expect(address.address).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    const [client, server, req] = await connectTo(wss, `ws://127.0.0.1:${address.port}/room?x=1`);
    expect(req.url).toBe('/room?x=1');
    expect(server.readyState).toBe(WebSocket.OPEN);
    const got = waitFor<[Buffer, boolean]>(server, 'message');
    client.send('over the own port');
    const [data, isBinary] = await got;
    expect(data.toString()).toBe('over the own port');
    expect(isBinary).toBe(false);
  });

  it('{ port } answers a plain HTTP request with 426 Upgrade Required', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(426);
    expect(res.body).toBe('Upgrade Required');
  });

  it('calls the constructor callback once listening', async () => {
    let called = 0;
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => called++);
    trackServer(wss);
    await waitFor(wss, 'listening');
    await delay(10);
    expect(called).toBe(1);
  });

  it('requires exactly one of port, server and noServer', () => {
    expect(() => new WebSocketServer({})).toThrow(TypeError);
    expect(() => new WebSocketServer({ port: 0, noServer: true })).toThrow(TypeError);
    expect(() => new WebSocketServer({ server: http.createServer(), noServer: true })).toThrow(TypeError);
  });

  it('{ server } shares an http.Server: WebSocket upgrades and plain HTTP requests both work', async () => {
    const httpServer = http.createServer((req, res) => {
      const body = `plain ${req.url}`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    const wss = new WebSocketServer({ server: httpServer });
    trackServer(wss);
    const listening = waitFor(wss, 'listening');
    const port = await listen(httpServer);
    await listening;
    expect((wss.address() as AddressInfo).port).toBe(port);

    const res = await rawHttp(port, 'GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.body).toBe('plain /page');

    const [client, server] = await connectTo(wss, `ws://127.0.0.1:${port}/ws`);
    const echoed = waitFor<[Buffer, boolean]>(client, 'message');
    server.on('message', (data: Buffer, isBinary: boolean) => server.send(data, { binary: isBinary }));
    client.send(Buffer.from([1, 2, 3]));
    const [data, isBinary] = await echoed;
    expect(isBinary).toBe(true);
    expect([...data]).toEqual([1, 2, 3]);

    // Closing the WebSocketServer leaves the user's HTTP server running.
    await withTimeout(new Promise<void>((resolve) => wss.close(() => resolve())));
    expect(httpServer.listening).toBe(true);
    const again = await rawHttp(port, 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(again.body).toBe('plain /after');
  });

  it('{ noServer: true } + handleUpgrade(req, socket, head, cb) hands over an open WebSocket', async () => {
    const wss = new WebSocketServer({ noServer: true });
    trackServer(wss);
    expect(() => wss.address()).toThrow();
    const httpServer = http.createServer((_req, res) => res.end('http'));
    const upgraded: Array<[WebSocket, IncomingMessage]> = [];
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, (ws, request) => {
        upgraded.push([ws, request]);
        wss.emit('connection', ws, request);
      });
    });
    const port = await listen(httpServer);
    const [client, server, req] = await connectTo(wss, `ws://127.0.0.1:${port}/nos`);
    expect(upgraded).toHaveLength(1);
    expect(upgraded[0]?.[0]).toBe(server);
    expect(upgraded[0]?.[1]).toBe(req);
    expect(req.url).toBe('/nos');
    expect(server.readyState).toBe(WebSocket.OPEN);
    expect(wss.clients.has(server)).toBe(true);
    const got = waitFor<[Buffer]>(client, 'message');
    server.send('from noServer');
    expect((await got)[0].toString()).toBe('from noServer');
  });

  it('handleUpgrade honours the path option in noServer mode (as ws does): another path gets 400', async () => {
    const wss = new WebSocketServer({ noServer: true, path: '/only' });
    trackServer(wss);
    const httpServer = http.createServer();
    let upgraded = 0;
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, () => upgraded++);
    });
    const port = await listen(httpServer);
    expectRefusal(await rawHttp(port, upgradeRequest(port, { path: '/other' })), 400);
    expect(upgraded).toBe(0);
    await RawClient.open(port, { path: '/only?q=1' });
    expect(upgraded).toBe(1);
  });

  it('path: only that path (query ignored) is upgraded; another path gets 400 and the socket is closed', async () => {
    const { wss, port } = await startServer({ path: '/chat' });
    const [, , req] = await connectTo(wss, `ws://127.0.0.1:${port}/chat?room=2`);
    expect(req.url).toBe('/chat?room=2');
    let connections = 0;
    wss.on('connection', () => connections++);
    const res = await rawHttp(port, upgradeRequest(port, { path: '/other' }));
    expectRefusal(res, 400);
    const res2 = await rawHttp(port, upgradeRequest(port, { path: '/chat/sub' }));
    expectRefusal(res2, 400);
    expect(connections).toBe(0);
  });

  it('two servers with different paths share one http.Server; a path neither handles gets 400', async () => {
    const httpServer = http.createServer();
    const a = new WebSocketServer({ server: httpServer, path: '/a' });
    const b = new WebSocketServer({ server: httpServer, path: '/b' });
    trackServer(a);
    trackServer(b);
    const port = await listen(httpServer);
    const [, sa] = await connectTo(a, `ws://127.0.0.1:${port}/a`);
    const [, sb] = await connectTo(b, `ws://127.0.0.1:${port}/b`);
    expect([a.clients.has(sa), b.clients.has(sb), a.clients.size, b.clients.size]).toEqual([true, true, 1, 1]);
    // Regression: the socket used to hang with no answer when no server owned the path.
    expectRefusal(await rawHttp(port, upgradeRequest(port, { path: '/c' })), 400);
  });

  it("a path the server does not handle is left to another 'upgrade' listener", async () => {
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer, path: '/ws' });
    trackServer(wss);
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      if (req.url === '/custom') socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 6\r\n\r\ncustom');
    });
    const port = await listen(httpServer);
    const res = await rawHttp(port, upgradeRequest(port, { path: '/custom' }));
    expect(res.statusLine).toBe('HTTP/1.1 403 Forbidden');
    expect(res.body).toBe('custom');
  });

  it('shouldHandle can be overridden', async () => {
    const { wss, port } = await startServer();
    const seen: string[] = [];
    wss.shouldHandle = (req: IncomingMessage): boolean => {
      seen.push(req.url ?? '');
      return req.headers['x-allow'] === 'yes';
    };
    expectRefusal(await rawHttp(port, upgradeRequest(port, { path: '/a' })), 400);
    const ok = await rawHttp(port, upgradeRequest(port, { path: '/b', headers: { 'X-Allow': 'yes' } }), 300);
    expect(ok.status).toBe(101);
    expect(seen).toEqual(['/a', '/b']);
  });

  it('tracks clients in `clients` and removes them when they close', async () => {
    const { wss, url } = await startServer();
    const [c1, s1] = await connectTo(wss, url);
    const [, s2] = await connectTo(wss, url);
    expect(wss.clients.size).toBe(2);
    expect([...wss.clients]).toEqual([s1, s2]);
    const closed = waitFor(s1, 'close');
    c1.close(1000);
    await closed;
    expect(wss.clients.size).toBe(1);
    expect(wss.clients.has(s2)).toBe(true);
    const closed2 = waitFor(s2, 'close');
    s2.terminate();
    await closed2;
    expect(wss.clients.size).toBe(0);
  });

  it("forgets a closed client even when the application removed every 'close' listener", async () => {
    const { wss, url } = await startServer();
    const [client, server] = await connectTo(wss, url);
    server.removeAllListeners('close');
    expect(server.listenerCount('close')).toBe(0);
    const closed = waitFor(client, 'close');
    client.close(1000);
    await closed;
    await until(() => wss.clients.size === 0, undefined, 'client removed from clients');
    expect(server.readyState).toBe(WebSocket.CLOSED);
  });

  it('readyState constants are on the class and on every instance (as in ws), not own fields', async () => {
    const { wss, url } = await startServer();
    const [client, server] = await connectTo(wss, url);
    for (const ws of [client, server]) {
      expect([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED]).toEqual([0, 1, 2, 3]);
      expect(Object.keys(ws)).not.toContain('OPEN');
    }
    expect(Object.keys(WebSocket.prototype)).toEqual(expect.arrayContaining(['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']));
    expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
  });

  it('a subclass that overrides handleUpgrade gets every upgrade through it', async () => {
    const seen: string[] = [];
    class Logging extends WebSocketServer {
      override handleUpgrade(...args: Parameters<WebSocketServer['handleUpgrade']>): void {
        seen.push(args[0].url ?? '');
        super.handleUpgrade(...args);
      }
    }
    const wss = new Logging({ port: 0, host: '127.0.0.1' });
    trackServer(wss);
    await waitFor(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/sub`;
    const [client] = await connectTo(wss, url);
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(seen).toEqual(['/sub']);
  });

  it('clientTracking: false leaves `clients` undefined, as in ws, and close() still closes every connection', async () => {
    const { wss, url } = await startServer({ clientTracking: false });
    const [client, server] = await connectTo(wss, url);
    expect(server.readyState).toBe(WebSocket.OPEN);
    expect(wss.clients).toBeUndefined();
    const closed = waitFor<[number]>(client, 'close');
    wss.close();
    expect((await closed)[0]).toBe(1001);
  });

  it("a 'headers' listener can add a header line the client sees", async () => {
    const { wss, port } = await startServer();
    const events: Array<[string[], IncomingMessage]> = [];
    wss.on('headers', (headers: string[], req: IncomingMessage) => {
      events.push([[...headers], req]);
      headers.push('X-Powered-By: ws6455-test');
      headers.push('Set-Cookie: a=1');
    });
    const key = newKey();
    const client = await RawClient.open(port, { key, path: '/h' });
    const res = client.response as HttpResponse;
    expect(res.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
    expect(res.headers['x-powered-by']).toBe('ws6455-test');
    expect(res.headers['set-cookie']).toBe('a=1');
    expect(res.headers['sec-websocket-accept']).toBe(acceptFor(key));
    expect(events).toHaveLength(1);
    expect(events[0]?.[0]).toEqual([
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptFor(key)}`,
    ]);
    expect(events[0]?.[1].url).toBe('/h');
  });

  it("a 'wsClientError' listener gets the error, socket and request, and no response is written for it", async () => {
    const { wss, port } = await startServer();
    const seen: Array<{ err: Error & { code?: string }; req: IncomingMessage }> = [];
    wss.on('wsClientError', (err: Error & { code?: string }, socket: Duplex, req: IncomingMessage) => {
      seen.push({ err, req });
      // Our own answer, after a pause, so that an automatic response would arrive first.
      setTimeout(() => socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 3\r\n\r\ntea'), 50);
    });
    const res = await rawHttp(port, upgradeRequest(port, { path: '/v8', headers: { 'Sec-WebSocket-Version': '8' } }));
    expect(res.statusLine).toBe('HTTP/1.1 418 I am a teapot');
    expect(res.body).toBe('tea');
    expect(res.headers['sec-websocket-version']).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.err).toBeInstanceOf(Error);
    expect(seen[0]?.err.code).toBe('WS_ERR_HANDSHAKE');
    expect(seen[0]?.err.message).toMatch(/version/i);
    expect(seen[0]?.req.url).toBe('/v8');
  });
});

describe('handshake validation (raw HTTP over TCP)', () => {
  it('non-GET → 405 with Allow: GET', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, upgradeRequest(port, { method: 'POST' }));
    expectRefusal(res, 405);
    expect(res.headers.allow).toBe('GET');
  });

  it('HTTP/1.0 → 505', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { version: '1.0' })), 505);
  });

  it('an Upgrade header without the websocket token → 400', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { Upgrade: 'h2c' } })), 400);
  });

  it('a handshake without the Upgrade header → 400', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { Upgrade: null } })), 400);
  });

  it('a handshake whose Connection lacks the Upgrade token → 400', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { Connection: 'keep-alive' } })), 400);
  });

  it('accepts `Connection: keep-alive, Upgrade` and `Upgrade: WebSocket`', async () => {
    const { wss, port } = await startServer();
    const connected = waitFor(wss, 'connection');
    const key = newKey();
    const client = await RawClient.connect(port);
    const res = await client.handshake({ key, headers: { Connection: 'keep-alive, Upgrade', Upgrade: 'WebSocket' } });
    expect(res.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
    expect(res.headers.upgrade).toBe('websocket');
    expect(res.headers.connection).toBe('Upgrade');
    expect(res.headers['sec-websocket-accept']).toBe(acceptFor(key));
    await connected;
  });

  it('computes Sec-WebSocket-Accept for the RFC 6455 example key', async () => {
    const { port } = await startServer();
    const client = await RawClient.open(port, { key: 'dGhlIHNhbXBsZSBub25jZQ==' });
    expect(client.response?.headers['sec-websocket-accept']).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('Sec-WebSocket-Version: 8 → 426 with Sec-WebSocket-Version: 13', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, upgradeRequest(port, { headers: { 'Sec-WebSocket-Version': '8' } }));
    expectRefusal(res, 426);
    expect(res.headers['sec-websocket-version']).toBe('13');
  });

  it('a missing Sec-WebSocket-Version → 426', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { 'Sec-WebSocket-Version': null } })), 426);
  });

  for (const [name, key] of [
    ['a short key', 'dGhlIHNhbXBsZQ=='],
    ['a key without padding', 'dGhlIHNhbXBsZSBub25jZQ'],
    ['a non-base64 key', 'dGhlIHNhbXBsZSBub25jZQ!='],
  ] as const) {
    it(`${name} → 400`, async () => {
      const { port } = await startServer();
      expectRefusal(await rawHttp(port, upgradeRequest(port, { key })), 400);
    });
  }

  it('a missing key → 400', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { 'Sec-WebSocket-Key': null } })), 400);
  });

  it('a refused handshake emits no connection', async () => {
    const { wss, port } = await startServer();
    let connections = 0;
    wss.on('connection', () => connections++);
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { 'Sec-WebSocket-Version': '7' } })), 426);
    expect(connections).toBe(0);
    expect(wss.clients.size).toBe(0);
  });
});

describe('origin policy', () => {
  it('a browser request whose Origin differs from Host → 403', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { Origin: 'http://evil.example' } })), 403);
    // Same host, other port: another origin.
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { Origin: `http://127.0.0.1:${port + 1}` } })), 403);
  });

  it('a same-origin request passes', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, upgradeRequest(port, { headers: { Origin: `http://127.0.0.1:${port}` } }), 300);
    expect(res.status).toBe(101);
  });

  it('a request without Origin passes', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, upgradeRequest(port), 300);
    expect(res.status).toBe(101);
  });

  it('allowedOrigins lets that origin in and no other', async () => {
    const { port } = await startServer({ allowedOrigins: ['http://good.example'] });
    const ok = await rawHttp(port, upgradeRequest(port, { headers: { Origin: 'http://good.example' } }), 300);
    expect(ok.status).toBe(101);
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { Origin: 'http://bad.example' } })), 403);
  });
});

describe('verifyClient', () => {
  it('synchronous false → 401; it is told origin, secure and req', async () => {
    const infos: Array<{ origin: string; secure: boolean; url: string | undefined }> = [];
    const { port } = await startServer({
      verifyClient: (info: { origin: string; secure: boolean; req: IncomingMessage }) => {
        infos.push({ origin: info.origin, secure: info.secure, url: info.req.url });
        return false;
      },
    });
    expectRefusal(await rawHttp(port, upgradeRequest(port, { path: '/v', headers: { Origin: `http://127.0.0.1:${port}` } })), 401);
    expect(infos).toEqual([{ origin: `http://127.0.0.1:${port}`, secure: false, url: '/v' }]);
  });

  it('synchronous true accepts', async () => {
    const { port } = await startServer({ verifyClient: () => true });
    expect((await rawHttp(port, upgradeRequest(port), 300)).status).toBe(101);
  });

  it('asynchronous (false, 403, "nope") → 403 with body "nope"', async () => {
    const { port } = await startServer({
      verifyClient: (_info: unknown, cb: (ok: boolean, code?: number, message?: string) => void) => {
        setTimeout(() => cb(false, 403, 'nope'), 20);
      },
    });
    const res = await rawHttp(port, upgradeRequest(port));
    expectRefusal(res, 403);
    expect(res.body).toBe('nope');
  });

  it('an asynchronous verifyClient that never answers is refused after handshakeTimeout', async () => {
    const { wss, port } = await startServer({ handshakeTimeout: 200, verifyClient: (_info: unknown, _cb: unknown) => {} });
    let connections = 0;
    wss.on('connection', () => connections++);
    const started = Date.now();
    const res = await rawHttp(port, upgradeRequest(port));
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expectRefusal(res, res.status);
    expect(connections).toBe(0);
  });

  it('asynchronous true accepts', async () => {
    const { wss, port } = await startServer({
      verifyClient: (_info: unknown, cb: (ok: boolean) => void) => {
        setTimeout(() => cb(true), 20);
      },
    });
    const connected = waitFor(wss, 'connection');
    const client = await RawClient.open(port);
    expect(client.response?.status).toBe(101);
    await connected;
  });
});

describe('subprotocols', () => {
  it('handleProtocols chooses the protocol from the offered set', async () => {
    let offered: string[] = [];
    const { wss, port } = await startServer({
      handleProtocols: (protocols: Set<string>) => {
        offered = [...protocols];
        return 'b';
      },
    });
    const connected = waitFor<[WebSocket]>(wss, 'connection');
    const client = await RawClient.open(port, { headers: { 'Sec-WebSocket-Protocol': 'a, b, c' } });
    expect(client.response?.headers['sec-websocket-protocol']).toBe('b');
    expect(offered).toEqual(['a', 'b', 'c']);
    const [server] = await connected;
    expect(server.protocol).toBe('b');
  });

  it('by default the first offered protocol is selected', async () => {
    const { wss, url } = await startServer();
    const [client, server] = await connectTo(wss, url, ['first', 'second']);
    expect(client.protocol).toBe('first');
    expect(server.protocol).toBe('first');
  });

  it('handleProtocols returning false selects none', async () => {
    const { port } = await startServer({ handleProtocols: () => false });
    const client = await RawClient.open(port, { headers: { 'Sec-WebSocket-Protocol': 'a' } });
    expect(client.response?.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('a malformed Sec-WebSocket-Protocol → 400', async () => {
    const { port } = await startServer();
    expectRefusal(await rawHttp(port, upgradeRequest(port, { headers: { 'Sec-WebSocket-Protocol': 'a b' } })), 400);
  });

  it('no protocol offered → no Sec-WebSocket-Protocol header', async () => {
    const { port } = await startServer();
    const client = await RawClient.open(port);
    expect(client.response?.headers['sec-websocket-protocol']).toBeUndefined();
  });
});

describe('upgrade head bytes', () => {
  it('a frame sent in the same TCP write as the upgrade request is delivered', async () => {
    const { wss, port } = await startServer();
    const messages: string[] = [];
    const got = new Promise<void>((resolve) => {
      wss.on('connection', (ws: WebSocket) => {
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          messages.push(`${isBinary ? 'b' : 't'}:${data.toString()}`);
          if (messages.length === 2) resolve();
        });
      });
    });
    const head = Buffer.concat([
      buildFrame({ opcode: Op.Text, payload: 'in the head' }),
      buildFrame({ opcode: Op.Binary, payload: 'second' }),
    ]);
    await RawClient.open(port, {}, head);
    await withTimeout(got, TIMEOUT, 'head messages');
    expect(messages).toEqual(['t:in the head', 'b:second']);
  });

  it('head bytes reach the WebSocket through handleUpgrade (noServer) too', async () => {
    const wss = new WebSocketServer({ noServer: true });
    trackServer(wss);
    const httpServer = http.createServer();
    let headLength = -1;
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      headLength = head.length;
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    const port = await listen(httpServer);
    const got = new Promise<string>((resolve) => {
      wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => resolve(data.toString())));
    });
    const frame = buildFrame({ opcode: Op.Text, payload: 'héllo' });
    await RawClient.open(port, {}, frame);
    expect(await withTimeout(got)).toBe('héllo');
    expect(headLength).toBe(frame.length);
  });
});

describe('server.close(cb)', () => {
  it('sends 1001 to every client, waits for them, then calls cb and emits close', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await waitFor(wss, 'listening');
    const port = (wss.address() as AddressInfo).port;
    const url = `ws://127.0.0.1:${port}`;
    const order: string[] = [];
    const [c1, s1] = await connectTo(wss, url);
    const [c2, s2] = await connectTo(wss, url);
    const w1 = watchClose(c1);
    const w2 = watchClose(c2);
    s1.on('close', () => order.push('server ws 1 close'));
    s2.on('close', () => order.push('server ws 2 close'));
    wss.on('close', () => order.push('wss close'));
    const done = withTimeout(
      new Promise<Error | undefined>((resolve) =>
        wss.close((err) => {
          order.push('cb');
          resolve(err);
        }),
      ),
    );
    expect(await done).toBeUndefined();
    const [code1, reason1] = await w1.close;
    const [code2] = await w2.close;
    expect(code1).toBe(1001);
    expect(code2).toBe(1001);
    expect(reason1.length).toBeLessThanOrEqual(123);
    expect(order.slice(0, 2).sort()).toEqual(['server ws 1 close', 'server ws 2 close']);
    expect(order.slice(2)).toEqual(['wss close', 'cb']);
    expect(wss.clients.size).toBe(0);
    // The own HTTP server is closed: new connections are refused.
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('with no clients, calls cb and emits close', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await waitFor(wss, 'listening');
    const closed = waitFor(wss, 'close');
    const err = await withTimeout(new Promise<Error | undefined>((resolve) => wss.close(resolve)));
    expect(err).toBeUndefined();
    await closed;
    // A second close reports that the server is not running.
    const err2 = await withTimeout(new Promise<Error | undefined>((resolve) => wss.close(resolve)));
    expect(err2).toBeInstanceOf(Error);
  });

  it('a client that ignores the 1001 is destroyed after closeTimeout', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', closeTimeout: 200 });
    await waitFor(wss, 'listening');
    const port = (wss.address() as AddressInfo).port;
    const connected = waitFor<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    const [server] = await connected;
    const serverClose = watchClose(server);
    const started = Date.now();
    const done = withTimeout(new Promise<void>((resolve) => wss.close(() => resolve())));
    const close = await raw.readUntilClose();
    expect(close.code).toBe(1001);
    await done;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(2000);
    expect((await serverClose.close)[0]).toBe(1006);
    await raw.waitEnd();
  });
});
