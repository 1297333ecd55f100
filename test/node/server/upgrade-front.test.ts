import { afterEach, describe, expect, it } from 'vitest';
import http, { IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from '../../../src/index.js';
import { UpgradeFront } from '../../../src/node/server/upgrade-front.js';
import {
  acceptFor,
  buildFrame,
  delay,
  listen,
  newKey,
  onCleanup,
  Op,
  parseHead,
  rawHttp,
  runCleanups,
  startServer,
  TIMEOUT,
  trackServer,
  until,
  upgradeRequest,
  waitFor,
  withTimeout,
} from '../helpers.js';

afterEach(runCleanups);

/** A raw TCP connection that records what it receives and when the server closed it. */
async function rawSocket(port: number): Promise<{ socket: net.Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  onCleanup(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = withTimeout(new Promise<void>((resolve) => socket.once('close', () => resolve())), TIMEOUT, 'server close');
  closed.catch(() => {});
  await waitFor(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks), closed };
}

describe('the server created for { port }', () => {
  it('upgrades a head sent one byte at a time and delivers the frame sent in its last write', async () => {
    const { wss, port } = await startServer();
    const messages: string[] = [];
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => messages.push(data.toString())));
    const key = newKey();
    const request = Buffer.from(upgradeRequest(port, { key }), 'latin1');
    const frame = buildFrame({ opcode: Op.Text, payload: Buffer.from('after the head') });
    const { socket, received } = await rawSocket(port);
    for (let i = 0; i < request.length - 1; i++) {
      socket.write(request.subarray(i, i + 1));
      await delay(1);
    }
    socket.write(Buffer.concat([request.subarray(request.length - 1), frame]));
    await until(() => messages.length === 1, TIMEOUT, 'message');
    expect(messages).toEqual(['after the head']);
    await until(() => parseHead(received()) !== null, TIMEOUT, '101 response');
    const head = parseHead(received());
    expect(head?.status).toBe(101);
    expect(head?.headers['sec-websocket-accept']).toBe(acceptFor(key));
  });

  it('hands connection listeners a node:http IncomingMessage built from the head', async () => {
    const { wss, port } = await startServer();
    const got = waitFor<[WebSocket, IncomingMessage]>(wss, 'connection');
    const { socket } = await rawSocket(port);
    const request = upgradeRequest(port, { path: '/room/7?x=1' });
    socket.write(`${request.slice(0, -2)}X-Tag: a\r\nx-tag: b\r\nCookie: k=v\r\n\r\n`);
    const [, req] = await got;
    expect(req).toBeInstanceOf(IncomingMessage);
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/room/7?x=1');
    expect(req.httpVersion).toBe('1.1');
    expect([req.httpVersionMajor, req.httpVersionMinor]).toEqual([1, 1]);
    expect(req.headers.host).toBe(`127.0.0.1:${port}`);
    expect(req.headers['x-tag']).toBe('a, b');
    expect(req.headers.cookie).toBe('k=v');
    expect(req.rawHeaders.slice(-6)).toEqual(['X-Tag', 'a', 'x-tag', 'b', 'Cookie', 'k=v']);
    expect(req.socket.remoteAddress).toBe('127.0.0.1');
  });

  it('answers a plain HTTP request with 426, Upgrade: websocket, and closes', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(res.status).toBe(426);
    expect(res.headers.upgrade).toBe('websocket');
    expect(res.headers.connection).toBe('close');
    expect(res.body).toBe('Upgrade Required');
    expect(res.closedByServer).toBe(true);
  });

  it('answers a WebSocket handshake without an Upgrade header with 400', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, upgradeRequest(port, { headers: { Upgrade: null } }));
    expect(res.status).toBe(400);
    expect(res.closedByServer).toBe(true);
  });

  it.each([
    ['a space before a colon', 'GET / HTTP/1.1\r\nHost : x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 400],
    ['a folded header line', 'GET / HTTP/1.1\r\nHost: x\r\n y\r\nUpgrade: websocket\r\n\r\n', 400],
    ['a bare LF line end', 'GET / HTTP/1.1\nHost: x\r\n\r\n', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
  ])('refuses a head with %s', async (_label, request, status) => {
    const { wss, port } = await startServer();
    let connections = 0;
    wss.on('connection', () => connections++);
    const res = await rawHttp(port, request);
    expect(res.status).toBe(status);
    expect(res.closedByServer).toBe(true);
    expect(connections).toBe(0);
  });

  it('refuses a head above maxHeaderSize with 431, whole or still arriving', async () => {
    const { port } = await startServer({ maxHeaderSize: 1024 });
    const whole = upgradeRequest(port, { headers: { 'X-Big': 'x'.repeat(1100) } });
    expect((await rawHttp(port, whole)).status).toBe(431);
    // No end of head yet, but already over the limit: refused without waiting for more.
    const { socket, received, closed } = await rawSocket(port);
    socket.write(`GET / HTTP/1.1\r\nX-Big: ${'x'.repeat(1100)}`);
    await closed;
    expect(parseHead(received())?.status).toBe(431);
    // Under the limit, the same server upgrades.
    const ok = await rawHttp(port, upgradeRequest(port), 200);
    expect(ok.status).toBe(101);
  });

  it('answers 408 when the head is not complete within handshakeTimeout', async () => {
    const { port } = await startServer({ handshakeTimeout: 100 });
    const partial = await rawSocket(port);
    partial.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const silent = await rawSocket(port);
    const started = Date.now();
    await Promise.all([partial.closed, silent.closed]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(parseHead(partial.received())?.status).toBe(408);
    expect(parseHead(silent.received())?.status).toBe(408);
  });

  it('keeps the bytes that follow the head while an async verifyClient decides', async () => {
    const { wss, port } = await startServer({
      verifyClient: (_info, cb) => {
        setTimeout(() => cb(true), 50);
      },
    });
    const messages: string[] = [];
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => messages.push(data.toString())));
    const { socket } = await rawSocket(port);
    const frame = buildFrame({ opcode: Op.Text, payload: Buffer.from('early') });
    socket.write(Buffer.concat([Buffer.from(upgradeRequest(port), 'latin1'), frame]));
    await delay(20);
    socket.write(buildFrame({ opcode: Op.Text, payload: Buffer.from('during verify') }));
    await until(() => messages.length === 2, TIMEOUT, 'messages');
    expect(messages).toEqual(['early', 'during verify']);
  });

  it('close() drops connections still sending their head and emits close', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    trackServer(wss);
    await waitFor(wss, 'listening');
    const port = (wss.address() as AddressInfo).port;
    const waiting = await rawSocket(port);
    waiting.socket.write('GET / HTTP/1.1\r\n');
    await delay(20);
    const closed = waitFor(wss, 'close');
    wss.close();
    await waiting.closed;
    await closed;
  });

  it('rejects a maxHeaderSize that is not a positive number', () => {
    expect(() => new WebSocketServer({ port: 0, maxHeaderSize: 0 })).toThrow(RangeError);
    expect(() => new WebSocketServer({ port: 0, maxHeaderSize: Number.NaN })).toThrow(RangeError);
  });
});

/** An upgrade request to `port` with `fields` added after the default ones. */
function upgradeWith(port: number, fields: readonly string[], path = '/'): string {
  return `${upgradeRequest(port, { path }).slice(0, -2)}${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
}

describe('the server created for { port } refuses what node:http refuses, and heads with a body', () => {
  // Each head is followed by a valid masked text frame: had the head been accepted, the frame
  // would have been read as the first message (request smuggling into the WebSocket stream).
  it.each([
    ['Content-Length: abc', ['Content-Length: abc']],
    ['Content-Length: 5, 6', ['Content-Length: 5, 6']],
    ['two equal Content-Length lines', ['Content-Length: 0', 'Content-Length: 0']],
    ['two Content-Length lines', ['Content-Length: 5', 'Content-Length: 5']],
    ['a Content-Length other than 0', ['Content-Length: 7']],
    ['Content-Length then Transfer-Encoding (CL.TE)', ['Content-Length: 7', 'Transfer-Encoding: chunked']],
    ['Transfer-Encoding then Content-Length (TE.CL)', ['Transfer-Encoding: chunked', 'Content-Length: 7']],
    ['Transfer-Encoding: chunked, identity', ['Transfer-Encoding: chunked, identity']],
    ['Transfer-Encoding: chunked', ['Transfer-Encoding: chunked']],
    ['Transfer-Encoding in odd case after a tab', ['transfer-ENCODING:\tChUnKeD']],
    ['a second Host', ['Host: elsewhere.example']],
  ])('answers 400 to an upgrade request with %s and reads nothing after it', async (_label, fields) => {
    const { wss, port } = await startServer();
    let connections = 0;
    const messages: string[] = [];
    wss.on('connection', (ws: WebSocket) => {
      connections++;
      ws.on('message', (data: Buffer) => messages.push(data.toString()));
    });
    const frame = buildFrame({ opcode: Op.Text, payload: Buffer.from('smuggled') });
    const res = await rawHttp(port, Buffer.concat([Buffer.from(upgradeWith(port, fields), 'latin1'), frame]));
    expect(res.status).toBe(400);
    expect(res.closedByServer).toBe(true);
    expect(connections).toBe(0);
    expect(messages).toEqual([]);
  });

  it('upgrades a request with Content-Length: 0', async () => {
    const { port } = await startServer();
    expect((await rawHttp(port, upgradeWith(port, ['Content-Length: 0']), 200)).status).toBe(101);
  });

  it.each([
    ['a target without a leading slash', 'echo'],
    ['the asterisk form', '*'],
    ['a query without a path', '?a=1'],
    ['a scheme without //', 'mailto:x'],
    ['an absolute form with userinfo', 'http://user@127.0.0.1/'],
    ['an absolute form naming another host than Host', 'http://elsewhere.example/'],
  ])('answers 400 to %s', async (_label, target) => {
    const { wss, port } = await startServer();
    let connections = 0;
    wss.on('connection', () => connections++);
    const res = await rawHttp(port, upgradeRequest(port, { path: target }));
    expect(res.status).toBe(400);
    expect(connections).toBe(0);
  });

  it('answers 400 to an HTTP/1.1 request without Host', async () => {
    const { port } = await startServer();
    expect((await rawHttp(port, upgradeRequest(port, { headers: { Host: null } }))).status).toBe(400);
  });

  it('reads an absolute-form target as node:http and ws do: req.url as sent, and path compares it whole', async () => {
    // What a `ws` user gets: node:http hands the target over unchanged, ws's path check compares
    // it up to "?", so an absolute-form target never matches `path`. Both modes must agree.
    const httpServer = http.createServer();
    const httpPort = await listen(httpServer);
    const shared = new WebSocketServer({ server: httpServer });
    trackServer(shared);
    const httpPathServer = http.createServer();
    const httpPathPort = await listen(httpPathServer);
    trackServer(new WebSocketServer({ server: httpPathServer, path: '/ws' }));
    const { wss: own, port: ownPort } = await startServer();
    const { port: ownPathPort } = await startServer({ path: '/ws' });
    const urls: string[] = [];
    own.on('connection', (_ws: WebSocket, req: IncomingMessage) => urls.push(req.url ?? ''));
    shared.on('connection', (_ws: WebSocket, req: IncomingMessage) => urls.push(req.url ?? ''));

    const absolute = (port: number): string => upgradeRequest(port, { path: `http://127.0.0.1:${port}/ws?x=1` });
    expect((await rawHttp(ownPort, absolute(ownPort), 200)).status).toBe(101);
    expect((await rawHttp(httpPort, absolute(httpPort), 200)).status).toBe(101);
    expect(urls).toEqual([`http://127.0.0.1:${ownPort}/ws?x=1`, `http://127.0.0.1:${httpPort}/ws?x=1`]);
    // With a path, the same target is refused by both, and the origin form is accepted by both.
    for (const port of [ownPathPort, httpPathPort]) {
      expect((await rawHttp(port, absolute(port))).status).toBe(400);
      expect((await rawHttp(port, upgradeRequest(port, { path: '/ws?x=1' }), 200)).status).toBe(101);
    }
  });

  it('answers 400 at once to a head with bare LF line ends, whole or one byte at a time', async () => {
    // A long handshakeTimeout: the answer must not wait for it.
    const { wss, port } = await startServer({ handshakeTimeout: 60_000 });
    let connections = 0;
    wss.on('connection', () => connections++);
    const bareLf = 'GET / HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: Upgrade\n\n';
    const whole = await rawHttp(port, bareLf);
    expect(whole.status).toBe(400);
    expect(whole.closedByServer).toBe(true);
    for (const request of [bareLf, 'GET / HTTP/1.1\r\nHost: x\rUpgrade: websocket\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n\n']) {
      const { socket, received, closed } = await rawSocket(port);
      let open = true;
      socket.once('close', () => (open = false));
      for (let i = 0; i < request.length && open; i++) {
        socket.write(request.slice(i, i + 1), 'latin1');
        await delay(1);
      }
      await closed;
      const head = parseHead(received());
      expect(head?.status, JSON.stringify(request)).toBe(400);
      expect(head?.rest.toString(), JSON.stringify(request)).toBe(whole.body);
    }
    expect(connections).toBe(0);
  });

  it('answers HEAD without a body: 426 to a plain request, 405 to an upgrade attempt', async () => {
    const { port } = await startServer();
    const plain = await rawSocket(port);
    plain.socket.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
    await plain.closed;
    const head = parseHead(plain.received());
    expect(head?.status).toBe(426);
    expect(head?.headers.upgrade).toBe('websocket');
    expect(head?.rest.length).toBe(0);
    const upgrade = await rawSocket(port);
    upgrade.socket.write(upgradeRequest(port, { method: 'HEAD' }));
    await upgrade.closed;
    const refused = parseHead(upgrade.received());
    expect(refused?.status).toBe(405);
    expect(refused?.rest.length).toBe(0);
    // GET still gets the body.
    expect((await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).body).toBe('Upgrade Required');
  });
});

describe('UpgradeFront', () => {
  it('forgets connections that close before sending a whole head', async () => {
    const front = new UpgradeFront({ handshakeTimeout: 60_000, maxHeaderSize: 1024, onUpgrade: () => {} });
    onCleanup(() => new Promise<void>((resolve) => front.close(resolve)));
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    const port = (front.server.address() as AddressInfo).port;
    const state = front as unknown as { waiting: Map<unknown, number>; held: Map<unknown, unknown> | null };
    const sockets = await Promise.all(Array.from({ length: 20 }, () => rawSocket(port)));
    for (const { socket } of sockets) socket.write('GET / HTTP/1.1\r\n');
    await until(() => state.waiting.size === 20 && state.held?.size === 20, TIMEOUT, 'all waiting');
    for (const { socket } of sockets) socket.destroy();
    // The sweep (every second without a short timeout) forgets them.
    await until(() => state.waiting.size === 0 && state.held?.size === 0, TIMEOUT, 'all forgotten');
  });
});
