/**
 * The peer's receive side: parses what the testee sends and holds it to the same rules the suite's own endpoint
 * applies (RSV must be 0, masking by role, control frame limits, opcode and fragmentation state, minimal length
 * encoding, UTF-8 of text messages checked frame by frame). A violation is reported once and parsing stops.
 * With permessage-deflate negotiated, RSV1 marks a compressed message on its first frame only (RFC 7692 §6); such
 * a message is handed over still compressed, and its UTF-8 is checked after decompression by the session.
 *
 * The fuzzer (test/fuzz) also uses this reader as its independent judge of what a frame stream means; for that it
 * can be told where each frame starts (`position`, `frameStart`), hear each header before its payload (`header`),
 * and leave the minimal-length rule out (`minimalLengths: false`), which is the suite's rule, not RFC 6455's
 * rule for receivers.
 */
import { applyMask } from './frame-builder.js';
import { Utf8Validator } from './utf8.js';

/** What the reader reports; every callback may end the connection (then `alive()` turns false). */
export interface ReaderSink {
  alive(): boolean;
  protocolViolation(reason: string): void;
  invalidPayload(reason: string): void;
  /**
   * Optional: a header passed every rule; its payload follows. Called before any payload byte is read, so a sink
   * that bounds sizes can refuse the frame here.
   */
  header?(info: FrameHeader): void;
  frame(info: ReceivedFrame): void;
  /** `compressed`: RSV1 was set on the first frame; `payload` is the compressed payload of all frames. */
  message(payload: Buffer, binary: boolean, compressed: boolean): void;
  ping(payload: Buffer): void;
  pong(payload: Buffer): void;
  close(code: number | undefined, reason: Buffer | undefined): void;
}

/** A frame header as read, before its payload. */
export interface FrameHeader {
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv: number;
  readonly masked: boolean;
  readonly length: number;
  /** Octets of the header itself (2 to 14). */
  readonly headerLength: number;
}

/** Options of a {@link FrameReader}. */
export interface ReaderOptions {
  /**
   * Fail a 16-bit or 64-bit length that would fit a shorter encoding (default true, as the suite does). RFC 6455
   * §5.2 asks senders for the minimal encoding; it does not require receivers to refuse others.
   */
  readonly minimalLengths?: boolean;
}

/** A received frame, for the wire log. */
export interface ReceivedFrame {
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv: number;
  readonly masked: boolean;
  readonly length: number;
  readonly payload: Buffer;
}

interface Header {
  opcode: number;
  fin: boolean;
  rsv: number;
  mask: Buffer | null;
  length: number;
  received: number;
  parts: Buffer[];
}

/** Incremental frame parser for one connection. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frame: Header | null = null;
  private messageOpcode = 0; // opcode of the message being assembled, 0 when none
  private messageParts: Buffer[] = [];
  private messageCompressed = false;
  private readonly utf8 = new Utf8Validator();
  private stopped = false;
  private consumed = 0;
  private currentFrameStart = 0;
  private readonly minimalLengths: boolean;

  /**
   * `expectMasked`: true in the server role (client frames must be masked), false in the client role.
   * `compression`: permessage-deflate was negotiated, so RSV1 may mark a compressed message.
   */
  constructor(
    private readonly sink: ReaderSink,
    private readonly expectMasked: boolean,
    private readonly compression = false,
    options: ReaderOptions = {},
  ) {
    this.minimalLengths = options.minimalLengths ?? true;
  }

  /** Octets consumed so far: headers and payloads of the frames read (not the bytes of a header still incomplete). */
  get position(): number {
    return this.consumed;
  }

  /** Offset of the first octet of the frame being read (or of the next one, between frames). */
  get frameStart(): number {
    return this.currentFrameStart;
  }

  /** Feeds bytes from the socket. */
  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (!this.stopped && this.sink.alive()) {
      if (!(this.frame ? this.readPayload() : this.readHeader())) break;
    }
  }

  private fail(kind: 'protocol' | 'payload', reason: string): false {
    this.stopped = true;
    if (kind === 'protocol') this.sink.protocolViolation(reason);
    else this.sink.invalidPayload(reason);
    return false;
  }

  /** Copies `n` bytes from the front without consuming them (headers only, so n <= 14). */
  private peek(n: number): Buffer | null {
    if (this.buffered < n) return null;
    const out = Buffer.alloc(n);
    let copied = 0;
    for (const c of this.chunks) {
      const take = Math.min(c.length, n - copied);
      c.copy(out, copied, 0, take);
      copied += take;
      if (copied === n) break;
    }
    return out;
  }

  private consume(n: number): void {
    this.buffered -= n;
    this.consumed += n;
    while (n > 0) {
      const c = this.chunks[0] as Buffer;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  private readHeader(): boolean {
    this.currentFrameStart = this.consumed;
    const two = this.peek(2);
    if (!two) return false;
    const b0 = two[0] as number;
    const b1 = two[1] as number;
    const fin = (b0 & 0x80) !== 0;
    const rsv = (b0 & 0x70) >> 4;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const len1 = b1 & 0x7f;
    // RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defines them; permessage-deflate defines RSV1 only.
    if (rsv !== 0) {
      if (!this.compression) return this.fail('protocol', `RSV = ${rsv} and no extension negotiated`);
      if (rsv !== 4) return this.fail('protocol', `RSV = ${rsv} (permessage-deflate defines RSV1 only)`);
      // RFC 7692 §6.1: the "Per-Message Compressed" bit is set on the first frame of a data message only.
      if (opcode > 7) return this.fail('protocol', 'RSV1 set on a control frame (RFC 7692 §6.1)');
      if (opcode === 0) return this.fail('protocol', 'RSV1 set on a continuation frame (RFC 7692 §6.1)');
    }
    // RFC 6455 §5.1: client-to-server frames are masked, server-to-client frames are not.
    if (this.expectMasked && !masked) return this.fail('protocol', 'unmasked client-to-server frame');
    if (!this.expectMasked && masked) return this.fail('protocol', 'masked server-to-client frame');
    if (opcode > 7) {
      // RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes.
      if (!fin) return this.fail('protocol', 'fragmented control frame');
      if (len1 > 125) return this.fail('protocol', 'control frame with payload length > 125 octets');
      if (opcode !== 8 && opcode !== 9 && opcode !== 10) return this.fail('protocol', `control frame using reserved opcode ${opcode}`);
      if (opcode === 8 && len1 === 1) return this.fail('protocol', 'received close control frame with payload len 1');
    } else {
      if (opcode !== 0 && opcode !== 1 && opcode !== 2) return this.fail('protocol', `data frame using reserved opcode ${opcode}`);
      if (this.messageOpcode === 0 && opcode === 0) return this.fail('protocol', 'received continuation data frame outside fragmented message');
      if (this.messageOpcode !== 0 && opcode !== 0) return this.fail('protocol', 'received non-continuation data frame while inside fragmented message');
    }
    const ext = len1 === 126 ? 2 : len1 === 127 ? 8 : 0;
    const headerLength = 2 + ext + (masked ? 4 : 0);
    const header = this.peek(headerLength);
    if (!header) return false;
    let length = len1;
    if (ext === 2) {
      length = header.readUInt16BE(2);
      if (length < 126 && this.minimalLengths) return this.fail('protocol', 'invalid data frame length (not using minimal length encoding)');
    } else if (ext === 8) {
      const big = header.readBigUInt64BE(2);
      if (big > 0x7fffffffffffffffn) return this.fail('protocol', 'invalid data frame length (>2^63)');
      if (big < 65536n && this.minimalLengths) return this.fail('protocol', 'invalid data frame length (not using minimal length encoding)');
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail('protocol', 'frame too large for this peer');
      length = Number(big);
    }
    const mask = masked ? Buffer.from(header.subarray(2 + ext, 6 + ext)) : null;
    this.consume(headerLength);
    if (this.sink.header) {
      this.sink.header({ opcode, fin, rsv, masked, length, headerLength });
      if (!this.sink.alive()) {
        this.stopped = true;
        return false;
      }
    }
    this.frame = { opcode, fin, rsv, mask, length, received: 0, parts: [] };
    if (opcode <= 2 && this.messageOpcode === 0) {
      this.messageOpcode = opcode;
      this.messageParts = [];
      this.messageCompressed = rsv === 4;
      this.utf8.reset();
    }
    return true;
  }

  private readPayload(): boolean {
    const f = this.frame as Header;
    while (f.received < f.length && this.buffered > 0) {
      const first = this.chunks[0] as Buffer;
      const take = Math.min(first.length, f.length - f.received);
      const raw = first.subarray(0, take);
      this.consume(take);
      const data = f.mask ? applyMask(raw, f.mask, f.received) : Buffer.from(raw);
      f.received += take;
      if (f.opcode > 7) f.parts.push(data);
      else {
        // The suite validates text incrementally, so an echo that is invalid early fails early.
        if (this.messageOpcode === 1 && !this.messageCompressed && !this.utf8.push(data)) {
          return this.fail('payload', 'encountered invalid UTF-8 while processing text message');
        }
        this.messageParts.push(data);
        if (f.parts.length < 1) f.parts.push(data.subarray(0, 256)); // enough for the wire log
      }
    }
    if (f.received < f.length) return false;
    this.frame = null;
    return this.endFrame(f);
  }

  private endFrame(f: Header): boolean {
    const payload = f.opcode > 7 ? Buffer.concat(f.parts) : (f.parts[0] ?? Buffer.alloc(0));
    this.sink.frame({ opcode: f.opcode, fin: f.fin, rsv: f.rsv, masked: f.mask !== null, length: f.length, payload });
    if (!this.sink.alive()) return false;
    if (f.opcode === 8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
      const reason = payload.length > 2 ? payload.subarray(2) : undefined;
      this.sink.close(code, reason);
    } else if (f.opcode === 9) this.sink.ping(payload);
    else if (f.opcode === 10) this.sink.pong(payload);
    else if (f.fin) {
      if (this.messageOpcode === 1 && !this.messageCompressed && !this.utf8.complete) {
        return this.fail('payload', 'UTF-8 text message payload ended within Unicode code point');
      }
      const binary = this.messageOpcode === 2;
      const parts = this.messageParts;
      this.messageOpcode = 0;
      this.messageParts = [];
      this.sink.message(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), binary, this.messageCompressed);
    }
    return this.sink.alive();
  }
}
