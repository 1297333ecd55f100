/**
 * Automatic answers to pings, with memory bounded whatever the peer does.
 *
 * A pong "waits" from the moment it is handed to the output until its write completed; a peer
 * that reads keeps this short (writes complete between two reads), a peer that sends pings and
 * never reads makes pongs pile up. As in `ws`, every ping gets its own pong (RFC 6455 §5.5.2)
 * and `maxPending` waiting pongs (its `maxPendingAutoPongs`, default 60) are the limit: the
 * ping after that fails the connection (1008; `ws` terminates it).
 *
 * With no limit (`maxPending` 0) the connection is never failed, and memory stays bounded all
 * the same: at most {@link IN_FLIGHT_CAP} pongs wait, and a later ping only replaces the payload
 * to answer next (RFC 6455 §5.5.3: "the endpoint MAY elect to send a Pong frame for only the
 * most recently processed Ping frame"). So a flooding peer makes us hold at most 256 pongs of at
 * most 131 bytes (33 KiB) plus one 125-byte payload.
 *
 * @module
 */
import { Opcode } from './constants.js';
import { encodeFrame, type FrameOutput } from './frame-encoder.js';

/** Default of `maxPendingAutoPongs`, as in `ws`. */
export const DEFAULT_MAX_PENDING_AUTO_PONGS = 60;

/** Most automatic pongs waiting to be written; beyond, a ping only replaces the payload answered next. */
export const IN_FLIGHT_CAP = 256;

/** The automatic pongs of one connection; created by its first ping. @internal */
export class AutoPong {
  /** Pongs handed to the output whose write has not completed. */
  private inFlight = 0;
  /** Pings not answered on their own since a pong was last written: {@link latest} answers them. */
  private coalesced = 0;
  /** The payload of the most recent such ping (a copy of at most 125 bytes). */
  private latest: Buffer | null = null;
  private stopped = false;
  private readonly out: FrameOutput;
  private readonly masked: boolean;
  private readonly maxPending: number;
  private readonly written = (err?: Error | null): void => this.onWritten(err);

  constructor(out: FrameOutput, masked: boolean, maxPending: number) {
    this.out = out;
    this.masked = masked;
    this.maxPending = maxPending > 0 ? maxPending : Infinity;
  }

  /**
   * Answers a ping. Returns `false`, sending nothing, when `maxPending` pings already wait for
   * their pong: the caller fails the connection.
   */
  answer(payload: Buffer): boolean {
    if (this.inFlight + this.coalesced >= this.maxPending) return false;
    if (this.inFlight < IN_FLIGHT_CAP) {
      this.send(payload);
    } else {
      this.latest = Buffer.from(payload);
      this.coalesced++;
    }
    return true;
  }

  /** Nothing more will be sent (our close frame went out, or the connection failed). */
  stop(): void {
    this.stopped = true;
    this.latest = null;
    this.coalesced = 0;
  }

  private send(payload: Buffer): void {
    this.inFlight++;
    encodeFrame(this.out, Opcode.Pong, payload, true, 0, this.masked, this.written);
  }

  private onWritten(err?: Error | null): void {
    this.inFlight--;
    const next = this.latest;
    if (next === null || err || this.stopped) return;
    // The most recent ping is answered; those it stood for are too.
    this.latest = null;
    this.coalesced = 0;
    this.send(next);
  }
}
