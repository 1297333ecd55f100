/**
 * The server side of RFC 8441, driven by Node's own `http2` client (not ours) over 127.0.0.1:
 * the advertised setting, the extended CONNECT and its `:status 200` answer, frames on the
 * stream, the same checks and refusals as for HTTP/1.1 (path, version, origin, verifyClient,
 * subprotocols, permessage-deflate, limits, stats), `headers` listeners, several servers on one
 * HTTP/2 server, Node's compatibility layer, `handleStream`, and HTTP/1.1 upgrades on an
 * `allowHTTP1` server.
 */
import http2, { constants } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type VerifyClientInfo } from '../../../src/index.js';
import { Hub } from '../../../src/hub/index.js';
import { buildFrame, closePayload, Op, onCleanup, parseFrame, runCleanups, waitFor, withTimeout } from '../helpers.js';
import { bodyOf, connectHeaders, rawSession, responseOf, startH2, tlsMaterial } from '../http2-helpers.js';

afterEach(runCleanups);

/** Reads unmasked server frames from a stream until `count` arrived. */
function readFrames(stream: http2.ClientHttp2Stream, count: number): Promise<Array<ReturnType<typeof parseFrame>>> {
  return withTimeout(
    new Promise((resolve) => {
      let buffered = Buffer.alloc(0);
      const frames: Array<ReturnType<typeof parseFrame>> = [];
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        for (let frame = parseFrame(buffered); frame !== null; frame = parseFrame(buffered)) {
          frames.push(frame);
          buffered = buffered.subarray(frame.size);
          if (frames.length === count) {
            stream.off('data', onData);
            resolve(frames);
            return;
          }
        }
      };
      stream.on('data', onData);
    }),
    3000,
    'frames',
  );
}

describe('WebSocketServer on an HTTP/2 server (RFC 8441)', () => {
  it('advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and answers an extended CONNECT with 200, no Sec-WebSocket-Accept, frames on the stream', async () => {
    const h2 = await startH2();
    const session = await rawSession(h2);
    expect(session.remoteSettings.enableConnectProtocol).toBe(true);
    const seen = waitFor<[WebSocket, import('node:http').IncomingMessage]>(h2.wss, 'connection');
    const stream = session.request(connectHeaders('/chat?room=1', { origin: h2.url.replace('ws', 'http') }), { endStream: false });
    const headers = await responseOf(stream);
    expect(headers[':status']).toBe(200);
    expect(headers['sec-websocket-accept']).toBeUndefined();
    const [, req] = await seen;
    expect([req.method, req.url, req.httpVersion, req.headers.host, req.headers[':protocol']]).toEqual([
      'CONNECT',
      '/chat?room=1',
      '2.0',
      `127.0.0.1:${h2.port}`,
      'websocket',
    ]);
    expect(req.socket.remoteAddress).toBe('127.0.0.1');
    // A masked text frame in, the echo out (unmasked), then the close handshake and END_STREAM.
    const frames = readFrames(stream, 2);
    stream.write(buildFrame({ opcode: Op.Text, payload: 'over h2' }));
    stream.write(buildFrame({ opcode: Op.Close, payload: closePayload(1000, 'done') }));
    const [echo, close] = await frames;
    expect([echo?.opcode, echo?.masked, echo?.payload.toString()]).toEqual([Op.Text, false, 'over h2']);
    expect([close?.opcode, close?.payload.readUInt16BE(0)]).toEqual([Op.Close, 1000]);
    // RFC 8441 §5: the orderly end of the connection is END_STREAM (the server ends its side).
    await withTimeout(new Promise((resolve) => stream.once('end', resolve)), 3000, 'END_STREAM');
    stream.end();
    await withTimeout(new Promise((resolve) => stream.once('close', resolve)), 3000, 'stream close');
    expect(stream.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    expect(h2.wss.stats().handshakesAccepted).toBe(1);
  });

  it('refuses as over HTTP/1.1: unknown path 400, version 400 naming 13, bad subprotocol list 400, other origin 403, verifyClient 401, limits 503', async () => {
    const h2 = await startH2({
      wss: { path: '/ws', maxConnections: 1, verifyClient: (info: VerifyClientInfo) => info.req.headers['x-deny'] === undefined },
    });
    const session = await rawSession(h2);
    const ask = async (path: string, extra: Record<string, string> = {}): Promise<[number, string | undefined, string]> => {
      const stream = session.request(connectHeaders(path, extra), { endStream: false });
      const headers = await responseOf(stream);
      const body = await bodyOf(stream);
      return [Number(headers[':status']), headers['sec-websocket-version'] as string | undefined, body];
    };
    expect(await ask('/other')).toEqual([400, undefined, 'Unknown WebSocket path']);
    expect(await ask('/ws', { 'sec-websocket-version': '8' })).toEqual([400, '13', 'Sec-WebSocket-Version must be 13']);
    expect((await ask('/ws', { 'sec-websocket-protocol': 'a;b' }))[0]).toBe(400);
    expect((await ask('/ws', { origin: 'https://evil.example' }))[0]).toBe(403);
    expect((await ask('/ws', { 'x-deny': '1' }))[0]).toBe(401);
    const open = session.request(connectHeaders('/ws'), { endStream: false });
    expect((await responseOf(open))[':status']).toBe(200);
    expect((await ask('/ws'))[0]).toBe(503);
    const stats = h2.wss.stats();
    expect(stats.handshakesAccepted).toBe(1);
    expect(stats.handshakesRefused).toBe(5);
  });

  it('negotiates subprotocols and permessage-deflate, and lets `headers` listeners add fields (HTTP/1.1-only ones dropped)', async () => {
    const h2 = await startH2({ wss: { perMessageDeflate: true, handleProtocols: (offered) => (offered.has('b') ? 'b' : false) } });
    h2.wss.on('headers', (lines: string[]) => lines.push('X-Served-By: ws6455', 'Connection: keep-alive'));
    const session = await rawSession(h2);
    const stream = session.request(
      connectHeaders('/', { 'sec-websocket-protocol': 'a, b', 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' }),
      { endStream: false },
    );
    const headers = await responseOf(stream);
    expect(headers[':status']).toBe(200);
    expect(headers['sec-websocket-protocol']).toBe('b');
    expect(headers['sec-websocket-extensions']).toBe('permessage-deflate');
    expect(headers['x-served-by']).toBe('ws6455');
    expect(headers.connection).toBeUndefined();
    expect(h2.accepted.map((ws) => [ws.protocol, ws.extensions])).toEqual([['b', 'permessage-deflate']]);
  });

  it('leaves the streams of other paths to other WebSocketServers on the same HTTP/2 server', async () => {
    const h2 = await startH2({ wss: { path: '/a' } });
    const other = new WebSocketServer({ server: h2.server, path: '/b' });
    onCleanup(() => new Promise<void>((resolve) => other.close(() => resolve())));
    const onB: string[] = [];
    other.on('connection', (_ws, req) => onB.push(req.url ?? ''));
    const session = await rawSession(h2);
    const a = session.request(connectHeaders('/a'), { endStream: false });
    const b = session.request(connectHeaders('/b'), { endStream: false });
    const c = session.request(connectHeaders('/c'), { endStream: false });
    expect((await responseOf(a))[':status']).toBe(200);
    expect((await responseOf(b))[':status']).toBe(200);
    expect((await responseOf(c))[':status']).toBe(400);
    expect(h2.accepted.length).toBe(1);
    expect(onB).toEqual(['/b']);
  });

  it('works beside a `request` listener (Node\'s compatibility layer): pages are served, other CONNECTs still get 405', async () => {
    const h2 = await startH2();
    h2.server.on('request', (_req, res) => res.end('page'));
    const session = await rawSession(h2);
    const page = session.request({ ':path': '/' });
    expect(await bodyOf(page)).toBe('page');
    const ws = session.request(connectHeaders('/ws'), { endStream: false });
    expect((await responseOf(ws))[':status']).toBe(200);
    const tunnel = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' }, { endStream: false });
    expect((await responseOf(tunnel))[':status']).toBe(405);
  });

  it('noServer: handleStream(stream, headers, cb) accepts a stream the application routes', async () => {
    const wss = new WebSocketServer({ noServer: true });
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    const sessions: http2.ServerHttp2Session[] = [];
    server.on('session', (s) => sessions.push(s));
    server.on('stream', (stream, headers) => {
      if (headers[':path'] !== '/live') {
        stream.respond({ ':status': 404 });
        stream.end();
        return;
      }
      wss.handleStream(stream, headers, (ws) => ws.send('routed'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as import('node:net').AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { http2: true });
    onCleanup(() => ws.terminate());
    const [message] = await waitFor<[Buffer]>(ws, 'message');
    expect(message.toString()).toBe('routed');
  });

  it('allowHTTP1: HTTP/1.1 upgrades on the same TLS port are still served, beside streams', async () => {
    const h2 = await startH2({ secure: true, allowHTTP1: true });
    const versions: string[] = [];
    h2.wss.on('connection', (_ws, req) => versions.push(req.httpVersion));
    const ca = tlsMaterial().cert;
    const over1 = await WebSocket.connect(h2.url, { ca });
    const over2 = await WebSocket.connect(h2.url, { ca, http2: true });
    onCleanup(() => over1.terminate());
    onCleanup(() => over2.terminate());
    for (const ws of [over1, over2]) {
      ws.send('ping me');
      const [reply] = await waitFor<[Buffer]>(ws, 'message');
      expect(reply.toString()).toBe('ping me');
    }
    expect(versions).toEqual(['1.1', '2.0']);
  });

  it('a WebSocket reset by the server is a RST_STREAM with CANCEL (RFC 8441 §5), the session lives on', async () => {
    const h2 = await startH2();
    const session = await rawSession(h2);
    const first = session.request(connectHeaders('/'), { endStream: false });
    await responseOf(first);
    const closed = withTimeout(new Promise((resolve) => first.once('close', resolve)), 3000, 'reset');
    h2.accepted[0]?.terminate();
    await closed;
    expect(first.rstCode).toBe(constants.NGHTTP2_CANCEL);
    const second = session.request(connectHeaders('/'), { endStream: false });
    expect((await responseOf(second))[':status']).toBe(200);
  });

  it('heartbeat, stats and a hub work on streams as on TCP: a silent peer is reset after the timeout, a broadcast reaches HTTP/1.1 and HTTP/2 members', async () => {
    const h2 = await startH2({ secure: true, allowHTTP1: true, wss: { heartbeat: { interval: 100, timeout: 100 } } });
    const hub = new Hub();
    h2.wss.on('connection', (ws) => hub.join(ws, 'room'));
    const ca = tlsMaterial().cert;
    const over1 = await WebSocket.connect(h2.url, { ca });
    const over2 = await WebSocket.connect(h2.url, { ca, http2: true });
    onCleanup(() => over1.terminate());
    onCleanup(() => over2.terminate());
    // A peer that never answers pings: Node's own client, which reads nothing.
    const session = await rawSession(h2);
    const silent = session.request(connectHeaders('/'), { endStream: false });
    expect((await responseOf(silent))[':status']).toBe(200);
    await withTimeout(new Promise((resolve) => silent.once('close', resolve)), 3000, 'heartbeat reset');
    expect(silent.rstCode).toBe(constants.NGHTTP2_CANCEL);
    const got = [waitFor<[Buffer]>(over1, 'message'), waitFor<[Buffer]>(over2, 'message')];
    // Our clients answer pings: they are still open and both get the broadcast.
    const result = hub.publish('room', 'to everyone');
    expect(result.sent).toBe(2);
    expect((await Promise.all(got)).map(([data]) => data.toString())).toEqual(['to everyone', 'to everyone']);
    const stats = h2.wss.stats();
    expect(stats.handshakesAccepted).toBe(3);
    expect(stats.connections).toBe(2);
  });

  it('wss.close() closes its WebSockets over HTTP/2 with 1001 and stops taking streams; the HTTP/2 server serves on', async () => {
    const h2 = await startH2();
    h2.server.on('request', (_req, res) => res.end('still here'));
    const ws = await WebSocket.connect(h2.url, { http2: true });
    onCleanup(() => ws.terminate());
    const closed = waitFor<[number, Buffer]>(ws, 'close');
    await new Promise<void>((resolve) => h2.wss.close(() => resolve()));
    expect((await closed)[0]).toBe(1001);
    expect(h2.server.listenerCount('stream')).toBe(1); // Node's compatibility layer only
    const session = await rawSession(h2);
    expect(await bodyOf(session.request({ ':path': '/' }))).toBe('still here');
  });
});
