import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, RSV1, RSV2, RSV3 } from './constants.js';
import { ProtocolError } from './errors.js';
import { isKernelResident, maskInPlace, maskResident } from './mask.js';
import { bufferView, copyOf } from './views.js';

/** Receives the frames a {@link FrameParser} finds, in wire order. */
export interface FrameSink {
  /**
   * A header passed every frame-level rule. `rsv` holds the RSV bits (0x70 mask) as on the wire.
   * May throw a ProtocolError (e.g. a fragmentation or size rule), which fails the parse.
   */
  frameStart(fin: boolean, opcode: number, rsv: number, length: number): void;
  /**
   * Unmasked payload bytes of the current frame, a view over the input. When `borrowed` is
   * true the input's memory is reused as soon as the call returns: a sink that keeps the bytes
   * must copy them.
   */
  framePayload(data: Buffer, borrowed?: boolean): void;
  /**
   * Optional: receives masked payload instead, with the key and the key index of `data[0]`, so
   * the sink can unmask while it copies. When absent, or for borrowed input (which the parser
   * may change), the parser unmasks in place.
   */
  framePayloadMasked?(data: Buffer, key: Uint8Array, keyIndex: number): void;
  /** The current frame's payload is complete. */
  frameEnd(): void;
}

/** Limits and role for {@link FrameParser}. */
export interface FrameParserOptions {
  /** `true` when parsing frames sent by a client (they must be masked); `false` for frames sent by a server. */
  expectMasked: boolean;
  /** Largest payload a single data frame may declare; larger fails with 1009 before any payload is buffered. */
  maxFrameLength: number;
  /** RSV bits owned by negotiated extensions (e.g. 0x40 for permessage-deflate). */
  allowedRsv?: number;
  /**
   * Most input chunks one frame may span, header included (the `maxBufferedChunks` option, as
   * `ws` counts them); one more fails with 1008. Default: no limit.
   */
  maxFrameChunks?: number;
}

const STATE_HEADER = 0;
const STATE_PAYLOAD = 1;
const STATE_DEAD = 2;

/** The key of the payload being unmasked, shared by all parsers (filled just before use). */
const maskKey = new Uint8Array(4);

/** Largest header: 2 + 8 (64-bit length) + 4 (mask key). */
const MAX_HEADER = 14;

/** The `pending` of every parser holding nothing; frozen, so a push to it would throw rather than leak. */
const NOTHING_HELD: Buffer[] = Object.freeze([]) as unknown as Buffer[];

/**
 * Incremental RFC 6455 frame parser. Feed it chunks of any size (down to one byte); it checks
 * every header rule before any payload is held, unmasks payload in place and hands it out as
 * views over the input. Sans-I/O: no sockets, no timers.
 */
export class FrameParser {
  private readonly sink: FrameSink;
  private readonly expectMasked: boolean;
  private maxFrameLength: number;
  private allowedRsv: number;
  private readonly maxFrameChunks: number;
  /** Input chunks the current frame has spanned so far. */
  private frameChunks = 0;

  private state = STATE_HEADER;
  /** Header bytes carried over when a header spans chunks (rare: allocated on first use). */
  private scratch: Buffer | null = null;
  private scratchLength = 0;
  /** The current frame's masking key as one big-endian 32-bit number (no array per parser). */
  private maskWord = 0;
  private masked = false;
  private maskIndex = 0;
  private remaining = 0;

  /** Input not yet parsed because the parser was paused (or arrived while parsing). */
  /** Input held back while paused; the shared empty {@link NOTHING_HELD} until something is. */
  private pending: Buffer[] = NOTHING_HELD;
  private paused = false;
  /** A chunk is being parsed: sink callbacks must not start parsing another one. */
  private parsing = false;

  constructor(sink: FrameSink, options: FrameParserOptions) {
    this.sink = sink;
    this.expectMasked = options.expectMasked;
    this.maxFrameLength = options.maxFrameLength;
    this.allowedRsv = options.allowedRsv ?? 0;
    this.maxFrameChunks = options.maxFrameChunks ?? Infinity;
  }

  /** Changes which RSV bits are accepted (after extension negotiation). */
  setAllowedRsv(bits: number): void {
    this.allowedRsv = bits;
  }

  /** `true` while {@link pause} holds input back. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Bytes received but not parsed yet because the parser is paused. */
  get pendingBytes(): number {
    let n = 0;
    for (const chunk of this.pending) n += chunk.length;
    return n;
  }

  /**
   * Stops parsing after the frame event being delivered; the rest of the input is kept until
   * {@link resume}. Safe to call from inside a sink callback.
   */
  pause(): void {
    this.paused = true;
  }

  /** Continues with input held back by {@link pause}. Throws what {@link push} throws. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // Called from a sink callback: the chunk being parsed continues when the callback returns,
    // and held input follows it. Draining here would parse later chunks before its rest.
    if (!this.parsing) this.drain();
  }

  /** The array of held input, created when first needed (most connections never hold any). */
  private held(): Buffer[] {
    if (this.pending === NOTHING_HELD) this.pending = [];
    return this.pending;
  }

  /** One more input chunk for the frame in progress, within `maxFrameChunks`. */
  private countChunk(): void {
    if (++this.frameChunks > this.maxFrameChunks) {
      throw new ProtocolError(
        'WS_ERR_TOO_MANY_BUFFERED_PARTS',
        CloseCode.PolicyViolation,
        `A frame spans more than ${this.maxFrameChunks} chunks of input`,
      );
    }
  }

  /** Parses held input in order until paused, stopped or done. */
  private drain(): void {
    while (!this.paused && this.state !== STATE_DEAD && this.pending.length > 0) {
      const chunk = this.pending.shift() as Buffer;
      this.parse(chunk);
    }
  }

  /** Stops the parser for good: later input is ignored. */
  stop(): void {
    this.state = STATE_DEAD;
    this.pending = NOTHING_HELD;
  }

  /** `true` after {@link stop} or a protocol error. */
  get stopped(): boolean {
    return this.state === STATE_DEAD;
  }

  /**
   * Parses a chunk. Throws a {@link ProtocolError} when the peer broke a rule; the parser is then
   * stopped and ignores further input.
   *
   * @param chunk - Input bytes, in wire order after the previous chunk.
   * @param borrowed - The chunk's memory is reused once this call returns (a shared read
   *   buffer): whatever is held past the call is copied first, and the sink is told.
   */
  push(chunk: Buffer, borrowed = false): void {
    if (this.state === STATE_DEAD || chunk.length === 0) return;
    if (this.paused || this.parsing || this.pending.length > 0) {
      // Keep wire order: behind held input, or behind the chunk a sink callback is inside of.
      this.held().push(borrowed ? copyOf(chunk) : chunk);
      if (!this.paused && !this.parsing) this.drain();
      return;
    }
    this.parse(chunk, borrowed);
    if (this.pending.length > 0 && !this.paused) this.drain();
  }

  private parse(chunk: Buffer, borrowed = false): void {
    this.parsing = true;
    // Borrowed input in the masking kernel's memory is unmasked there (see readPayload).
    const resident = borrowed && this.expectMasked && isKernelResident(chunk);
    try {
      // A frame (or its header) continues in this chunk.
      if (this.state === STATE_PAYLOAD || this.scratchLength > 0) this.countChunk();
      const end = chunk.length;
      let pos = 0;
      while (pos < end) {
        if (this.paused) {
          const rest = pos === 0 ? chunk : bufferView(chunk, pos, chunk.length);
          this.held().unshift(borrowed ? copyOf(rest) : rest);
          return;
        }
        if (this.state === STATE_HEADER) {
          pos = this.readHeader(chunk, pos);
        } else if (this.state === STATE_PAYLOAD) {
          pos = this.readPayload(chunk, pos, borrowed, resident);
        } else {
          return;
        }
      }
    } catch (err) {
      this.stop();
      throw err;
    } finally {
      this.parsing = false;
    }
  }

  /** Reads as much of a header as the chunk holds; returns the new position. */
  private readHeader(chunk: Buffer, pos: number): number {
    if (this.scratchLength === 0) this.frameChunks = 1;
    const available = chunk.length - pos;
    if (this.scratchLength === 0 && available >= 2) {
      const need = headerLength(chunk[pos + 1] as number);
      if (available >= need) {
        this.parseHeader(chunk, pos);
        return pos + need;
      }
    }
    // Slow path: the header spans chunks; gather it in the scratch buffer.
    const scratch = (this.scratch ??= Buffer.allocUnsafe(MAX_HEADER));
    if (this.scratchLength < 2) {
      const take = Math.min(2 - this.scratchLength, available);
      chunk.copy(scratch, this.scratchLength, pos, pos + take);
      this.scratchLength += take;
      pos += take;
      if (this.scratchLength < 2) return pos;
      // Check the first two bytes before waiting for the rest of the header.
      this.checkFirstBytes(scratch[0] as number, scratch[1] as number);
    }
    const need = headerLength(scratch[1] as number);
    const take = Math.min(need - this.scratchLength, chunk.length - pos);
    chunk.copy(scratch, this.scratchLength, pos, pos + take);
    this.scratchLength += take;
    pos += take;
    if (this.scratchLength === need) {
      this.scratchLength = 0;
      this.parseHeader(scratch, 0);
    }
    return pos;
  }

  /** Rules decidable from the first two header bytes (RFC 6455 §5.2, §5.5, §5.1). */
  private checkFirstBytes(b0: number, b1: number): void {
    const opcode = b0 & 0x0f;
    const rsv = b0 & (RSV1 | RSV2 | RSV3);
    const isControl = (opcode & 0x08) !== 0;
    // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
    if (opcode > Opcode.Binary && !isControl) {
      throw new ProtocolError('WS_ERR_INVALID_OPCODE', CloseCode.ProtocolError, `Invalid opcode ${opcode}`);
    }
    if (isControl && opcode > Opcode.Pong) {
      throw new ProtocolError('WS_ERR_INVALID_OPCODE', CloseCode.ProtocolError, `Invalid opcode ${opcode}`);
    }
    // RFC 6455 §5.2: RSV bits must be 0 unless an extension defines them.
    if ((rsv & ~this.allowedRsv) !== 0) {
      if ((rsv & RSV1) !== 0 && (this.allowedRsv & RSV1) === 0) {
        throw new ProtocolError('WS_ERR_UNEXPECTED_RSV_1', CloseCode.ProtocolError, 'RSV1 must be clear');
      }
      throw new ProtocolError('WS_ERR_UNEXPECTED_RSV_2_3', CloseCode.ProtocolError, 'RSV2 and RSV3 must be clear');
    }
    if (isControl) {
      // RFC 6455 §5.5: control frames must not be fragmented and carry at most 125 bytes.
      if ((b0 & 0x80) === 0) {
        throw new ProtocolError('WS_ERR_EXPECTED_FIN', CloseCode.ProtocolError, 'Control frames must not be fragmented');
      }
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD) {
        throw new ProtocolError(
          'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
          CloseCode.ProtocolError,
          'Control frame payloads must be at most 125 bytes',
        );
      }
    }
    // RFC 6455 §5.1: clients mask every frame; servers mask none.
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.expectMasked) {
      throw this.expectMasked
        ? new ProtocolError('WS_ERR_EXPECTED_MASK', CloseCode.ProtocolError, 'Frames from a client must be masked')
        : new ProtocolError('WS_ERR_UNEXPECTED_MASK', CloseCode.ProtocolError, 'Frames from a server must not be masked');
    }
  }

  /** Parses a complete header at `buf[pos]` and hands it to the sink. */
  private parseHeader(buf: Buffer, pos: number): void {
    const b0 = buf[pos] as number;
    const b1 = buf[pos + 1] as number;
    this.checkFirstBytes(b0, b1);
    let length = b1 & 0x7f;
    let p = pos + 2;
    if (length === 126) {
      length = uint16At(buf, p);
      p += 2;
    } else if (length === 127) {
      const high = uint32At(buf, p);
      // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
      if (high > 0x7fffffff) {
        throw new ProtocolError(
          'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
          CloseCode.ProtocolError,
          'The most significant bit of a 64-bit length must be 0',
        );
      }
      // Lengths beyond 2^53 cannot be represented exactly; they are far beyond any limit anyway.
      if (high > 0x1fffff) {
        throw new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, 'Frame too large');
      }
      length = high * 0x100000000 + uint32At(buf, p + 4);
      p += 8;
    }
    const opcode = b0 & 0x0f;
    if (length > this.maxFrameLength && opcode < Opcode.Close) {
      throw new ProtocolError(
        'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
        CloseCode.MessageTooBig,
        `Frame of ${length} bytes exceeds the limit of ${this.maxFrameLength} bytes`,
      );
    }
    this.masked = (b1 & 0x80) !== 0;
    if (this.masked) {
      this.maskWord = uint32At(buf, p);
      this.maskIndex = 0;
    }
    this.remaining = length;
    this.sink.frameStart((b0 & 0x80) !== 0, opcode, b0 & (RSV1 | RSV2 | RSV3), length);
    if (length === 0) {
      this.sink.frameEnd();
    } else if (this.state !== STATE_DEAD) {
      this.state = STATE_PAYLOAD;
    }
  }

  /** Hands out as much of the current payload as the chunk holds; returns the new position. */
  private readPayload(chunk: Buffer, pos: number, borrowed: boolean, resident: boolean): number {
    const take = Math.min(this.remaining, chunk.length - pos);
    const end = pos + take;
    const view = pos === 0 && end === chunk.length ? chunk : bufferView(chunk, pos, end);
    this.remaining -= take;
    if (this.masked) {
      const word = this.maskWord;
      maskKey[0] = word >>> 24;
      maskKey[1] = (word >>> 16) & 0xff;
      maskKey[2] = (word >>> 8) & 0xff;
      maskKey[3] = word & 0xff;
      const keyIndex = this.maskIndex;
      this.maskIndex = (keyIndex + take) & 3;
      const sink = this.sink;
      if (sink.framePayloadMasked && !borrowed) {
        sink.framePayloadMasked(view, maskKey, keyIndex);
      } else {
        if (resident) maskResident(view, 0, take, maskKey, keyIndex);
        else maskInPlace(view, 0, take, maskKey, keyIndex);
        sink.framePayload(view, borrowed);
      }
    } else {
      this.sink.framePayload(view, borrowed);
    }
    if (this.remaining === 0 && this.state === STATE_PAYLOAD) {
      this.state = STATE_HEADER;
      this.sink.frameEnd();
    }
    return end;
  }
}

/**
 * Big-endian reads by index: in the optimized parser, `buf.readUInt32BE()` looked the method
 * up through a generic property load on every header (see views.ts).
 */
function uint16At(buf: Uint8Array, p: number): number {
  return ((buf[p] as number) << 8) | (buf[p + 1] as number);
}

function uint32At(buf: Uint8Array, p: number): number {
  return (((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number)) >>> 0;
}

/** Header size implied by the second header byte. */
function headerLength(b1: number): number {
  const len = b1 & 0x7f;
  return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}
