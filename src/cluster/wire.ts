/**
 * The wire format between servers: one Redis entry (a stream entry's value, or a pub/sub
 * message) carries a batch of records from one server. Binary and versioned; payloads are
 * copied in as they are (no JSON around them, no base64).
 *
 * ```
 * entry   = version:u8 (1) origin:8 bytes  entrySeq:u48  firstSeq:u48  count:u32  record*
 * record  = kind:u8  bodyLength:varint  body
 * ROOM    body = flags:u8 roomLength:varint room(UTF-8) payload
 * ALL     body = flags:u8 payload                                   (broadcast)
 * CONN    body = flags:u8 idLength:varint connectionId payload
 * USER    body = flags:u8 userLength:varint userId payload
 * REQUEST body = requestId:u32 typeLength:varint type payload
 * REPLY   body = requester:8 bytes requestId:u32 status:u8 payload
 * flags   = bit 0 binary, bit 1 do not compress
 * ```
 *
 * Integers are big-endian; varints are unsigned LEB128 (7 bits a byte, low first, at most 4
 * bytes). `entrySeq` numbers the origin's entries from 1 and `firstSeq` its records (the
 * records of an entry are numbered `firstSeq`, `firstSeq + 1`, …), so a receiver can drop a
 * duplicate entry and count what it missed. A record kind this version does not know is
 * skipped by its length; an entry of another version, or one whose lengths do not add up, is
 * skipped whole and counted.
 *
 * @module
 */

/** The only version written and read. @internal */
export const WIRE_VERSION = 1;
/** Bytes before the first record. @internal */
export const HEADER_SIZE = 1 + 8 + 6 + 6 + 4;

/** Record kinds. @internal */
export const Kind = { Room: 1, All: 2, Connection: 3, User: 4, Request: 5, Reply: 6 } as const;
/** One of the {@link Kind} values. @internal */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Record flags. @internal */
export const Flag = { Binary: 1, NoCompress: 2 } as const;

/** Status of a reply. @internal */
export const ReplyStatus = { Ok: 0, NoHandler: 1, Failed: 2 } as const;

/** The size of `n` as a varint. @internal */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** Largest value a varint of this format holds (4 bytes, 28 bits: 256 MiB). @internal */
export const MAX_VARINT = 0x0fffffff;

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** A decoded varint and the position after it; `value` is -1 when malformed. */
const varint = { value: 0, next: 0 };

function readVarint(buf: Buffer, pos: number, end: number): typeof varint {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) break;
    const b = buf[pos++] as number;
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      varint.value = value;
      varint.next = pos;
      return varint;
    }
    shift += 7;
  }
  varint.value = -1;
  varint.next = pos;
  return varint;
}

/**
 * Builds one entry: records are appended, then {@link seal} writes the header. The buffer
 * grows by doubling; a sealed entry is a view of it. @internal
 */
export class EntryWriter {
  private buf: Buffer;
  private pos = HEADER_SIZE;
  /** Records written. */
  count = 0;

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, HEADER_SIZE + 64));
  }

  /** Bytes written so far, header included. */
  get size(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private begin(kind: Kind, body: number): void {
    this.reserve(1 + varintSize(body) + body);
    this.buf[this.pos++] = kind;
    this.pos = writeVarint(this.buf, this.pos, body);
    this.count++;
  }

  /** The bytes a data record (ROOM, ALL, CONN, USER) with this target and payload takes. */
  static dataSize(target: Buffer | null, payload: number): number {
    const body = 1 + (target === null ? 0 : varintSize(target.length) + target.length) + payload;
    return 1 + varintSize(body) + body;
  }

  /** The bytes a REQUEST record takes. */
  static requestSize(type: Buffer, payload: number): number {
    const body = 4 + varintSize(type.length) + type.length + payload;
    return 1 + varintSize(body) + body;
  }

  /** The bytes a REPLY record takes. */
  static replySize(payload: number): number {
    const body = 13 + payload;
    return 1 + varintSize(body) + body;
  }

  /** A ROOM, ALL, CONN or USER record; `target` is `null` for ALL. */
  data(kind: Kind, flags: number, target: Buffer | null, payload: Buffer): void {
    const body = 1 + (target === null ? 0 : varintSize(target.length) + target.length) + payload.length;
    this.begin(kind, body);
    const buf = this.buf;
    buf[this.pos++] = flags;
    if (target !== null) {
      this.pos = writeVarint(buf, this.pos, target.length);
      this.pos += target.copy(buf, this.pos);
    }
    this.pos += payload.copy(buf, this.pos);
  }

  /** A REQUEST record. */
  request(requestId: number, type: Buffer, payload: Buffer): void {
    this.begin(Kind.Request, 4 + varintSize(type.length) + type.length + payload.length);
    const buf = this.buf;
    buf.writeUInt32BE(requestId, this.pos);
    this.pos = writeVarint(buf, this.pos + 4, type.length);
    this.pos += type.copy(buf, this.pos);
    this.pos += payload.copy(buf, this.pos);
  }

  /** A REPLY record to server `requester` (8 bytes). */
  reply(requester: Buffer, requestId: number, status: number, payload: Buffer): void {
    this.begin(Kind.Reply, 8 + 4 + 1 + payload.length);
    const buf = this.buf;
    this.pos += requester.copy(buf, this.pos, 0, 8);
    buf.writeUInt32BE(requestId, this.pos);
    buf[this.pos + 4] = status;
    this.pos += 5;
    this.pos += payload.copy(buf, this.pos);
  }

  /** Writes the header and returns the entry (a view of this writer's buffer). */
  seal(origin: Buffer, entrySeq: number, firstSeq: number): Buffer {
    const buf = this.buf;
    buf[0] = WIRE_VERSION;
    origin.copy(buf, 1, 0, 8);
    buf.writeUIntBE(entrySeq, 9, 6);
    buf.writeUIntBE(firstSeq, 15, 6);
    buf.writeUInt32BE(this.count, 21);
    return buf.subarray(0, this.pos);
  }
}

/** One record, decoded in place (strings and payload are views or new strings). @internal */
export interface WireRecord {
  kind: number;
  flags: number;
  /** Room, connection id, user id or request type; empty for ALL and REPLY. */
  target: string;
  /** REPLY: the requesting server (8 bytes). */
  requester: Buffer | null;
  requestId: number;
  status: number;
  payload: Buffer;
}

/** Header of an entry. @internal */
export interface WireHeader {
  origin: Buffer;
  entrySeq: number;
  firstSeq: number;
  count: number;
}

/** Reads the header; `null` when the entry is not of this version or too short. @internal */
export function readHeader(entry: Buffer): WireHeader | null {
  if (entry.length < HEADER_SIZE || entry[0] !== WIRE_VERSION) return null;
  return {
    origin: entry.subarray(1, 9),
    entrySeq: entry.readUIntBE(9, 6),
    firstSeq: entry.readUIntBE(15, 6),
    count: entry.readUInt32BE(21),
  };
}

function parseBody(entry: Buffer, kind: number, start: number, end: number, out: WireRecord | null): boolean {
  let pos = start;
  let target = '';
  let flags = 0;
  let requester: Buffer | null = null;
  let requestId = 0;
  let status = 0;
  switch (kind) {
    case Kind.Room:
    case Kind.Connection:
    case Kind.User: {
      if (pos >= end) return false;
      flags = entry[pos++] as number;
      const v = readVarint(entry, pos, end);
      if (v.value < 0 || v.next + v.value > end) return false;
      if (out !== null) target = entry.toString('utf8', v.next, v.next + v.value);
      pos = v.next + v.value;
      break;
    }
    case Kind.All:
      if (pos >= end) return false;
      flags = entry[pos++] as number;
      break;
    case Kind.Request: {
      if (pos + 4 > end) return false;
      requestId = entry.readUInt32BE(pos);
      const v = readVarint(entry, pos + 4, end);
      if (v.value < 0 || v.next + v.value > end) return false;
      if (out !== null) target = entry.toString('utf8', v.next, v.next + v.value);
      pos = v.next + v.value;
      break;
    }
    case Kind.Reply:
      if (pos + 13 > end) return false;
      requester = entry.subarray(pos, pos + 8);
      requestId = entry.readUInt32BE(pos + 8);
      status = entry[pos + 12] as number;
      pos += 13;
      break;
    default:
      return true; // unknown kind: skipped by its length
  }
  if (out !== null) {
    out.kind = kind;
    out.flags = flags;
    out.target = target;
    out.requester = requester;
    out.requestId = requestId;
    out.status = status;
    out.payload = entry.subarray(pos, end);
  }
  return true;
}

/**
 * Checks that every length in the entry adds up, without allocating; `false` means the entry
 * must be skipped whole. @internal
 */
export function validEntry(entry: Buffer, header: WireHeader): boolean {
  let pos = HEADER_SIZE;
  for (let i = 0; i < header.count; i++) {
    if (pos >= entry.length) return false;
    const kind = entry[pos] as number;
    const v = readVarint(entry, pos + 1, entry.length);
    if (v.value < 0 || v.next + v.value > entry.length) return false;
    const start = v.next;
    const end = start + v.value;
    if (!parseBody(entry, kind, start, end, null)) return false;
    pos = end;
  }
  return pos === entry.length;
}

/**
 * Calls `visit` for each record of a valid entry (check with {@link validEntry} first), with
 * one reused record object; records of unknown kinds are skipped. @internal
 */
export function forEachRecord(entry: Buffer, header: WireHeader, visit: (record: WireRecord, seq: number) => void): void {
  const record: WireRecord = { kind: 0, flags: 0, target: '', requester: null, requestId: 0, status: 0, payload: entry.subarray(0, 0) };
  let pos = HEADER_SIZE;
  for (let i = 0; i < header.count; i++) {
    const kind = entry[pos] as number;
    const v = readVarint(entry, pos + 1, entry.length);
    const start = v.next;
    const end = start + v.value;
    pos = end;
    record.kind = 0;
    parseBody(entry, kind, start, end, record);
    if (record.kind !== 0) visit(record, header.firstSeq + i);
  }
}
