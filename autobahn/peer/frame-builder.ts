/**
 * The peer's frame writer. It writes whatever a case asks for — reserved opcodes, RSV bits, fragmented control
 * frames, over-long control payloads — because producing invalid frames is the point. Length fields always use the
 * shortest encoding (RFC 6455 §5.2), as the suite does.
 */
import { randomBytes } from 'node:crypto';

/** XORs `data` with the 4-byte `mask`, starting at key position `offset` (for payloads streamed in pieces). */
export function applyMask(data: Uint8Array, mask: Uint8Array, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  const m0 = mask[0] as number;
  const m1 = mask[1] as number;
  const m2 = mask[2] as number;
  const m3 = mask[3] as number;
  const keys = [m0, m1, m2, m3];
  let i = 0;
  // Byte loop until the key is aligned, then four bytes per step: simple and fast enough for 16 MiB payloads.
  for (; i < data.length && (offset + i) % 4 !== 0; i++) out[i] = (data[i] as number) ^ (keys[(offset + i) % 4] as number);
  const end = data.length - ((data.length - i) % 4);
  for (; i < end; i += 4) {
    out[i] = (data[i] as number) ^ m0;
    out[i + 1] = (data[i + 1] as number) ^ m1;
    out[i + 2] = (data[i + 2] as number) ^ m2;
    out[i + 3] = (data[i + 3] as number) ^ m3;
  }
  for (; i < data.length; i++) out[i] = (data[i] as number) ^ (keys[(offset + i) % 4] as number);
  return out;
}

/** A fresh random masking key (RFC 6455 §5.3). */
export function newMask(): Buffer {
  return randomBytes(4);
}

/** Header bytes: FIN/RSV/opcode, MASK bit and length, extended length, masking key. */
export function encodeHeader(opcode: number, fin: boolean, rsv: number, length: number, mask: Uint8Array | null): Buffer {
  const ext = length <= 125 ? 0 : length <= 0xffff ? 2 : 8;
  const header = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  // Like the suite, take the low bits of out-of-range values instead of refusing them.
  header[0] = (fin ? 0x80 : 0) | ((rsv % 8) << 4) | (opcode % 16);
  const maskBit = mask ? 0x80 : 0;
  if (ext === 0) header[1] = maskBit | length;
  else if (ext === 2) {
    header[1] = maskBit | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (mask) header.set(mask, 2 + ext);
  return header;
}

/** What one frame looks like on the wire. */
export interface FrameSpec {
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv: number;
  readonly payload: Uint8Array;
  /** Masking key; `null` sends the payload unmasked (server role). */
  readonly mask: Uint8Array | null;
}

/** The complete frame as one buffer. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const header = encodeHeader(spec.opcode, spec.fin, spec.rsv, spec.payload.length, spec.mask);
  const body = spec.mask && spec.payload.length > 0 ? applyMask(spec.payload, spec.mask) : spec.payload;
  return Buffer.concat([header, body]);
}
