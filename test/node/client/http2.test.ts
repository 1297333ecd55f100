/**
 * Our client against our server over HTTP/2 (RFC 8441), on 127.0.0.1: h2 over TLS and h2c, many
 * WebSockets on one session, a stream reset in the middle of a message, GOAWAY (graceful and
 * abrupt), flow-control backpressure in both directions, the fall back to HTTP/1.1, and the
 * handshake errors. Fault tests count what was sent, received, lost and duplicated.
 */
import http from 'node:http';
import http2, { constants, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import { forgetHttp1Origins } from '../../../src/node/client/http2-sessions.js';
import { delay, onCleanup, runCleanups, until, waitFor, watchClose, withTimeout } from '../helpers.js';
import { startH2, tlsMaterial } from '../http2-helpers.js';

afterEach(async () => {
  await runCleanups();
  // Port numbers come back: a port an HTTP/1.1 test used must not send the next test to HTTP/1.1.
  forgetHttp1Origins();
});

/** Opens a client and registers its cleanup. */
async function open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const ws = await WebSocket.connect(url, { http2: true, ...options });
  onCleanup(() => ws.terminate());
  return ws;
}

/** Sends `count` numbered messages on `ws` and resolves with what came back, in order. */
async function roundTrips(ws: WebSocket, count: number, tag: string): Promise<string[]> {
  const got: string[] = [];
  const done = new Promise<void>((resolve) => {
    const onMessage = (data: Buffer): void => {
      got.push(data.toString());
      if (got.length === count) {
        ws.off('message', onMessage);
        resolve();
      }
    };
    ws.on('message', onMessage);
  });
  for (let i = 0; i < count; i++) ws.send(`${tag}:${i}`);
  await withTimeout(done, 5000, `${tag} round trips`);
  return got;
}

/** Counts how `received` compares with `sent`: lost and duplicated messages. */
function tally(sent: string[], received: string[]): { sent: number; received: number; lost: number; duplicated: number } {
  const seen = new Set(received);
  return {
    sent: sent.length,
    received: received.length,
    lost: sent.filter((m) => !seen.has(m)).length,
    duplicated: received.length - seen.size,
  };
}

const numbered = (tag: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${tag}:${i}`);

describe('client over HTTP/2: our client against our server', () => {
  it('h2 over TLS: opens on the HTTP/2 session, echoes text and binary, closes with codes both ways', async () => {
    const h2 = await startH2({ secure: true, wss: { path: '/chat' } });
    const ca = tlsMaterial().cert;
    const ws = await open(`${h2.url}/chat`, { ca, protocols: ['v1'] });
    expect(ws.url).toBe(`${h2.url}/chat`);
    expect(h2.sessions.length).toBe(1);
    expect(h2.sessions[0]?.alpnProtocol).toBe('h2');
    ws.send('text');
    ws.send(Buffer.from([1, 2, 3]));
    const got: Array<[string, boolean]> = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => got.push([data.toString('hex'), isBinary]));
    await until(() => got.length === 2);
    expect(got).toEqual([[Buffer.from('text').toString('hex'), false], ['010203', true]]);
    const serverSide = watchClose(h2.accepted[0] as WebSocket);
    const clientSide = watchClose(ws);
    ws.close(4000, 'client bye');
    expect((await serverSide.close).map(String)).toEqual(['4000', 'client bye']);
    expect((await clientSide.close).map(String)).toEqual(['4000', 'client bye']);
    // And the server closing: a second socket on the same session.
    const second = await open(`${h2.url}/chat`, { ca });
    const secondClose = watchClose(second);
    await until(() => h2.accepted.length === 2);
    h2.accepted[1]?.close(1001, 'server bye');
    expect((await secondClose.close).map(String)).toEqual(['1001', 'server bye']);
    expect(h2.sessions.length).toBe(1);
  });

  it('h2c: 40 WebSockets opened at once share one session; 25 messages each, none lost or duplicated', async () => {
    const h2 = await startH2({ wss: { perMessageDeflate: true } });
    const sockets = await Promise.all(Array.from({ length: 40 }, () => open(h2.url)));
    expect(h2.sessions.length).toBe(1);
    expect(sockets.every((ws) => ws.extensions === 'permessage-deflate')).toBe(true);
    const results = await Promise.all(sockets.map((ws, i) => roundTrips(ws, 25, `s${i}`)));
    const sent = sockets.flatMap((_, i) => numbered(`s${i}`, 25));
    expect(tally(sent, results.flat())).toEqual({ sent: 1000, received: 1000, lost: 0, duplicated: 0 });
    results.forEach((got, i) => expect(got).toEqual(numbered(`s${i}`, 25)));
    expect(h2.accepted.length).toBe(40);
    expect(h2.wss.stats().connections).toBe(40);
  });

  it('a stream reset mid-message: that WebSocket closes 1006 on both sides and its message is not delivered; the other stream of the session goes on', async () => {
    const h2 = await startH2();
    const streams = new Map<string, ServerHttp2Stream>();
    h2.server.on('stream', (stream, headers) => streams.set(String(headers[':path']), stream));
    const delivered: number[] = [];
    h2.wss.on('connection', (ws) => ws.on('message', (data: Buffer) => delivered.push(data.length)));
    const a = await open(`${h2.url}/a`);
    const b = await open(`${h2.url}/b`);
    expect(h2.sessions.length).toBe(1);
    const aClient = watchClose(a);
    const aServer = watchClose(h2.accepted[0] as WebSocket);
    // Reset /a at its first bytes of a 512 KiB message: flow control holds the sender to 64 KiB.
    let receivedBeforeReset = 0;
    (streams.get('/a') as ServerHttp2Stream).once('data', (chunk: Buffer) => {
      receivedBeforeReset = chunk.length;
      streams.get('/a')?.close(constants.NGHTTP2_CANCEL);
    });
    let sendError: Error | undefined;
    a.send(Buffer.alloc(512 * 1024, 7), (err) => (sendError = err ?? undefined));
    expect((await aClient.close)[0]).toBe(1006);
    expect((await aServer.close)[0]).toBe(1006);
    expect(receivedBeforeReset).toBeGreaterThan(0);
    expect(receivedBeforeReset).toBeLessThan(512 * 1024);
    await until(() => sendError !== undefined);
    const got = await roundTrips(b, 10, 'b');
    expect(tally(numbered('b', 10), got)).toEqual({ sent: 10, received: 10, lost: 0, duplicated: 0 });
    // Sent 1 on /a, delivered 0 there (the loss is reported as 1006 on both sides); /b's 10 echoed.
    expect(delivered.filter((n) => n === 512 * 1024)).toEqual([]);
    expect(h2.sessions[0]?.destroyed).toBe(false);
  });

  it('GOAWAY (graceful): open WebSockets go on and close cleanly, the next dial opens a new session', async () => {
    const h2 = await startH2();
    const first = await open(h2.url);
    const second = await open(h2.url);
    expect(h2.sessions.length).toBe(1);
    const goaway = waitFor(first, 'close', 100).catch(() => 'still open');
    // Session.close(): GOAWAY with NO_ERROR, the open streams finish, then the session ends.
    h2.sessions[0]?.close();
    expect(await goaway).toBe('still open');
    const a = await roundTrips(first, 5, 'first');
    const b = await roundTrips(second, 5, 'second');
    expect(tally([...numbered('first', 5), ...numbered('second', 5)], [...a, ...b])).toEqual({ sent: 10, received: 10, lost: 0, duplicated: 0 });
    const third = await open(h2.url);
    expect(h2.sessions.length).toBe(2);
    expect((await roundTrips(third, 3, 'third')).length).toBe(3);
    const closes = [watchClose(first).close, watchClose(second).close];
    first.close(1000);
    second.close(1000);
    expect((await Promise.all(closes)).map(([code]) => code)).toEqual([1000, 1000]);
  });

  it('GOAWAY (abrupt, session destroyed): every WebSocket of the session closes 1006, those of another session do not', async () => {
    const h2 = await startH2();
    const doomed = await Promise.all([open(h2.url), open(h2.url), open(h2.url)]);
    expect(h2.sessions.length).toBe(1);
    const closes = doomed.map((ws) => watchClose(ws).close);
    h2.sessions[0]?.destroy();
    expect((await Promise.all(closes)).map(([code]) => code)).toEqual([1006, 1006, 1006]);
    const after = await open(h2.url);
    expect(h2.sessions.length).toBe(2);
    expect(await roundTrips(after, 3, 'after')).toEqual(numbered('after', 3));
  });

  it('flow control: a client that does not read makes the server\'s send() return false and holds it to the stream window; drain follows; the session\'s other stream is not blocked', async () => {
    const h2 = await startH2({ echo: false });
    const slow = await open(`${h2.url}/slow`);
    const fast = await open(`${h2.url}/fast`);
    await until(() => h2.accepted.length === 2);
    const [toSlow, toFast] = h2.accepted as [WebSocket, WebSocket];
    toFast.on('message', (data: Buffer) => toFast.send(data));
    const received: number[] = [];
    slow.on('message', (data: Buffer) => received.push(data.readUInt32BE(0)));
    slow.pause();
    const chunk = (i: number): Buffer => {
      const b = Buffer.alloc(64 * 1024);
      b.writeUInt32BE(i, 0);
      return b;
    };
    const total = 64;
    let sent = 0;
    while (sent < total && toSlow.send(chunk(sent))) sent++;
    expect(sent).toBeLessThan(total);
    sent++; // the send that returned false was queued too
    await delay(100);
    // Held by the stream's flow control: far below the 4 MiB the loop wanted to send.
    expect(toSlow.bufferedAmount).toBeLessThan(512 * 1024);
    expect(received.length).toBe(0);
    // No head-of-line blocking: the other stream of the same session still echoes.
    expect(await roundTrips(fast, 5, 'fast')).toEqual(numbered('fast', 5));
    let drains = 0;
    toSlow.on('drain', () => {
      drains++;
      while (sent < total && toSlow.send(chunk(sent))) sent++;
      if (sent < total) sent++;
    });
    slow.resume();
    await until(() => received.length === total, 5000, 'all 64 messages');
    expect(drains).toBeGreaterThan(0);
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('flow control the other way: a server that does not read makes the client\'s send() return false, then drain', async () => {
    const h2 = await startH2({ echo: false });
    const ws = await open(h2.url);
    await until(() => h2.accepted.length === 1);
    const server = h2.accepted[0] as WebSocket;
    const received: number[] = [];
    server.on('message', (data: Buffer) => received.push(data.readUInt32BE(0)));
    server.pause();
    const total = 48;
    const chunk = (i: number): Buffer => {
      const b = Buffer.alloc(32 * 1024);
      b.writeUInt32BE(i, 0);
      return b;
    };
    const answers: boolean[] = [];
    for (let i = 0; i < total; i++) answers.push(ws.send(chunk(i)));
    expect(answers.at(-1)).toBe(false);
    await delay(100);
    // 1.5 MiB sent, held back by the server's stream window (64 KiB): most of it waits here.
    expect(ws.bufferedAmount).toBeGreaterThan(1024 * 1024);
    expect(received.length).toBe(0);
    const drained = waitFor(ws, 'drain', 5000);
    server.resume();
    await drained;
    await until(() => received.length === total, 5000, 'all messages');
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('falls back to HTTP/1.1 when the server has no HTTP/2 (h2c preface refused) and when it does not advertise extended CONNECT (TLS)', async () => {
    // An HTTP/1.1-only server: the HTTP/2 preface fails, the dial goes on over HTTP/1.1.
    const h1 = http.createServer();
    const wss1 = new WebSocketServer({ server: h1 });
    const versions: string[] = [];
    wss1.on('connection', (ws, req) => {
      versions.push(req.httpVersion);
      ws.on('message', (d: Buffer) => ws.send(d));
    });
    await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => wss1.close(() => h1.close(() => resolve()))));
    h1.on('connection', (socket) => onCleanup(() => socket.destroy()));
    const url1 = `ws://127.0.0.1:${(h1.address() as AddressInfo).port}`;
    const ws1 = await open(url1);
    expect(await roundTrips(ws1, 2, 'h1')).toEqual(numbered('h1', 2));
    // Remembered: the next dial goes to HTTP/1.1 at once.
    const ws2 = await open(url1);
    expect(versions).toEqual(['1.1', '1.1']);
    ws2.terminate();

    // An HTTP/2 TLS server that does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL, with HTTP/1.1 allowed.
    const tls = http2.createSecureServer({ ...tlsMaterial(), allowHTTP1: true });
    const wss2 = new WebSocketServer({ noServer: true });
    tls.on('upgrade', (req, socket, head) => wss2.handleUpgrade(req, socket, head, (ws) => ws.send(`over ${req.httpVersion}`)));
    const sessions: http2.ServerHttp2Session[] = [];
    tls.on('session', (s) => sessions.push(s));
    tls.on('secureConnection', (socket) => onCleanup(() => socket.destroy()));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => wss2.close(() => tls.close(() => resolve()))));
    const ws3 = await open(`wss://localhost:${(tls.address() as AddressInfo).port}`, { ca: tlsMaterial().cert });
    const [greeting] = await waitFor<[Buffer]>(ws3, 'message').catch(() => [Buffer.from('none')]);
    expect(greeting.toString()).toBe('over 1.1');
    expect(sessions.length).toBe(1); // the HTTP/2 session that said no
  });

  it('handshake errors: a refusal is WS_ERR_UNEXPECTED_RESPONSE (or the response, to an unexpected-response listener), a refused port keeps Node\'s code', async () => {
    const h2 = await startH2({ wss: { path: '/only' } });
    const refused = new WebSocket(`${h2.url}/elsewhere`, { http2: true });
    const refusedEnd = watchClose(refused);
    expect((await refusedEnd.close)[0]).toBe(1006);
    expect(refusedEnd.errors.map((e) => (e as Error & { code?: string }).code)).toEqual(['WS_ERR_UNEXPECTED_RESPONSE']);
    expect(refusedEnd.errors[0]?.message).toBe('Unexpected server response: 400');

    const listened = new WebSocket(`${h2.url}/elsewhere`, { http2: true });
    const [, res] = await waitFor<[unknown, http.IncomingMessage]>(listened, 'unexpected-response');
    expect([res.statusCode, res.httpVersion]).toEqual([400, '2.0']);
    const body = await withTimeout(
      new Promise<string>((resolve) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      }),
      3000,
      'body',
    );
    expect(body).toBe('Unknown WebSocket path');
    const listenedEnd = watchClose(listened);
    listened.close();
    expect((await listenedEnd.close)[0]).toBe(1006);

    const closedPort = http.createServer();
    await new Promise<void>((resolve) => closedPort.listen(0, '127.0.0.1', resolve));
    const port = (closedPort.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closedPort.close(() => resolve()));
    const nowhere = new WebSocket(`ws://127.0.0.1:${port}`, { http2: true });
    const nowhereEnd = watchClose(nowhere);
    expect((await nowhereEnd.close)[0]).toBe(1006);
    expect(nowhereEnd.errors.map((e) => (e as Error & { code?: string }).code)).toEqual(['ECONNREFUSED']);
  });

  it('handshake timeout and close() while CONNECTING: error, then close 1006; the stream is reset', async () => {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    const streams: ServerHttp2Stream[] = [];
    server.on('stream', (stream) => streams.push(stream)); // never answered
    const sessions: http2.ServerHttp2Session[] = [];
    server.on('session', (s) => sessions.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const slow = new WebSocket(url, { http2: true, handshakeTimeout: 200 });
    const slowEnd = watchClose(slow);
    expect((await slowEnd.close)[0]).toBe(1006);
    expect(slowEnd.errors.map((e) => (e as Error & { code?: string }).code)).toEqual(['WS_ERR_HANDSHAKE_TIMEOUT']);
    await until(() => streams[0]?.closed === true);
    expect(streams[0]?.rstCode).toBe(constants.NGHTTP2_CANCEL);

    const aborted = new WebSocket(url, { http2: true });
    const abortedEnd = watchClose(aborted);
    await until(() => streams.length === 2);
    aborted.close();
    expect(aborted.readyState).toBe(WebSocket.CLOSING);
    expect((await abortedEnd.close)[0]).toBe(1006);
    expect(abortedEnd.errors.map((e) => (e as Error & { code?: string }).code)).toEqual(['WS_ERR_NOT_OPEN']);
  });
});
