/**
 * Decompression bombs (permessage-deflate, RFC 7692), with and without context takeover, on
 * the server and on the client. A session first sends many messages that each inflate to just
 * under `maxPayload` (1 MiB) from about 1 KiB (all delivered; memory must not grow with their
 * number), then one message of zeros that inflates far beyond `maxPayload`: whole, and at full
 * size also in 16 KiB fragments. Each session runs against a fresh process. Inflation stops as soon as the output passes `maxPayload`: 1009
 * (`WS_ERR_UNSUPPORTED_MESSAGE_LENGTH`) and memory bounded by about `maxPayload`, whatever
 * the bomb's size. `ws` (default `maxPayload` 100 MiB) inflates 100 MiB first.
 *
 * Memory is measured in two phases: while the messages are delivered (their inflated
 * buffers are garbage the collector takes in its own time, so a larger bound), and, from a
 * baseline taken after a collection, while the bomb is refused.
 *
 * Sizes: 50 messages of 1,000,000 bytes and a 256 MiB bomb (255 KiB compressed); full: 1,000
 * messages (1 GB inflated) and a 1 GiB bomb (1 MiB compressed). The bomb is compressed once,
 * alone: such a message is valid whatever the context the previous ones left.
 */
import zlib from 'node:zlib';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFrame, closePayload, Op, parseFrame, RawClient, runCleanups } from '../node/helpers.js';
import { echoServer, hostileServer } from './attacker.js';
import {
  bounded,
  Child,
  COMPARE_WS,
  count,
  expectGrowthBelow,
  expectServing,
  MiB,
  mib,
  pick,
  pollUntil,
  record,
  serverState,
  type ClientState,
  type Impl,
  type Probe,
} from './harness.js';

afterEach(runCleanups);

const MESSAGES = pick(50, 1000);
const MESSAGE_SIZE = 1_000_000;
const BOMB = pick(256 * MiB, 1024 * MiB);
const FRAGMENT = 16 * 1024;
/**
 * While messages of 1 MB are delivered: the one being inflated, zlib's buffers, and the
 * delivered messages, garbage the collector takes in its own time: tens of MiB between two
 * collections (measured: +15 to +70 MiB). That nothing is kept per message is checked after a
 * collection, by {@link RETAINED_BOUND}.
 */
const MESSAGES_BOUND = 128 * MiB;
/** JavaScript heap and external memory (Buffers) after the messages, after a collection, above the baseline. */
const RETAINED_BOUND = 8 * MiB;
/** While the bomb is refused: about maxPayload of output, zlib's window and buffers. */
const BOMB_BOUND = 24 * MiB;
const TIMEOUT = pick(60_000, 300_000);
/** How long the server or client may take to refuse the bomb. */
const CLOSE_WAIT = pick(20_000, 120_000);
const KEY = Buffer.from([9, 8, 7, 6]);
const ZEROS = Buffer.alloc(MiB);

/**
 * Compresses messages as permessage-deflate does (RFC 7692 §7.2.1): one raw deflate stream, a
 * sync flush after each message, its trailing 00 00 ff ff removed; without context takeover
 * the stream is reset after each message (§7.1.1).
 */
class MessageCompressor {
  private readonly stream = zlib.createDeflateRaw({ level: 9 });
  private chunks: Buffer[] = [];

  constructor(private readonly takeover: boolean) {
    this.stream.on('data', (chunk: Buffer) => this.chunks.push(chunk));
  }

  /** The compressed payload of a message of `size` zero bytes. */
  async zeros(size: number): Promise<Buffer> {
    for (let left = size; left > 0; left -= ZEROS.length) {
      if (!this.stream.write(ZEROS.subarray(0, Math.min(left, ZEROS.length)))) {
        await new Promise((resolve) => this.stream.once('drain', resolve));
      }
    }
    await new Promise<void>((resolve) => this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    if (!out.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))) throw new Error('a sync flush ends with 00 00 ff ff');
    if (!this.takeover) this.stream.reset();
    return out.subarray(0, -4);
  }

  close(): void {
    this.stream.close();
  }
}

let bombPayload: Promise<Buffer> | null = null;

/** The bomb's compressed payload, made once. */
function bomb(): Promise<Buffer> {
  bombPayload ??= (async () => {
    const compressor = new MessageCompressor(false);
    const payload = await compressor.zeros(BOMB);
    compressor.close();
    return payload;
  })();
  return bombPayload;
}

/** JavaScript heap and external memory (Buffers) in `now` above `base`, both read after a collection. */
function retainedSince(base: Probe, now: Probe): number {
  return now.heapUsed + now.external - (base.heapUsed + base.external);
}

/** The frames of one compressed message (RSV1 on the first, RFC 7692 §6): whole, or in fragments of `fragment` bytes. */
function messageFrames(payload: Buffer, mask: Buffer | false, fragment = 0): Buffer {
  if (fragment === 0 || payload.length <= fragment) return buildFrame({ opcode: Op.Binary, rsv: 0x40, payload, mask });
  const frames: Buffer[] = [];
  for (let at = 0; at < payload.length; at += fragment) {
    const first = at === 0;
    const fin = at + fragment >= payload.length;
    frames.push(buildFrame({ opcode: first ? Op.Binary : Op.Cont, rsv: first ? 0x40 : 0, fin, payload: payload.subarray(at, at + fragment), mask }));
  }
  return Buffer.concat(frames);
}

/** Writes `data`, waiting (bounded) for the kernel to take it. */
async function send(socket: net.Socket, data: Buffer): Promise<void> {
  if (!socket.write(data)) {
    await bounded(
      new Promise((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      }),
      30_000,
      'drain',
    );
  }
}

/** The bomb whole with and without context takeover; at full size also in fragments. */
const VARIANTS: Array<[name: string, takeover: boolean, fragment: number]> = [
  ['context takeover', true, 0],
  ['no context takeover', false, 0],
  ...pick<Array<[string, boolean, number]>>([], [['context takeover, the bomb in 16 KiB fragments', true, FRAGMENT]]),
];

describe('deflate bombs against the server', () => {
  /** A session against a fresh server process: what a previous bomb left in its heap would hide growth. */
  async function session(impl: Impl, takeover: boolean, fragment: number) {
    const server = await Child.server({ impl, mode: 'port', handler: 'sink', options: { perMessageDeflate: true } });
    const base = await server.baseline();
    const offer = takeover ? 'permessage-deflate' : 'permessage-deflate; client_no_context_takeover';
    const raw = await RawClient.open(server.port, { headers: { 'Sec-WebSocket-Extensions': offer } });
    expect(raw.response?.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate/);
    const compressor = new MessageCompressor(takeover);
    let wire = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const frame = messageFrames(await compressor.zeros(MESSAGE_SIZE), KEY);
      wire += frame.length;
      await send(raw.socket, frame);
    }
    compressor.close();
    const delivered = await pollUntil(() => serverState(server), (s) => s.messages === MESSAGES || s.open === 0, TIMEOUT, 'messages delivered');
    const messagesGrowth = (await server.growth(base)).growth;
    const retained = retainedSince(base, await server.probe(true));
    const frames = messageFrames(await bomb(), KEY, fragment);
    const bombBase = await server.baseline();
    await send(raw.socket, frames);
    // ws with its 100 MiB maxPayload takes a while; a bomb it accepts gets no close at all.
    const code = await raw.readUntilClose(CLOSE_WAIT).then(
      (c) => c.code,
      () => null,
    );
    raw.sendFrame({ opcode: Op.Close, payload: closePayload(code ?? 1000), mask: KEY });
    raw.end();
    const state = await pollUntil(() => serverState(server), (s) => s.open === 0, 20_000, 'connection gone');
    const bombGrowth = (await server.growth(bombBase)).growth;
    const size = `${count(MESSAGES)} x 1 MB in ${count(wire)} bytes, then ${BOMB / MiB} MiB in ${count(frames.length)} bytes`;
    return { server, delivered, code, state, messagesGrowth, retained, bombGrowth, size };
  }

  it.each(VARIANTS)('%s: every message delivered, the bomb closed with 1009, memory bounded', async (name, takeover, fragment) => {
    const { server, delivered, code, state, messagesGrowth, retained, bombGrowth, size } = await session('ours', takeover, fragment);
    expect([delivered.messages, delivered.messageBytes]).toEqual([MESSAGES, MESSAGES * MESSAGE_SIZE]);
    expect(retained, `heap and Buffers kept after ${MESSAGES} messages`).toBeLessThan(RETAINED_BOUND);
    expect(code).toBe(1009);
    expect(state.errors).toEqual({ WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1 });
    expectGrowthBelow({ attack: `deflate, ${count(MESSAGES)} x 1 MB, ${name}`, impl: 'ours', mode: 'port', size, growth: messagesGrowth, bound: MESSAGES_BOUND, outcome: `${delivered.messages} delivered; kept after a collection: ${mib(retained)}` });
    expectGrowthBelow({ attack: `deflate bomb, ${name}`, impl: 'ours', mode: 'port', size, growth: bombGrowth, bound: BOMB_BOUND, outcome: `bomb: ${code}` });
    await expectServing(server);
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    for (const [name, takeover, fragment] of VARIANTS) {
      const { server, delivered, code, messagesGrowth, retained, bombGrowth, size } = await session('ws', takeover, fragment);
      await server.kill();
      record({ attack: `deflate, ${count(MESSAGES)} x 1 MB, ${name}`, impl: 'ws', mode: 'port', size, growth: messagesGrowth, outcome: `${delivered.messages} delivered; kept after a collection: ${mib(retained)}` });
      record({ attack: `deflate bomb, ${name}`, impl: 'ws', mode: 'port', size, growth: bombGrowth, outcome: `bomb: ${code ?? 'no close'}` });
    }
  }, 3 * TIMEOUT);
});

describe('deflate bombs against the client', () => {
  /**
   * A hostile server: agrees on permessage-deflate, sends the messages and the bomb (unmasked),
   * then reads the client's frames and answers its close frame.
   */
  async function session(impl: Impl, takeover: boolean, fragment: number) {
    let closeFromClient: number | null = null;
    let failure: unknown = null;
    let messagesGrowth = 0;
    let retained = 0;
    let bombBase: Probe | null = null;
    const client = await Child.client({ impl, options: {} });
    const base = await client.baseline();
    const hostile = await hostileServer(
      (socket) => {
        void (async () => {
          const compressor = new MessageCompressor(takeover);
          for (let i = 0; i < MESSAGES && !socket.destroyed; i++) await send(socket, messageFrames(await compressor.zeros(MESSAGE_SIZE), false));
          compressor.close();
          const frames = messageFrames(await bomb(), false, fragment);
          // The client's memory while the messages were delivered, then a new baseline for the bomb.
          await pollUntil(() => client.request<ClientState>('state'), (s) => s.messages === MESSAGES || s.closed, TIMEOUT, 'messages delivered');
          messagesGrowth = (await client.growth(base)).growth;
          retained = retainedSince(base, await client.probe(true));
          bombBase = await client.baseline();
          let received = Buffer.alloc(0);
          socket.on('data', (chunk: Buffer) => {
            received = Buffer.concat([received, chunk]);
            for (let frame = parseFrame(received); frame !== null; frame = parseFrame(received)) {
              received = received.subarray(frame.size);
              if (frame.opcode === Op.Close && closeFromClient === null) {
                closeFromClient = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
                socket.end(buildFrame({ opcode: Op.Close, payload: frame.payload.subarray(0, 2), mask: false }));
              }
            }
          });
          socket.resume();
          await send(socket, frames);
        })().catch((err: unknown) => (failure = err));
      },
      takeover ? 'permessage-deflate' : 'permessage-deflate; server_no_context_takeover',
    );
    expect(await client.request<boolean>('connect', { url: hostile.url })).toBe(true);
    // ws with its 100 MiB maxPayload takes a while; a bomb it accepts gets no close at all.
    const state = await pollUntil(() => client.request<ClientState>('state'), (s) => s.closed || failure !== null, CLOSE_WAIT, 'the client closed').catch(
      () => client.request<ClientState>('state'),
    );
    if (failure !== null) throw failure;
    const bombGrowth = bombBase === null ? 0 : (await client.growth(bombBase)).growth;
    return { client, state, closeFromClient: closeFromClient as number | null, messagesGrowth, retained, bombGrowth, size: `${count(MESSAGES)} x 1 MB, then ${BOMB / MiB} MiB` };
  }

  it.each(VARIANTS)('%s: every message delivered, the bomb closed with 1009, memory bounded', async (name, takeover, fragment) => {
    const { client, state, closeFromClient, messagesGrowth, retained, bombGrowth, size } = await session('ours', takeover, fragment);
    expect([state.messages, state.messageBytes]).toEqual([MESSAGES, MESSAGES * MESSAGE_SIZE]);
    expect(retained, `heap and Buffers kept after ${MESSAGES} messages`).toBeLessThan(RETAINED_BOUND);
    expect(closeFromClient).toBe(1009);
    expect(state.errors).toEqual({ WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1 });
    expectGrowthBelow({ attack: `deflate, ${count(MESSAGES)} x 1 MB, ${name}`, impl: 'ours', mode: 'client', size, growth: messagesGrowth, bound: MESSAGES_BOUND, outcome: `${state.messages} delivered; kept after a collection: ${mib(retained)}` });
    expectGrowthBelow({ attack: `deflate bomb, ${name}`, impl: 'ours', mode: 'client', size, growth: bombGrowth, bound: BOMB_BOUND, outcome: `bomb: ${closeFromClient}` });
    await client.expectAlive();
    expect(await client.request('check', { url: await echoServer() })).toBe('ok');
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    for (const [name, takeover, fragment] of VARIANTS) {
      const { client, state, closeFromClient, messagesGrowth, retained, bombGrowth, size } = await session('ws', takeover, fragment);
      await client.kill();
      record({ attack: `deflate, ${count(MESSAGES)} x 1 MB, ${name}`, impl: 'ws', mode: 'client', size, growth: messagesGrowth, outcome: `${Math.min(state.messages, MESSAGES)} delivered; kept after a collection: ${mib(retained)}` });
      record({ attack: `deflate bomb, ${name}`, impl: 'ws', mode: 'client', size, growth: bombGrowth, outcome: `bomb: ${closeFromClient ?? 'no close'}` });
    }
  }, 3 * TIMEOUT);
});
