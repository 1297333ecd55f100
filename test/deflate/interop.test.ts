/**
 * permessage-deflate (RFC 7692) interoperability with `ws` 8 over real sockets on 127.0.0.1, in
 * both directions, plus the hostile cases a real peer cannot produce (raw TCP peers).
 *
 * Every `ws` pairing runs through a {@link WireTap}: a loopback TCP proxy that forwards bytes
 * unchanged and parses the frame headers going each way, so the tests check what really went
 * over the wire (RSV1, opcode, FIN, compressed length) and not only what each end reports. A
 * raw TCP server that completes the handshake by hand stands in for the server where our client
 * must be shown a malformed or hostile frame.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { constants as zlibConstants, createDeflateRaw } from 'node:zlib';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import type { PerMessageDeflateOptions } from '../../src/deflate/options.js';
import { WebSocket, type WebSocketServer } from '../../src/index.js';
import {
  acceptFor,
  buildFrame,
  closePayload,
  listen,
  onCleanup,
  Op,
  parseFrame,
  parseHead,
  RawClient,
  runCleanups,
  startServer,
  trackClient,
  until,
  waitFor,
  watchClose,
  withTimeout,
  type Frame,
} from '../node/helpers.js';
import { pseudoRandom, words, zeroBomb } from './helpers.js';

afterEach(runCleanups);

const KiB = 1024;
const MiB = 1024 * KiB;
/** Large enough for a 1 MiB incompressible message, which deflate makes a little larger. */
const MAX_PAYLOAD = 2 * MiB;
/** Generous bound for the waits that move several MiB through zlib. */
const SLOW = 15_000;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// ---- a frame-header sniffer between the two ends ---------------------------------------------

/** One frame seen on the wire (header only; the payload is counted, not kept). */
interface WireFrame {
  /** The first octet: FIN, RSV1-3 and the opcode. */
  b0: number;
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  /** Payload length from the header (the compressed size for a compressed frame). */
  length: number;
}

type Direction = 'up' | 'down';

/** Incremental RFC 6455 §5.2 header reader: skips the HTTP head, then payloads without copying them. */
class FrameHeaderReader {
  readonly frames: WireFrame[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private skip = 0;
  private headDone = false;

  feed(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = Buffer.alloc(0);
    // Bounded: every pass consumes at least one byte or returns.
    while (buf.length > 0) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length);
        this.skip -= n;
        buf = buf.subarray(n);
        continue;
      }
      if (!this.headDone) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        this.headDone = true;
        buf = buf.subarray(end + 4);
        continue;
      }
      const header = readHeader(buf);
      if (header === null) break;
      this.frames.push(header.frame);
      this.skip = header.frame.length;
      buf = buf.subarray(header.size);
    }
    this.pending = Buffer.from(buf);
  }
}

function readHeader(buf: Buffer): { frame: WireFrame; size: number } | null {
  if (buf.length < 2) return null;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  let length = b1 & 0x7f;
  let size = 2;
  if (length === 126) {
    if (buf.length < 4) return null;
    length = buf.readUInt16BE(2);
    size = 4;
  } else if (length === 127) {
    if (buf.length < 10) return null;
    length = Number(buf.readBigUInt64BE(2));
    size = 10;
  }
  if ((b1 & 0x80) !== 0) size += 4;
  if (buf.length < size) return null;
  return { frame: { b0, fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, length }, size };
}

/**
 * A loopback TCP proxy to `targetPort` that records the frame headers of its (single) proxied
 * connection: `up` is client → server, `down` server → client. Bytes pass unchanged.
 */
class WireTap {
  readonly readers: Record<Direction, FrameHeaderReader> = { up: new FrameHeaderReader(), down: new FrameHeaderReader() };
  port = 0;
  private readonly server: net.Server;

  private constructor(targetPort: number) {
    const sockets = new Set<net.Socket>();
    this.server = net.createServer({ allowHalfOpen: true }, (inbound) => {
      const outbound = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
      sockets.add(inbound).add(outbound);
      inbound.on('data', (chunk: Buffer) => this.readers.up.feed(chunk));
      outbound.on('data', (chunk: Buffer) => this.readers.down.feed(chunk));
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      const destroyBoth = (): void => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', destroyBoth).on('close', () => outbound.end());
      outbound.on('error', destroyBoth).on('close', () => inbound.end());
    });
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          this.server.close(() => resolve());
        }),
    );
  }

  static async start(targetPort: number): Promise<WireTap> {
    const tap = new WireTap(targetPort);
    tap.server.listen(0, '127.0.0.1');
    await waitFor(tap.server, 'listening');
    tap.port = (tap.server.address() as AddressInfo).port;
    return tap;
  }

  /** Data frames (text, binary, continuation) seen going `dir`. */
  data(dir: Direction): WireFrame[] {
    return this.readers[dir].frames.filter((f) => f.opcode < Op.Close);
  }

  /** Data messages seen going `dir`, their frames joined (our sender fragments above 64 KiB). */
  messages(dir: Direction): WireMessage[] {
    const out: WireMessage[] = [];
    let current: WireMessage | null = null;
    for (const f of this.data(dir)) {
      if (current === null) {
        current = { opcode: f.opcode, rsv1: f.rsv1, continuationRsv1: false, frames: 0, length: 0 };
        out.push(current);
      } else {
        current.continuationRsv1 ||= f.rsv1;
      }
      current.frames++;
      current.length += f.length;
      if (f.fin) current = null;
    }
    return out;
  }
}

/** One data message as it went over the wire. */
interface WireMessage {
  opcode: number;
  /** RSV1 of its first frame. */
  rsv1: boolean;
  /** RSV1 on any continuation frame (RFC 7692 §6.1: never). */
  continuationRsv1: boolean;
  frames: number;
  /** Payload bytes over all its frames. */
  length: number;
}

// ---- the two pairings, each through a tap ----------------------------------------------------

interface OurServerPair {
  wss: WebSocketServer;
  /** Our server's side. */
  server: WebSocket;
  /** The `ws` client. */
  client: WsClient;
  tap: WireTap;
  /** `Sec-WebSocket-Extensions` of the request and of the 101 response, as sent. */
  offered: string;
  answered: string;
}

async function ourServerWithWsClient(
  serverDeflate: boolean | PerMessageDeflateOptions | undefined,
  clientDeflate: boolean | WsDeflateOptions = true,
  serverOptions: { maxPayload?: number; echo?: boolean } = {},
): Promise<OurServerPair> {
  const { wss, port } = await startServer({
    maxPayload: serverOptions.maxPayload ?? MAX_PAYLOAD,
    ...(serverDeflate === undefined ? {} : { perMessageDeflate: serverDeflate }),
  });
  const tap = await WireTap.start(port);
  const connection = waitFor<[WebSocket, IncomingMessage]>(wss, 'connection');
  const client = new WsClient(`ws://127.0.0.1:${tap.port}/`, { perMessageDeflate: clientDeflate, maxPayload: MAX_PAYLOAD });
  onCleanup(() => client.terminate());
  client.on('error', () => {});
  const upgrade = waitFor<[IncomingMessage]>(client, 'upgrade');
  await waitFor(client, 'open');
  const [server, req] = await connection;
  server.on('error', () => {});
  if (serverOptions.echo !== false) server.on('message', (data: Buffer, isBinary: boolean) => server.send(data, { binary: isBinary }));
  const [res] = await upgrade;
  return {
    wss,
    server,
    client,
    tap,
    offered: headerOf(req, 'sec-websocket-extensions'),
    answered: headerOf(res, 'sec-websocket-extensions'),
  };
}

interface WsServerPair {
  wss: WsServer;
  /** The `ws` server's side. */
  server: WsClient;
  /** Our client. */
  client: WebSocket;
  tap: WireTap;
  offered: string;
  answered: string;
}

type WsDeflateOptions = Exclude<NonNullable<ConstructorParameters<typeof WsServer>[0]>['perMessageDeflate'], boolean | undefined>;

async function wsServerWithOurClient(
  serverDeflate: boolean | WsDeflateOptions,
  clientDeflate: boolean | PerMessageDeflateOptions | undefined = undefined,
  options: { echo?: boolean } = {},
): Promise<WsServerPair> {
  const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: serverDeflate, maxPayload: MAX_PAYLOAD });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  await waitFor(wss, 'listening');
  const tap = await WireTap.start((wss.address() as AddressInfo).port);
  const connection = waitFor<[WsClient, IncomingMessage]>(wss, 'connection');
  const client = trackClient(
    new WebSocket(`ws://127.0.0.1:${tap.port}/`, [], {
      maxPayload: MAX_PAYLOAD,
      ...(clientDeflate === undefined ? {} : { perMessageDeflate: clientDeflate }),
    }),
  );
  client.on('error', () => {});
  const upgrade = waitFor<[IncomingMessage]>(client, 'upgrade');
  await waitFor(client, 'open');
  const [server, req] = await connection;
  server.on('error', () => {});
  if (options.echo !== false) server.on('message', (data: Buffer, isBinary: boolean) => server.send(data, { binary: isBinary }));
  const [res] = await upgrade;
  return {
    wss,
    server,
    client,
    tap,
    offered: headerOf(req, 'sec-websocket-extensions'),
    answered: headerOf(res, 'sec-websocket-extensions'),
  };
}

function headerOf(msg: IncomingMessage, name: string): string {
  const value = msg.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The parameters `ws` itself agreed to (its private per-connection extension object). */
function wsParams(ws: WsClient): Record<string, unknown> | undefined {
  return (ws as unknown as { _extensions: Record<string, { params?: Record<string, unknown> } | undefined> })._extensions[
    'permessage-deflate'
  ]?.params;
}

// ---- the message set every pairing echoes ----------------------------------------------------

interface Sample {
  name: string;
  data: Buffer;
  binary: boolean;
}

/** A JSON-like text of `length` bytes: what chat and telemetry payloads look like. */
function jsonLike(length: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const item = `{"id":${i},"user":"user-${i % 97}","type":"update","value":${(i * 7919) % 10007},"tags":["a","b"]},`;
    parts.push(item);
    size += item.length;
  }
  return Buffer.from(parts.join('').slice(0, length));
}

const BLOCK_A = pseudoRandom(4 * KiB, 11);
/** 2 KiB of random bytes repeated: compressible only with a window of at least 2 KiB (12 bits). */
const REPEATED = Buffer.concat([pseudoRandom(2 * KiB, 12), pseudoRandom(2 * KiB, 12), pseudoRandom(2 * KiB, 12), pseudoRandom(2 * KiB, 12)]);

const SAMPLES: Sample[] = [
  { name: 'text 100 B', data: words(100, 1), binary: false },
  { name: 'text 1023 B (below threshold)', data: words(1023, 2), binary: false },
  { name: 'text 1024 B (threshold)', data: words(1024, 3), binary: false },
  { name: 'binary 1025 B random', data: pseudoRandom(1025, 4), binary: true },
  { name: 'binary 4 KiB random', data: BLOCK_A, binary: true },
  { name: 'the same 4 KiB again', data: BLOCK_A, binary: true },
  { name: 'binary 2 KiB block x4', data: REPEATED, binary: true },
  { name: 'text 1 MiB JSON-like', data: jsonLike(MiB), binary: false },
  { name: 'binary 1 MiB random', data: pseudoRandom(MiB, 5), binary: true },
];

/** What one direction's sender negotiated: its window and whether it keeps its context. */
interface SenderParams {
  windowBits: number;
  noContextTakeover: boolean;
}

type Impl = 'ours' | 'ws';

/**
 * Whether `impl` compresses a message of `length` bytes (default `threshold` 1024). Ours applies
 * the threshold always; `ws` 8 only when its direction has no context takeover (its docs:
 * "payloads smaller than this will not be compressed if context takeover is disabled"), and
 * otherwise compresses every message.
 */
function compresses(impl: Impl, sender: SenderParams, length: number, compress = true): boolean {
  if (!compress) return false;
  if (impl === 'ws' && !sender.noContextTakeover) return true;
  return length >= 1024;
}

/**
 * Checks the data messages one direction carried for {@link SAMPLES}: RSV1 on the first frame
 * exactly when the sender compresses, never on a continuation, and compressed sizes that show
 * the sender's negotiated window and context takeover.
 */
function checkWire(messages: WireMessage[], impl: Impl, sender: SenderParams, label: string): void {
  expect(
    messages.map((m) => [m.opcode, m.rsv1, m.continuationRsv1]),
    label,
  ).toEqual(SAMPLES.map((s) => [s.binary ? Op.Binary : Op.Text, compresses(impl, sender, s.data.length), false]));
  const size = (i: number): number => (messages[i] as WireMessage).length;
  for (const i of [0, 1]) {
    const original = (SAMPLES[i] as Sample).data.length;
    if ((messages[i] as WireMessage).rsv1) expect(size(i), label).toBeLessThan(original);
    else expect(size(i), label).toBe(original);
  }
  expect(size(2), label).toBeLessThan(1024);
  // Random data does not shrink.
  expect(size(4), label).toBeGreaterThan(4 * KiB);
  // RFC 7692 §7.1.1: with context takeover, a message repeating the previous one is a back-reference
  // (if the window holds 4 KiB: 2^13 and up); without it, it costs as much as the first time.
  if (!sender.noContextTakeover && sender.windowBits >= 13) expect(size(5), label).toBeLessThan(64);
  else expect(size(5), label).toBeGreaterThan(4 * KiB);
  // RFC 7692 §7.1.2: a match 2 KiB back is only possible with a window of 2^12 or more.
  if (sender.windowBits >= 12) expect(size(6), label).toBeLessThan(2 * KiB + 256);
  else expect(size(6), label).toBeGreaterThan(8 * KiB - 64);
  expect(size(7), label).toBeLessThan(MiB / 8);
  expect(size(8), label).toBeGreaterThan(MiB);
}

function checkEchoes(received: Array<[Buffer, boolean]>, label: string): void {
  expect(received.length, label).toBe(SAMPLES.length);
  SAMPLES.forEach((s, i) => {
    const [data, isBinary] = received[i] as [Buffer, boolean];
    expect([s.name, isBinary, data.length, sha(data)], label).toEqual([s.name, s.binary, s.data.length, sha(s.data)]);
  });
}

function collect(emitter: { on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): unknown }): Array<[Buffer, boolean]> {
  const out: Array<[Buffer, boolean]> = [];
  emitter.on('message', (data, isBinary) => out.push([Buffer.from(data), isBinary]));
  return out;
}

// ---- negotiation matrix with echo ------------------------------------------------------------

interface MatrixCase {
  name: string;
  ours: boolean | PerMessageDeflateOptions;
  theirs: boolean | WsDeflateOptions;
  /** The 101 response's Sec-WebSocket-Extensions. */
  answer: string;
  /** Negotiated params as ws parses them. */
  params: Record<string, unknown>;
  server: SenderParams;
  client: SenderParams;
}

const FULL: SenderParams = { windowBits: 15, noContextTakeover: false };

/** Our server (its perMessageDeflate setting) × the ws client (its setting). */
const OUR_SERVER_CASES: MatrixCase[] = [
  { name: 'true × default', ours: true, theirs: true, answer: 'permessage-deflate', params: {}, server: FULL, client: FULL },
  {
    name: 'serverNoContextTakeover',
    ours: { serverNoContextTakeover: true },
    theirs: true,
    answer: 'permessage-deflate; server_no_context_takeover',
    params: { server_no_context_takeover: true },
    server: { windowBits: 15, noContextTakeover: true },
    client: FULL,
  },
  {
    name: 'clientNoContextTakeover',
    ours: { clientNoContextTakeover: true },
    theirs: true,
    answer: 'permessage-deflate; client_no_context_takeover',
    params: { client_no_context_takeover: true },
    server: FULL,
    client: { windowBits: 15, noContextTakeover: true },
  },
  ...[8, 10, 15].map(
    (bits): MatrixCase => ({
      name: `serverMaxWindowBits ${bits}`,
      ours: { serverMaxWindowBits: bits },
      theirs: true,
      answer: `permessage-deflate; server_max_window_bits=${bits}`,
      params: { server_max_window_bits: bits },
      server: { windowBits: bits, noContextTakeover: false },
      client: FULL,
    }),
  ),
  ...[8, 10].map(
    (bits): MatrixCase => ({
      name: `clientMaxWindowBits ${bits}`,
      ours: { clientMaxWindowBits: bits },
      theirs: true,
      answer: `permessage-deflate; client_max_window_bits=${bits}`,
      params: { client_max_window_bits: bits },
      server: FULL,
      client: { windowBits: bits, noContextTakeover: false },
    }),
  ),
  {
    name: 'all four',
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 11 },
    theirs: true,
    answer: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11',
    params: { server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: 9, client_max_window_bits: 11 },
    server: { windowBits: 9, noContextTakeover: true },
    client: { windowBits: 11, noContextTakeover: true },
  },
  // The ws client asking for parameters, our server granting them.
  {
    name: 'ws client requests server_no_context_takeover',
    ours: true,
    theirs: { serverNoContextTakeover: true },
    answer: 'permessage-deflate; server_no_context_takeover',
    params: { server_no_context_takeover: true },
    server: { windowBits: 15, noContextTakeover: true },
    client: FULL,
  },
  {
    name: 'ws client offers client_no_context_takeover',
    ours: true,
    theirs: { clientNoContextTakeover: true },
    answer: 'permessage-deflate; client_no_context_takeover',
    params: { client_no_context_takeover: true },
    server: FULL,
    client: { windowBits: 15, noContextTakeover: true },
  },
  {
    name: 'ws client requests server_max_window_bits=10',
    ours: true,
    theirs: { serverMaxWindowBits: 10 },
    answer: 'permessage-deflate; server_max_window_bits=10',
    params: { server_max_window_bits: 10 },
    server: { windowBits: 10, noContextTakeover: false },
    client: FULL,
  },
  {
    name: 'ws client offers client_max_window_bits=9',
    ours: true,
    theirs: { clientMaxWindowBits: 9 },
    answer: 'permessage-deflate; client_max_window_bits=9',
    params: { client_max_window_bits: 9 },
    server: FULL,
    client: { windowBits: 9, noContextTakeover: false },
  },
];

/** The ws server (its setting) × our client (its setting). */
const WS_SERVER_CASES: MatrixCase[] = [
  { name: 'true × default', ours: true, theirs: true, answer: 'permessage-deflate', params: {}, server: FULL, client: FULL },
  {
    name: 'serverNoContextTakeover',
    ours: true,
    theirs: { serverNoContextTakeover: true },
    answer: 'permessage-deflate; server_no_context_takeover',
    params: { server_no_context_takeover: true },
    server: { windowBits: 15, noContextTakeover: true },
    client: FULL,
  },
  {
    name: 'clientNoContextTakeover',
    ours: true,
    theirs: { clientNoContextTakeover: true },
    answer: 'permessage-deflate; client_no_context_takeover',
    params: { client_no_context_takeover: true },
    server: FULL,
    client: { windowBits: 15, noContextTakeover: true },
  },
  ...[8, 10, 15].map(
    (bits): MatrixCase => ({
      name: `serverMaxWindowBits ${bits}`,
      ours: true,
      theirs: { serverMaxWindowBits: bits },
      answer: `permessage-deflate; server_max_window_bits=${bits}`,
      params: { server_max_window_bits: bits },
      server: { windowBits: bits, noContextTakeover: false },
      client: FULL,
    }),
  ),
  ...[8, 10].map(
    (bits): MatrixCase => ({
      name: `clientMaxWindowBits ${bits}`,
      ours: true,
      theirs: { clientMaxWindowBits: bits },
      answer: `permessage-deflate; client_max_window_bits=${bits}`,
      params: { client_max_window_bits: bits },
      server: FULL,
      client: { windowBits: bits, noContextTakeover: false },
    }),
  ),
  // Our client asking for parameters, the ws server granting them.
  {
    name: 'our client requests server_no_context_takeover',
    ours: { serverNoContextTakeover: true },
    theirs: true,
    answer: 'permessage-deflate; server_no_context_takeover',
    params: { server_no_context_takeover: true },
    server: { windowBits: 15, noContextTakeover: true },
    client: FULL,
  },
  {
    name: 'our client offers client_no_context_takeover',
    ours: { clientNoContextTakeover: true },
    theirs: true,
    answer: 'permessage-deflate; client_no_context_takeover',
    params: { client_no_context_takeover: true },
    server: FULL,
    client: { windowBits: 15, noContextTakeover: true },
  },
  {
    name: 'our client requests server_max_window_bits=10',
    ours: { serverMaxWindowBits: 10 },
    theirs: true,
    answer: 'permessage-deflate; server_max_window_bits=10',
    params: { server_max_window_bits: 10 },
    server: { windowBits: 10, noContextTakeover: false },
    client: FULL,
  },
  {
    name: 'our client offers client_max_window_bits=9',
    ours: { clientMaxWindowBits: 9 },
    theirs: true,
    answer: 'permessage-deflate; client_max_window_bits=9',
    params: { client_max_window_bits: 9 },
    server: FULL,
    client: { windowBits: 9, noContextTakeover: false },
  },
];

describe('our server × ws client, compressed', () => {
  it.each(OUR_SERVER_CASES)('$name: negotiates on both sides and echoes every sample', async (c) => {
    const { server, client, tap, answered } = await ourServerWithWsClient(c.ours, c.theirs);
    expect(answered).toBe(c.answer);
    expect(server.extensions).toBe(c.answer);
    expect(client.extensions).toBe('permessage-deflate');
    expect(wsParams(client)).toEqual(c.params);

    const echoes = collect(client);
    for (const s of SAMPLES) client.send(s.data, { binary: s.binary });
    await until(() => echoes.length === SAMPLES.length, SLOW, 'echoes');
    checkEchoes(echoes, c.name);
    checkWire(tap.messages('up'), 'ws', c.client, `${c.name}: ws client → our server`);
    checkWire(tap.messages('down'), 'ours', c.server, `${c.name}: our server → ws client`);
  });

  it('without an offer from the client, nothing is negotiated and nothing is compressed', async () => {
    const { server, client, tap, offered, answered } = await ourServerWithWsClient(true, false);
    expect([offered, answered, server.extensions, client.extensions]).toEqual(['', '', '', '']);
    const echoes = collect(client);
    client.send(jsonLike(8 * KiB));
    await until(() => echoes.length === 1);
    expect(tap.data('up').map((f) => [f.rsv1, f.length])).toEqual([[false, 8 * KiB]]);
    expect(tap.data('down').map((f) => [f.rsv1, f.length])).toEqual([[false, 8 * KiB]]);
  });

  it('our server with perMessageDeflate off (the default) declines the offer', async () => {
    const { server, client, offered, answered } = await ourServerWithWsClient(undefined, true);
    expect(offered).toBe('permessage-deflate; client_max_window_bits');
    expect([answered, server.extensions, client.extensions]).toEqual(['', '', '']);
  });
});

describe('ws server × our client, compressed', () => {
  it.each(WS_SERVER_CASES)('$name: negotiates on both sides and echoes every sample', async (c) => {
    const { server, client, tap, answered } = await wsServerWithOurClient(c.theirs, c.ours);
    expect(answered).toBe(c.answer);
    expect(client.extensions).toBe(c.answer);
    expect(server.extensions).toBe('permessage-deflate');
    expect(wsParams(server)).toEqual(c.params);

    const echoes = collect(client);
    for (const s of SAMPLES) client.send(s.data, { binary: s.binary });
    await until(() => echoes.length === SAMPLES.length, SLOW, 'echoes');
    checkEchoes(echoes, c.name);
    checkWire(tap.messages('up'), 'ours', c.client, `${c.name}: our client → ws server`);
    checkWire(tap.messages('down'), 'ws', c.server, `${c.name}: ws server → our client`);
  });

  it('our client offers permessage-deflate by default; perMessageDeflate: false offers nothing', async () => {
    const on = await wsServerWithOurClient(true);
    expect(on.offered).toBe('permessage-deflate; client_max_window_bits');
    const off = await wsServerWithOurClient(true, false);
    expect([off.offered, off.answered, off.client.extensions, off.server.extensions]).toEqual(['', '', '', '']);
  });
});

// ---- fragmented compressed messages ---------------------------------------------------------

const PART_1 = words(3000, 21);
const PART_2 = words(2000, 22);
const PART_3 = Buffer.from(' the end');
const WHOLE = Buffer.concat([PART_1, PART_2, PART_3]);

/** RFC 7692 §6.1: RSV1 on the first frame of a compressed message only. */
function expectCompressedFragments(frames: WireFrame[], opcode: number): void {
  expect(frames.map((f) => [f.opcode, f.fin, f.rsv1])).toEqual([
    [opcode, false, true],
    [Op.Cont, false, false],
    [Op.Cont, true, false],
  ]);
  expect(frames.reduce((n, f) => n + f.length, 0)).toBeLessThan(WHOLE.length / 2);
}

describe('fragmented compressed sends (fin: false)', () => {
  it('ws client → our server and our server → ws client', async () => {
    const { server, client, tap } = await ourServerWithWsClient(true, true, { echo: false });
    const atServer = collect(server);
    client.send(PART_1, { binary: false, fin: false });
    client.send(PART_2, { binary: false, fin: false });
    client.send(PART_3, { binary: false, fin: true });
    await until(() => atServer.length === 1);
    expect([atServer[0]?.[0].equals(WHOLE), atServer[0]?.[1]]).toEqual([true, false]);
    expectCompressedFragments(tap.data('up'), Op.Text);

    const atClient = collect(client);
    server.send(PART_1, { binary: true, fin: false });
    server.send(PART_2, { binary: true, fin: false });
    server.send(PART_3, { binary: true, fin: true });
    await until(() => atClient.length === 1);
    expect([atClient[0]?.[0].equals(WHOLE), atClient[0]?.[1]]).toEqual([true, true]);
    expectCompressedFragments(tap.data('down'), Op.Binary);
  });

  it('our client → ws server and ws server → our client', async () => {
    const { server, client, tap } = await wsServerWithOurClient(true, undefined, { echo: false });
    const atServer = collect(server);
    client.send(PART_1, { binary: true, fin: false });
    client.send(PART_2, { binary: true, fin: false });
    client.send(PART_3, { binary: true, fin: true });
    await until(() => atServer.length === 1);
    expect([atServer[0]?.[0].equals(WHOLE), atServer[0]?.[1]]).toEqual([true, true]);
    expectCompressedFragments(tap.data('up'), Op.Binary);

    const atClient = collect(client);
    server.send(PART_1, { binary: false, fin: false });
    server.send(PART_2, { binary: false, fin: false });
    server.send(PART_3, { binary: false, fin: true });
    await until(() => atClient.length === 1);
    expect([atClient[0]?.[0].equals(WHOLE), atClient[0]?.[1]]).toEqual([true, false]);
    expectCompressedFragments(tap.data('down'), Op.Text);
  });

  it('the first fragment decides: below the threshold, ours sends the message uncompressed', async () => {
    const ours = await ourServerWithWsClient(true, true, { echo: false });
    const atClient = collect(ours.client);
    ours.server.send(Buffer.from('small first '), { binary: false, fin: false });
    ours.server.send(PART_1, { binary: false, fin: true });
    const atServer = collect(ours.server);
    ours.client.send(Buffer.from('small first '), { binary: false, fin: false });
    ours.client.send(PART_1, { binary: false, fin: true });
    await until(() => atClient.length === 1 && atServer.length === 1);
    expect(atClient[0]?.[0].toString()).toBe(`small first ${PART_1.toString()}`);
    expect(atServer[0]?.[0].toString()).toBe(`small first ${PART_1.toString()}`);
    expect(ours.tap.data('down').map((f) => [f.rsv1, f.length])).toEqual([
      [false, 12],
      [false, PART_1.length],
    ]);
    // ws applies its threshold only without context takeover: it compresses this one anyway.
    expect(ours.tap.data('up').map((f) => f.rsv1)).toEqual([true, false]);
  });
});

// ---- order of messages and of send callbacks -----------------------------------------------

/** 400 messages mixing sizes below and above the threshold, compressed or not. */
function orderedBatch(): Array<{ data: Buffer; binary: boolean; compress: boolean }> {
  const out: Array<{ data: Buffer; binary: boolean; compress: boolean }> = [];
  for (let i = 0; i < 400; i++) {
    const kind = i % 5;
    const tag = Buffer.from(`#${i}:`);
    if (kind === 0) out.push({ data: tag, binary: false, compress: true });
    else if (kind === 1) out.push({ data: Buffer.concat([tag, jsonLike(2 * KiB)]), binary: false, compress: true });
    else if (kind === 2) out.push({ data: Buffer.concat([tag, pseudoRandom(20 * KiB, i)]), binary: true, compress: true });
    else if (kind === 3) out.push({ data: Buffer.concat([tag, jsonLike(5 * KiB)]), binary: false, compress: false });
    else out.push({ data: Buffer.concat([tag, words(64 * KiB, i)]), binary: true, compress: true });
  }
  return out;
}

interface Sender {
  send(data: Buffer, options: { binary: boolean; compress: boolean }, cb: (err?: Error | null) => void): void;
}

/** Sends the batch with callbacks; resolves with the order in which the callbacks fired. */
async function sendBatch(sender: Sender, batch: ReturnType<typeof orderedBatch>): Promise<number[]> {
  const order: number[] = [];
  const errors: unknown[] = [];
  batch.forEach((m, i) =>
    sender.send(m.data, { binary: m.binary, compress: m.compress }, (err) => {
      if (err) errors.push(err);
      order.push(i);
    }),
  );
  await until(() => order.length === batch.length, SLOW, 'send callbacks');
  expect(errors).toEqual([]);
  return order;
}

function expectBatch(received: Array<[Buffer, boolean]>, batch: ReturnType<typeof orderedBatch>): void {
  expect(received.length).toBe(batch.length);
  const mismatches = batch.filter((m, i) => !(received[i]?.[0].equals(m.data) && received[i]?.[1] === m.binary)).length;
  expect(mismatches).toBe(0);
}

/** RSV1 per message, as each implementation decides it (see {@link compresses}). */
function expectRsv1(messages: WireMessage[], impl: Impl, batch: ReturnType<typeof orderedBatch>): void {
  expect(messages.map((m) => [m.rsv1, m.continuationRsv1])).toEqual(
    batch.map((m) => [compresses(impl, FULL, m.data.length, m.compress), false]),
  );
}

describe('many messages: order and send callbacks', () => {
  const batch = orderedBatch();
  const indexes = batch.map((_, i) => i);

  it('our server → ws client and ws client → our server', async () => {
    const { server, client, tap } = await ourServerWithWsClient(true, true, { echo: false });
    const atClient = collect(client);
    expect(await sendBatch(server, batch)).toEqual(indexes);
    await until(() => atClient.length === batch.length, SLOW, 'messages at the ws client');
    expectBatch(atClient, batch);
    expectRsv1(tap.messages('down'), 'ours', batch);

    const atServer = collect(server);
    expect(await sendBatch(client, batch)).toEqual(indexes);
    await until(() => atServer.length === batch.length, SLOW, 'messages at our server');
    expectBatch(atServer, batch);
    expectRsv1(tap.messages('up'), 'ws', batch);
  });

  it('our client → ws server and ws server → our client', async () => {
    const { server, client, tap } = await wsServerWithOurClient(true, undefined, { echo: false });
    const atServer = collect(server);
    expect(await sendBatch(client, batch)).toEqual(indexes);
    await until(() => atServer.length === batch.length, SLOW, 'messages at the ws server');
    expectBatch(atServer, batch);
    expectRsv1(tap.messages('up'), 'ours', batch);

    const atClient = collect(client);
    expect(await sendBatch(server, batch)).toEqual(indexes);
    await until(() => atClient.length === batch.length, SLOW, 'messages at our client');
    expectBatch(atClient, batch);
    expectRsv1(tap.messages('down'), 'ws', batch);
  });

  it('a close() right after compressed sends goes out after them', async () => {
    const { server, client, tap } = await ourServerWithWsClient(true, true, { echo: false });
    const atClient = collect(client);
    const closed = withTimeout(
      new Promise<number>((resolve) => client.once('close', (code: number) => resolve(code))),
      SLOW,
      'ws close',
    );
    for (let i = 0; i < 20; i++) server.send(Buffer.concat([Buffer.from(`#${i}`), jsonLike(32 * KiB)]));
    server.close(4000);
    expect(await closed).toBe(4000);
    expect(atClient.map(([d]) => d.subarray(0, 3).toString().replace(/[^#\d]/g, ''))).toEqual(
      Array.from({ length: 20 }, (_, i) => `#${i}`),
    );
    expect(tap.readers.down.frames.map((f) => f.opcode).at(-1)).toBe(Op.Close);
  });
});

// ---- compress: false opt-out, checked on the wire ------------------------------------------------

describe('send(data, { compress: false })', () => {
  const text = jsonLike(4 * KiB);

  it('our server: the opted-out message has RSV1 clear and its full length', async () => {
    const { server, client, tap } = await ourServerWithWsClient(true, true, { echo: false });
    const atClient = collect(client);
    server.send(text, { binary: false, compress: false });
    server.send(text, { binary: false });
    server.send(text, { binary: true, compress: false });
    await until(() => atClient.length === 3);
    expect(atClient.every(([d]) => d.equals(text))).toBe(true);
    const frames = tap.data('down');
    expect(frames.map((f) => f.b0)).toEqual([0x81, 0xc1, 0x82]);
    expect(frames.map((f) => f.length === text.length)).toEqual([true, false, true]);
  });

  it('our client: the first octet of each frame, as a raw server records it', async () => {
    const raw = await RawServer.start({ deflate: true });
    const client = trackClient(new WebSocket(`ws://127.0.0.1:${raw.port}/`));
    client.on('error', () => {});
    await waitFor(client, 'open');
    expect(client.extensions).toBe('permessage-deflate');
    client.send(text, { binary: false, compress: false });
    client.send(text, { binary: false });
    client.send(text, { binary: true, compress: false });
    client.send(Buffer.alloc(100)); // below the threshold
    client.send(Buffer.alloc(2000), { binary: true });
    await until(() => raw.frames.length === 5);
    // FIN | opcode, plus RSV1 (0x40) on the compressed ones only.
    expect(raw.firstOctets).toEqual([0x81, 0xc1, 0x82, 0x82, 0xc2]);
    expect((raw.frames[0] as Frame).payload.equals(text)).toBe(true);
    expect((raw.frames[1] as Frame).payload.length).toBeLessThan(text.length);
  });
});

// ---- hostile peers: raw TCP ---------------------------------------------------------------------

/** A deflate-raw payload of `text` flushed with Z_SYNC_FLUSH; the 00 00 ff ff tail kept or not. */
function compressRaw(text: Buffer, keepTail: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = createDeflateRaw();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.write(text);
    stream.flush(zlibConstants.Z_SYNC_FLUSH, () => {
      stream.destroy();
      const out = Buffer.concat(chunks);
      resolve(keepTail ? out : out.subarray(0, out.length - 4));
    });
  });
}

const OFFER = { 'Sec-WebSocket-Extensions': 'permessage-deflate' };

/** Our server's side of the connection a RawClient opens, and its error and close. */
async function rawToOurServer(
  options: Parameters<typeof startServer>[0],
  headers: Record<string, string> = OFFER,
): Promise<{ raw: RawClient; server: WebSocket; errors: Error[]; close: Promise<[number, Buffer]> }> {
  const { wss, port } = await startServer(options);
  const connection = waitFor<[WebSocket]>(wss, 'connection');
  const raw = await RawClient.open(port, { headers });
  const [server] = await connection;
  const { errors, close } = watchClose(server);
  return { raw, server, errors, close };
}

function codeOf(err: Error | undefined): string | undefined {
  return (err as (Error & { code?: string }) | undefined)?.code;
}

describe('hostile raw client × our server', () => {
  it('a decompression bomb (64 MiB of zeros) is stopped at maxPayload 1 MiB with 1009, memory stays flat', async () => {
    const bomb = await zeroBomb(64);
    expect(bomb.length).toBeLessThan(MiB);
    const { raw, server, errors, close } = await rawToOurServer({ perMessageDeflate: true, maxPayload: MiB });
    expect(raw.response?.headers['sec-websocket-extensions']).toBe('permessage-deflate');
    expect(server.extensions).toBe('permessage-deflate');
    const before = process.memoryUsage();
    raw.sendFrame({ opcode: Op.Binary, rsv: 0x40, payload: bomb });
    const { code, before: frames } = await raw.readUntilClose(SLOW);
    expect(frames).toEqual([]);
    expect(code).toBe(1009);
    await close;
    expect(codeOf(errors[0])).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    const after = process.memoryUsage();
    // Inflating it all would add 64 MiB; stopping at the limit costs about 1 MiB plus one zlib chunk.
    expect(after.rss - before.rss).toBeLessThan(24 * MiB);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(16 * MiB);
  });

  it('invalid compressed data closes with 1007', async () => {
    const { raw, errors, close } = await rawToOurServer({ perMessageDeflate: true });
    // BFINAL 1 with BTYPE 11: a reserved block type (RFC 1951 §3.2.3).
    raw.sendFrame({ opcode: Op.Text, rsv: 0x40, payload: Buffer.from([0xff, 0xff, 0xff, 0xff]) });
    expect((await raw.readUntilClose()).code).toBe(1007);
    await close;
    expect(codeOf(errors[0])).toBe('WS_ERR_INVALID_COMPRESSED_DATA');
  });

  it('a valid compressed message is accepted before an invalid one is refused', async () => {
    const { raw, server, close } = await rawToOurServer({ perMessageDeflate: true });
    const got = collect(server);
    raw.sendFrame({ opcode: Op.Text, rsv: 0x40, payload: await compressRaw(Buffer.from('hello, deflate'), false) });
    await until(() => got.length === 1);
    expect(got[0]?.[0].toString()).toBe('hello, deflate');
    raw.sendFrame({ opcode: Op.Text, rsv: 0x40, payload: Buffer.from([0x07]) });
    expect((await raw.readUntilClose()).code).toBe(1007);
    await close;
  });

  it('RSV1 on a continuation frame closes with 1002', async () => {
    const { raw, errors, close } = await rawToOurServer({ perMessageDeflate: true });
    raw.sendFrame({ opcode: Op.Text, fin: false, rsv: 0x40, payload: await compressRaw(Buffer.from('first half '), true) });
    raw.sendFrame({ opcode: Op.Cont, fin: true, rsv: 0x40, payload: await compressRaw(Buffer.from('second half'), false) });
    expect((await raw.readUntilClose()).code).toBe(1002);
    await close;
    expect(errors).toHaveLength(1);
  });

  it('RSV1 without negotiation closes with 1002 (server with compression, client offered none)', async () => {
    const { raw, errors, close } = await rawToOurServer({ perMessageDeflate: true }, {});
    expect(raw.response?.headers['sec-websocket-extensions']).toBeUndefined();
    raw.sendFrame({ opcode: Op.Text, rsv: 0x40, payload: await compressRaw(Buffer.from('hello'), false) });
    expect((await raw.readUntilClose()).code).toBe(1002);
    await close;
    expect(errors).toHaveLength(1);
  });

  it('RSV1 without negotiation closes with 1002 (server without compression, client offered it)', async () => {
    const { raw, close } = await rawToOurServer({});
    expect(raw.response?.headers['sec-websocket-extensions']).toBeUndefined();
    raw.sendFrame({ opcode: Op.Binary, rsv: 0x40, payload: await compressRaw(Buffer.from('hello'), false) });
    expect((await raw.readUntilClose()).code).toBe(1002);
    await close;
  });
});

/**
 * A TCP server that completes the opening handshake by hand (optionally accepting
 * permessage-deflate without parameters), then records the first octet and the unmasked
 * content of every frame our client sends, and writes whatever frames a test gives it.
 */
class RawServer {
  port = 0;
  readonly frames: Frame[] = [];
  readonly firstOctets: number[] = [];
  socket: net.Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly server: net.Server;

  private constructor(deflate: boolean) {
    this.server = net.createServer((socket) => {
      this.socket = socket;
      socket.on('error', () => {});
      let headDone = false;
      socket.on('data', (chunk: Buffer) => {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        if (!headDone) {
          // The request line stands where parseHead expects a status line; only the headers matter.
          const head = parseHead(this.buffer);
          if (head === null) return;
          headDone = true;
          this.buffer = Buffer.from(head.rest);
          const key = head.headers['sec-websocket-key'] ?? '';
          const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptFor(key)}`];
          if (deflate) lines.push('Sec-WebSocket-Extensions: permessage-deflate');
          socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        }
        // Bounded by the bytes received: each pass consumes one whole frame.
        for (let frame = parseFrame(this.buffer); frame !== null; frame = parseFrame(this.buffer)) {
          this.firstOctets.push(this.buffer[0] as number);
          this.frames.push(frame);
          this.buffer = this.buffer.subarray(frame.size);
        }
      });
    });
  }

  static async start(options: { deflate: boolean }): Promise<RawServer> {
    const raw = new RawServer(options.deflate);
    raw.port = await listen(raw.server);
    return raw;
  }

  /** Writes an unmasked frame to the client. */
  send(spec: Parameters<typeof buildFrame>[0]): void {
    this.socket?.write(buildFrame({ ...spec, mask: false }));
  }

  /** Waits for the client's close frame and returns its code. */
  async closeCode(): Promise<number | null> {
    await until(() => this.frames.some((f) => f.opcode === Op.Close), SLOW, 'close frame from our client');
    const frame = this.frames.find((f) => f.opcode === Op.Close) as Frame;
    return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
  }
}

describe('hostile raw server × our client', () => {
  async function open(deflate: boolean, options: { maxPayload?: number } = {}): Promise<{ raw: RawServer; client: WebSocket; errors: Error[] }> {
    const raw = await RawServer.start({ deflate });
    const client = trackClient(new WebSocket(`ws://127.0.0.1:${raw.port}/`, [], options));
    const errors: Error[] = [];
    client.on('error', (err: Error) => errors.push(err));
    await waitFor(client, 'open');
    return { raw, client, errors };
  }

  it('decodes a compressed message from a raw server (tail removed, RSV1 set)', async () => {
    const { raw, client } = await open(true);
    const got = collect(client);
    raw.send({ opcode: Op.Text, rsv: 0x40, payload: await compressRaw(Buffer.from('from a raw server'), false) });
    await until(() => got.length === 1);
    expect(got[0]?.[0].toString()).toBe('from a raw server');
  });

  it('a decompression bomb (64 MiB of zeros) is refused at maxPayload 1 MiB with 1009', async () => {
    const { raw, errors } = await open(true, { maxPayload: MiB });
    raw.send({ opcode: Op.Binary, rsv: 0x40, payload: await zeroBomb(64) });
    expect(await raw.closeCode()).toBe(1009);
    expect(codeOf(errors[0])).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  });

  it('invalid compressed data: 1007', async () => {
    const { raw, errors } = await open(true);
    raw.send({ opcode: Op.Binary, rsv: 0x40, payload: Buffer.from([0xff, 0xee, 0xdd]) });
    expect(await raw.closeCode()).toBe(1007);
    expect(codeOf(errors[0])).toBe('WS_ERR_INVALID_COMPRESSED_DATA');
  });

  it('RSV1 on a continuation frame: 1002', async () => {
    const { raw, errors } = await open(true);
    raw.send({ opcode: Op.Text, fin: false, rsv: 0x40, payload: await compressRaw(Buffer.from('one '), true) });
    raw.send({ opcode: Op.Cont, fin: true, rsv: 0x40, payload: await compressRaw(Buffer.from('two'), false) });
    expect(await raw.closeCode()).toBe(1002);
    expect(errors).toHaveLength(1);
  });

  it('RSV1 without negotiation: 1002', async () => {
    const { raw, client, errors } = await open(false);
    expect(client.extensions).toBe('');
    raw.send({ opcode: Op.Text, rsv: 0x40, payload: await compressRaw(Buffer.from('hello'), false) });
    expect(await raw.closeCode()).toBe(1002);
    expect(errors).toHaveLength(1);
  });

  it('a close frame from the raw server is answered normally after compressed traffic', async () => {
    const { raw, client } = await open(true);
    const got = collect(client);
    raw.send({ opcode: Op.Text, rsv: 0x40, payload: await compressRaw(Buffer.from('last words'), false) });
    raw.send({ opcode: Op.Close, payload: closePayload(1000) });
    expect(await raw.closeCode()).toBe(1000);
    await until(() => got.length === 1 && client.readyState >= 2);
    expect(got[0]?.[0].toString()).toBe('last words');
  });
});
