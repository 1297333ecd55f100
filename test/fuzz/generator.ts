/**
 * The fuzzer's generator: one seeded frame sequence as the peer of a connection would send it, with the settings of
 * the connection that receives it (role, limits, permessage-deflate parameters), how the bytes are cut into chunks,
 * and the sends our side makes in between.
 *
 * A sequence is a few items in wire order: whole messages (text in valid UTF-8 or binary, compressed or not, in one
 * frame or fragmented at any byte with control frames between the fragments), pings, pongs, close frames, and
 * now and then one rule broken on purpose (reserved opcodes, RSV bits, masking, fragmentation state, control frame
 * rules, 64-bit lengths, close codes and reasons, invalid or unfinished UTF-8, sizes past the limits, RSV1 where
 * RFC 7692 forbids it, DEFLATE data that is broken, ends in a final block, or inflates past the limit). Frames
 * after the break are generated too: the receiver must ignore them. The mutator (mutator.ts) then damages a share
 * of the sequences at the byte level.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { PeerDeflate } from '../../autobahn/peer/deflate-codec.js';
import type { DeflateParams } from '../../autobahn/peer/pmce-negotiation.js';
import type { Role } from '../../src/core/connection.js';
import { mutate } from './mutator.js';
import { Rng, caseSeed } from './random.js';

/** `plain`: no extension negotiated; `deflate`: permessage-deflate negotiated (its decode is asynchronous). */
export type Lane = 'plain' | 'deflate';

/**
 * Something our side does while the input is being fed (after chunk `afterChunk`): a send, a ping, or starting
 * the close handshake (`close`: `data` is the reason, `fin` unused).
 */
export interface PlannedSend {
  readonly afterChunk: number;
  readonly kind: 'text' | 'binary' | 'ping' | 'close';
  readonly data: Buffer;
  /** `false` sends a fragment (data only); the next data send continues the message. */
  readonly fin: boolean;
  readonly compress: boolean;
}

/** One generated sequence and the connection it is fed to. */
export interface FuzzCase {
  readonly lane: Lane;
  readonly seed: number;
  readonly index: number;
  /** The role of the connection under test; the bytes are what its peer sends. */
  readonly role: Role;
  readonly maxPayload: number;
  readonly maxFragments: number;
  readonly autoPong: boolean;
  /** The negotiated permessage-deflate parameters (deflate lane), or null. */
  readonly deflate: DeflateParams | null;
  readonly input: Buffer;
  /** Frames generated (before any mutation). */
  readonly frames: number;
  /** Chunk boundaries: offsets in (0, input.length), ascending. */
  readonly cuts: readonly number[];
  readonly sends: readonly PlannedSend[];
  /** What was generated, for a readable reproduction. */
  readonly items: readonly string[];
  readonly mutations: readonly string[];
  /** The application pauses the connection from its event handlers now and then (see harness.ts). */
  readonly pauses: boolean;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const DEFAULT_MAX_FRAGMENTS = 1 << 20;

/** A growing byte buffer that frames are written into. */
class Wire {
  buf = Buffer.allocUnsafe(1024);
  length = 0;
  frames = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b & 0xff;
  }

  /**
   * One frame. `lengthBits` forces a length encoding (minimal when absent); `declared` writes another length than
   * the payload's; `payload` may then be shorter than declared (a frame the input ends inside).
   */
  frame(opts: {
    fin: boolean;
    rsv: number;
    opcode: number;
    payload: Uint8Array;
    key: number | null;
    lengthBits?: 7 | 16 | 64 | undefined;
    declared?: number | bigint | undefined;
    msb?: boolean;
  }): void {
    this.frames++;
    const declared = opts.declared ?? opts.payload.length;
    const n = typeof declared === 'bigint' ? declared : BigInt(declared);
    const bits = opts.lengthBits ?? (n < 126n ? 7 : n < 65536n ? 16 : 64);
    this.ensure(14 + opts.payload.length);
    this.byte((opts.fin ? 0x80 : 0) | opts.rsv | (opts.opcode & 0x0f));
    const maskBit = opts.key !== null ? 0x80 : 0;
    if (bits === 7) {
      this.byte(maskBit | Number(n & 0x7fn));
    } else if (bits === 16) {
      this.byte(maskBit | 126);
      this.byte(Number((n >> 8n) & 0xffn));
      this.byte(Number(n & 0xffn));
    } else {
      this.byte(maskBit | 127);
      const high = (n >> 32n) & 0xffffffffn;
      this.buf.writeUInt32BE(Number(opts.msb ? high | 0x80000000n : high), this.length);
      this.buf.writeUInt32BE(Number(n & 0xffffffffn), this.length + 4);
      this.length += 8;
    }
    const p = opts.payload;
    if (opts.key === null) {
      this.buf.set(p, this.length);
      this.length += p.length;
      return;
    }
    const key = opts.key;
    this.buf.writeUInt32BE(key >>> 0, this.length);
    this.length += 4;
    const k0 = key >>> 24;
    const k1 = (key >>> 16) & 0xff;
    const k2 = (key >>> 8) & 0xff;
    const k3 = key & 0xff;
    const out = this.buf;
    let o = this.length;
    for (let i = 0; i < p.length; i++) {
      const k = (i & 3) === 0 ? k0 : (i & 3) === 1 ? k1 : (i & 3) === 2 ? k2 : k3;
      out[o++] = (p[i] as number) ^ k;
    }
    this.length = o;
  }

  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

// Invalid UTF-8 pieces (RFC 3629 §4): lone continuation, overlong, surrogate, beyond U+10FFFF, bytes never used.
const INVALID_UTF8: readonly number[][] = [
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf],
  [0xe0, 0x9f, 0xbf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf0, 0x80, 0x80, 0xaf],
  [0xf0, 0x8f, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xc2, 0x41],
  [0xe2, 0x82, 0x41],
];
// Beginnings of sequences that a message may not end with.
const UNFINISHED_UTF8: readonly number[][] = [[0xc3], [0xe2, 0x82], [0xe2], [0xf0, 0x9f, 0x98], [0xf4, 0x8f]];

const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID_CLOSE_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

/** Builds one sequence. */
class Builder {
  readonly wire = new Wire();
  readonly items: string[] = [];
  compressor: PeerDeflate | null;

  constructor(
    readonly rng: Rng,
    readonly masked: boolean,
    readonly maxPayload: number,
    readonly maxFragments: number,
    private readonly deflate: DeflateParams | null,
    private readonly peerIsServer: boolean,
  ) {
    this.compressor = deflate ? new PeerDeflate(deflate, peerIsServer) : null;
  }

  key(): number | null {
    return this.masked ? this.rng.u32() : null;
  }

  /** A payload length: mostly small, sometimes past 125 and 65,535 (the 16- and 64-bit encodings). */
  length(): number {
    const r = this.rng;
    // Mostly small, as the rules live in headers and boundaries; the 16-bit and 64-bit encodings now and then.
    switch (r.weighted([600, 280, 100, 18, 2])) {
      case 0:
        return r.int(17);
      case 1:
        return r.range(17, 125);
      case 2:
        return r.range(126, 1100);
      case 3:
        return r.range(1101, 8000);
      default:
        return r.range(65_530, 70_000);
    }
  }

  /** Valid UTF-8 text of about `n` bytes (code points of 1 to 4 bytes). */
  text(n: number): Buffer {
    const r = this.rng;
    const out = Buffer.allocUnsafe(n + 4);
    let i = 0;
    while (i < n) {
      // One 32-bit draw per code point: the class from its low byte, the bytes from the rest.
      const x = r.u32();
      const cls = (x & 0xff) % 100;
      const c1 = 0x80 | ((x >>> 8) & 0x3f);
      const c2 = 0x80 | ((x >>> 14) & 0x3f);
      const c3 = 0x80 | ((x >>> 20) & 0x3f);
      if (cls < 70) {
        out[i++] = 0x20 + ((x >>> 8) % 95);
      } else if (cls < 82) {
        out[i++] = 0xc2 + ((x >>> 26) % 30);
        out[i++] = c1;
      } else if (cls < 94) {
        const lead = 0xe0 + ((x >>> 26) & 0x0f);
        out[i++] = lead;
        // U+0800 up (no overlongs) and no UTF-16 surrogates.
        out[i++] = lead === 0xe0 ? c1 | 0x20 : lead === 0xed ? c1 & 0x9f : c1;
        out[i++] = c2;
      } else {
        const lead = 0xf0 + ((x >>> 26) % 5);
        out[i++] = lead;
        // U+10000 up and at most U+10FFFF.
        out[i++] = lead === 0xf0 ? (c1 < 0x90 ? c1 | 0x10 : c1) : lead === 0xf4 ? c1 & 0x8f : c1;
        out[i++] = c2;
        out[i++] = c3;
      }
    }
    return out.subarray(0, i);
  }

  /** Binary data: random, or runs of a few values (compressible). */
  binary(n: number): Buffer {
    const r = this.rng;
    if (r.chance(0.5)) return r.bytes(n);
    const out = Buffer.allocUnsafe(n);
    let i = 0;
    while (i < n) {
      const run = Math.min(n - i, r.range(1, 40));
      out.fill(r.int(256), i, i + run);
      i += run;
    }
    return out;
  }

  /** Cut `payload` into `parts` pieces at random offsets (pieces may be empty). */
  split(payload: Buffer, parts: number): Buffer[] {
    const cuts: number[] = [];
    for (let i = 1; i < parts; i++) cuts.push(this.rng.int(payload.length + 1));
    cuts.sort((a, b) => a - b);
    const out: Buffer[] = [];
    let at = 0;
    for (const c of cuts) {
      out.push(payload.subarray(at, c));
      at = c;
    }
    out.push(payload.subarray(at));
    return out;
  }

  control(opcode: number, payload: Buffer): void {
    this.wire.frame({ fin: true, rsv: 0, opcode, payload, key: this.key() });
  }

  /** A ping or pong with 0-125 bytes. */
  pingPong(): void {
    const opcode = this.rng.chance(0.6) ? 0x9 : 0xa;
    const n = this.rng.chance(0.7) ? this.rng.int(16) : this.rng.range(16, 125);
    this.control(opcode, this.rng.bytes(n));
    this.items.push(opcode === 0x9 ? `ping(${n})` : `pong(${n})`);
  }

  /** A valid close frame: empty, a code, or a code and a UTF-8 reason. */
  close(): void {
    const r = this.rng;
    const kind = r.int(3);
    let payload: Buffer;
    if (kind === 0) payload = Buffer.alloc(0);
    else {
      const code = r.pick(VALID_CLOSE_CODES);
      let reason = kind === 2 ? this.text(r.int(123)) : Buffer.alloc(0);
      // At most 123 bytes (RFC 6455 §5.5), cut between code points so the reason stays valid UTF-8.
      if (reason.length > 123) reason = reason.subarray(0, utf8Boundary(reason, 123));
      payload = Buffer.alloc(2 + reason.length);
      payload.writeUInt16BE(code, 0);
      reason.copy(payload, 2);
    }
    this.control(0x8, payload);
    this.items.push(`close(${payload.length})`);
  }

  /**
   * A data message. `opts` may force a type, compression, or a broken piece of text (invalid or unfinished UTF-8).
   */
  message(opts: { compressed?: boolean; brokenUtf8?: 'invalid' | 'unfinished'; binary?: boolean; length?: number; parts?: number } = {}): void {
    const r = this.rng;
    const binary = opts.binary ?? (opts.brokenUtf8 ? false : r.chance(0.4));
    const n = opts.length ?? this.length();
    let plain = binary ? this.binary(n) : this.text(n);
    if (opts.brokenUtf8 === 'invalid') {
      const bad = Buffer.from(r.pick(INVALID_UTF8));
      const at = utf8Boundary(plain, r.int(plain.length + 1));
      plain = Buffer.concat([plain.subarray(0, at), bad, plain.subarray(at)]);
    } else if (opts.brokenUtf8 === 'unfinished') {
      plain = Buffer.concat([plain, Buffer.from(r.pick(UNFINISHED_UTF8))]);
    }
    const compressed = this.compressor !== null && (opts.compressed ?? r.chance(0.7));
    const payload = compressed ? (this.compressor as PeerDeflate).compress(plain) : plain;
    const parts = opts.parts ?? (r.chance(0.55) ? 1 : r.range(2, r.chance(0.8) ? 5 : 24));
    const pieces = this.split(payload, parts);
    const opcode = binary ? 0x2 : 0x1;
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0 && r.chance(0.15)) this.pingPong();
      this.wire.frame({
        fin: i === pieces.length - 1,
        rsv: i === 0 && compressed ? 0x40 : 0,
        opcode: i === 0 ? opcode : 0x0,
        payload: pieces[i] as Buffer,
        key: this.key(),
        lengthBits: r.chance(0.04) ? r.pick([16, 64] as const) : undefined,
      });
    }
    this.items.push(
      `${binary ? 'binary' : 'text'}(${plain.length}${compressed ? `, deflated to ${payload.length}` : ''}${pieces.length > 1 ? `, ${pieces.length} frames` : ''}${opts.brokenUtf8 ? `, ${opts.brokenUtf8} UTF-8` : ''})`,
    );
  }

  /**
   * A compressed message whose DEFLATE data ends in a final block (BFINAL = 1), as RFC 7692 §7.2.3.4 allows. The
   * sender is a zlib-style one: its stream ends there, and its next message starts a new stream with an empty
   * window (it refers to nothing sent before). What a receiver must do when a sender does refer back across a final
   * block is not fuzzed; see the README's fuzzing section.
   */
  finalBlockMessage(junk: boolean): void {
    const r = this.rng;
    const plain = this.text(this.length());
    const params = this.deflate as DeflateParams;
    const bits = this.peerIsServer ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    // zlib cannot compress with an 8-bit window; 9 never uses more than 256 bytes of it (see src/deflate/codec.ts).
    const raw = deflateRawSync(plain, { finishFlush: constants.Z_FINISH, windowBits: Math.max(9, bits) });
    this.compressor = new PeerDeflate(params, this.peerIsServer);
    // §7.2.3.4: the sender appends an empty stored block and drops its last 4 octets, leaving one 0x00 octet.
    const tail = r.chance(0.5) ? Buffer.from([0x00]) : Buffer.alloc(0);
    const payload = Buffer.concat([raw, tail, junk ? r.bytes(r.range(1, 6)) : Buffer.alloc(0)]);
    this.wire.frame({ fin: true, rsv: 0x40, opcode: 0x1, payload, key: this.key() });
    this.items.push(`text(${plain.length}, deflated to a final block${tail.length ? ' + 00' : ''}${junk ? ' + junk' : ''})`);
  }

  /** One rule broken on purpose; returns its name. */
  violation(deflate: boolean): string {
    const r = this.rng;
    const names = deflate
      ? [...VIOLATIONS, 'rsv1-continuation', 'rsv1-control', 'deflate-garbage', 'deflate-final-junk', 'deflate-bomb', 'deflate-bad-utf8']
      : VIOLATIONS;
    const name = r.pick(names);
    const key = () => this.key();
    const w = this.wire;
    switch (name) {
      case 'opcode-reserved':
        w.frame({ fin: true, rsv: 0, opcode: r.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), payload: r.bytes(r.int(8)), key: key() });
        break;
      case 'rsv': {
        const rsv = deflate ? r.pick([0x20, 0x10, 0x30, 0x60, 0x70]) : r.pick([0x40, 0x20, 0x10, 0x70]);
        w.frame({ fin: true, rsv, opcode: r.pick([1, 2, 9, 10]), payload: this.text(r.int(8)), key: key() });
        break;
      }
      case 'control-fragmented':
        w.frame({ fin: false, rsv: 0, opcode: r.pick([8, 9, 10]), payload: r.bytes(r.int(8)), key: key() });
        break;
      case 'control-long': {
        const n = r.range(126, 200);
        w.frame({ fin: true, rsv: 0, opcode: r.pick([8, 9, 10]), payload: r.bytes(n), key: key() });
        break;
      }
      case 'continuation-orphan':
        w.frame({ fin: r.chance(0.5), rsv: 0, opcode: 0, payload: this.text(r.int(10)), key: key() });
        break;
      case 'data-inside-message':
        w.frame({ fin: false, rsv: 0, opcode: 1, payload: this.text(r.int(10)), key: key() });
        if (r.chance(0.3)) this.pingPong();
        w.frame({ fin: r.chance(0.5), rsv: 0, opcode: r.pick([1, 2]), payload: this.text(r.int(10)), key: key() });
        break;
      case 'mask-mismatch':
        w.frame({ fin: true, rsv: 0, opcode: r.pick([1, 2, 9]), payload: this.text(r.int(10)), key: this.masked ? null : r.u32() });
        break;
      case 'length-msb':
        w.frame({ fin: true, rsv: 0, opcode: r.pick([1, 2]), payload: Buffer.alloc(0), key: key(), lengthBits: 64, declared: BigInt(r.int(1000)), msb: true });
        break;
      case 'length-huge': {
        // Headers only: the input ends long before such a payload could.
        const declared = r.pick([2n ** 32n, 2n ** 40n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 62n, BigInt(this.maxPayload) + 1n]);
        w.frame({ fin: r.chance(0.5), rsv: 0, opcode: r.pick([0, 1, 2]), payload: r.bytes(r.int(20)), key: key(), lengthBits: 64, declared });
        break;
      }
      case 'close-one-byte':
        this.control(0x8, r.bytes(1));
        break;
      case 'close-bad-code': {
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(r.pick(INVALID_CLOSE_CODES), 0);
        this.control(0x8, r.chance(0.3) ? Buffer.concat([payload, this.text(r.int(20))]) : payload);
        break;
      }
      case 'close-bad-reason': {
        const reason = Buffer.concat([this.text(r.int(20)), Buffer.from(r.pick(INVALID_UTF8)), this.text(r.int(20))]).subarray(0, 123);
        const payload = Buffer.alloc(2 + reason.length);
        payload.writeUInt16BE(r.pick(VALID_CLOSE_CODES), 0);
        reason.copy(payload, 2);
        this.control(0x8, payload);
        break;
      }
      case 'utf8-invalid':
        this.message({ brokenUtf8: 'invalid', compressed: false });
        break;
      case 'utf8-unfinished':
        this.message({ brokenUtf8: 'unfinished', compressed: false });
        break;
      case 'too-big':
        if (this.maxPayload <= 5000) {
          // One frame or several that together pass maxPayload.
          this.message({ length: this.maxPayload + r.range(1, 64), compressed: false, parts: r.chance(0.5) ? 1 : r.range(2, 6) });
        } else {
          // A header that declares more than maxPayload, and a little of its payload.
          const declared = this.maxPayload + r.range(1, 1000);
          w.frame({ fin: r.chance(0.5), rsv: 0, opcode: r.pick([1, 2]), payload: r.bytes(r.int(20)), key: key(), declared });
        }
        break;
      case 'too-many-fragments':
        this.message({ length: r.range(0, 40), compressed: false, parts: Math.min(this.maxFragments + r.range(1, 3), 40) });
        break;
      case 'length-not-minimal':
        // Not a violation for a receiver (RFC 6455 §5.2 binds senders); both judges must accept it.
        w.frame({ fin: true, rsv: 0, opcode: r.pick([1, 2]), payload: this.text(r.int(20)), key: key(), lengthBits: r.pick([16, 64] as const) });
        break;
      case 'rsv1-continuation':
        w.frame({ fin: false, rsv: 0x40, opcode: 1, payload: (this.compressor as PeerDeflate).compress(this.text(r.int(30))), key: key() });
        w.frame({ fin: true, rsv: 0x40, opcode: 0, payload: r.bytes(r.int(8)), key: key() });
        break;
      case 'rsv1-control':
        w.frame({ fin: true, rsv: 0x40, opcode: r.pick([8, 9, 10]), payload: r.bytes(r.int(8)), key: key() });
        break;
      case 'deflate-garbage':
        w.frame({ fin: true, rsv: 0x40, opcode: r.pick([1, 2]), payload: r.bytes(r.range(1, 60)), key: key() });
        break;
      case 'deflate-final-junk':
        this.finalBlockMessage(true);
        break;
      case 'deflate-bomb': {
        // Zeros compress about 1000:1: a small payload that inflates past maxPayload (up to 1 MiB + 5000).
        const plain = Buffer.alloc(this.maxPayload + r.range(1, 5000));
        const payload = (this.compressor as PeerDeflate).compress(plain);
        w.frame({ fin: true, rsv: 0x40, opcode: 2, payload, key: key() });
        break;
      }
      case 'deflate-bad-utf8':
        this.message({ brokenUtf8: r.chance(0.5) ? 'invalid' : 'unfinished', compressed: true });
        break;
      default:
        throw new Error(`unknown violation ${name}`);
    }
    return name;
  }
}

const VIOLATIONS = [
  'opcode-reserved',
  'rsv',
  'control-fragmented',
  'control-long',
  'continuation-orphan',
  'data-inside-message',
  'mask-mismatch',
  'length-msb',
  'length-huge',
  'close-one-byte',
  'close-bad-code',
  'close-bad-reason',
  'utf8-invalid',
  'utf8-unfinished',
  'too-big',
  'too-many-fragments',
  'length-not-minimal',
];

/** Moves `at` back to the start of the code point it falls in, so an insertion lands between code points. */
function utf8Boundary(text: Buffer, at: number): number {
  while (at > 0 && at < text.length && ((text[at] as number) & 0xc0) === 0x80) at--;
  return at;
}

/** Chunk boundaries for an input of `length` bytes. */
function chunking(r: Rng, length: number): number[] {
  if (length <= 1) return [];
  const cuts: number[] = [];
  const mode = r.weighted([15, 22, 20, 33, 10]);
  switch (mode === 1 && length > 3000 ? 2 : mode) {
    case 0: // whole
      return cuts;
    case 1: // one byte at a time (long inputs get small random pieces instead)
      for (let i = 1; i < length; i++) cuts.push(i);
      return cuts;
    case 2: // small pieces of 1-16 bytes
      for (let at = r.range(1, 16); at < length && cuts.length < 20_000; at += r.range(1, 16)) cuts.push(at);
      return cuts;
    case 3: {
      // a few cuts anywhere
      const n = r.range(1, 6);
      for (let i = 0; i < n; i++) cuts.push(r.range(1, length - 1));
      break;
    }
    default: {
      // cuts clustered near the start (inside the first headers)
      const n = r.range(1, 4);
      for (let i = 0; i < n; i++) cuts.push(r.range(1, Math.min(length - 1, 16)));
    }
  }
  return [...new Set(cuts)].sort((a, b) => a - b);
}

/** Options of {@link generateCase}. */
export interface GenerateOptions {
  /** Share of sequences that are mutated at the byte level (default 0.3). */
  readonly mutateShare?: number;
}

/** The sequence `index` of the run seeded with `seed`, in `lane`. */
export function generateCase(lane: Lane, seed: number, index: number, options: GenerateOptions = {}): FuzzCase {
  const r = new Rng(caseSeed(seed ^ (lane === 'deflate' ? 0x5a5a5a5a : 0), index));
  const role: Role = r.chance(0.5) ? 'server' : 'client';
  const maxPayload = r.pick([r.int(200), r.range(200, 5000), 1024, 65_535, 65_536, 70_000, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_PAYLOAD]);
  const maxFragments = r.chance(0.25) ? r.range(1, 8) : DEFAULT_MAX_FRAGMENTS;
  const autoPong = r.chance(0.85);
  const deflate: DeflateParams | null =
    lane === 'deflate'
      ? {
          serverNoContextTakeover: r.chance(0.3),
          clientNoContextTakeover: r.chance(0.3),
          serverMaxWindowBits: r.chance(0.6) ? 15 : r.range(8, 15),
          clientMaxWindowBits: r.chance(0.6) ? 15 : r.range(8, 15),
        }
      : null;
  // Frames come from the other end: masked when we are the server (RFC 6455 §5.3).
  const b = new Builder(r, role === 'server', maxPayload, maxFragments, deflate, role === 'client');
  const count = r.range(1, 8);
  for (let i = 0; i < count; i++) {
    const kind = r.weighted([50, 20, 5, 15, lane === 'deflate' ? 4 : 0]);
    if (kind === 0) b.message();
    else if (kind === 1) b.pingPong();
    else if (kind === 2) b.close();
    else if (kind === 3) b.items.push(`violation:${b.violation(lane === 'deflate')}`);
    else b.finalBlockMessage(false);
  }
  let input = b.wire.bytes();
  let mutations: string[] = [];
  if (r.chance(options.mutateShare ?? 0.3)) {
    const m = mutate(r, input);
    input = m.bytes;
    mutations = m.ops;
  }
  const cuts = chunking(r, input.length);
  const sends: PlannedSend[] = [];
  if (r.chance(0.2)) {
    const n = r.range(1, 3);
    const at: number[] = [];
    for (let i = 0; i < n; i++) at.push(r.int(cuts.length + 1));
    at.sort((x, y) => x - y);
    // A fragmented send continues with data of the same kind (text stays valid UTF-8 across its fragments).
    let openKind: 'text' | 'binary' | null = null;
    for (const afterChunk of at) {
      const kind: PlannedSend['kind'] = r.chance(0.25) ? 'ping' : (openKind ?? r.pick(['text', 'binary'] as const));
      const data = kind === 'ping' ? r.bytes(r.int(126)) : kind === 'text' ? b.text(r.int(300)) : r.bytes(r.int(3000));
      const fin: boolean = kind === 'ping' || r.chance(0.7);
      if (kind !== 'ping') openKind = fin ? null : kind;
      sends.push({ afterChunk, kind, data, fin, compress: r.chance(0.6) });
    }
  }
  if (r.chance(0.08)) {
    // We start the close handshake ourselves; the peer's frames in flight still arrive (RFC 6455 §5.5.1, §7.1.2).
    const afterChunk = r.int(cuts.length + 1);
    const close: PlannedSend = { afterChunk, kind: 'close', data: b.text(r.int(40)), fin: true, compress: false };
    const at = sends.findIndex((x) => x.afterChunk > afterChunk);
    sends.splice(at < 0 ? sends.length : at, 0, close);
  }
  return {
    lane,
    seed,
    index,
    role,
    maxPayload,
    maxFragments,
    autoPong,
    deflate,
    input,
    frames: b.wire.frames,
    cuts,
    sends,
    items: b.items,
    mutations,
    pauses: r.chance(0.15),
  };
}

/** A case from literal bytes (regression tests): defaults are a connection with the library's default limits. */
export function literalCase(c: Partial<FuzzCase> & Pick<FuzzCase, 'role' | 'input'>): FuzzCase {
  return {
    lane: c.deflate ? 'deflate' : 'plain',
    seed: 0,
    index: 0,
    maxPayload: DEFAULT_MAX_PAYLOAD,
    maxFragments: DEFAULT_MAX_FRAGMENTS,
    autoPong: true,
    deflate: null,
    frames: 0,
    cuts: [],
    sends: [],
    items: ['literal'],
    mutations: [],
    pauses: false,
    ...c,
  };
}
