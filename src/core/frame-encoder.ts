import { type MaskGenerator, maskInto, writeMaskKey } from './mask.js';
import { MAX_SLAB_FRAME, frameSlab, reserveFrame } from './slab.js';

/**
 * Payloads up to this size are copied behind their header into one buffer: one write instead
 * of two, and small allocations come from Node's buffer pool. Larger payloads are written as
 * they are, after a separate header, so they are never copied (unless they must be masked).
 */
export const COALESCE_LIMIT = 4096;

/** The key of the frame being masked, copied out of its header (avoids a view per frame). */
const maskKey = new Uint8Array(4);

/** Called once a frame was written out, or with the reason it was not. */
export type WriteCallback = (err?: Error | null) => void;

/**
 * Where encoded frames go, in order, one whole frame per call: the output never needs to
 * parse a header to know what it holds, and never has to keep a frame's pieces together.
 */
export interface FrameOutput {
  /**
   * One whole frame: `buffer[start, end)`, then `payload` when the payload was not copied
   * behind its header (large unmasked payloads). `first` is the frame's first byte (FIN, RSV
   * bits, opcode) and `payloadLength` its payload length. The bytes are not reused by the
   * encoder; `cb` runs once they were flushed.
   */
  writeFrame(first: number, payloadLength: number, buffer: Buffer, start: number, end: number, payload: Buffer | null, cb?: WriteCallback): void;
  /** Optional: fills the masking key of each masked frame instead of the CSPRNG. */
  readonly maskGenerator?: MaskGenerator | null;
}

/** The opcode in a frame's first byte. */
export function opcodeOf(first: number): number {
  return first & 0x0f;
}

/** Whether a frame's first byte has FIN set. */
export function isFinal(first: number): boolean {
  return (first & 0x80) !== 0;
}

/** Size of a frame header for a payload of `length` bytes (RFC 6455 §5.2). */
export function headerSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a frame header at `target[offset]` and returns the offset after it. `rsv` holds the
 * RSV bits as on the wire (e.g. 0x40). When `masked`, a fresh mask key ends the header (from
 * `generateMask` when given).
 */
export function writeHeader(
  target: Buffer,
  offset: number,
  opcode: number,
  fin: boolean,
  rsv: number,
  length: number,
  masked: boolean,
  generateMask?: MaskGenerator | null,
): number {
  target[offset] = (fin ? 0x80 : 0) | rsv | opcode;
  const maskBit = masked ? 0x80 : 0;
  let p = offset + 2;
  if (length < 126) {
    target[offset + 1] = maskBit | length;
  } else if (length < 0x10000) {
    target[offset + 1] = maskBit | 126;
    // Byte stores, not writeUInt16BE: a method lookup per frame costs more than the write.
    target[p] = length >>> 8;
    target[p + 1] = length & 0xff;
    p += 2;
  } else {
    target[offset + 1] = maskBit | 127;
    // RFC 6455 §5.2: 64-bit length, most significant bit 0.
    writeUint32At(target, p, Math.floor(length / 0x100000000));
    writeUint32At(target, p + 4, length >>> 0);
    p += 8;
  }
  if (masked) {
    writeMaskKey(target, p, generateMask);
    p += 4;
  }
  return p;
}

function writeUint32At(target: Uint8Array, p: number, value: number): void {
  target[p] = value >>> 24;
  target[p + 1] = (value >>> 16) & 0xff;
  target[p + 2] = (value >>> 8) & 0xff;
  target[p + 3] = value & 0xff;
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
  cb?: WriteCallback,
): number {
  const length = payload.length;
  const size = headerSize(length, masked);
  const total = size + length;
  const first = (fin ? 0x80 : 0) | rsv | opcode;
  if (total <= MAX_SLAB_FRAME) {
    reserveFrame(total);
    const slab = frameSlab.buffer;
    const start = frameSlab.offset;
    frameSlab.offset = start + total;
    fillFrame(slab, start, opcode, payload, fin, rsv, masked, size, out);
    out.writeFrame(first, length, slab, start, start + total, null, cb);
    return total;
  }
  if (masked || length <= COALESCE_LIMIT) {
    const frame = Buffer.allocUnsafe(total);
    fillFrame(frame, 0, opcode, payload, fin, rsv, masked, size, out);
    out.writeFrame(first, length, frame, 0, total, null, cb);
    return total;
  }
  const header = Buffer.allocUnsafe(size);
  writeHeader(header, 0, opcode, fin, rsv, length, false);
  out.writeFrame(first, length, header, 0, size, toBuffer(payload), cb);
  return total;
}

/** Writes header and payload (masked into place when `masked`) at `target[start]`. */
function fillFrame(
  target: Buffer,
  start: number,
  opcode: number,
  payload: Uint8Array,
  fin: boolean,
  rsv: number,
  masked: boolean,
  size: number,
  out: FrameOutput,
): void {
  const length = payload.length;
  writeHeader(target, start, opcode, fin, rsv, length, masked, masked ? out.maskGenerator : null);
  const body = start + size;
  if (masked) {
    const k = body - 4;
    maskKey[0] = target[k] as number;
    maskKey[1] = target[k + 1] as number;
    maskKey[2] = target[k + 2] as number;
    maskKey[3] = target[k + 3] as number;
    maskInto(payload, 0, length, maskKey, target, body);
  } else if (length > 0) {
    target.set(payload, body);
  }
}

/** A Buffer view of any Uint8Array, without copying. */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
