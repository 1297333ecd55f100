/**
 * The process-wide zlib pool over real sockets on 127.0.0.1: a server whose connections hand
 * their zlib streams to the next connection keeps RFC 7692's semantics. Each connection starts
 * on an empty window whoever used the stream before (§7.1.1), keeps its context across
 * messages unless `*_no_context_takeover` was agreed (§7.1.1.1, §7.1.1.2), gets streams of
 * exactly its negotiated window sizes (§7.1.2), and never gets a stream that failed on invalid
 * data or stopped a bomb at `maxPayload`.
 *
 * The peer is a raw TCP client (test/node/helpers.ts) that compresses and inflates with its own
 * node:zlib streams; it inflates what the server sends with a strict window (small output
 * chunks, so zlib checks every distance against 2^bits), so a too-large window is seen.
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PerMessageDeflate } from '../../src/deflate/codec.js';
import { zlibPool } from '../../src/deflate/zlib-pool.js';
import type { WebSocket } from '../../src/index.js';
import { closePayload, Op, RawClient, runCleanups, startServer, until, type StartedServer } from '../node/helpers.js';
import { expectBytes, pseudoRandom, repeated, words, zeroBomb } from './helpers.js';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

// ---- which streams the server's codecs take --------------------------------------------------

interface Taken {
  kind: 'inflate' | 'deflate';
  bits: number;
  stream: InflateRaw | DeflateRaw;
}

/** Every stream a codec of this process took (from the pool or new), in order. */
const taken: Taken[] = [];
type Taking = { takeInflater(bits: number): InflateRaw; takeDeflater(bits: number): DeflateRaw };
const proto = PerMessageDeflate.prototype as unknown as Taking;
const original = { takeInflater: proto.takeInflater, takeDeflater: proto.takeDeflater };
proto.takeInflater = function (this: Taking, bits: number): InflateRaw {
  const stream = original.takeInflater.call(this, bits);
  taken.push({ kind: 'inflate', bits, stream });
  return stream;
};
proto.takeDeflater = function (this: Taking, bits: number): DeflateRaw {
  const stream = original.takeDeflater.call(this, bits);
  taken.push({ kind: 'deflate', bits, stream });
  return stream;
};
afterAll(() => Object.assign(proto, original));

/** The streams taken since `from`, of one kind. */
function takenSince(from: number, kind: Taken['kind']): Taken['stream'][] {
  return taken.slice(from).filter((t) => t.kind === kind).map((t) => t.stream);
}

beforeEach(() => zlibPool.clear());
afterEach(async () => {
  await runCleanups();
  zlibPool.clear();
});

// ---- the peer's own zlib ---------------------------------------------------------------------

/** Writes `data` and a sync flush through a zlib stream; resolves with what came out. */
function flushThrough(stream: DeflateRaw | InflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => void chunks.push(chunk);
    const onError = (err: Error): void => {
      stream.off('data', onData);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(data);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** The peer's compressor: one DEFLATE stream, so each message may refer to earlier ones. */
class Compressor {
  private readonly stream: DeflateRaw;
  constructor(bits = 15) {
    this.stream = createDeflateRaw({ windowBits: bits });
  }
  /** A message's payload (RFC 7692 §7.2.1: the trailing 00 00 ff ff removed). */
  async compress(message: Buffer): Promise<Buffer> {
    const out = await flushThrough(this.stream, message);
    expect(out.subarray(-4)).toEqual(TAIL);
    return out.subarray(0, out.length - 4);
  }
  close(): void {
    this.stream.close();
  }
}

/** The peer's strict decompressor: a true 2^bits window, context kept across messages. */
class Decompressor {
  private readonly stream: InflateRaw;
  constructor(bits = 15) {
    this.stream = createInflateRaw({ windowBits: bits, chunkSize: 64 });
    this.stream.on('error', () => {});
  }
  inflate(payload: Buffer): Promise<Buffer> {
    return flushThrough(this.stream, Buffer.concat([payload, TAIL]));
  }
  close(): void {
    this.stream.destroy();
  }
}

/** Payloads of `messages` compressed as one context-takeover sequence with a fresh stream. */
async function sequence(messages: Buffer[], bits = 15): Promise<Buffer[]> {
  const c = new Compressor(bits);
  const out: Buffer[] = [];
  for (const m of messages) out.push(await c.compress(m));
  c.close();
  return out;
}

// ---- server and peers ------------------------------------------------------------------------

/** An echo server with permessage-deflate on (pool at its default). */
async function echoServer(maxPayload?: number): Promise<StartedServer> {
  const started = await startServer({ perMessageDeflate: true, ...(maxPayload === undefined ? {} : { maxPayload }) });
  started.wss.on('connection', (ws: WebSocket) => {
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  return started;
}

/** A raw peer that offered `offer` and got `expected` back in Sec-WebSocket-Extensions. */
async function peer(port: number, offer: string, expected = offer): Promise<RawClient> {
  const client = await RawClient.open(port, { headers: { 'Sec-WebSocket-Extensions': offer } });
  expect(client.response?.headers['sec-websocket-extensions']).toBe(expected);
  return client;
}

/** Sends one compressed binary message and reads the server's echo (compressed: RSV1). */
async function exchange(client: RawClient, payload: Buffer): Promise<Buffer> {
  client.sendFrame({ opcode: Op.Binary, rsv: 0x40, payload });
  const echo = await client.readMessage();
  expect(echo.frames[0]?.rsv).toBe(0x40);
  return echo.payload;
}

/** Closes with 1000 and waits until the server let go of the connection (and its streams). */
async function closeNormally(client: RawClient, started: StartedServer): Promise<void> {
  client.sendFrame({ opcode: Op.Close, payload: closePayload(1000) });
  expect((await client.readUntilClose()).code).toBe(1000);
  await client.waitClosed();
  await until(() => started.wss.clients.size === 0, undefined, 'server connection gone');
}

/** Sends one compressed message and expects the server to fail the connection with `code`. */
async function expectFailure(client: RawClient, payload: Buffer, code: number): Promise<void> {
  client.sendFrame({ opcode: Op.Binary, rsv: 0x40, payload });
  const { code: got, before } = await client.readUntilClose();
  expect(before).toEqual([]);
  expect(got).toBe(code);
}

const DEFLATE = 'permessage-deflate';

describe('the zlib pool over real sockets', () => {
  it('with context takeover, a reused stream starts empty for the next connection and keeps its context within it', async () => {
    const started = await echoServer();
    const message = words(4000, 7);
    const [first, second] = (await sequence([message, message])) as [Buffer, Buffer];
    // `second` is only a back-reference into `first`: decodable only by a stream that saw it.
    expect(second.length).toBeLessThan(first.length / 10);

    let mark = taken.length;
    const a = await peer(started.port, DEFLATE);
    const fromA = new Decompressor();
    const echoA1 = await exchange(a, first);
    const echoA2 = await exchange(a, second);
    expectBytes(await fromA.inflate(echoA1), message);
    expectBytes(await fromA.inflate(echoA2), message);
    // Context kept within the connection (RFC 7692 §7.1.1): the second echo is a back-reference.
    expect(echoA2.length).toBeLessThan(echoA1.length / 10);
    await closeNormally(a, started);
    const [inflaterA] = takenSince(mark, 'inflate');
    const [deflaterA] = takenSince(mark, 'deflate');
    expect(takenSince(mark, 'inflate')).toHaveLength(1);
    expect(takenSince(mark, 'deflate')).toHaveLength(1);
    expect(zlibPool.stats().idleStreams).toBe(2);

    // B's first message refers to a window B never sent. A's inflater, reset, must refuse it.
    mark = taken.length;
    const b = await peer(started.port, DEFLATE);
    await expectFailure(b, second, 1007);
    expect(takenSince(mark, 'inflate')).toEqual([inflaterA]);
    await until(() => inflaterA?.destroyed === true, undefined, 'failed inflater destroyed');

    // C gets A's compressor, reset: its first echo is the full message again, as a new stream
    // would compress it, not a back-reference into A's window. The failed inflater is not reused.
    mark = taken.length;
    const c = await peer(started.port, DEFLATE);
    const fromC = new Decompressor();
    const echoC1 = await exchange(c, first);
    expectBytes(echoC1, echoA1);
    expectBytes(await fromC.inflate(echoC1), message);
    const echoC2 = await exchange(c, second);
    expectBytes(await fromC.inflate(echoC2), message);
    expect(echoC2.length).toBeLessThan(echoC1.length / 10);
    expect(takenSince(mark, 'deflate')).toEqual([deflaterA]);
    const [inflaterC] = takenSince(mark, 'inflate');
    expect(inflaterC).toBeDefined();
    expect(inflaterC).not.toBe(inflaterA);
    await closeNormally(c, started);
    fromA.close();
    fromC.close();
  });

  for (const [serverNct, clientNct] of [
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const params = [serverNct ? 'server_no_context_takeover' : '', clientNct ? 'client_no_context_takeover' : ''].filter(Boolean);
    it(`with ${params.join(' and ')}, those directions start every message on an empty window and give the stream back in between`, async () => {
      const started = await echoServer();
      const message = words(4000, 11);
      const [first, second] = (await sequence([message, message])) as [Buffer, Buffer];
      const offer = [DEFLATE, ...params].join('; ');
      const mark = taken.length;
      const client = await peer(started.port, offer);
      const inflate = new Decompressor();
      const echoes: Buffer[] = [];
      for (let i = 0; i < 3; i++) {
        // A client that agreed to client_no_context_takeover compresses each message alone.
        const echo = await exchange(client, clientNct || i === 0 ? first : second);
        expectBytes(await inflate.inflate(echo), message);
        echoes.push(echo);
      }
      if (serverNct) {
        // RFC 7692 §7.1.1.1: no back-reference to an earlier message; each echo is compressed
        // as a new stream would, by a stream that went back to the pool and was taken again.
        for (const echo of echoes) expectBytes(echo, echoes[0] as Buffer);
        expect(takenSince(mark, 'deflate')).toHaveLength(3);
      } else {
        expect((echoes[2] as Buffer).length).toBeLessThan((echoes[0] as Buffer).length / 10);
        expect(takenSince(mark, 'deflate')).toHaveLength(1);
      }
      expect(takenSince(mark, 'inflate')).toHaveLength(clientNct ? 3 : 1);
      if (clientNct) {
        // RFC 7692 §7.1.1.2: the server dropped the window after each message, so a
        // back-reference into the previous message fails the connection.
        await expectFailure(client, second, 1007);
      } else {
        await closeNormally(client, started);
      }
      inflate.close();
    });
  }

  it('streams of different window sizes are never shared (RFC 7692 §7.1.2)', async () => {
    const started = await echoServer();
    // Repeats at a distance of 5,000 bytes: beyond a 9-bit window, within a 15-bit one.
    const message = repeated(pseudoRandom(5000, 21), 20_000);
    const [wide] = (await sequence([message], 15)) as [Buffer];
    const [narrow] = (await sequence([message], 9)) as [Buffer];

    let mark = taken.length;
    const a = await peer(started.port, DEFLATE);
    const echoA = await exchange(a, wide);
    expectBytes(await new Decompressor(15).inflate(echoA), message);
    await closeNormally(a, started);
    const [inflaterA] = takenSince(mark, 'inflate');
    const [deflaterA] = takenSince(mark, 'deflate');

    // B: 9-bit windows both ways, while A's 15-bit streams are idle in the pool.
    mark = taken.length;
    const offer = `${DEFLATE}; server_max_window_bits=9; client_max_window_bits=9`;
    const b = await peer(started.port, offer);
    const echoB = await exchange(b, narrow);
    // A 15-bit compressor would refer 5,000 bytes back: a true 9-bit window cannot inflate that.
    expectBytes(await new Decompressor(9).inflate(echoB), message);
    const streamsB = taken.slice(mark);
    expect(streamsB.map((t) => [t.kind, t.bits])).toEqual([
      ['inflate', 9],
      ['deflate', 9],
    ]);
    for (const t of streamsB) expect([inflaterA, deflaterA]).not.toContain(t.stream);
    await closeNormally(b, started);
    expect(zlibPool.stats().idleStreams).toBe(4);

    // C: 15 bits again takes A's streams, not B's 9-bit ones (which could not inflate `wide`).
    mark = taken.length;
    const c = await peer(started.port, DEFLATE);
    const echoC = await exchange(c, wide);
    expectBytes(await new Decompressor(15).inflate(echoC), message);
    expect(takenSince(mark, 'inflate')).toEqual([inflaterA]);
    expect(takenSince(mark, 'deflate')).toEqual([deflaterA]);
    await closeNormally(c, started);
  });

  for (const [name, code] of [
    ['stopped a bomb at maxPayload', 1009],
    ['failed on invalid compressed data', 1007],
  ] as const) {
    it(`a stream that ${name} is destroyed, never reused`, async () => {
      const maxPayload = 64 * 1024;
      const started = await echoServer(maxPayload);
      const bad = code === 1009 ? await zeroBomb(4) : Buffer.from([0xff, 0xff, 0xff, 0xff]);
      const [good] = (await sequence([words(4000, 5)])) as [Buffer];

      // A healthy connection first, so that the pool holds a reset inflater...
      const warm = await peer(started.port, DEFLATE);
      await exchange(warm, good);
      await closeNormally(warm, started);

      // ...which the bad connection takes and breaks.
      let mark = taken.length;
      const a = await peer(started.port, DEFLATE);
      await expectFailure(a, bad, code);
      const [inflaterA] = takenSince(mark, 'inflate');
      await until(() => inflaterA?.destroyed === true, undefined, 'broken inflater destroyed');
      await a.waitClosed();
      await until(() => started.wss.clients.size === 0, undefined, 'server connection gone');
      expect(zlibPool.stats().idleStreams).toBe(1); // only the idle compressor

      // The next connection inflates with a new stream, and correctly.
      mark = taken.length;
      const b = await peer(started.port, DEFLATE);
      const echo = await exchange(b, good);
      expectBytes(await new Decompressor().inflate(echo), words(4000, 5));
      const [inflaterB] = takenSince(mark, 'inflate');
      expect(inflaterB).not.toBe(inflaterA);
      expect(inflaterB?.destroyed).toBe(false);
      await closeNormally(b, started);
    });
  }
});
