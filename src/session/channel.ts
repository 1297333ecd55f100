/**
 * The data path both ends share: numbering, the resend buffer, cumulative acknowledgements
 * (piggybacked on data, alone after `ackEvery` messages or `ackDelay` ms), resending from the
 * point the peer states, and discarding what was already received. Sans-I/O: it writes through
 * a {@link SessionLink}, reads time from an injected clock, and asks its owner for a tick.
 *
 * Counters, all sequence numbers (the first message of a session is 1):
 *
 * - outbound: `assigned` (last numbered by `send`) ≥ `ready` (stored, may be written) ≥
 *   `maxSent` (written to some connection) ≥ `peerAcked` (acknowledged; the buffer holds
 *   `peerAcked + 1 … assigned`).
 * - inbound: `received` (delivered) ≥ `persisting` (a store write asked for) ≥ `durable`
 *   (recorded; acknowledgements never go beyond it).
 *
 * @module
 */
import type { Awaitable } from './awaitable.js';
import { settle } from './awaitable.js';
import { protocolError, SessionError } from './errors.js';
import { type OutboundMessage, Outbox, type SendCallback } from './outbox.js';
import type { StoredMessage } from './store.js';
import {
  ackMessage,
  frameBytes,
  frameBytesWithDigits,
  frameText,
  MAX_INLINE_DELTA,
  payloadOf,
  TAG_DATA,
} from './wire.js';

/** The connection underneath a session, as the transport provides it. */
export interface SessionLink {
  /**
   * Writes one WebSocket message: binary when `binary`, else text (a string, or UTF-8 bytes
   * when the application gave text as bytes).
   */
  send(data: string | Uint8Array, binary: boolean): void;
  /** Closes the connection; the session no longer uses it. */
  close(code: number, reason: string): void;
}

/** The per-connection handle a transport feeds. Calls on a handle the session gave up are ignored. */
export interface SessionConnection {
  /** A WebSocket message arrived on this connection. */
  receive(data: string | Uint8Array, binary: boolean): void;
  /** This connection closed (or failed). */
  closed(): void;
}

/** An application message as the session delivers it. */
export interface SessionMessage {
  /** The payload: bytes for binary; for text, whatever the transport gave (a string in browsers, UTF-8 bytes in Node). */
  readonly data: string | Uint8Array;
  /** Binary (true) or text (false), as sent. */
  readonly binary: boolean;
  /** Its sequence number in the session (1 for the first message from that side). */
  readonly seq: number;
  /**
   * True when the message may have been delivered before: the session was restored from a
   * store after the server that held it died, and the client resent it. Only a server sees
   * it; an application that must not process a message twice ignores a `seq` it has seen.
   */
  readonly redelivered: boolean;
}

/** Bounds and timing of the data path (defaults in brackets). */
export interface DataPathOptions {
  /** Most unacknowledged messages kept for resending [1000]. */
  maxMessages?: number;
  /**
   * Most unacknowledged payload bytes kept for resending [1 MiB]. Text given as a string counts
   * its length in UTF-16 code units: its size in UTF-8 for ASCII, and what a JavaScript engine
   * holds it in (1-2 bytes per unit) otherwise; counting UTF-8 exactly would cost a pass over
   * every string sent.
   */
  maxBytes?: number;
  /** Acknowledge alone after this many messages without a chance to piggyback [32]. */
  ackEvery?: number;
  /**
   * Acknowledge alone after this many payload bytes (string length for text) without a
   * chance to piggyback, so a peer sending large messages is not held up by its `maxBytes`
   * until `ackDelay`; keep it below the peer's `maxBytes` [64 KiB].
   */
  ackBytes?: number;
  /** Acknowledge alone at most this many ms after a message arrived [100]. */
  ackDelay?: number;
  /** Most messages a peer may state it will resend on resumption; above it the connection closes with 1008 [10,000]. */
  maxResend?: number;
  /** The clock, in ms [`Date.now`]. */
  clock?: () => number;
}

/** Options of one `send()`. */
export interface SendOptions {
  /** Send as binary [false for strings, true for bytes]. */
  binary?: boolean;
  /** Called once: `null` when the peer acknowledged the message, else the error that lost it. */
  done?: SendCallback;
}

/** Default of {@link DataPathOptions.ackEvery}. */
export const DEFAULT_ACK_EVERY = 32;
/** Default of {@link DataPathOptions.ackBytes}. */
export const DEFAULT_ACK_BYTES = 64 * 1024;
/** Default of {@link DataPathOptions.ackDelay} (ms). */
export const DEFAULT_ACK_DELAY = 100;
/** Default of {@link DataPathOptions.maxResend}. */
export const DEFAULT_MAX_RESEND = 10_000;

/** What a channel needs from its owner. */
export interface ChannelHooks {
  /** A new message from the peer. */
  message(message: SessionMessage): void;
  /** The peer acknowledged everything up to `upTo` (called before the completions run). */
  acknowledged(upTo: number): void;
  /** Records that everything up to `upTo` was received; `null` when received means recorded (client). */
  persistReceived: ((upTo: number) => Awaitable<void>) | null;
  /** Stores a message before it may be written; `null` when there is no store (client). */
  append: ((message: OutboundMessage) => Awaitable<void>) | null;
  /** A store write failed. */
  failed(err: unknown): void;
  /** A deadline was set: call `tick` at or after `at`. */
  timer(at: number): void;
}

const encoder = new TextEncoder();

/** What a payload counts against `maxBytes`: bytes, or UTF-16 code units for a string. */
export function weight(data: string | Uint8Array): number {
  return typeof data === 'string' ? data.length : data.byteLength;
}

/**
 * Checks the bounds of {@link DataPathOptions}.
 * @throws RangeError when `maxMessages` or `maxBytes` is below 1, `ackEvery` below 1, `ackDelay` or `maxResend` negative
 */
export function checkDataPathOptions(options: DataPathOptions): void {
  const { maxMessages = 1, maxBytes = 1, ackEvery = 1, ackBytes = 1, ackDelay = 0, maxResend = 0 } = options;
  if (!(maxMessages >= 1) || !(maxBytes >= 1)) throw new RangeError('maxMessages and maxBytes must be at least 1');
  if (!(ackEvery >= 1) || !(ackBytes >= 1)) throw new RangeError('ackEvery and ackBytes must be at least 1');
  if (!(ackDelay >= 0) || !(maxResend >= 0)) throw new RangeError('ackDelay and maxResend must not be negative');
}

/** The shared data path. */
export class Channel {
  /** The resend buffer. */
  readonly outbox: Outbox;
  /** See {@link DataPathOptions.maxResend}. */
  readonly maxResend: number;
  private readonly ackEvery: number;
  private readonly ackBytes: number;
  private readonly ackDelay: number;
  private readonly clock: () => number;
  private readonly hooks: ChannelHooks;

  /** Last sequence number given to an outgoing message. */
  assigned = 0;
  /** Outgoing messages up to here are stored and may be written. */
  ready = 0;
  /** Highest sequence number written to any connection. */
  maxSent = 0;
  /** Last sequence number the peer acknowledged. */
  peerAcked = 0;
  /** Last sequence number received from the peer. */
  received = 0;
  /** Received messages up to here are recorded (acknowledgements stop here). */
  durable = 0;
  /** Incoming messages up to here are flagged `redelivered`. */
  redeliverUpTo = 0;
  /** Incoming messages dropped because they had been received already. */
  duplicates = 0;

  private persisting = 0;
  private link: SessionLink | null = null;
  /** Last sequence number written on the current link. */
  private linkSent = 0;
  /** Acknowledgement total received on the current link. */
  private linkPeerAcked = 0;
  /** Acknowledgement total sent on the current link. */
  private linkAcked = 0;
  /** Number of the last data message read on the current link. */
  private inSeq = 0;
  private ackDueAt = Infinity;
  /** Payload bytes received on this link since everything received was acknowledged. */
  private unackedBytes = 0;
  private ackWanted = false;
  private persistWanted = false;
  private flushing = false;
  private stopped = false;

  /** @throws RangeError for invalid bounds */
  constructor(options: DataPathOptions, hooks: ChannelHooks) {
    checkDataPathOptions(options);
    this.outbox = new Outbox(options.maxMessages, options.maxBytes);
    this.ackEvery = options.ackEvery ?? DEFAULT_ACK_EVERY;
    this.ackBytes = options.ackBytes ?? DEFAULT_ACK_BYTES;
    this.ackDelay = options.ackDelay ?? DEFAULT_ACK_DELAY;
    this.maxResend = options.maxResend ?? DEFAULT_MAX_RESEND;
    this.clock = options.clock ?? Date.now;
    this.hooks = hooks;
  }

  /** Whether a connection is attached. */
  get attached(): boolean {
    return this.link !== null;
  }

  /** When `tick` must run next (ms), or `Infinity`. */
  deadline(): number {
    return this.ackDueAt;
  }

  /**
   * Numbers and keeps a message, and writes it when attached (after the store has it).
   * @throws SessionError `WS_SESSION_BUFFER_FULL` / `WS_SESSION_TOO_LARGE` when it does not fit
   */
  send(data: string | Uint8Array, binary: boolean, done: SendCallback | null): number {
    let payload = data;
    if (typeof payload === 'string' && binary) payload = encoder.encode(payload);
    const bytes = weight(payload);
    const refusal = this.outbox.refusal(bytes);
    if (refusal !== null) throw refusal;
    const seq = ++this.assigned;
    let entry: OutboundMessage;
    if (typeof payload === 'string') {
      entry = { seq, data: payload, binary, bytes, done, persisted: false, frame: null };
    } else {
      // The one copy of a byte payload: it must outlive the caller's buffer until acknowledged.
      const frame = frameBytes(payload);
      entry = { seq, data: frame.subarray(1), binary, bytes, done, persisted: false, frame };
    }
    this.outbox.push(entry);
    const append = this.hooks.append;
    if (append === null) {
      entry.persisted = true;
      this.advanceReady();
    } else {
      settle(
        () => append(entry),
        () => {
          entry.persisted = true;
          if (!this.stopped) this.advanceReady();
        },
        (err) => this.hooks.failed(err),
      );
    }
    return seq;
  }

  /**
   * Loads a stored state (a server restoring a session another server held): messages above
   * `acknowledged` go back into the buffer, all counters follow the record.
   * @throws SessionError `WS_SESSION_STORE_FAILED` when the stored messages are not contiguous up to `sent`
   */
  restore(record: { received: number; sent: number; acknowledged: number; outbound: readonly StoredMessage[] }): void {
    let expect = record.acknowledged + 1;
    for (const m of record.outbound) {
      if (m.seq <= record.acknowledged) continue; // a trim that had not happened yet
      if (m.seq !== expect) throw new SessionError('WS_SESSION_STORE_FAILED', `Stored messages skip from ${expect - 1} to ${m.seq}`, 1011);
      const bytes = weight(m.data);
      this.outbox.push({ seq: m.seq, data: m.data, binary: m.binary, bytes, done: null, persisted: true, frame: null });
      expect += 1;
    }
    if (expect !== record.sent + 1) throw new SessionError('WS_SESSION_STORE_FAILED', `Stored messages end at ${expect - 1}, not ${record.sent}`, 1011);
    this.assigned = this.ready = this.maxSent = record.sent;
    this.peerAcked = record.acknowledged;
    this.received = this.durable = this.persisting = record.received;
  }

  /** Why the peer's statement "I received up to `n`" cannot be true, or `null`. */
  checkPeerReceived(n: number): SessionError | null {
    if (n < this.peerAcked) {
      return protocolError('WS_SESSION_BAD_SEQUENCE', `Peer states it received up to ${n} after acknowledging ${this.peerAcked}`);
    }
    if (n > this.maxSent) return protocolError('WS_SESSION_BAD_SEQUENCE', `Peer states it received up to ${n}; only ${this.maxSent} were sent`);
    return null;
  }

  /** Why the peer's statement "I sent up to `n`" (with `stated` what this side says it received) cannot be true or is too much to resend, or `null`. */
  checkPeerSent(n: number, stated: number): SessionError | null {
    if (n < this.received) return protocolError('WS_SESSION_BAD_SEQUENCE', `Peer states it sent up to ${n}; ${this.received} were received`);
    if (n - stated > this.maxResend) {
      return protocolError('WS_SESSION_RESEND_TOO_LARGE', `Peer would resend ${n - stated} messages (maxResend ${this.maxResend})`, 1008);
    }
    return null;
  }

  /**
   * Starts using `link` once both sides stated their points: `stated`, what this side said it
   * received (acknowledgements on this link count from it); `peerReceived`, what the peer said
   * it received (acknowledges up to it; resending starts after it). Validate with
   * {@link checkPeerReceived} first.
   */
  attach(link: SessionLink, stated: number, peerReceived: number): void {
    this.link = link;
    this.linkAcked = stated;
    this.inSeq = stated;
    this.linkPeerAcked = peerReceived;
    this.linkSent = peerReceived;
    if (peerReceived > this.peerAcked) this.acknowledge(peerReceived);
    if (this.link !== link) return; // a completion ended it
    this.flush();
    if (this.received > this.linkAcked) this.ackNow();
  }

  /** Stops using the current link (closed, replaced or failed). */
  detach(): void {
    this.link = null;
    this.ackDueAt = Infinity;
    this.ackWanted = false;
    this.unackedBytes = 0;
  }

  /**
   * An acknowledgement of `delta` more messages.
   * @throws SessionError `WS_SESSION_BAD_ACK` when it covers messages not written on this link
   */
  onAck(delta: number): void {
    const next = this.linkPeerAcked + delta;
    if (next > this.linkSent) {
      throw protocolError('WS_SESSION_BAD_ACK', `Acknowledgement up to ${next}; only ${this.linkSent} were sent`);
    }
    this.linkPeerAcked = next;
    if (next > this.peerAcked) this.acknowledge(next);
  }

  /** A data message whose payload starts at `start` (the header was read by the owner). */
  onData(data: string | Uint8Array, start: number, binary: boolean): void {
    const seq = ++this.inSeq;
    this.unackedBytes += (typeof data === 'string' ? data.length : data.byteLength) - start;
    if (seq <= this.received) {
      // Resent by a peer that was told a conservative resumption point (see `durable`).
      this.duplicates += 1;
      this.noteReceived();
      return;
    }
    this.received = seq;
    if (this.hooks.persistReceived === null) this.persisting = this.durable = seq;
    try {
      // Delivered before acknowledging: an answer sent from the handler carries the acknowledgement.
      this.hooks.message({ data: payloadOf(data, start), binary, seq, redelivered: seq <= this.redeliverUpTo });
    } finally {
      this.noteReceived();
    }
  }

  /** Runs what is due at `now` (a standalone acknowledgement). */
  tick(now: number): void {
    if (now >= this.ackDueAt) this.ackNow();
  }

  /**
   * Records everything received so far: at once when no write is under way, else right after
   * it (so a store holds the latest point while the client is away).
   */
  persistAll(): void {
    if (this.received <= this.persisting) return;
    if (this.persisting === this.durable) this.persistReceived();
    else this.persistWanted = true;
  }

  /** Rejects every buffered message with `err` and forgets all state (a client starting over). */
  reset(err: SessionError): void {
    this.rejectAll(err);
    this.assigned = this.ready = this.maxSent = this.peerAcked = 0;
    this.received = this.durable = this.persisting = 0;
    this.redeliverUpTo = 0;
    this.detach();
  }

  /** Rejects every buffered message with `err` and stops for good. */
  stop(err: SessionError): void {
    this.stopped = true;
    this.detach();
    this.rejectAll(err);
  }

  /** Writes what is ready and not yet written on the current link. */
  flush(): void {
    if (this.link === null || this.flushing) return;
    this.flushing = true;
    try {
      while (this.link !== null && this.linkSent < this.ready) {
        const entry = this.outbox.at(this.linkSent + 1);
        if (entry === undefined) break; // cannot happen: ready ≤ assigned and nothing unsent is trimmed
        this.linkSent += 1;
        if (this.linkSent > this.maxSent) this.maxSent = this.linkSent;
        this.write(this.link, entry);
      }
    } finally {
      this.flushing = false;
    }
  }

  private rejectAll(err: SessionError): void {
    for (let entry = this.outbox.shift(); entry !== undefined; entry = this.outbox.shift()) {
      const done = entry.done;
      entry.done = null;
      done?.(err);
    }
  }

  private advanceReady(): void {
    for (;;) {
      const next = this.outbox.at(this.ready + 1);
      if (next === undefined || !next.persisted) break;
      this.ready += 1;
    }
    this.flush();
  }

  private write(link: SessionLink, entry: OutboundMessage): void {
    const delta = this.takeAckDelta();
    const data = entry.data;
    if (typeof data === 'string') {
      link.send(frameText(delta, data), entry.binary);
    } else if (delta <= MAX_INLINE_DELTA) {
      // The kept frame is written again with this link's tag byte. A frame is written once per
      // link and a new link only starts after the previous one was given up, so a rewrite can
      // only reach a connection that is already abandoned.
      let frame = entry.frame;
      if (frame === null) entry.frame = frame = frameBytes(data);
      frame[0] = TAG_DATA + delta;
      link.send(frame, entry.binary);
    } else {
      link.send(frameBytesWithDigits(delta, data), entry.binary);
    }
  }

  /** The acknowledgement to piggyback on the message being written. */
  private takeAckDelta(): number {
    if (this.received > this.persisting && this.persisting === this.durable) this.persistReceived();
    const delta = this.durable - this.linkAcked;
    if (delta <= 0) return 0;
    this.linkAcked = this.durable;
    if (this.linkAcked >= this.received) {
      this.ackWanted = false;
      this.ackDueAt = Infinity;
      this.unackedBytes = 0;
    }
    return delta;
  }

  private noteReceived(): void {
    if (this.link === null) return;
    if (this.received - this.linkAcked >= this.ackEvery || this.unackedBytes >= this.ackBytes) {
      this.ackNow();
    } else if (this.ackDueAt === Infinity && this.received > this.linkAcked) {
      this.ackDueAt = this.clock() + this.ackDelay;
      this.hooks.timer(this.ackDueAt);
    }
  }

  private ackNow(): void {
    this.ackDueAt = Infinity;
    this.ackWanted = true;
    if (this.received > this.persisting && this.persisting === this.durable) this.persistReceived();
    this.sendAck();
  }

  private sendAck(): void {
    const link = this.link;
    if (link === null) return;
    if (this.durable > this.linkAcked) {
      const delta = this.durable - this.linkAcked;
      this.linkAcked = this.durable;
      link.send(ackMessage(delta), false);
    }
    if (this.linkAcked >= this.received) {
      this.ackWanted = false;
      this.unackedBytes = 0;
    }
  }

  private persistReceived(): void {
    const upTo = this.received;
    this.persisting = upTo;
    const persist = this.hooks.persistReceived;
    if (persist === null) {
      this.durable = upTo;
      return;
    }
    let sync = true;
    settle(
      () => persist(upTo),
      () => {
        if (upTo > this.durable) this.durable = upTo;
        if (sync || this.stopped) return; // the caller goes on to acknowledge
        if (this.received > this.persisting && (this.ackWanted || this.persistWanted)) {
          this.persistWanted = false;
          this.persistReceived();
        }
        if (this.ackWanted) this.sendAck();
      },
      (err) => this.hooks.failed(err),
    );
    sync = false;
  }

  private acknowledge(upTo: number): void {
    this.peerAcked = upTo;
    this.hooks.acknowledged(upTo);
    for (let entry = this.outbox.first(); entry !== undefined && entry.seq <= upTo; entry = this.outbox.first()) {
      this.outbox.shift();
      const done = entry.done;
      entry.done = null;
      done?.(null);
    }
  }
}
