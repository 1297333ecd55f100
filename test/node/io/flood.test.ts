/**
 * Peers that send and never read, over real sockets on 127.0.0.1: what we hold for them stays
 * bounded by a constant, in both roles.
 *
 * - Ping flood: an automatic pong waits from the moment it is handed to the socket until the
 *   socket wrote it. Past `maxPendingAutoPongs` (60) waiting pongs the peer is failed with 1008
 *   (local reason `pingFlood`); with no limit it stays connected, at most 256 pongs wait and
 *   later pings only replace the payload to answer next (RFC 6455 §5.5.3).
 * - Output to a peer that never reads: past `maxBufferedAmount` the connection is closed with
 *   1008 (local reason `backpressure`) and its queued output dropped.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type WebSocketServer } from '../../../src/index.js';
import {
  acceptFor,
  buildFrame,
  listen,
  Op,
  parseHead,
  RawClient,
  runCleanups,
  startServer,
  trackClient,
  until,
  waitFor,
} from '../helpers.js';

afterEach(runCleanups);

const PING_PAYLOAD = Buffer.alloc(125, 0x61);
/** Largest wire size of a pong for a 125-byte ping (masked, from a client). */
const PONG_WIRE = 2 + 4 + 125;
/** Most automatic pongs waiting to be written without a limit (core/auto-pong.ts). */
const WAITING = 256;
/** The default `maxPendingAutoPongs`. */
const LIMIT = 60;

/**
 * Writes `count` pings (masked when `masked`) to `socket`, in writes of `batch` pings, each
 * write after the previous one was taken by the kernel; stops early when `stop()` says so.
 * Returns how many were written.
 */
async function flood(socket: net.Socket, count: number, masked: boolean, stop: () => boolean, batch = 500): Promise<number> {
  const one = buildFrame({ opcode: Op.Ping, payload: PING_PAYLOAD, mask: masked ? Buffer.from([1, 2, 3, 4]) : false });
  const chunk = Buffer.concat(Array.from({ length: batch }, () => one));
  let sent = 0;
  while (sent < count && !stop() && !socket.destroyed) {
    const ok = socket.write(chunk);
    sent += batch;
    if (!ok) {
      await drainOrClose(socket);
    }
  }
  return sent;
}

/**
 * Resolves on the socket's next `drain` or `close` (or after 5 s), and removes both listeners:
 * a race of two one-shot waits left a `close` listener behind at every drain.
 */
function drainOrClose(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, 5000);
    socket.once('drain', done);
    socket.once('close', done);
  });
}

/** The server's WebSocket for a raw client that stops reading once upgraded. */
async function nonReadingClient(options: Parameters<typeof startServer>[0]): Promise<{ raw: RawClient; ws: WebSocket; wss: WebSocketServer }> {
  const { wss, port } = await startServer(options);
  const connection = waitFor<[WebSocket]>(wss, 'connection');
  const raw = await RawClient.open(port);
  raw.pauseReading();
  const [ws] = await connection;
  return { raw, ws, wss };
}

describe('ping flood against our server', () => {
  it('a peer that floods pings and never reads is failed with 1008 (pingFlood), holding at most 60 pongs', async () => {
    const { raw, ws, wss } = await nonReadingClient({});
    const errors: Error[] = [];
    ws.on('error', (err: Error) => errors.push(err));
    let maxBuffered = 0;
    ws.on('ping', () => (maxBuffered = Math.max(maxBuffered, ws.bufferedAmount)));
    const closed = waitFor<[number, Buffer]>(ws, 'close', 20_000);
    // The kernel's buffers take the first pongs; then they wait in the socket and count.
    const sent = await flood(raw.socket, 2_000_000, true, () => ws.readyState !== WebSocket.OPEN);
    const [code, reason] = await closed;
    expect(sent).toBeLessThan(2_000_000);
    expect((errors[0] as { code?: string } | undefined)?.code).toBe('WS_ERR_TOO_MANY_PENDING_PONGS');
    // The peer never read our close frame: the socket was destroyed after a short grace.
    expect([code, reason.toString()]).toEqual([1006, 'too many pings']);
    expect(wss.stats().localCloses.pingFlood).toBe(1);
    // What waited for the peer: at most 60 pongs.
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT * PONG_WIRE);
  }, 30_000);

  it('with maxPendingAutoPongs: 0 the connection stays open and at most 256 pongs wait, whatever the number of pings', async () => {
    const { raw, ws } = await nonReadingClient({ maxPendingAutoPongs: 0 });
    let pings = 0;
    let maxBuffered = 0;
    ws.on('ping', () => {
      pings++;
      maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
    });
    const sent = await flood(raw.socket, 400_000, true, () => false);
    await until(() => pings === sent, 20_000, 'every ping parsed');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // 400,000 pongs would be 52 MB; 256 of them are 33 kB.
    expect(maxBuffered).toBeLessThanOrEqual(WAITING * PONG_WIRE);
    expect(ws.bufferedAmount).toBeLessThanOrEqual(WAITING * PONG_WIRE);
  }, 30_000);

  it('answers every ping of a peer that reads: 10,000 pings, 50 at a time', async () => {
    const { wss, port } = await startServer({});
    const connection = waitFor<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    const [ws] = await connection;
    raw.resumeDiscarding();
    const one = buildFrame({ opcode: Op.Ping, payload: 'p', mask: Buffer.from([9, 9, 9, 9]) });
    const batch = Buffer.concat(Array.from({ length: 50 }, () => one));
    const start = raw.totalReceived;
    for (let i = 1; i <= 200; i++) {
      raw.write(batch);
      // Each pong of a 1-byte ping is 3 bytes on the wire.
      await until(() => raw.totalReceived - start >= i * 50 * 3, 5000, `the pongs of batch ${i}`);
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('ping flood against our client', () => {
  /** A raw server that upgrades, then floods unmasked pings and never reads. */
  async function floodingServer(count: number): Promise<{ port: number; sent: Promise<number> }> {
    let resolveSent: (n: number) => void = () => {};
    const sent = new Promise<number>((resolve) => (resolveSent = resolve));
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const parsed = parseHead(head);
        if (parsed === null) return;
        socket.off('data', onData);
        socket.pause();
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${acceptFor(parsed.headers['sec-websocket-key'] ?? '')}\r\n\r\n`,
        );
        void flood(socket, count, false, () => false).then(resolveSent);
      };
      socket.on('data', onData);
    });
    return { port: await listen(server), sent };
  }

  it('our client fails a server that floods pings and never reads with 1008 (pingFlood)', async () => {
    const { port } = await floodingServer(2_000_000);
    const client = trackClient(new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false }));
    const errors: Error[] = [];
    client.on('error', (err: Error) => errors.push(err));
    let maxBuffered = 0;
    client.on('ping', () => (maxBuffered = Math.max(maxBuffered, client.bufferedAmount)));
    const [code, reason] = await waitFor<[number, Buffer]>(client, 'close', 20_000);
    expect((errors[0] as { code?: string } | undefined)?.code).toBe('WS_ERR_TOO_MANY_PENDING_PONGS');
    expect([code, reason.toString()]).toEqual([1006, 'too many pings']);
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT * PONG_WIRE);
  }, 30_000);

  it('with maxPendingAutoPongs: 0 our client holds at most 256 pongs', async () => {
    const { port, sent } = await floodingServer(300_000);
    const client = trackClient(new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPendingAutoPongs: 0 }));
    let pings = 0;
    let maxBuffered = 0;
    client.on('ping', () => {
      pings++;
      maxBuffered = Math.max(maxBuffered, client.bufferedAmount);
    });
    const total = await sent;
    await until(() => pings === total, 20_000, 'every ping parsed');
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(maxBuffered).toBeLessThanOrEqual(WAITING * PONG_WIRE);
  }, 30_000);
});

describe('output to a peer that never reads', () => {
  it('is bounded by maxBufferedAmount: past it the connection closes with 1008 (backpressure) and its output is dropped', async () => {
    const limit = 4 * 1024 * 1024;
    const { ws, wss } = await nonReadingClient({ maxBufferedAmount: limit });
    const closed = waitFor<[number, Buffer]>(ws, 'close', 20_000);
    const chunk = Buffer.alloc(64 * 1024, 1);
    let maxBuffered = 0;
    // A naive echo-style sender: ignores send()'s return value. Bounded: 64 MiB at most.
    for (let i = 0; i < 1024 && ws.readyState === WebSocket.OPEN; i++) {
      ws.send(chunk);
      maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    }
    const [code, reason] = await closed;
    expect([code, reason.toString()]).toEqual([1006, 'too slow to receive']);
    expect(wss.stats().localCloses.backpressure).toBe(1);
    // At most the limit, one message and the socket's own buffer above it.
    expect(maxBuffered).toBeLessThanOrEqual(limit + 2 * chunk.length + 1024 * 1024);
  }, 30_000);

  it('has a 64 MiB default and 0 turns it off', async () => {
    const { ws } = await nonReadingClient({ maxBufferedAmount: 0 });
    const chunk = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < 80; i++) ws.send(chunk);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(ws.bufferedAmount).toBeGreaterThan(64 * 1024 * 1024);
    ws.terminate();
    const other = await nonReadingClient({});
    for (let i = 0; i < 80 && other.ws.readyState === WebSocket.OPEN; i++) other.ws.send(chunk);
    expect(other.ws.readyState).not.toBe(WebSocket.OPEN);
  });
});
