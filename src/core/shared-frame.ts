/**
 * A data frame built once and written to many connections (a broadcast): unmasked (only a
 * server sends it, RFC 6455 §5.1), whole, with its header computed once. Small payloads are
 * copied behind the header (one buffer, one write); larger ones are referred to, not copied.
 *
 * @module
 */
import { headerSize, writeHeader } from './frame-encoder.js';

/** Payloads up to this size are copied behind their header: one buffer, one write. */
export const SHARED_JOIN_LIMIT = 16 * 1024;

/** A complete unmasked data frame, shared by every connection it is written to. */
export interface SharedFrame {
  /** The first header byte: FIN, RSV bits and opcode. */
  readonly first: number;
  /** The header, followed by the payload when {@link payload} is `null`. */
  readonly head: Buffer;
  /** The payload, when it was not copied behind the header. */
  readonly payload: Buffer | null;
  /** Length of the payload. */
  readonly payloadLength: number;
  /** Bytes on the wire. */
  readonly size: number;
}

/** Builds the final (FIN) frame of a message carrying `payload` with `opcode` and `rsv` bits. */
export function sharedFrame(opcode: number, rsv: number, payload: Buffer): SharedFrame {
  const length = payload.length;
  const size = headerSize(length, false);
  const first = 0x80 | rsv | opcode;
  if (length <= SHARED_JOIN_LIMIT) {
    const head = Buffer.allocUnsafe(size + length);
    writeHeader(head, 0, opcode, true, rsv, length, false);
    payload.copy(head, size);
    return { first, head, payload: null, payloadLength: length, size: size + length };
  }
  const head = Buffer.allocUnsafe(size);
  writeHeader(head, 0, opcode, true, rsv, length, false);
  return { first, head, payload, payloadLength: length, size: size + length };
}
