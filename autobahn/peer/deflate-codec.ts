/**
 * The peer's permessage-deflate codec (RFC 7692 §7.2), on node:zlib's synchronous calls so that the peer stays a
 * simple in-order state machine.
 *
 * Sending: raw DEFLATE of the whole message, flushed with Z_SYNC_FLUSH, the trailing 00 00 ff ff removed.
 * Receiving: 00 00 ff ff appended, raw INFLATE with the window the sender is bound to.
 *
 * Context takeover without a long-lived zlib stream: after a sync flush the only state that carries over to the
 * next message is the LZ77 window, i.e. the last 2^bits bytes of plaintext. Each message is therefore compressed
 * (or decompressed) by a fresh zlib stream preset with that window as its dictionary, which is exactly what a
 * continuing stream can refer to. With no_context_takeover the dictionary is left out.
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DeflateParams } from './pmce-negotiation.js';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** A stored block holding the one octet 0x5a (header 00, LEN 1, NLEN ~1), to probe for a block boundary. */
const SENTINEL = Buffer.from([0x00, 0x01, 0x00, 0xfe, 0xff, 0x5a]);

/** Inflated bytes one message may reach: far beyond the 128 KiB the cases send, and a bound on a runaway testee. */
export const MAX_INFLATED = 64 * 1024 * 1024;

/** One direction of a connection: its window size, context mode, and the window contents so far. */
class Direction {
  private history = Buffer.alloc(0);

  constructor(
    readonly windowBits: number,
    readonly noContextTakeover: boolean,
  ) {}

  /** The dictionary for the next message, or undefined when context is not taken over (or nothing was sent yet). */
  dictionary(): Buffer | undefined {
    return this.noContextTakeover || this.history.length === 0 ? undefined : this.history;
  }

  /** Records a message's plaintext: the window keeps the last 2^bits bytes. */
  remember(plain: Buffer): void {
    if (this.noContextTakeover) return;
    const size = 1 << this.windowBits;
    const joined = plain.length >= size ? plain : Buffer.concat([this.history, plain]);
    this.history = Buffer.from(joined.subarray(Math.max(0, joined.length - size)));
  }
}

/** Counters for reports: application bytes against bytes on the wire (compressed payloads). */
export interface CompressionStats {
  messagesOut: number;
  appOctetsOut: number;
  wireOctetsOut: number;
  messagesIn: number;
  compressedIn: number;
  appOctetsIn: number;
  wireOctetsIn: number;
}

/** permessage-deflate for one connection of the peer. */
export class PeerDeflate {
  readonly stats: CompressionStats = { messagesOut: 0, appOctetsOut: 0, wireOctetsOut: 0, messagesIn: 0, compressedIn: 0, appOctetsIn: 0, wireOctetsIn: 0 };
  private readonly out: Direction;
  private readonly in: Direction;

  /** `isServer`: the peer's role; it decides which of the negotiated parameters bind which direction. */
  constructor(
    readonly params: DeflateParams,
    readonly isServer: boolean,
  ) {
    const server = new Direction(params.serverMaxWindowBits, params.serverNoContextTakeover);
    const client = new Direction(params.clientMaxWindowBits, params.clientNoContextTakeover);
    this.out = isServer ? server : client;
    this.in = isServer ? client : server;
  }

  /** The compressed payload of a message (RFC 7692 §7.2.1), without the 00 00 ff ff tail. */
  compress(message: Buffer): Buffer {
    const dictionary = this.out.dictionary();
    const raw = deflateRawSync(message, {
      windowBits: this.out.windowBits,
      memLevel: 8,
      level: constants.Z_DEFAULT_COMPRESSION,
      finishFlush: constants.Z_SYNC_FLUSH,
      ...(dictionary ? { dictionary } : {}),
    });
    this.out.remember(message);
    // A sync flush always ends in an empty stored block, 00 00 ff ff; RFC 7692 §7.2.1 removes it.
    const payload = raw.length >= 4 && raw.subarray(-4).equals(TAIL) ? raw.subarray(0, -4) : raw;
    this.stats.messagesOut++;
    this.stats.appOctetsOut += message.length;
    this.stats.wireOctetsOut += payload.length;
    return payload;
  }

  /**
   * The plaintext of a received compressed message (RFC 7692 §7.2.2); throws when it is not valid DEFLATE data, and
   * a RangeError (code ERR_BUFFER_TOO_LARGE) when it inflates past `maxOutput` octets.
   */
  decompress(payload: Buffer, maxOutput = MAX_INFLATED): Buffer {
    return this.inflate(payload, { maxOutput }).plain;
  }

  /**
   * {@link decompress}, also telling how many octets of the payload and its 4-octet tail came after the end of
   * the DEFLATE stream (`unused`, 0 unless the data ends with a final block, BFINAL = 1; like the suite, the peer
   * ignores them) and, with `checkBoundary`, whether the data ends on a DEFLATE block boundary (`endsBlock`). For
   * the fuzzer's oracle (test/fuzz). `chunkSize` sets zlib's output step, which decides whether a message that is
   * both too large and broken fails on its size or on its data first.
   */
  inflate(
    payload: Buffer,
    opts: { maxOutput?: number; checkBoundary?: boolean; chunkSize?: number } = {},
  ): { plain: Buffer; unused: number; endsBlock: boolean } {
    const maxOutput = opts.maxOutput ?? MAX_INFLATED;
    const dictionary = this.in.dictionary();
    const options = {
      windowBits: this.in.windowBits,
      finishFlush: constants.Z_SYNC_FLUSH,
      maxOutputLength: maxOutput,
      info: true,
      ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
      ...(dictionary ? { dictionary } : {}),
    };
    const input = Buffer.concat([payload, TAIL]);
    const { buffer: plain, engine } = inflateRawSync(input, options) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    const unused = input.length - engine.bytesWritten;
    // Well-formed data plus the tail ends on a block boundary (RFC 7692 §7.2.2), so a stored block of one octet
    // appended after it decodes to just that octet. Data that leaves the decoder inside a block reads it otherwise.
    // (A stream that ended with a final block is at its end: nothing carries over.)
    let endsBlock = true;
    if (opts.checkBoundary && unused === 0) {
      try {
        const probe = inflateRawSync(Buffer.concat([payload, TAIL, SENTINEL]), { ...options, info: false, maxOutputLength: maxOutput + 1 });
        endsBlock = probe.length === plain.length + 1 && probe[plain.length] === 0x5a && probe.subarray(0, plain.length).equals(plain);
      } catch {
        endsBlock = false;
      }
    }
    this.in.remember(plain);
    this.stats.compressedIn++;
    this.stats.wireOctetsIn += payload.length;
    return { plain, unused, endsBlock };
  }

  /** Counts a message that arrived uncompressed (RSV1 clear), which RFC 7692 §6 allows. */
  countPlain(message: Buffer): void {
    this.stats.messagesIn++;
    this.stats.appOctetsIn += message.length;
    this.stats.wireOctetsIn += message.length;
  }

  /** Counts a decompressed message. */
  countInflated(plain: Buffer): void {
    this.stats.messagesIn++;
    this.stats.appOctetsIn += plain.length;
  }
}
