/**
 * One published message, framed once for all its recipients: the same header and payload
 * bytes are handed to every socket. With permessage-deflate, the message is compressed once
 * per window size for every recipient that allows it, and left to each recipient's own
 * compressor otherwise.
 *
 * ## Shared or per-recipient compression
 *
 * A message compressed on its own (empty LZ77 window) can be decoded by any receiver whose
 * window is at least as large: the receiver's history is simply not referred to (RFC 7692
 * §7.2.1). What breaks sharing is *our* side keeping context: with context takeover our
 * compressor for a recipient expects the receiver's window to hold exactly what that
 * compressor produced, and a message it did not see would shift that window under it. So a
 * compressed frame is shared with the recipients whose handshake agreed on
 * `server_no_context_takeover` (RFC 7692 §7.1.1.1) and, for the others, each recipient's
 * compressor runs as for `ws.send` (better ratio thanks to the history, but one zlib job per
 * recipient). Shared compression runs synchronously, once per message and window size.
 *
 * @module
 */
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { Opcode, RSV1 } from '../core/constants.js';
import type { PerMessageDeflate } from '../deflate/codec.js';
import { headerSize, writeHeader } from '../core/frame-encoder.js';
import type { Transport } from '../node/transport.js';

/** zlib settings of shared compression (the window size always follows the negotiation). */
export interface HubDeflateOptions {
  /** Compression level 0-9 (default: zlib's default, 6). */
  level?: number;
  /** Memory level 1-9 (default 8). */
  memLevel?: number;
  /** zlib strategy (default: `Z_DEFAULT_STRATEGY`). */
  strategy?: number;
}

/** Payloads up to this size are copied behind their header: one buffer, one write. */
const JOIN_LIMIT = 16 * 1024;

/** RFC 7692 §7.2.1: the 4 octets a sync flush ends with, removed from the payload. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Frames of one message; `null` when the recipient must compress it itself. */
export type Frames = readonly Buffer[];

/** Encodes one unmasked frame as one or two buffers (RFC 6455 §5.2). */
function frame(opcode: number, rsv: number, payload: Buffer): Frames {
  const size = headerSize(payload.length, false);
  if (payload.length <= JOIN_LIMIT) {
    const out = Buffer.allocUnsafe(size + payload.length);
    writeHeader(out, 0, opcode, true, rsv, payload.length, false);
    payload.copy(out, size);
    return [out];
  }
  const header = Buffer.allocUnsafe(size);
  writeHeader(header, 0, opcode, true, rsv, payload.length, false);
  return [header, payload];
}

/** A message being published. @internal */
export class Outgoing {
  readonly payload: Buffer;
  readonly binary: boolean;
  readonly compress: boolean;
  /** Shared compressions made for this message, and recipients left to compress it themselves. */
  shared = 0;
  perRecipient = 0;
  private readonly deflate: HubDeflateOptions;
  private readonly allowShared: boolean;
  private plain: Frames | null = null;
  private compressed: Map<number, Frames | null> | null = null;

  constructor(payload: Buffer, binary: boolean, compress: boolean, allowShared: boolean, deflate: HubDeflateOptions) {
    this.payload = payload;
    this.binary = binary;
    this.compress = compress;
    this.allowShared = allowShared;
    this.deflate = deflate;
  }

  /** Bytes one delivery of the uncompressed frame takes. */
  get plainSize(): number {
    return headerSize(this.payload.length, false) + this.payload.length;
  }

  /** The frames for the recipient behind `transport`, or `null` when it compresses them itself. */
  framesFor(transport: Transport): Frames | null {
    const connection = transport.connection;
    const extension = connection.negotiatedExtension;
    if (!this.compress || extension === null || !extension.shouldEncode(this.payload.length)) return this.plainFrames();
    if (!this.allowShared || extension.name !== 'permessage-deflate' || connection.role !== 'server') {
      this.perRecipient++;
      return null;
    }
    const params = (extension as PerMessageDeflate).params;
    if (!params.serverNoContextTakeover) {
      this.perRecipient++;
      return null;
    }
    const frames = this.compressedFrames(params.serverMaxWindowBits);
    if (frames === null) this.perRecipient++;
    return frames;
  }

  private plainFrames(): Frames {
    return (this.plain ??= frame(this.binary ? Opcode.Binary : Opcode.Text, 0, this.payload));
  }

  private compressedFrames(bits: number): Frames | null {
    const cache = (this.compressed ??= new Map());
    const cached = cache.get(bits);
    if (cached !== undefined) return cached;
    let frames: Frames | null = null;
    try {
      // zlib cannot make a raw stream with an 8-bit window; 9 is safe for a 256-byte peer (see
      // deflateWindowBits in deflate/codec.ts).
      const out = deflateRawSync(this.payload, {
        windowBits: Math.max(bits, 9),
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
        ...this.deflate,
      });
      // RFC 7692 §7.2.1: compress, flush to a byte boundary, remove the trailing 00 00 ff ff.
      if (out.length >= TAIL.length && out.subarray(out.length - TAIL.length).equals(TAIL)) {
        // RFC 7692 §6: RSV1 marks a compressed message.
        frames = frame(this.binary ? Opcode.Binary : Opcode.Text, RSV1, out.subarray(0, out.length - TAIL.length));
        this.shared++;
      }
    } catch {
      frames = null;
    }
    cache.set(bits, frames);
    return frames;
  }
}

/** Total bytes of some frames. @internal */
export function framesSize(frames: Frames): number {
  let n = 0;
  for (const f of frames) n += f.length;
  return n;
}
