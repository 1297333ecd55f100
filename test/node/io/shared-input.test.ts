/**
 * Socket reads into one buffer shared by every connection (src/node/io/shared-input.ts). The
 * buffer is overwritten by every later read of any socket, so each test keeps what arrived
 * (messages, ping payloads, input held while paused) until other reads have reused the buffer,
 * and only then compares it with what was sent. The socket's private field is read on purpose:
 * it shows which sockets read into the shared buffer.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { INPUT_SIZE, simdKernel } from '../../../src/core/mask-simd.js';
import { readIntoSharedInput } from '../../../src/node/io/shared-input.js';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import { buildFrame, closePayload, delay, listen, onCleanup, openPair, Op, RawClient, runCleanups, trackClient, trackServer, until, waitFor } from '../helpers.js';

afterEach(runCleanups);

const socketOf = (ws: WebSocket): net.Socket => (ws as unknown as { transport: { socket: net.Socket } }).transport.socket;

/** The buffer a socket reads into (Node's private `kBuffer` field); `null` for Node's own buffers. */
function readBufferOf(socket: net.Socket): unknown {
  const field = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'kBuffer');
  return field === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[field];
}

/** A payload of `length` bytes that differs from every other message's (`seed`). */
function pattern(seed: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7 + (i >>> 8)) & 0xff;
  return bytes;
}

/** Sizes around every length encoding, a read's size and the kernel's block size. */
const SIZES = [0, 1, 15, 16, 17, 125, 126, 1000, 1024, 65535, 65536, 65537, INPUT_SIZE - 3, INPUT_SIZE + 5, 1 << 20];

describe('reading into the shared input buffer', () => {
  it('is used by the TCP sockets of our server and our client, inside the masking kernel\'s memory', async () => {
    const { client, server } = await openPair();
    const kernel = simdKernel();
    for (const socket of [socketOf(server), socketOf(client)]) {
      const buffer = readBufferOf(socket) as Buffer;
      expect(Buffer.isBuffer(buffer)).toBe(true);
      expect(buffer.length).toBe(INPUT_SIZE);
      if (kernel !== null) expect(buffer.buffer).toBe(kernel.memory.buffer);
    }
    // One buffer for every socket.
    expect(readBufferOf(socketOf(server))).toBe(readBufferOf(socketOf(client)));
  });

  it('is not used with sharedReadBuffer: false, on either side: the sockets emit data events, as with ws', async () => {
    const { client, server } = await openPair({ sharedReadBuffer: false }, { sharedReadBuffer: false });
    const chunks: Buffer[] = [];
    socketOf(server).on('data', (chunk: Buffer) => chunks.push(chunk));
    const received = waitFor<[Buffer]>(server, 'message');
    const echoed = waitFor<[Buffer]>(client, 'message');
    server.on('message', (data: Buffer) => server.send(data));
    client.send(pattern(1, 2000));
    expect((await received)[0].equals(pattern(1, 2000))).toBe(true);
    expect((await echoed)[0].equals(pattern(1, 2000))).toBe(true);
    expect(chunks.reduce((n, chunk) => n + chunk.length, 0)).toBeGreaterThanOrEqual(2000);
    for (const socket of [socketOf(server), socketOf(client)]) expect(readBufferOf(socket)).toBeNull();
  });

  it('leaves a socket whose handle refuses the buffer with its own reads and data events', async () => {
    const server = net.createServer();
    const port = await listen(server);
    onCleanup(() => server.close());
    const accepted = waitFor<[net.Socket]>(server, 'connection');
    const client = net.connect(port, '127.0.0.1');
    onCleanup(() => client.destroy());
    const [socket] = await accepted;
    onCleanup(() => socket.destroy());
    const handle = (socket as unknown as { _handle: { useUserBuffer: (buffer: Uint8Array) => void } })._handle;
    handle.useUserBuffer = () => {
      throw new Error('refused');
    };
    let reads = 0;
    expect(readIntoSharedInput(socket, () => (reads++, true))).toBe(false);
    expect(readBufferOf(socket)).toBeNull();
    const data = waitFor<[Buffer]>(socket, 'data');
    client.write('still data events');
    expect((await data)[0].toString()).toBe('still data events');
    expect(reads).toBe(0);
  });

  it('gives the application messages and ping payloads that keep their bytes while later reads reuse the buffer', async () => {
    const { client, server } = await openPair();
    const received: Array<{ data: Buffer; isBinary: boolean }> = [];
    const pings: Buffer[] = [];
    server.on('message', (data: Buffer, isBinary: boolean) => received.push({ data, isBinary }));
    server.on('ping', (data: Buffer) => pings.push(data));
    const sent: Array<{ data: Buffer; isBinary: boolean }> = [];
    const sentPings: Buffer[] = [];
    let seed = 0;
    for (let round = 0; round < 3; round++) {
      for (const size of SIZES) {
        const data = pattern(++seed, size);
        const isBinary = seed % 3 !== 0;
        // Text must be UTF-8: keep the pattern's bytes below 0x80.
        if (!isBinary) for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) & 0x7f;
        sent.push({ data, isBinary });
        if (seed % 4 === 0 && size >= 4) {
          // In three fragments, with a ping between the first two.
          const third = Math.floor(size / 3);
          client.send(data.subarray(0, third), { binary: isBinary, fin: false });
          const ping = pattern(1000 + seed, 125);
          sentPings.push(ping);
          client.ping(ping);
          client.send(data.subarray(third, 2 * third), { binary: isBinary, fin: false });
          client.send(data.subarray(2 * third), { binary: isBinary, fin: true });
        } else {
          client.send(data, { binary: isBinary });
        }
      }
      // Let the server read this round before the next is queued: more separate reads.
      await until(() => received.length === sent.length, 10_000, 'round delivered');
    }
    const closed = waitFor<[number, Buffer]>(server, 'close');
    client.close(4001, 'the reason, kept as sent');
    const [code, reason] = await closed;
    expect(received.length).toBe(sent.length);
    received.forEach((message, i) => {
      const expected = sent[i] as { data: Buffer; isBinary: boolean };
      expect(message.isBinary).toBe(expected.isBinary);
      expect(message.data.equals(expected.data), `message ${i} (${expected.data.length} bytes)`).toBe(true);
    });
    expect(pings).toEqual(sentPings);
    expect(code).toBe(4001);
    expect(reason.toString()).toBe('the reason, kept as sent');
  });

  it('copies the input held while the application is paused before another socket\'s read reuses the buffer', async () => {
    const { wss, url, client, server } = await openPair();
    const first: Buffer[] = [];
    server.on('message', (data: Buffer) => {
      first.push(data);
      // Paused inside the first message: the rest of that read is held by the parser.
      if (first.length === 1) server.pause();
    });
    const messages = Array.from({ length: 20 }, (_, i) => pattern(i, 1000 + i));
    // Sent in one tick: one write, read at once by the server.
    for (const message of messages) client.send(message);
    await until(() => first.length === 1, 3000, 'first message');
    // A second batch in a later read: taken while paused and held as well.
    const later = Array.from({ length: 5 }, (_, i) => pattern(100 + i, 3000 + i));
    messages.push(...later);
    for (const message of later) client.send(message);
    await delay(50);
    expect(first.length).toBe(1);
    // A second connection fills the shared buffer with other bytes.
    const otherServer = waitFor<[WebSocket]>(wss, 'connection');
    const other = trackClient(new WebSocket(url));
    await waitFor(other, 'open');
    const [otherSide] = await otherServer;
    const otherReceived: Buffer[] = [];
    otherSide.on('message', (data: Buffer) => otherReceived.push(data));
    other.send(Buffer.alloc(INPUT_SIZE, 0xee));
    other.send(Buffer.alloc(4096, 0xdd));
    await until(() => otherReceived.length === 2, 5000, 'other connection');
    server.resume();
    await until(() => first.length === messages.length, 3000, 'held messages');
    first.forEach((data, i) => expect(data.equals(messages[i] as Buffer), `message ${i}`).toBe(true));
  });

  it('takes one more read while paused and then stops reading: the bytes held stay within one read', async () => {
    const { client, server } = await openPair();
    const socket = socketOf(server);
    const received: Buffer[] = [];
    server.on('message', (data: Buffer) => received.push(data));
    server.pause();
    const before = socket.bytesRead;
    const sent = Array.from({ length: 30 }, (_, i) => pattern(i, 65536));
    for (const data of sent) client.send(data);
    // 1.9 MiB offered: a socket that kept reading would have taken it all by now.
    await delay(300);
    const inbound = (server as unknown as { transport: { connection: { bufferedInbound: number } } }).transport.connection.bufferedInbound;
    expect(socket.bytesRead - before).toBeLessThanOrEqual(INPUT_SIZE);
    expect(inbound).toBeLessThanOrEqual(INPUT_SIZE);
    expect(received).toHaveLength(0);
    server.resume();
    await until(() => received.length === sent.length, 5000, 'messages after resume');
    received.forEach((data, i) => expect(data.equals(sent[i] as Buffer), `message ${i}`).toBe(true));
  });

  it('is used by a node:http server\'s upgraded sockets, after the bytes that came with the request', async () => {
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer });
    trackServer(wss);
    onCleanup(() => new Promise<void>((resolve) => httpServer.close(() => resolve())));
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const port = (httpServer.address() as AddressInfo).port;
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const received: Buffer[] = [];
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => received.push(data)));
    const sent = [pattern(1, 300), pattern(2, 70_000), pattern(3, 20)];
    // The first message arrives with the upgrade request (the `head` of the upgrade event).
    const raw = await RawClient.open(port, {}, buildFrame({ opcode: Op.Binary, payload: sent[0] }));
    const [server] = await accepted;
    expect(Buffer.isBuffer(readBufferOf(socketOf(server)))).toBe(true);
    raw.sendFrame({ opcode: Op.Binary, payload: sent[1] });
    raw.sendFrame({ opcode: Op.Binary, payload: sent[2] });
    raw.sendFrame({ opcode: Op.Close, payload: closePayload(1000) });
    await waitFor(server, 'close');
    expect(received.length).toBe(3);
    received.forEach((data, i) => expect(data.equals(sent[i] as Buffer), `message ${i}`).toBe(true));
  });

  it('delivers compressed messages intact, with the input behind a decode held', async () => {
    const { client, server } = await openPair({ perMessageDeflate: { threshold: 0 } }, { perMessageDeflate: { threshold: 0 } });
    expect(server.extensions).toContain('permessage-deflate');
    const received: Buffer[] = [];
    server.on('message', (data: Buffer) => received.push(data));
    const sent = Array.from({ length: 30 }, (_, i) => pattern(i, (i * 7919) % 40_000));
    for (const message of sent) client.send(message);
    await until(() => received.length === sent.length, 10_000, 'compressed messages');
    received.forEach((data, i) => expect(data.equals(sent[i] as Buffer), `message ${i}`).toBe(true));
  });
});
