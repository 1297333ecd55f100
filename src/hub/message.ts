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
import { headerSize } from '../core/frame-encoder.js';
import { type SharedFrame, sharedFrame } from '../core/shared-frame.js';
import type { Transport } from '../node/io/transport.js';

/** zlib settings of shared compression (the window size always follows the negotiation). */
export interface HubDeflateOptions {
  /** Compression level 0-9 (default: zlib's default, 6). */
  level?: number;
  /** Memory level 1-9 (default 8). */
  memLevel?: number;
  /** zlib strategy (default: `Z_DEFAULT_STRATEGY`). */
  strategy?: number;
}

/** RFC 7692 §7.2.1: the 4 octets a sync flush ends with, removed from the payload. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

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
  private plain: SharedFrame | null = null;
  private compressed: Map<number, SharedFrame | null> | null = null;

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

  /** The frame for the recipient behind `transport`, or `null` when it compresses it itself. */
  frameFor(transport: Transport): SharedFrame | null {
    const connection = transport.connection;
    const extension = connection.negotiatedExtension;
    if (!this.compress || extension === null || !extension.shouldEncode(this.payload.length)) return this.plainFrame();
    if (!this.allowShared || extension.name !== 'permessage-deflate' || connection.role !== 'server') {
      this.perRecipient++;
      return null;
    }
    const params = (extension as PerMessageDeflate).params;
    if (!params.serverNoContextTakeover) {
      this.perRecipient++;
      return null;
    }
    const frame = this.compressedFrame(params.serverMaxWindowBits);
    if (frame === null) this.perRecipient++;
    return frame;
  }

  private plainFrame(): SharedFrame {
    return (this.plain ??= sharedFrame(this.binary ? Opcode.Binary : Opcode.Text, 0, this.payload));
  }

  private compressedFrame(bits: number): SharedFrame | null {
    const cache = (this.compressed ??= new Map());
    const cached = cache.get(bits);
    if (cached !== undefined) return cached;
    let frame: SharedFrame | null = null;
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
        frame = sharedFrame(this.binary ? Opcode.Binary : Opcode.Text, RSV1, out.subarray(0, out.length - TAIL.length));
        this.shared++;
      }
    } catch {
      frame = null;
    }
    cache.set(bits, frame);
    return frame;
  }
}
