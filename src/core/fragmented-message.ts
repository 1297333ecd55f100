/**
 * A data frame too large to go out in one piece without delaying control frames: the binding
 * asks for it a fragment at a time, of the size it chooses (RFC 6455 §5.4: "a sender MAY
 * create fragments of any size for non-control messages"), so a ping or pong can go out
 * between two fragments. The payload is never copied for an unmasked frame; each masked
 * fragment gets its own fresh key (RFC 6455 §5.3) as any masked frame does.
 *
 * @module
 */
import { Opcode } from './constants.js';
import { encodeFrame, type FrameOutput, headerSize, type WriteCallback } from './frame-encoder.js';

/** Data frames with a larger payload are handed to the binding as a {@link FragmentedMessage}. */
export const FRAGMENT_THRESHOLD = 64 * 1024;

/** One data frame (a whole message, or one fragment the application sent) sent in fragments. */
export class FragmentedMessage {
  /** Payload bytes not sent yet. */
  remaining: number;
  private readonly opcode: number;
  private readonly payload: Buffer;
  private readonly fin: boolean;
  private readonly rsv: number;
  private readonly masked: boolean;
  private readonly cb: WriteCallback | undefined;

  /**
   * @param opcode - text, binary, or continuation (when the application itself sends fragments)
   * @param fin - whether the frame ends its message (the last fragment carries it)
   * @param rsv - RSV bits of the frame (RFC 7692 §6: RSV1 on the first fragment only)
   * @param cb - called when the last fragment was written
   */
  constructor(opcode: number, payload: Buffer, fin: boolean, rsv: number, masked: boolean, cb: WriteCallback | undefined) {
    this.opcode = opcode;
    this.payload = payload;
    this.fin = fin;
    this.rsv = rsv;
    this.masked = masked;
    this.cb = cb;
    this.remaining = payload.length;
  }

  /** Bytes still to go out, headers included (for a queue's byte count). */
  get size(): number {
    return this.remaining === 0 ? 0 : this.remaining + headerSize(this.remaining, this.masked);
  }

  /** Whether the frame ends its message. */
  get final(): boolean {
    return this.fin;
  }

  /** `true` once the last fragment was written. */
  get done(): boolean {
    return this.remaining === 0;
  }

  /**
   * Writes the next fragment, of at most `max` payload bytes, to `out`. The first keeps the
   * opcode and RSV bits, the others are continuations; only the last carries FIN (and the
   * callback). Returns the bytes written.
   */
  writeNext(out: FrameOutput, max: number): number {
    const payload = this.payload;
    const from = payload.length - this.remaining;
    const n = Math.min(Math.max(1, max), this.remaining);
    this.remaining -= n;
    const first = from === 0;
    const last = this.remaining === 0;
    const view = first && last ? payload : payload.subarray(from, from + n);
    return encodeFrame(
      out,
      first ? this.opcode : Opcode.Continuation,
      view,
      last ? this.fin : false,
      first ? this.rsv : 0,
      this.masked,
      last ? this.cb : undefined,
    );
  }

  /** Reports that the frame will not be sent (the connection is gone). */
  abandon(err: Error): void {
    this.remaining = 0;
    this.cb?.(err);
  }
}
