/**
 * Reading the header of a frame we encoded ourselves (RFC 6455 §5.2), for the send scheduler.
 * The fields land in one shared object, so that reading a header allocates nothing.
 *
 * @internal
 * @module
 */

/** Header fields of the frame at the start of a range, filled by {@link readHeader}. @internal */
export const head = { opcode: 0, fin: false, rsv: 0, masked: false, headerLength: 0, payloadLength: 0 };

/** Reads the frame header at `buffer[start]` (RFC 6455 §5.2); false when it is incomplete. @internal */
export function readHeader(buffer: Buffer, start: number, end: number): boolean {
  const available = end - start;
  if (available < 2) return false;
  const b0 = buffer[start] as number;
  const b1 = buffer[start + 1] as number;
  let length = b1 & 0x7f;
  let size = 2;
  if (length === 126) {
    if (available < 4) return false;
    length = buffer.readUInt16BE(start + 2);
    size = 4;
  } else if (length === 127) {
    if (available < 10) return false;
    length = buffer.readUInt32BE(start + 2) * 0x100000000 + buffer.readUInt32BE(start + 6);
    size = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  if (masked) size += 4;
  if (available < size) return false;
  head.opcode = b0 & 0x0f;
  head.fin = (b0 & 0x80) !== 0;
  head.rsv = b0 & 0x70;
  head.masked = masked;
  head.headerLength = size;
  head.payloadLength = length;
  return true;
}
