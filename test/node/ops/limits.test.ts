import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../../src/index.js';
import { delay, RawClient, rawHttp, runCleanups, startServer, trackClient, until, upgradeRequest, waitFor } from '../helpers.js';

afterEach(runCleanups);

async function connect(url: string, localAddress?: string): Promise<WebSocket> {
  const ws = trackClient(new WebSocket(url, [], localAddress === undefined ? {} : { localAddress }));
  ws.on('error', () => {});
  await waitFor(ws, 'open');
  return ws;
}

describe('connection limits, refused at the handshake', () => {
  it('maxConnections: 503 beyond the limit, before verifyClient or any WebSocket exists', async () => {
    let verified = 0;
    const { wss, port, url } = await startServer({
      maxConnections: 2,
      verifyClient: () => {
        verified++;
        return true;
      },
    });
    let connections = 0;
    wss.on('connection', () => connections++);
    const a = await connect(url);
    await connect(url);
    const res = await rawHttp(port, upgradeRequest(port));
    expect(res.status).toBe(503);
    expect(res.body).toBe('Too many connections');
    expect(res.closedByServer).toBe(true);
    expect(verified).toBe(2);
    expect(connections).toBe(2);
    // A slot frees up when a connection closes.
    a.close();
    await until(() => wss.stats().connections === 1);
    await connect(url);
    const stats = wss.stats();
    expect(stats).toMatchObject({ connections: 2, handshakesAccepted: 3, handshakesRefused: 1, refusedByStatus: { '503': 1 } });
  });

  it('maxConnectionsPerAddress: 429 for the same address, another address still gets in', async () => {
    const { wss, port, url } = await startServer({ maxConnectionsPerAddress: 1 });
    await connect(url);
    const res = await rawHttp(port, upgradeRequest(port));
    expect(res.status).toBe(429);
    expect(res.statusLine).toBe('HTTP/1.1 429 Too Many Requests');
    // 127.0.0.2 is loopback too on Linux; elsewhere this part is skipped.
    const other = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (other) await connect(url, '127.0.0.2');
    expect(wss.stats().refusedByStatus).toEqual({ '429': 1 });
    expect(wss.stats().connections).toBe(other ? 2 : 1);
  });

  it('maxConnectionsPerAddress: a closed connection frees its place for the same address', async () => {
    const { wss, port, url } = await startServer({ maxConnectionsPerAddress: 1 });
    const first = await connect(url);
    const closed = waitFor(first, 'close');
    first.close(1000);
    await closed;
    await until(() => wss.stats().connections === 0, undefined, 'server saw the close');
    const second = await connect(url);
    expect(second.readyState).toBe(WebSocket.OPEN);
    expect((await rawHttp(port, upgradeRequest(port))).status).toBe(429);
  });

  it('rechecks after an asynchronous verifyClient', async () => {
    const { wss, port } = await startServer({
      maxConnections: 1,
      verifyClient: (_info, cb) => setTimeout(() => cb(true), 50),
    });
    // Both pass the first check while neither is open yet; only one may complete.
    const [r1, r2] = await Promise.all([
      RawClient.connect(port).then((c) => c.handshake()),
      RawClient.connect(port).then((c) => c.handshake()),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([101, 503]);
    await delay(10);
    expect(wss.stats().connections).toBe(1);
  });
});

describe('rate limits', () => {
  it("action 'close': closes with 1008 once the bucket is empty and delivers nothing after", async () => {
    const { wss, url } = await startServer({ rateLimit: { messagesPerSecond: 5, burstMessages: 5 } });
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const client = await connect(url);
    const [server] = await accepted;
    let delivered = 0;
    server.on('message', () => delivered++);
    for (let i = 0; i < 20; i++) client.send(`m${i}`);
    const serverClosed = waitFor<[number, Buffer]>(server, 'close', 3000);
    const [code, reason] = await waitFor<[number, Buffer]>(client, 'close', 3000);
    expect([code, reason.toString()]).toEqual([1008, 'rate limit exceeded']);
    await serverClosed;
    // 5 in the burst, perhaps one more refilled while they travelled.
    expect(delivered).toBeGreaterThanOrEqual(5);
    expect(delivered).toBeLessThanOrEqual(6);
    expect(wss.stats().localCloses.rateLimit).toBe(1);
  });

  it("action 'drop': drops what is over the limit, keeps the connection, refills over time", async () => {
    const { wss, url } = await startServer({ rateLimit: { messagesPerSecond: 20, burstMessages: 5, action: 'drop' } });
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const client = await connect(url);
    const [server] = await accepted;
    let delivered = 0;
    server.on('message', () => delivered++);
    for (let i = 0; i < 30; i++) client.send(`m${i}`);
    await until(() => wss.stats().messagesIn === 30);
    expect(delivered).toBeGreaterThanOrEqual(5);
    expect(delivered).toBeLessThanOrEqual(8);
    expect(wss.stats().rateLimitedMessages).toBe(30 - delivered);
    // 300 ms refill 5 or more tokens (20/s, burst 5).
    await delay(300);
    const before = delivered;
    for (let i = 0; i < 5; i++) client.send('later');
    await until(() => delivered === before + 5);
    expect(client.readyState).toBe(WebSocket.OPEN);
  });

  it('limits bytes per second too', async () => {
    const { wss, url } = await startServer({ rateLimit: { bytesPerSecond: 1000, action: 'drop' } });
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const client = await connect(url);
    const [server] = await accepted;
    let bytes = 0;
    server.on('message', (data: Buffer) => (bytes += data.length));
    for (let i = 0; i < 20; i++) client.send(Buffer.alloc(400));
    await until(() => wss.stats().messagesIn === 20);
    // A burst of 1,000 bytes: three messages of 400 (the third goes into debt), then nothing.
    expect(bytes).toBe(1200);
  });

  it('validates the options', async () => {
    await expect(startServer({ rateLimit: { messagesPerSecond: -1 } })).rejects.toThrow(RangeError);
    await expect(startServer({ maxConnections: -1 })).rejects.toThrow(RangeError);
  });
});
