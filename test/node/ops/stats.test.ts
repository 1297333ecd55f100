import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, WebSocket, WebSocketServer, type ServerStats } from '../../../src/index.js';
import { listen, Op, RawClient, rawHttp, runCleanups, startServer, trackClient, trackServer, until, upgradeRequest, waitFor } from '../helpers.js';

afterEach(runCleanups);

describe('server.stats()', () => {
  it('counts connections, handshakes, messages, bytes, close codes and local reasons', async () => {
    const { wss, port, url } = await startServer({ path: '/ws', maxPayload: 1000 });
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(data)));
    expect(wss.stats()).toMatchObject({ connections: 0, handshakesAccepted: 0, messagesIn: 0, bytesIn: 0 });

    const client = trackClient(new WebSocket(`${url}/ws`));
    client.on('error', () => {});
    await waitFor(client, 'open');
    let echoes = 0;
    client.on('message', () => echoes++);
    for (let i = 0; i < 5; i++) client.send(`hello ${i}`);
    await until(() => echoes === 5);
    // Refused: wrong version (426) and wrong path (400).
    expect((await rawHttp(port, upgradeRequest(port, { path: '/ws', headers: { 'Sec-WebSocket-Version': '8' } }))).status).toBe(426);
    expect((await rawHttp(port, upgradeRequest(port, { path: '/elsewhere' }))).status).toBe(400);
    // A message over maxPayload: closed with 1009 (local reason maxPayload).
    const raw = await RawClient.open(port, { path: '/ws' });
    raw.sendFrame({ opcode: Op.Binary, payload: Buffer.alloc(2000) });
    expect((await raw.readUntilClose()).code).toBe(1009);
    client.close(1000);
    await until(() => wss.stats().connections === 0);

    const stats = wss.stats();
    expect(stats).toMatchObject({
      connections: 0,
      handshakesAccepted: 2,
      handshakesRefused: 2,
      refusedByStatus: { '400': 1, '426': 1 },
      messagesIn: 5,
      messagesOut: 5,
      broadcastDropped: 0,
    });
    expect(stats.closeCodes['1000']).toBe(1);
    expect(Object.values(stats.closeCodes).reduce((a, b) => a + b, 0)).toBe(2);
    expect(stats.localCloses.maxPayload).toBe(1);
    // Each side of the echo: 5 masked frames in, 5 unmasked out, plus the close frames and 2000 bytes.
    expect(stats.bytesIn).toBeGreaterThan(5 * (6 + 7) + 2000);
    expect(stats.bytesOut).toBeGreaterThan(5 * (2 + 7));
  });

  it('counts what the own HTTP front refused apart from handshakes: 400, 408, 426, 431, 505', async () => {
    const { wss, port } = await startServer({ path: '/ws', maxHeaderSize: 1024, handshakeTimeout: 200 });
    expect(wss.stats()).toMatchObject({ httpRefused: 0, httpRefusedByStatus: {} });
    const answers = await Promise.all([
      rawHttp(port, 'GET /ws HTTP/1.1\r\nHost : x\r\n\r\n'),
      rawHttp(port, 'GET /ws HTTP/1.1\nHost: x\n\n'),
      rawHttp(port, upgradeRequest(port, { path: '/ws', headers: { 'Content-Length': '5' } })),
      // Nothing sent: the head never comes.
      rawHttp(port, ''),
      rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      rawHttp(port, upgradeRequest(port, { path: '/ws', headers: { 'X-Big': 'x'.repeat(1100) } })),
      rawHttp(port, 'GET /ws HTTP/2.0\r\nHost: x\r\n\r\n'),
      // Upgrade requests refused by the WebSocket rules are handshake refusals.
      rawHttp(port, upgradeRequest(port, { path: '/elsewhere' })),
    ]);
    expect(answers.map((res) => res.status)).toEqual([400, 400, 400, 408, 426, 431, 505, 400]);
    const stats = wss.stats();
    expect(stats.httpRefused).toBe(7);
    expect(stats.httpRefusedByStatus).toEqual({ '400': 3, '408': 1, '426': 1, '431': 1, '505': 1 });
    expect(stats.handshakesRefused).toBe(1);
    expect(stats.refusedByStatus).toEqual({ '400': 1 });
    const text = renderPrometheus(stats);
    expect(text).toContain('ws6455_http_refused_total{status="408"} 1');
    expect(text).toContain('ws6455_http_refused_total{status="400"} 3');
    expect(text).toContain('ws6455_handshakes_refused_total{status="400"} 1');
  });

  it('counts no front refusals with { server }: node:http reads the heads', async () => {
    const httpServer = http.createServer();
    const port = await listen(httpServer);
    const wss = new WebSocketServer({ server: httpServer });
    trackServer(wss);
    expect((await rawHttp(port, upgradeRequest(port, { headers: { 'Content-Length': 'abc' } }))).status).toBe(400);
    expect(wss.stats()).toMatchObject({ httpRefused: 0, httpRefusedByStatus: {}, handshakesRefused: 0 });
  });

  it('counts backpressure events', async () => {
    const { wss, port } = await startServer();
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    raw.pauseReading();
    const [server] = await accepted;
    for (let i = 0; i < 100; i++) server.send(Buffer.alloc(64 * 1024));
    expect(wss.stats().backpressureEvents).toBeGreaterThanOrEqual(1);
  });
});

const sample: ServerStats = {
  connections: 3,
  handshakesAccepted: 10,
  handshakesRefused: 2,
  refusedByStatus: { '429': 1, '503': 1 },
  httpRefused: 4,
  httpRefusedByStatus: { '400': 3, '408': 1 },
  messagesIn: 100,
  messagesOut: 250,
  bytesIn: 4096,
  bytesOut: 8192,
  closeCodes: { '1000': 5, '1006': 2 },
  localCloses: {
    maxPayload: 0,
    protocolError: 0,
    heartbeat: 2,
    idleTimeout: 0,
    rateLimit: 1,
    pingFlood: 0,
    backpressure: 0,
    memoryBudget: 0,
    shutdown: 0,
  },
  broadcastDropped: 7,
  backpressureEvents: 4,
  rateLimitedMessages: 9,
};

describe('renderPrometheus', () => {
  it('renders the text exposition format: HELP, TYPE and samples with labels', () => {
    const text = renderPrometheus(sample);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('# TYPE ws6455_connections gauge');
    expect(lines).toContain('ws6455_connections 3');
    expect(lines).toContain('# TYPE ws6455_handshakes_refused_total counter');
    expect(lines).toContain('ws6455_handshakes_refused_total{status="429"} 1');
    expect(lines).toContain('# TYPE ws6455_http_refused_total counter');
    expect(lines).toContain('ws6455_http_refused_total{status="400"} 3');
    expect(lines).toContain('ws6455_http_refused_total{status="408"} 1');
    expect(lines).toContain('ws6455_closes_total{code="1006"} 2');
    expect(lines).toContain('ws6455_local_closes_total{reason="heartbeat"} 2');
    expect(lines).toContain('ws6455_local_closes_total{reason="shutdown"} 0');
    expect(lines).toContain('ws6455_broadcast_dropped_total 7');
    expect(lines).toContain('ws6455_rate_limited_messages_total 9');
    // Every sample line is `name{labels} value` after its metric's HELP and TYPE.
    const sampleLine = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? -?[0-9.e+]+$/;
    let declared = '';
    for (const line of lines) {
      if (line.startsWith('# HELP ')) declared = line.split(' ')[2] as string;
      else if (line.startsWith('# TYPE ')) expect(line.split(' ')[2]).toBe(declared);
      else {
        expect(line).toMatch(sampleLine);
        expect(line.startsWith(declared)).toBe(true);
      }
    }
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('adds constant labels (escaped) and a custom prefix; rejects invalid names', () => {
    const text = renderPrometheus(sample, { prefix: 'chat_', labels: { server: 'a"b\\c\nd' } });
    expect(text).toContain('chat_connections{server="a\\"b\\\\c\\nd"} 3');
    expect(text).toContain('chat_closes_total{server="a\\"b\\\\c\\nd",code="1000"} 5');
    expect(() => renderPrometheus(sample, { prefix: '1bad' })).toThrow(TypeError);
    expect(() => renderPrometheus(sample, { labels: { 'bad-name': 'x' } })).toThrow(TypeError);
    expect(() => renderPrometheus(sample, { labels: { __reserved: 'x' } })).toThrow(TypeError);
  });

  it('renders the stats of a live server', async () => {
    const { wss } = await startServer();
    const text = renderPrometheus(wss.stats(), { labels: { server: 'test' } });
    expect(text).toContain('ws6455_connections{server="test"} 0');
    expect(text).not.toContain('undefined');
  });
});
