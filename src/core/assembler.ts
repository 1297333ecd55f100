import { CloseCode, Opcode, RSV1 } from './constants.js';
import { ProtocolError } from './errors.js';
import type { FrameSink } from './frame-parser.js';
import { maskInPlace, maskInto } from './mask.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';
import { bufferView, copyOf } from './views.js';

/** Receives whole messages and control frames from an {@link Assembler}. */
export interface MessageSink {
  /**
   * A complete data message. `data` belongs to the receiver. When `compressed` is true the
   * payload is still compressed (RSV1 was set) and has not been checked as UTF-8.
   */
  message(data: Buffer, isBinary: boolean, compressed: boolean): void;
  /** A complete control frame (close, ping or pong); `payload` is at most 125 bytes. */
  control(opcode: number, payload: Buffer): void;
}

/** Limits for {@link Assembler}. */
export interface AssemblerOptions {
  /** Largest message in bytes, summed over its fragments (1009 beyond it). */
  maxPayload: number;
  /** Most frames one message may be split into (1009 beyond it). */
  maxFragments: number;
  /** Do not check text as UTF-8 (the `skipUTF8Validation` option; default false). */
  skipUtf8Validation?: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * Turns frames into messages (RFC 6455 §5.4): enforces the fragmentation rules, bounds the
 * bytes held for a message, and validates text as UTF-8 while it arrives so that invalid text
 * fails the connection at the first impossible byte, not at the end of the message.
 *
 * Fragments are appended into one growing buffer, so per-fragment overhead is constant; a
 * message that arrives as one view of the input is delivered without a copy, unless the input
 * is borrowed (a read buffer shared by every socket), when it is copied once.
 */
export class Assembler implements FrameSink {
  private readonly sink: MessageSink;
  private readonly maxPayload: number;
  private readonly maxFragments: number;
  private readonly checkUtf8: boolean;

  /** Opcode of the message in progress; 0 when none is open. */
  private messageOpcode = 0;
  private compressed = false;
  private validateText = false;
  private fragments = 0;
  /** Bytes of the message received so far (all frames). */
  private messageLength = 0;

  /** Current frame. */
  private frameOpcode = 0;
  private frameFin = false;
  private frameLength = 0;

  /** A message that arrived as exactly one view (no copy needed). */
  private single: Buffer | null = null;
  /** Growing buffer for messages that span frames or chunks. */
  private buffer: Buffer | null = null;
  private bufferLength = 0;

  private validator: Utf8Validator | null = null;

  /**
   * Frame boundaries are recorded for the `fragments` binary type: where each frame after the
   * first starts in the message being assembled, then, once it is delivered, in that message.
   */
  recordFrames = false;
  private frameStarts: number[] | null = null;
  /** The frame boundaries of the message just delivered (`null`: one frame, or not recorded). */
  deliveredFrameStarts: number[] | null = null;

  /** Control frame payload being gathered (control frames may be interleaved with fragments). */
  private control: Buffer | null = null;
  private controlLength = 0;
  private controlSingle: Buffer | null = null;

  constructor(sink: MessageSink, options: AssemblerOptions) {
    this.sink = sink;
    this.maxPayload = options.maxPayload;
    this.maxFragments = options.maxFragments;
    this.checkUtf8 = options.skipUtf8Validation !== true;
  }

  /** Bytes currently held for an incomplete message. */
  get bufferedBytes(): number {
    return this.bufferLength + (this.single ? this.single.length : 0);
  }

  frameStart(fin: boolean, opcode: number, rsv: number, length: number): void {
    this.frameOpcode = opcode;
    this.frameFin = fin;
    this.frameLength = length;
    if (opcode >= Opcode.Close) {
      // RFC 7692 §6.1: permessage-deflate never sets RSV1 on control frames.
      if (rsv !== 0) {
        throw new ProtocolError('WS_ERR_UNEXPECTED_RSV_1', CloseCode.ProtocolError, 'RSV1 must be clear on control frames');
      }
      this.controlLength = 0;
      this.controlSingle = null;
      return;
    }
    if (opcode === Opcode.Continuation) {
      // RFC 6455 §5.4: a continuation frame needs a message in progress.
      if (this.messageOpcode === 0) {
        throw new ProtocolError(
          'WS_ERR_UNEXPECTED_CONTINUATION',
          CloseCode.ProtocolError,
          'Continuation frame without a message in progress',
        );
      }
      // RFC 7692 §6.1: only the first frame of a compressed message carries RSV1.
      if ((rsv & RSV1) !== 0) {
        throw new ProtocolError('WS_ERR_UNEXPECTED_RSV_1', CloseCode.ProtocolError, 'RSV1 must be clear on continuation frames');
      }
      if (this.recordFrames) (this.frameStarts ??= []).push(this.messageLength);
    } else {
      // RFC 6455 §5.4: fragments of one message are not interleaved with another message.
      if (this.messageOpcode !== 0) {
        throw new ProtocolError(
          'WS_ERR_EXPECTED_CONTINUATION',
          CloseCode.ProtocolError,
          'New data frame while a fragmented message is in progress',
        );
      }
      this.messageOpcode = opcode;
      this.frameStarts = null;
      this.compressed = (rsv & RSV1) !== 0;
      this.validateText = opcode === Opcode.Text && !this.compressed && this.checkUtf8;
      this.fragments = 0;
      this.messageLength = 0;
      if (this.validateText && !fin) {
        if (this.validator === null) this.validator = new Utf8Validator();
        else this.validator.reset();
      }
    }
    if (++this.fragments > this.maxFragments) {
      throw new ProtocolError(
        'WS_ERR_TOO_MANY_FRAGMENTS',
        CloseCode.MessageTooBig,
        `Message split into more than ${this.maxFragments} frames`,
      );
    }
    // Checked from the header, before any of this frame's payload is held.
    if (this.messageLength + length > this.maxPayload) {
      throw new ProtocolError(
        'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
        CloseCode.MessageTooBig,
        `Message exceeds the limit of ${this.maxPayload} bytes`,
      );
    }
  }

  /**
   * Masked payload (server role): a piece that will be copied into the message buffer is
   * unmasked while it is copied, in one pass, instead of in place and then copied.
   */
  framePayloadMasked(data: Buffer, key: Uint8Array, keyIndex: number): void {
    const copied =
      this.frameOpcode < Opcode.Close &&
      !(this.messageLength === 0 && this.frameFin && data.length === this.frameLength);
    if (!copied) {
      maskInPlace(data, 0, data.length, key, keyIndex);
      this.framePayload(data);
      return;
    }
    const start = this.bufferLength;
    const buffer = this.reserve(data.length);
    // maskInto applies key[0] to the first byte: rotate the key to this piece's phase.
    rotated[0] = key[keyIndex & 3] as number;
    rotated[1] = key[(keyIndex + 1) & 3] as number;
    rotated[2] = key[(keyIndex + 2) & 3] as number;
    rotated[3] = key[(keyIndex + 3) & 3] as number;
    maskInto(data, 0, data.length, rotated, buffer, start);
    const end = start + data.length;
    if (this.validateText) {
      const validator = this.validator ?? (this.validator = new Utf8Validator());
      if (this.messageLength === 0 && this.frameFin) validator.reset();
      if (!validator.write(buffer, start, end)) throw invalidUtf8();
    }
    this.messageLength += data.length;
    this.bufferLength = end;
  }

  framePayload(data: Buffer, borrowed = false): void {
    if (this.frameOpcode >= Opcode.Close) {
      this.controlPayload(data, borrowed);
      return;
    }
    const whole = this.messageLength === 0 && this.frameFin && data.length === this.frameLength;
    if (this.validateText) {
      if (whole) {
        if (!isValidUtf8(data)) throw invalidUtf8();
      } else {
        const validator = this.validator ?? (this.validator = new Utf8Validator());
        if (this.messageLength === 0 && this.frameFin) validator.reset();
        if (!validator.write(data, 0, data.length)) throw invalidUtf8();
      }
    }
    this.messageLength += data.length;
    if (whole) {
      // Borrowed input is overwritten by the next read: the message gets its own copy.
      this.single = borrowed ? copyOf(data) : data;
      return;
    }
    this.append(data);
  }

  frameEnd(): void {
    if (this.frameOpcode >= Opcode.Close) {
      const payload = this.controlSingle ?? (this.control ? this.control.subarray(0, this.controlLength) : EMPTY);
      // Copy a gathered payload: the gathering buffer is reused by the next control frame.
      const owned = this.controlSingle ? payload : Buffer.from(payload);
      this.controlSingle = null;
      this.controlLength = 0;
      this.sink.control(this.frameOpcode, owned);
      return;
    }
    if (!this.frameFin) return;
    // RFC 6455 §8.1: a text message must be valid UTF-8 as a whole, so no sequence may be left open.
    if (this.validateText && this.single === null && this.validator !== null && !this.validator.end()) {
      throw invalidUtf8();
    }
    let data: Buffer;
    if (this.single !== null) {
      data = this.single;
      this.single = null;
    } else if (this.buffer !== null) {
      data = bufferView(this.buffer, 0, this.bufferLength);
      // The message now belongs to the receiver; the next one gets a fresh buffer.
      this.buffer = null;
      this.bufferLength = 0;
    } else {
      data = EMPTY;
    }
    const isBinary = this.messageOpcode === Opcode.Binary;
    const compressed = this.compressed;
    this.deliveredFrameStarts = compressed ? null : this.frameStarts;
    this.frameStarts = null;
    this.messageOpcode = 0;
    this.compressed = false;
    this.messageLength = 0;
    this.sink.message(data, isBinary, compressed);
  }

  /** Drops any partial message (after the connection failed or closed). */
  reset(): void {
    this.messageOpcode = 0;
    this.single = null;
    this.buffer = null;
    this.bufferLength = 0;
    this.messageLength = 0;
    this.control = null;
    // An empty text frame after the reset checks validator.end(): no stale open sequence.
    this.validator?.reset();
  }

  private append(data: Buffer): void {
    const buffer = this.reserve(data.length);
    data.copy(buffer, this.bufferLength);
    this.bufferLength += data.length;
  }

  /** The message buffer, grown so that `length` more bytes fit after `bufferLength`. */
  private reserve(length: number): Buffer {
    const need = this.bufferLength + length;
    let buffer = this.buffer;
    if (buffer === null || need > buffer.length) {
      // An unfragmented message's size is known from its header: allocate it exactly.
      // Fragmented messages grow by doubling, never beyond the message limit.
      const exact = this.frameFin && this.fragments === 1;
      const capacity = exact
        ? this.frameLength
        : Math.min(this.maxPayload, Math.max(need, buffer === null ? 1024 : buffer.length * 2));
      const grown = Buffer.allocUnsafe(Math.max(capacity, need));
      if (buffer !== null) buffer.copy(grown, 0, 0, this.bufferLength);
      this.buffer = buffer = grown;
    }
    return buffer;
  }

  private controlPayload(data: Buffer, borrowed: boolean): void {
    if (this.controlLength === 0 && data.length === this.frameLength) {
      this.controlSingle = borrowed ? copyOf(data) : data;
      this.controlLength = data.length;
      return;
    }
    const control = this.control ?? (this.control = Buffer.allocUnsafe(125));
    data.copy(control, this.controlLength);
    this.controlLength += data.length;
  }
}

/** The masking key rotated to the phase of the piece being copied (shared, filled before use). */
const rotated = new Uint8Array(4);

function invalidUtf8(): ProtocolError {
  return new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid UTF-8 in text message');
}
