import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, type ConnectionHandler, type SendCallback } from '../../../src/core/connection.js';
import type { LocalCloseReason } from '../../../src/node/io/local-close.js';
import type { TransportMonitor } from '../../../src/node/io/monitor.js';
import { DEFAULT_FRAGMENT_SIZE, routeFrame, routeMessage, type RoutingHost, SendScheduler } from '../../../src/node/io/send-scheduler.js';
import { transportOf } from '../../../src/node/io/internals.js';
import { resolveConnectionOptions } from '../../../src/node/io/connection-options.js';
import { delay, Op, openPair, parseFrame, runCleanups, until, waitFor, type Frame } from '../helpers.js';

afterEach(runCleanups);

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A host whose socket has room while `room` is true; everything passed out is recorded. */
class FakeHost implements RoutingHost {
  scheduler: SendScheduler | null = null;
  readonly connection: Connection;
  readonly socket = { writableNeedDrain: false, destroyed: false } as unknown as Duplex;
  readonly settings = resolveConnectionOptions({});
  localClose: LocalCloseReason | null = null;
  overflows = 0;
  monitor: TransportMonitor | null = null;
  room = true;
  /** The socket reports itself full once this many bytes went out. */
  cap = Infinity;
  out: Buffer[] = [];
  ended = 0;
  drained = 0;
  constructor(role: 'client' | 'server') {
    const handler: ConnectionHandler = {
      writeFrame: (first, _length, buffer, start, end, payload, cb) => routeFrame(this, first, buffer, start, end, payload, cb),
      writeMessage: (message) => routeMessage(this, message),
      onMessage() {},
      onPing() {},
      onPong() {},
      onCloseFrame() {},
      onProtocolError() {},
      endTransport: () => {
        if (!this.scheduler?.deferEnd()) this.ended++;
      },
      awaitClose() {},
      setReading() {},
    };
    this.connection = new Connection(handler, { role });
  }
  get socketWritable(): boolean {
    return this.room && this.outBytes() < this.cap;
  }
  outBytes(): number {
    let n = 0;
    for (const b of this.out) n += b.length;
    return n;
  }
  passOut(buffer: Buffer, start: number, end: number, cb?: SendCallback): void {
    this.out.push(Buffer.from(buffer.subarray(start, end)));
    if (cb) process.nextTick(cb);
  }
  finishEnd(): void {
    this.ended++;
  }
  schedulerDrained(): void {
    this.drained++;
  }
  outputOverflow(): void {
    this.overflows++;
  }
  frames(): Frame[] {
    let buf = Buffer.concat(this.out);
    const frames: Frame[] = [];
    for (let f = parseFrame(buf); f !== null; f = parseFrame(buf)) {
      frames.push(f);
      buf = buf.subarray(f.size);
    }
    expect(buf.length).toBe(0);
    return frames;
  }
}

describe('SendScheduler (bytes in, frames out)', () => {
  it('passes small frames straight through while the socket has room, without creating a scheduler', () => {
    const host = new FakeHost('server');
    host.connection.send(Buffer.from('hi'), { binary: false, fin: true, compress: false });
    host.connection.ping(Buffer.from('p'));
    expect(host.scheduler).toBeNull();
    expect(host.frames().map((f) => f.opcode)).toEqual([Op.Text, Op.Ping]);
  });

  it('splits a large message into 64 KiB fragments: first keeps the opcode, the last the FIN', () => {
    const host = new FakeHost('server');
    const payload = Buffer.alloc(3 * DEFAULT_FRAGMENT_SIZE + 5, 7);
    host.connection.send(payload, { binary: true, fin: true, compress: false });
    const frames = host.frames();
    expect(frames.map((f) => [f.opcode, f.fin, f.payload.length])).toEqual([
      [Op.Binary, false, DEFAULT_FRAGMENT_SIZE],
      [Op.Cont, false, DEFAULT_FRAGMENT_SIZE],
      [Op.Cont, false, DEFAULT_FRAGMENT_SIZE],
      [Op.Cont, true, 5],
    ]);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(payload)).toBe(true);
  });

  it('lets fragments grow (up to 1 MiB) while the socket keeps nothing back, and shrink again when it does', () => {
    const host = new FakeHost('server');
    (host.socket as unknown as { writableLength: number }).writableLength = 0;
    host.connection.send(Buffer.alloc(4 * 1024 * 1024), { binary: true, fin: true, compress: false });
    const sizes = host.frames().map((f) => f.payload.length / 1024);
    expect(sizes).toEqual([64, 128, 256, 512, 1024, 1024, 1024, 64]);
    const slow = new FakeHost('server');
    (slow.socket as unknown as { writableLength: number }).writableLength = 1;
    slow.connection.send(Buffer.alloc(256 * 1024), { binary: true, fin: true, compress: false });
    expect(slow.frames().map((f) => f.payload.length / 1024)).toEqual([64, 64, 64, 64]);
  });

  it('re-masks each fragment of a client message with its own fresh key (RFC 6455 §5.3)', () => {
    const host = new FakeHost('client');
    const payload = Buffer.from(Array.from({ length: 2 * DEFAULT_FRAGMENT_SIZE + 3 }, (_, i) => (i * 31) & 0xff));
    host.connection.send(payload, { binary: true, fin: true, compress: false });
    const frames = host.frames();
    expect(frames).toHaveLength(3);
    expect(frames.every((f) => f.masked)).toBe(true);
    // parseFrame unmasks with each frame's own key: the joined payload must be the original.
    expect(sha(Buffer.concat(frames.map((f) => f.payload)))).toBe(sha(payload));
  });

  it('lets ping and pong jump ahead of queued data, between two fragments', () => {
    const host = new FakeHost('server');
    host.room = false;
    const payload = Buffer.alloc(4 * DEFAULT_FRAGMENT_SIZE, 1);
    host.connection.send(payload, { binary: true, fin: true, compress: false });
    expect(host.out).toHaveLength(0);
    // The socket drains: one fragment goes, then it is full again.
    const scheduler = host.scheduler as SendScheduler;
    host.room = true;
    host.cap = 1;
    scheduler.onDrain();
    host.connection.pong(Buffer.from('now'));
    host.cap = Infinity;
    scheduler.onDrain();
    const frames = host.frames();
    expect(frames.map((f) => f.opcode)).toEqual([Op.Binary, Op.Pong, Op.Cont, Op.Cont, Op.Cont]);
    expect(host.drained).toBe(1);
  });

  it('keeps a plain close behind queued data, and ends the socket only after it', () => {
    const host = new FakeHost('server');
    host.room = false;
    host.connection.send(Buffer.alloc(10, 1), { binary: true, fin: true, compress: false });
    host.connection.close(1000, 'bye');
    expect(host.out).toHaveLength(0);
    host.room = true;
    (host.scheduler as SendScheduler).onDrain();
    expect(host.frames().map((f) => f.opcode)).toEqual([Op.Binary, Op.Close]);
  });

  it('an urgent close (answering the peer, or a policy) drops queued data and goes next', () => {
    const host = new FakeHost('server');
    host.room = false;
    const failed: unknown[] = [];
    host.connection.send(Buffer.alloc(10, 1), { binary: true, fin: true, compress: false }, (err) => failed.push(err));
    host.localClose = 'backpressure';
    host.connection.close(1013);
    expect(host.frames().map((f) => f.opcode)).toEqual([Op.Close]);
    expect(host.scheduler?.queuedBytes).toBe(0);
    return until(() => failed.length === 1).then(() => expect(failed[0]).toBeInstanceOf(Error));
  });
});

describe('control frames over real sockets', () => {
  it('a pong is not stuck behind a 32 MiB message the peer is not reading', async () => {
    const { client, server } = await openPair({}, { maxPayload: 64 * MiB });
    client.pause();
    server.send(Buffer.alloc(32 * MiB, 0x5a));
    // Let the kernel buffers fill up; most of the message now waits in the server's send queue.
    await until(() => (transportOf(server)?.scheduler?.queuedBytes ?? 0) > 0, 3000, 'queued');
    await delay(100);
    const queuedAtPing = server.bufferedAmount;
    expect(queuedAtPing).toBeGreaterThan(16 * MiB);
    const order: string[] = [];
    let readAtPong = 0;
    client.on('pong', (data: Buffer) => {
      order.push(`pong ${data.toString()}`);
      readAtPong = (transportOf(client)?.socket as unknown as { bytesRead: number }).bytesRead;
    });
    const message = waitFor<[Buffer]>(client, 'message', 15_000);
    client.on('message', (data: Buffer) => order.push(`message ${data.length}`));
    client.ping('are you there');
    client.resume();
    await message;
    expect(order).toEqual(['pong are you there', `message ${32 * MiB}`]);
    // The pong went out ahead of everything that was still queued when it was asked for.
    expect(readAtPong).toBeLessThan(32 * MiB - queuedAtPing + 2 * MiB);
  }, 20_000);

  it('a client sends a 4 MiB message in masked fragments that the server reassembles intact', async () => {
    const { client, server } = await openPair({ maxPayload: 8 * MiB });
    const payload = Buffer.from(Array.from({ length: 4 * MiB }, (_, i) => (i * 7 + 3) & 0xff));
    const got = waitFor<[Buffer]>(server, 'message', 10_000);
    client.send(payload);
    const [data] = await got;
    expect(sha(data)).toBe(sha(payload));
  }, 20_000);

  it("regression: 'drain' follows a send that returned false because this tick's small frames filled the socket", async () => {
    const { server } = await openPair();
    let sent = 0;
    while (server.send(Buffer.alloc(1000)) && sent < 100) sent++;
    expect(sent).toBeLessThan(100);
    await waitFor(server, 'drain', 2000);
  });

  it('bufferedAmount counts the send queue, and drain comes once it went out', async () => {
    const { client, server } = await openPair({}, { maxPayload: 64 * MiB });
    client.pause();
    let sent = 0;
    while (server.send(Buffer.alloc(256 * 1024, 1)) && sent < 1000) sent++;
    expect(server.bufferedAmount).toBeGreaterThan(0);
    const drained = waitFor(server, 'drain', 10_000);
    client.resume();
    await drained;
    expect(server.bufferedAmount).toBeLessThan(64 * 1024);
  });
});
