/**
 * The raw permessage-deflate client the deflate benchmarks drive servers with: `net` sockets, an
 * upgrade request written by hand, frames built and parsed here, and node:zlib for compression.
 *
 * Why raw and not a WebSocket library: the driver must stay far from being the bottleneck and
 * must load ws6455 and `ws` identically. Compressing is as expensive as decompressing, so a
 * library client would spend about as much CPU as the server it measures. Instead the driver
 * compresses its message sequence once, up front, and replays it:
 *
 * - The sequence is compressed by one deflate stream from a fresh state, with context takeover
 *   (as a browser does), one Z_SYNC_FLUSH per message and the 00 00 ff ff tail removed
 *   (RFC 7692 §7.2.1). Every connection sends the same sequence, so every server inflater sees
 *   exactly the stream it would see from a real context-takeover client.
 * - Replaying it in a loop stays valid: the first payload was compressed with an empty window, so
 *   it refers to nothing before itself, and every later payload refers back at most to the start
 *   of the sequence, exactly as when it was made.
 * - Frames are masked with the all-zero key (RFC 6455 §5.3 asks for unpredictable keys, which a
 *   server cannot check and which protect proxies, not servers): the masked frame equals the
 *   plain one, so each frame is built once and written as is.
 * - Responses are parsed frame by frame and counted; their payloads are skipped, except on
 *   connections marked `verify`, which inflate every echo and compare it with what was sent.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type InflateRaw } from 'node:zlib';

/** What a browser offers (and `ws`'s and our client's default). */
export const OFFER = 'permessage-deflate; client_max_window_bits';
/** An offer that turns context takeover off in both directions (RFC 7692 §7.1.1). */
export const OFFER_NO_CONTEXT = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Deterministic pseudo-random generator (xorshift32). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/**
 * A JSON-like text message of exactly `size` bytes: an array of records with recurring keys and
 * varying values, as chat, telemetry and game-state payloads are. Different seeds give different
 * values, so consecutive messages are alike but not equal (compresses to about a quarter).
 */
export function jsonMessage(size: number, seed: number): Buffer {
  const rand = rng(seed);
  const names = ['ada', 'grace', 'linus', 'ken', 'barbara', 'margaret', 'dennis', 'radia', 'frances', 'edsger'];
  const kinds = ['move', 'chat', 'score', 'join', 'leave', 'tick'];
  let text = '[';
  for (let i = 0; text.length < size; i++) {
    const n = Math.floor(rand() * 1e6);
    text +=
      `{"seq":${seed * 1000 + i},"user":"${names[n % names.length] ?? ''}${n % 97}","type":"${kinds[n % kinds.length] ?? ''}",` +
      `"x":${(rand() * 1000).toFixed(2)},"y":${(rand() * 1000).toFixed(2)},"hp":${n % 101},"ok":${n % 2 === 0}},`;
  }
  return Buffer.from(text.slice(0, size - 1) + ']');
}

/**
 * Compresses `messages` as one context-takeover sender would (see the module comment), or,
 * with `noContextTakeover`, each on its own window.
 */
export async function compressSequence(messages: Buffer[], noContextTakeover = false): Promise<Buffer[]> {
  if (noContextTakeover) {
    const out: Buffer[] = [];
    for (const m of messages) out.push(...(await compressSequence([m])));
    return out;
  }
  const stream = createDeflateRaw({ windowBits: 15 });
  const out: Buffer[] = [];
  let chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const one = (m: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      stream.write(m);
      stream.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        const all = Buffer.concat(chunks);
        chunks = [];
        if (!all.subarray(all.length - 4).equals(TAIL)) reject(new Error('zlib output does not end with 00 00 ff ff'));
        out.push(all.subarray(0, all.length - 4));
        resolve();
      });
    });
  return messages
    .reduce((p, m) => p.then(() => one(m)), Promise.resolve())
    .then(() => {
      stream.destroy();
      return out;
    });
}

/** A client frame (MASK set, all-zero key) with FIN and, when `rsv1`, the compressed bit. */
export function clientFrame(opcode: number, payload: Buffer, rsv1: boolean): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + 4);
  head[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (ext === 0) head[1] = 0x80 | len;
  else if (ext === 2) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** A close frame from the client with `code`. */
export function clientClose(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code, 0);
  return clientFrame(0x8, payload, false);
}

/** Events of a {@link RawConn}. */
export interface RawConnHandler {
  /** One complete data message arrived (`payload` only with `keepPayloads`). */
  onMessage?(compressed: boolean, wireBytes: number, payload: Buffer | null): void;
  /** The server's close frame arrived. */
  onClose?(code: number): void;
  /** A ping (0x9) or pong (0xA) arrived, with its payload (a view, valid during the call). */
  onControl?(opcode: number, payload: Buffer): void;
  /** The socket is gone (after an error, an end, or destroy()). */
  onGone?(err: Error | null): void;
}

/**
 * One raw WebSocket client connection with permessage-deflate offered. It resolves `opened`
 * once the 101 arrived and the answer includes permessage-deflate.
 */
export class RawConn {
  /** The TCP connection (half-open allowed, Nagle off). */
  readonly socket: net.Socket;
  /** Resolves with the server's Sec-WebSocket-Extensions once the 101 arrived. */
  readonly opened: Promise<string>;
  /** Where frames and the end of the connection are reported; set it any time. */
  handler: RawConnHandler = {};
  /** Bytes of server frames received (headers included). */
  bytesIn = 0;
  gone = false;
  private head = true;
  private pending: Buffer = Buffer.alloc(0);
  private skip = 0;
  private current: { compressed: boolean; bytes: number; parts: Buffer[] | null; opcode: number } | null = null;
  private readonly keepPayloads: boolean;
  /** FIN of the last data frame header read. */
  private lastFin = false;

  constructor(port: number, options: { offer?: string; keepPayloads?: boolean } = {}) {
    this.keepPayloads = options.keepPayloads ?? false;
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket = socket;
    socket.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    const offer = options.offer ?? OFFER;
    this.opened = new Promise<string>((resolve, reject) => {
      const fail = (err: Error | null): void => {
        if (this.head) reject(err ?? new Error('closed during the handshake'));
      };
      socket.on('error', (err) => {
        fail(err);
        this.finish(err);
      });
      socket.on('close', () => {
        fail(null);
        this.finish(null);
      });
      socket.on('end', () => {
        if (!socket.writableEnded) socket.end();
      });
      socket.on('data', (chunk: Buffer) => {
        this.bytesIn += chunk.length;
        if (!this.head) {
          this.feed(chunk);
          return;
        }
        this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
        const end = this.pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = this.pending.subarray(0, end).toString('latin1');
        const rest = this.pending.subarray(end + 4);
        this.pending = Buffer.alloc(0);
        this.head = false;
        if (!text.startsWith('HTTP/1.1 101')) {
          reject(new Error(`no 101: ${text.split('\r\n')[0] ?? ''}`));
          socket.destroy();
          return;
        }
        const ext = /^sec-websocket-extensions:\s*(.*)$/im.exec(text)?.[1]?.trim() ?? '';
        if (offer !== '' && !ext.startsWith('permessage-deflate')) {
          reject(new Error(`permessage-deflate not negotiated (answer: '${ext}')`));
          socket.destroy();
          return;
        }
        resolve(ext);
        if (rest.length > 0) this.feed(rest);
      });
      socket.on('connect', () => {
        socket.write(
          `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n` +
            (offer === '' ? '' : `Sec-WebSocket-Extensions: ${offer}\r\n`) +
            '\r\n',
        );
      });
    });
    this.opened.catch(() => {});
  }

  /** Writes a prepared frame unless the socket is gone. */
  write(frame: Buffer): void {
    if (!this.gone) this.socket.write(frame);
  }

  /** Destroys the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private finish(err: Error | null): void {
    if (this.gone) return;
    this.gone = true;
    this.handler.onGone?.(err);
  }

  /** RFC 6455 §5.2 frames from the server (unmasked); payloads skipped unless kept. */
  private feed(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = Buffer.alloc(0);
    // Bounded: each pass consumes bytes or stops.
    while (buf.length > 0) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length);
        const cur = this.current;
        if (cur !== null && cur.parts !== null) cur.parts.push(buf.subarray(0, n));
        this.skip -= n;
        buf = buf.subarray(n);
        if (this.skip === 0) this.frameDone();
        continue;
      }
      if (buf.length < 2) break;
      const b0 = buf[0] as number;
      const b1 = buf[1] as number;
      let len = b1 & 0x7f;
      let size = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        size = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        size = 10;
      }
      if (buf.length < size) break;
      const opcode = b0 & 0x0f;
      if (opcode >= 0x8) {
        if (buf.length < size + len) break;
        if (opcode === 0x8) this.handler.onClose?.(len >= 2 ? buf.readUInt16BE(size) : 1005);
        else this.handler.onControl?.(opcode, buf.subarray(size, size + len));
        buf = buf.subarray(size + len);
        continue;
      }
      if (opcode !== 0 || this.current === null) {
        this.current = { compressed: (b0 & 0x40) !== 0, bytes: 0, parts: this.keepPayloads ? [] : null, opcode };
      }
      this.lastFin = (b0 & 0x80) !== 0;
      this.current.bytes += size + len;
      buf = buf.subarray(size);
      this.skip = len;
      if (len === 0) this.frameDone();
    }
    this.pending = Buffer.from(buf);
  }

  private frameDone(): void {
    const cur = this.current;
    if (cur === null || !this.lastFin) return;
    this.current = null;
    this.handler.onMessage?.(cur.compressed, cur.bytes, cur.parts === null ? null : Buffer.concat(cur.parts));
  }
}

/** Inflates one connection's echoes in order, with context takeover (the server's default). */
export class EchoInflater {
  private readonly stream: InflateRaw = createInflateRaw({ windowBits: 15 });
  private chain: Promise<void> = Promise.resolve();

  /** Queues `payload`; `check` receives the inflated message. */
  push(payload: Buffer, compressed: boolean, check: (message: Buffer) => void): void {
    this.chain = this.chain.then(
      () =>
        new Promise<void>((resolve, reject) => {
          if (!compressed) {
            check(payload);
            resolve();
            return;
          }
          const chunks: Buffer[] = [];
          const onData = (c: Buffer): void => void chunks.push(c);
          this.stream.on('data', onData);
          this.stream.once('error', reject);
          this.stream.write(payload);
          this.stream.write(TAIL);
          this.stream.flush(zlibConstants.Z_SYNC_FLUSH, () => {
            this.stream.off('data', onData);
            this.stream.off('error', reject);
            check(Buffer.concat(chunks));
            resolve();
          });
        }),
    );
  }

  /** Resolves once every queued payload was checked. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Releases the zlib stream. */
  close(): void {
    this.stream.destroy();
  }
}
