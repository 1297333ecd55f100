/**
 * The soak run's clients: raw WebSocket connections (benchmarks/deflate/wire.ts) that send
 * prepared frames at a steady rate, ping, answer the server's pings, and count every message
 * they send and every echo they get back, so a lost, duplicated or altered echo is seen.
 *
 * - `normal` peers send `rate` messages per second, with at most `maxInFlight` unanswered.
 * - `slow` peers send faster (`slowRate`) and read at most `slowReadKiBps` KiB/s, so the
 *   server's queue towards them stays full.
 * - `stalled` peers never read: they send `stalledMessages` messages, wait, and vanish.
 *
 * A peer that retires stops sending, waits (at most `drainTimeout` ms) for its outstanding
 * echoes, then closes with 1000 and waits for the server's close; or, for the abrupt share,
 * destroys its socket (its unanswered messages are counted as abandoned, not lost).
 *
 * @module
 */
import { clientClose, clientFrame, compressSequence, EchoInflater, jsonMessage, OFFER, OFFER_NO_CONTEXT, RawConn } from '../deflate/wire.js';
import type { SoakOptions } from './options.js';

/** What a peer does (see the module comment). */
export type PeerKind = 'normal' | 'slow' | 'stalled';

/** The driver's counters, cumulative since the start. */
export interface PeerTotals {
  opened: number;
  openedCompressed: number;
  handshakeFailures: number;
  /** Ended by our close and the server's 1000. */
  closedClean: number;
  /** Ended by destroying our socket (the abrupt share of the churn). */
  abrupt: number;
  /** Stalled peers that reached the end of their life. */
  stalledEnded: number;
  /** Ended by the server, or by anything we did not ask for. */
  unexpectedEnds: number;
  /** Peers that did not get all their echoes within `drainTimeout`. */
  undrained: number;
  sent: number;
  received: number;
  /** Echoes never received by peers that closed, or ended unexpectedly. */
  lost: number;
  /** Echoes beyond what a peer sent. */
  duplicates: number;
  /** Echoes that differ from the message sent at that position. */
  mismatches: number;
  /** Echoes checked byte for byte. */
  verified: number;
  /** Unanswered messages of peers that vanished on purpose. */
  abandoned: number;
  /** Messages of stalled peers (never read back). */
  stalledSent: number;
  /** Sends skipped because `maxInFlight` echoes were outstanding. */
  skipped: number;
  pingsSent: number;
  pongsReceived: number;
  serverPings: number;
  /** Close codes of unexpected ends, by code. */
  unexpectedCodes: Record<string, number>;
  /** The first problems, in words. */
  problems: string[];
}

/** A fresh set of counters. */
export function newTotals(): PeerTotals {
  return {
    opened: 0,
    openedCompressed: 0,
    handshakeFailures: 0,
    closedClean: 0,
    abrupt: 0,
    stalledEnded: 0,
    unexpectedEnds: 0,
    undrained: 0,
    sent: 0,
    received: 0,
    lost: 0,
    duplicates: 0,
    mismatches: 0,
    verified: 0,
    abandoned: 0,
    stalledSent: 0,
    skipped: 0,
    pingsSent: 0,
    pongsReceived: 0,
    serverPings: 0,
    unexpectedCodes: {},
    problems: [],
  };
}

/** Message sizes in turn: mostly below and above the 1024-byte compression threshold. */
const SIZES = [200, 1200, 3000, 600, 2000, 8000, 400, 1500];
const SEQUENCE = 64;

/** The messages every peer sends in turn, as text and as prepared frames. */
export interface MessageSet {
  texts: Buffer[];
  plainFrames: Buffer[];
  compressedFrames: Buffer[];
}

/** Builds the message set; compressed frames form one context-takeover sequence (wire.ts). */
export async function buildMessageSet(noContextTakeover: boolean): Promise<MessageSet> {
  const texts = Array.from({ length: SEQUENCE }, (_, i) => jsonMessage(SIZES[i % SIZES.length] as number, i + 1));
  const payloads = await compressSequence(texts, noContextTakeover);
  return {
    texts,
    plainFrames: texts.map((t) => clientFrame(0x1, t, false)),
    compressedFrames: payloads.map((p) => clientFrame(0x1, p, true)),
  };
}

function note(totals: PeerTotals, problem: string): void {
  if (totals.problems.length < 10) totals.problems.push(problem);
}

/** One client connection of the soak run. */
export class Peer {
  readonly conn: RawConn;
  state: 'opening' | 'open' | 'closing' | 'ended' = 'opening';
  /** Index in the driver's list of live peers (kept by the driver). */
  slot = -1;
  private sent = 0;
  private received = 0;
  private credit = 0;
  private nextPingAt = 0;
  private readonly bornAt = performance.now();
  private closeSent = false;
  private closeCode: number | null = null;
  private drainDeadline = 0;
  private readAllowance = 0;
  private readonly inflater: EchoInflater | null;
  private readonly frames: Buffer[];

  constructor(
    readonly kind: PeerKind,
    readonly compressed: boolean,
    verify: boolean,
    port: number,
    private readonly set: MessageSet,
    private readonly options: SoakOptions,
    private readonly totals: PeerTotals,
    private readonly onEnd: (peer: Peer) => void,
  ) {
    const offer = compressed ? (options.noContextTakeover ? OFFER_NO_CONTEXT : OFFER) : '';
    // Plain echoes are compared as they come; compressed ones only on verifying peers.
    const keep = kind !== 'stalled' && (!compressed || verify);
    this.conn = new RawConn(port, { offer, keepPayloads: keep });
    this.inflater = compressed && keep ? new EchoInflater() : null;
    this.frames = compressed ? set.compressedFrames : set.plainFrames;
    this.nextPingAt = this.bornAt + Math.random() * options.pingInterval;
    this.conn.handler = {
      onMessage: (isCompressed, _bytes, payload) => this.onEcho(isCompressed, payload),
      onControl: (opcode, payload) => {
        if (opcode === 0xa) totals.pongsReceived++;
        else if (opcode === 0x9) {
          // RFC 6455 §5.5.2: answer a ping with a pong carrying its payload.
          totals.serverPings++;
          this.conn.write(clientFrame(0xa, Buffer.from(payload), false));
        }
      },
      onClose: (code) => {
        this.closeCode = code;
      },
      onGone: (err) => this.onGone(err),
    };
    this.conn.opened.then(
      (answer) => this.onOpen(answer),
      (err: Error) => {
        if (this.state === 'ended') return;
        totals.handshakeFailures++;
        note(totals, `handshake failed: ${err.message}`);
        this.end();
      },
    );
  }

  /** Messages sent and not yet echoed. */
  get inFlight(): number {
    return this.sent - this.received;
  }

  private onOpen(answer: string): void {
    if (this.state !== 'opening') return;
    if (this.compressed !== answer.startsWith('permessage-deflate')) {
      note(this.totals, `permessage-deflate ${this.compressed ? 'refused' : 'accepted unasked'}: '${answer}'`);
      this.totals.unexpectedEnds++;
      this.end();
      this.conn.destroy();
      return;
    }
    this.state = 'open';
    this.totals.opened++;
    if (this.compressed) this.totals.openedCompressed++;
    if (this.kind === 'stalled') {
      // Never reads again: everything the server sends back piles up towards it.
      this.conn.socket.pause();
      for (let i = 0; i < this.options.stalledMessages; i++) this.send();
      this.totals.stalledSent += this.options.stalledMessages;
    } else if (this.kind === 'slow') {
      this.conn.socket.on('data', (chunk: Buffer) => {
        this.readAllowance -= chunk.length;
        if (this.readAllowance <= 0 && this.state === 'open') this.conn.socket.pause();
      });
    }
  }

  private send(): void {
    this.conn.write(this.frames[this.sent % this.frames.length] as Buffer);
    this.sent++;
    this.totals.sent++;
  }

  private onEcho(compressed: boolean, payload: Buffer | null): void {
    const k = this.received++;
    this.totals.received++;
    if (this.received > this.sent) {
      this.totals.duplicates++;
      return;
    }
    if (payload === null) return;
    const expected = this.set.texts[k % this.set.texts.length] as Buffer;
    const check = (message: Buffer): void => {
      if (message.equals(expected)) this.totals.verified++;
      else {
        this.totals.mismatches++;
        note(this.totals, `echo ${k} of a ${this.compressed ? 'compressed' : 'plain'} peer differs from what was sent`);
      }
    };
    if (this.inflater !== null) this.inflater.push(payload, compressed, check);
    else if (compressed) {
      this.totals.mismatches++;
      note(this.totals, 'a compressed echo on a connection without permessage-deflate');
    } else check(payload);
  }

  /**
   * Called every tick (`dt` seconds): sends at the peer's rate, pings, refills a slow peer's
   * read allowance, and moves a retiring peer through its close.
   */
  tick(now: number, dt: number, sending: boolean): void {
    if (this.state === 'closing') {
      if (!this.closeSent && this.received >= this.sent) {
        this.closeSent = true;
        this.drainDeadline = now + this.options.drainTimeout;
        this.conn.write(clientClose(1000));
      } else if (now > this.drainDeadline) {
        if (!this.closeSent) this.totals.undrained++;
        note(this.totals, `${this.kind} peer: ${this.closeSent ? 'no close from the server' : `${this.inFlight} echoes missing`} after ${this.options.drainTimeout} ms`);
        this.finish(this.inFlight);
        this.conn.destroy();
      }
      return;
    }
    if (this.state !== 'open' || this.kind === 'stalled') return;
    if (this.kind === 'slow') {
      const step = this.options.slowReadKiBps * 1024 * dt;
      this.readAllowance = Math.min(this.readAllowance + step, 2 * step);
      if (this.readAllowance > 0 && this.conn.socket.isPaused()) this.conn.socket.resume();
    }
    if (!sending) return;
    this.credit += (this.kind === 'slow' ? this.options.slowRate : this.options.rate) * dt;
    const cap = this.kind === 'slow' ? this.options.slowMaxInFlight : this.options.maxInFlight;
    // Bounded: credit grows by at most rate * dt per tick.
    while (this.credit >= 1) {
      this.credit -= 1;
      if (this.inFlight >= cap) this.totals.skipped++;
      else this.send();
    }
    if (this.options.pingInterval > 0 && now >= this.nextPingAt) {
      this.nextPingAt = now + this.options.pingInterval;
      const payload = Buffer.alloc(8);
      payload.writeDoubleBE(now);
      this.conn.write(clientFrame(0x9, payload, false));
      this.totals.pingsSent++;
    }
  }

  /** Whether a stalled peer has lived its life. */
  expired(now: number): boolean {
    return this.kind === 'stalled' && this.state === 'open' && now - this.bornAt >= this.options.stalledLife;
  }

  /** Starts the end of this peer: a clean close after draining, or `abrupt`ly. */
  retire(abrupt: boolean, now: number): void {
    if (this.state === 'ended' || this.state === 'closing') return;
    if (this.state === 'opening' || this.kind === 'stalled' || abrupt) {
      if (this.kind === 'stalled' && this.state === 'open') this.totals.stalledEnded++;
      else if (this.state === 'open') {
        this.totals.abrupt++;
        this.totals.abandoned += this.inFlight;
      }
      this.end();
      this.conn.destroy();
      return;
    }
    this.state = 'closing';
    this.drainDeadline = now + this.options.drainTimeout;
    // A slow peer reads at full speed from now on, so that it can drain.
    if (this.kind === 'slow') this.conn.socket.resume();
  }

  private onGone(err: Error | null): void {
    if (this.state === 'ended') return;
    if (this.state === 'closing' && this.closeSent && this.closeCode === 1000) {
      this.totals.closedClean++;
      this.finish(this.inFlight);
      return;
    }
    this.totals.unexpectedEnds++;
    const code = String(this.closeCode ?? 'none');
    this.totals.unexpectedCodes[code] = (this.totals.unexpectedCodes[code] ?? 0) + 1;
    note(this.totals, `${this.kind} peer ended while ${this.state} (close ${code}${err ? `, ${err.message}` : ''})`);
    this.finish(this.kind === 'stalled' ? 0 : this.inFlight);
  }

  /** Counts `missing` echoes as lost and ends the peer. */
  private finish(missing: number): void {
    if (missing > 0) this.totals.lost += missing;
    this.end();
  }

  private end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    const inflater = this.inflater;
    // Echoes still being checked finish first.
    if (inflater !== null) void inflater.settled().then(() => inflater.close(), () => inflater.close());
    this.onEnd(this);
  }
}
