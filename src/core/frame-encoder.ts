import { maskInto, writeMaskKey } from './mask.js';

/**
 * Payloads up to this size are copied behind their header into one buffer: one write instead
 * of two, and small allocations come from Node's buffer pool. Larger payloads are written as
 * they are, after a separate header, so they are never copied (unless they must be masked).
 */
export const COALESCE_LIMIT = 4096;

/** The key of the frame being masked, copied out of its header (avoids a view per frame). */
const maskKey = new Uint8Array(4);

/** Where encoded frame bytes go, in order. */
export interface FrameOutput {
  /**
   * Writes bytes to the peer. The buffer is not reused by the encoder. `cb` (on a frame's last
   * write only) runs once the bytes were flushed.
   */
  write(data: Buffer, cb?: (err?: Error | null) => void): void;
}

/** Size of a frame header for a payload of `length` bytes (RFC 6455 §5.2). */
export function headerSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a frame header at `target[offset]` and returns the offset after it. `rsv` holds the
 * RSV bits as on the wire (e.g. 0x40). When `masked`, a fresh mask key ends the header.
 */
export function writeHeader(
  target: Buffer,
  offset: number,
  opcode: number,
  fin: boolean,
  rsv: number,
  length: number,
  masked: boolean,
): number {
  target[offset] = (fin ? 0x80 : 0) | rsv | opcode;
  const maskBit = masked ? 0x80 : 0;
  let p = offset + 2;
  if (length < 126) {
    target[offset + 1] = maskBit | length;
  } else if (length < 0x10000) {
    target[offset + 1] = maskBit | 126;
    target.writeUInt16BE(length, p);
    p += 2;
  } else {
    target[offset + 1] = maskBit | 127;
    // RFC 6455 §5.2: 64-bit length, most significant bit 0.
    target.writeUInt32BE(Math.floor(length / 0x100000000), p);
    target.writeUInt32BE(length >>> 0, p + 4);
    p += 8;
  }
  if (masked) {
    writeMaskKey(target, p);
    p += 4;
  }
  return p;
}

/**
 * Encodes one frame into `out`. A masked frame is masked into a new buffer, so the caller's
 * payload is never modified. Returns the number of bytes written.
 */
export function encodeFrame(
  out: FrameOutput,
  opcode: number,
  payload: Uint8Array,
  fin: boolean,
  rsv: number,
  masked: boolean,
  cb?: (err?: Error | null) => void,
): number {
  const length = payload.length;
  const size = headerSize(length, masked);
  if (masked || length <= COALESCE_LIMIT) {
    const frame = Buffer.allocUnsafe(size + length);
    writeHeader(frame, 0, opcode, fin, rsv, length, masked);
    if (masked) {
      const k = size - 4;
      maskKey[0] = frame[k] as number;
      maskKey[1] = frame[k + 1] as number;
      maskKey[2] = frame[k + 2] as number;
      maskKey[3] = frame[k + 3] as number;
      maskInto(payload, 0, length, maskKey, frame, size);
    } else if (length > 0) {
      frame.set(payload, size);
    }
    out.write(frame, cb);
    return size + length;
  }
  const header = Buffer.allocUnsafe(size);
  writeHeader(header, 0, opcode, fin, rsv, length, false);
  out.write(header);
  out.write(toBuffer(payload), cb);
  return size + length;
}

/** A Buffer view of any Uint8Array, without copying. */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
