/**
 * The fuzzer's oracle: what a receiver must make of a frame sequence, decided by the conformance peer's own frame
 * reader (autobahn/peer/frame-reader.ts, which shares no code with src/), its close-code rules and its
 * permessage-deflate codec, plus a model of the limits our connection adds (maxPayload, maxFragments), which the
 * peer does not have.
 *
 * Two levels:
 * - frame level: the messages (still compressed), pings, pongs and close frame the reader accepts, in order, and the
 *   first frame that breaks a rule with its close code (1002, 1007 or 1009), what the parser and assembler decide;
 * - connection level: the same with compressed messages decompressed in order; a message that does not inflate
 *   (1007), inflates past maxPayload (1009) or is text that is not UTF-8 after inflating (1007) ends the
 *   connection there.
 *
 * Where the two judges legitimately differ, the oracle says so explicitly instead of papering over it:
 * - 16- and 64-bit lengths that are not minimal: the suite refuses them, RFC 6455 §5.2 only binds senders, and we
 *   accept them; the reader runs with `minimalLengths: false`.
 * - When a rule is decidable: the peer judges fragmentation state (continuation without a message, a new message
 *   inside one, RSV1 on a continuation or control frame) from a header's first two bytes, our parser once the whole
 *   header is in, and a 1-byte close payload from the header where we judge it at the end of the frame. When the
 *   input ends before our point of decision, the verdict is optional: none, or the same one.
 * - Precedence inside one frame: our parser checks the rules of a header's first two bytes first, then the length
 *   (a data frame longer than maxPayload: 1009), then the assembler fragmentation state (1002); the peer checks
 *   RSV1 placement before masking. The oracle follows our order.
 * - A compressed message whose data (with the 4-octet tail) does not end on a DEFLATE block boundary: we keep one
 *   zlib stream per connection and carry the unfinished block into the next message, the peer inflates each
 *   message afresh with the window as dictionary. Neither refuses the message itself; what follows is marked
 *   uncertain (`loose`). So is a message that refers back across a final block (BFINAL = 1): RFC 7692 §7.2.2
 *   keeps the window, we start with an empty one after a finished stream.
 * - Octets after the end of a DEFLATE stream (after a final block, beyond the one 0x00 octet RFC 7692 §7.2.3.4
 *   leaves there): the suite ignores them, we refuse the message with 1007, and so does the oracle.
 * - A message that inflates past maxPayload and is broken within the next 16 KiB: 1009 or 1007 (zlib's output
 *   steps decide which is met first).
 */
import { closeCodeAllowed } from '../../autobahn/peer/close-rules.js';
import { PeerDeflate } from '../../autobahn/peer/deflate-codec.js';
import { FrameReader, type FrameHeader, type ReaderSink, type ReceivedFrame } from '../../autobahn/peer/frame-reader.js';
import { isValidUtf8 } from '../../autobahn/peer/utf8.js';
import type { FuzzCase } from './generator.js';

/** An event a receiver reports, in order. */
export type OracleEvent =
  | { readonly kind: 'message'; readonly data: Buffer; readonly binary: boolean; readonly compressed: boolean }
  | { readonly kind: 'ping'; readonly data: Buffer }
  | { readonly kind: 'pong'; readonly data: Buffer }
  /** `payload` is the close frame's payload as received (what a receiver echoes); `code` 1005 when empty. */
  | { readonly kind: 'close'; readonly code: number; readonly reason: Buffer; readonly payload: Buffer };

/** The first rule the input breaks. */
export interface Verdict {
  readonly code: 1002 | 1007 | 1009;
  /** Other codes that are right too (a message both too large and broken, see inflateOne). */
  readonly alternatives?: readonly number[];
  /** Index of the frame that breaks it (0 = the first frame of the input). */
  readonly frame: number;
  /** Where that frame starts and ends in the input (the end is clamped to the input's length). */
  readonly frameStart: number;
  readonly frameEnd: number;
  /** False when the input ends before our receiver can decide (then no verdict is also right). */
  readonly certain: boolean;
  /** Decided after the frames were read (decompression): the receiver reports it later, asynchronously. */
  readonly afterDecode: boolean;
  readonly reason: string;
}

/** What a receiver must report for an input. */
export interface Expectation {
  readonly events: OracleEvent[];
  readonly verdict: Verdict | null;
  /**
   * Set when a compressed message's data does not end on a DEFLATE block boundary (receivers that keep one zlib
   * stream per connection, ours and `ws`, carry the unfinished block into the next message, while the peer starts
   * each message afresh from the window), or refers back across a final block. Only the first `after` events are
   * then certain; what follows may differ (a 1007 on a later message, or other contents).
   */
  readonly loose?: { readonly after: number; readonly reason: string };
}

/** Both levels for one case, and how many frame headers the reader read (for frames-per-second figures). */
export interface Judgement {
  readonly frameLevel: Expectation;
  readonly connection: Expectation;
  readonly framesRead: number;
}

// Peer reasons decided from a header's first two bytes by both judges.
const TWO_BYTE_RULES = [
  'no extension negotiated',
  'defines RSV1 only',
  'unmasked client-to-server frame',
  'masked server-to-client frame',
  'fragmented control frame',
  'control frame with payload length > 125',
  'using reserved opcode',
];
// Peer reasons decided from two bytes by the peer and from the whole header by us (fragmentation state, RSV1).
const STATE_RULES = ['RSV1 set on a control frame', 'RSV1 set on a continuation frame', 'outside fragmented message', 'inside fragmented message'];

/** Header length and declared payload length of the frame at `start`, or null when its header is incomplete. */
function frameHeaderAt(input: Buffer, start: number): { headerLength: number; length: number; msb: boolean } | null {
  if (input.length - start < 2) return null;
  const b1 = input[start + 1] as number;
  const len1 = b1 & 0x7f;
  const headerLength = 2 + (len1 === 126 ? 2 : len1 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
  if (input.length - start < headerLength) return null;
  let length = len1;
  let msb = false;
  if (len1 === 126) length = input.readUInt16BE(start + 2);
  else if (len1 === 127) {
    msb = ((input[start + 2] as number) & 0x80) !== 0;
    length = Number(input.readBigUInt64BE(start + 2));
  }
  return { headerLength, length, msb };
}

/** The end of the frame at `start`, clamped to the input (the input's end when the header is incomplete). */
function frameEndAt(input: Buffer, start: number): number {
  const h = frameHeaderAt(input, start);
  return h === null ? input.length : Math.min(input.length, start + h.headerLength + h.length);
}

/** The reader's sink: records events, models our limits, and turns the first violation into a verdict. */
class Judge implements ReaderSink {
  readonly events: OracleEvent[] = [];
  /** For each message event: the index, start and end of its last frame (for verdicts found when decoding). */
  readonly messageFrames: Array<{ frame: number; start: number; end: number }> = [];
  verdict: Verdict | null = null;
  framesStarted = 0;
  /** Offset of the last frame whose header was accepted. */
  private lastHeaderAt = -1;
  private stopped = false;
  private messageLength = 0;
  private fragments = 0;
  reader!: FrameReader;

  constructor(
    private readonly input: Buffer,
    private readonly maxPayload: number,
    private readonly maxFragments: number,
    private readonly expectMasked: boolean,
    private readonly allowedRsv: number,
  ) {}

  /**
   * Whether the frame at `start` breaks a rule that is decidable from its first two bytes (RFC 6455 §5.1, §5.2,
   * §5.5): reserved opcode, RSV bits no extension owns, a fragmented or long control frame, the wrong masking.
   * Our parser checks these before anything else; the peer checks RSV1 placement (RFC 7692 §6.1) first.
   */
  private twoByteRuleBroken(start: number): boolean {
    const b0 = this.input[start] as number;
    const b1 = this.input[start + 1] as number;
    const opcode = b0 & 0x0f;
    if ((opcode > 2 && opcode < 8) || opcode > 10) return true;
    if ((b0 & 0x70 & ~this.allowedRsv) !== 0) return true;
    if (opcode >= 8 && ((b0 & 0x80) === 0 || (b1 & 0x7f) > 125)) return true;
    return ((b1 & 0x80) !== 0) !== this.expectMasked;
  }

  alive(): boolean {
    return !this.stopped;
  }

  private fail(code: 1002 | 1007 | 1009, reason: string, certain: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    // The failing frame is the one the reader is in: already counted when its header was accepted.
    const frameStart = this.reader.frameStart;
    const frame = frameStart === this.lastHeaderAt ? this.framesStarted - 1 : this.framesStarted;
    this.verdict = { code, frame, frameStart, frameEnd: frameEndAt(this.input, frameStart), certain, afterDecode: false, reason };
  }

  protocolViolation(reason: string): void {
    // Every protocol violation of the reader is found in a header, before header() for that frame.
    const start = this.reader.frameStart;
    const header = frameHeaderAt(this.input, start);
    if (reason.includes('frame too large for this peer')) {
      this.fail(1009, reason, true);
    } else if (STATE_RULES.some((r) => reason.includes(r))) {
      // We judge these once the header is complete, after the length: a 64-bit length with its top bit set is a
      // 1002 anyway (RFC 6455 §5.2), and a data frame past maxPayload is refused with 1009 first. A frame that
      // also breaks a two-byte rule is a 1002 from its second byte.
      const opcode = (this.input[start] as number) & 0x0f;
      if (this.twoByteRuleBroken(start)) this.fail(1002, `${reason} (and a rule of the first two bytes)`, true);
      else if (header !== null && opcode < 8 && !header.msb && header.length > this.maxPayload) this.fail(1009, `${reason} (and longer than maxPayload)`, true);
      else this.fail(1002, reason, header !== null);
    } else if (reason.includes('payload len 1')) {
      // We judge a 1-byte close payload at the end of its frame.
      this.fail(1002, reason, header !== null && this.input.length >= start + header.headerLength + header.length);
    } else if (TWO_BYTE_RULES.some((r) => reason.includes(r)) || reason.includes('>2^63')) {
      this.fail(1002, reason, true);
    } else {
      throw new Error(`oracle: unclassified protocol violation "${reason}"`);
    }
  }

  invalidPayload(reason: string): void {
    this.fail(1007, reason, true);
  }

  header(h: FrameHeader): void {
    this.framesStarted++;
    this.lastHeaderAt = this.reader.frameStart;
    if (h.opcode >= 8) return;
    // Our limits, checked from the header before any payload is held: the frame, the fragment count, the message.
    if (h.length > this.maxPayload) return this.fail(1009, `frame of ${h.length} bytes > maxPayload ${this.maxPayload}`, true);
    if (h.opcode !== 0) {
      this.messageLength = 0;
      this.fragments = 0;
    }
    if (++this.fragments > this.maxFragments) return this.fail(1009, `more than maxFragments ${this.maxFragments} frames`, true);
    if (this.messageLength + h.length > this.maxPayload) return this.fail(1009, `message > maxPayload ${this.maxPayload}`, true);
    this.messageLength += h.length;
  }

  frame(_info: ReceivedFrame): void {}

  message(payload: Buffer, binary: boolean, compressed: boolean): void {
    this.events.push({ kind: 'message', data: Buffer.from(payload), binary, compressed });
    this.messageFrames.push({ frame: this.framesStarted - 1, start: this.reader.frameStart, end: this.reader.position });
  }

  ping(payload: Buffer): void {
    this.events.push({ kind: 'ping', data: Buffer.from(payload) });
  }

  pong(payload: Buffer): void {
    this.events.push({ kind: 'pong', data: Buffer.from(payload) });
  }

  close(code: number | undefined, reason: Buffer | undefined): void {
    if (code !== undefined && !closeCodeAllowed(code)) return this.fail(1002, `invalid close code ${code}`, true);
    if (reason !== undefined && !isValidUtf8(reason)) return this.fail(1007, 'close reason is not UTF-8', true);
    const payload = Buffer.alloc(code === undefined ? 0 : 2 + (reason?.length ?? 0));
    if (code !== undefined) {
      payload.writeUInt16BE(code, 0);
      reason?.copy(payload, 2);
    }
    this.events.push({ kind: 'close', code: code ?? 1005, reason: Buffer.from(reason ?? []), payload });
    // RFC 6455 §5.5.1: nothing after a close frame is read.
    this.stopped = true;
  }
}

/** How one compressed message inflates: `code` 0 with its plaintext, or the close code it fails with. */
interface Inflated {
  readonly code: 0 | 1007 | 1009;
  readonly alternatives?: readonly number[];
  readonly plain: Buffer | null;
  readonly endsBlock: boolean;
  /** The data ended its DEFLATE stream with a final block (BFINAL = 1). */
  readonly finalBlock: boolean;
  readonly reason: string;
}

/** zlib's output step in our codec: a failing zlib call hands out none of its output. */
const ZLIB_CHUNK = 16 * 1024;

function inflateOne(inflater: PeerDeflate, data: Buffer, maxPayload: number, checkBoundary: boolean): Inflated {
  try {
    const inflated = inflater.inflate(data, { maxOutput: maxPayload, checkBoundary });
    // RFC 7692 §7.2.3.4: data may end with a final block (BFINAL = 1), followed by the one 0x00 octet its
    // construction leaves; our 4-octet tail is then left over, or 5 octets with that 0x00. Anything else after
    // the end of the DEFLATE stream cannot be decoded: we refuse it (1007) where the suite ignores it.
    const left = inflated.unused;
    if (left > 0 && left !== 4 && !(left === 5 && data[data.length - 1] === 0)) {
      return { code: 1007, plain: null, endsBlock: true, finalBlock: true, reason: 'data after the end of the DEFLATE stream' };
    }
    return { code: 0, plain: inflated.plain, endsBlock: inflated.endsBlock, finalBlock: left > 0, reason: '' };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') {
      return { code: 1007, plain: null, endsBlock: true, finalBlock: false, reason: `does not inflate: ${(err as Error).message}` };
    }
    // Too large: if the data is also broken within one zlib step past the limit, which is reported first depends
    // on where zlib's output steps fall (a failing step hands out nothing), so either code is right.
    try {
      inflater.inflate(data, { maxOutput: maxPayload + ZLIB_CHUNK });
    } catch (again) {
      if ((again as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') {
        return { code: 1009, alternatives: [1007], plain: null, endsBlock: true, finalBlock: false, reason: 'inflates past maxPayload, and is broken right after' };
      }
    }
    return { code: 1009, plain: null, endsBlock: true, finalBlock: false, reason: 'inflates past maxPayload' };
  }
}

/** Judges the input of `c` at both levels. */
export function judge(c: FuzzCase): Judgement {
  const j = new Judge(c.input, c.maxPayload, c.maxFragments, c.role === 'server', c.deflate !== null ? 0x40 : 0);
  // The peer of our connection sends; the reader reads what our connection reads: masked frames when we serve.
  const reader = new FrameReader(j, c.role === 'server', c.deflate !== null, { minimalLengths: false });
  j.reader = reader;
  reader.push(c.input);
  const frameLevel: Expectation = { events: j.events, verdict: j.verdict };
  if (c.deflate === null) return { frameLevel, connection: frameLevel, framesRead: j.framesStarted };

  // Connection level: inflate in order, as a receiver with the same parameters (our role's inbound direction).
  const params = c.deflate;
  const receiverIsServer = c.role === 'server';
  const inflater = new PeerDeflate(params, receiverIsServer);
  // After a message that ended its DEFLATE stream with a final block, we start the next stream with an empty
  // window where RFC 7692 §7.2.2 keeps the old one: `fresh` inflates as we do, and where the two differ the rest
  // is uncertain (a sender that refers back across a final block is not something this fuzzer judges).
  let fresh: PeerDeflate | null = null;
  const events: OracleEvent[] = [];
  let messageIndex = 0;
  for (const e of j.events) {
    if (e.kind !== 'message') {
      events.push(e);
      continue;
    }
    const at = j.messageFrames[messageIndex++] as { frame: number; start: number; end: number };
    if (!e.compressed) {
      events.push(e);
      continue;
    }
    const outcome = inflateOne(inflater, e.data, c.maxPayload, true);
    if (fresh !== null) {
      const ours = inflateOne(fresh, e.data, c.maxPayload, false);
      if (ours.code !== outcome.code || (ours.plain !== null && outcome.plain !== null && !ours.plain.equals(outcome.plain))) {
        const loose = { after: events.length, reason: `message ${messageIndex - 1} refers back across a final DEFLATE block` };
        return { frameLevel, connection: { events, verdict: j.verdict, loose }, framesRead: j.framesStarted };
      }
    }
    if (outcome.code !== 0) {
      const verdict: Verdict = {
        code: outcome.code,
        ...(outcome.alternatives ? { alternatives: outcome.alternatives } : {}),
        frame: at.frame,
        frameStart: at.start,
        frameEnd: at.end,
        certain: true,
        afterDecode: true,
        reason: outcome.reason,
      };
      return { frameLevel, connection: { events, verdict }, framesRead: j.framesStarted };
    }
    const plain = outcome.plain as Buffer;
    if (!e.binary && !isValidUtf8(plain)) {
      const verdict: Verdict = { code: 1007, frame: at.frame, frameStart: at.start, frameEnd: at.end, certain: true, afterDecode: true, reason: 'inflated text is not UTF-8' };
      return { frameLevel, connection: { events, verdict }, framesRead: j.framesStarted };
    }
    events.push({ kind: 'message', data: plain, binary: e.binary, compressed: false });
    if (!outcome.endsBlock) {
      const loose = { after: events.length, reason: `message ${messageIndex - 1} does not end on a DEFLATE block boundary` };
      return { frameLevel, connection: { events, verdict: j.verdict, loose }, framesRead: j.framesStarted };
    }
    if (outcome.finalBlock) fresh = new PeerDeflate(params, receiverIsServer);
  }
  return { frameLevel, connection: { events, verdict: j.verdict }, framesRead: j.framesStarted };
}
