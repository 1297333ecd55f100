/**
 * A connection as the hub sees it: its rooms, its backpressure policy and, under the `queue`
 * policy, its bounded queue of messages waiting for the socket to drain.
 *
 * @module
 */
import { transportOf } from '../node/io/internals.js';
import { closeForPolicy } from '../node/ops/policy-close.js';
import type { Transport } from '../node/io/transport.js';
import type { WebSocket } from '../node/socket/websocket.js';
import type { SharedFrame } from '../core/shared-frame.js';
import type { Outgoing } from './message.js';
import type { ResolvedPolicy } from './policy.js';

/** What happened to one delivery. @internal */
export const Outcome = { Sent: 0, Queued: 1, Dropped: 2, Closed: 3, Skipped: 4 } as const;
/** One of the {@link Outcome} values. @internal */
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** What a member reports to its hub. @internal */
export interface MemberHost {
  /** The member started queueing: call {@link Member.flush} on its `drain`. */
  startQueue(member: Member): void;
  /** A message was skipped for the member. */
  dropped(): void;
}

/** A message waiting in a member's queue. */
interface Waiting {
  message: Outgoing;
  frame: SharedFrame | null;
  size: number;
}

const OPEN = 1;

/** Hands one message to a connection: the shared frame, or its own compressor. */
function send(transport: Transport, message: Outgoing, frame: SharedFrame | null): boolean {
  const connection = transport.connection;
  // RFC 6455 §5.4: never inside a fragmented message the application is sending.
  if (connection.sendingMessage) return false;
  if (frame !== null && connection.sendShared(frame)) return true;
  connection.send(message.payload, { binary: message.binary, fin: true, compress: message.compress });
  return true;
}

/** A connection added to a hub. @internal */
export class Member {
  readonly ws: WebSocket;
  policy: ResolvedPolicy;
  /** Its rooms: none, one (the common case, no Set), or several. */
  rooms: string | Set<string> | null = null;
  /** Messages skipped for it (drop policy, queue overflow). */
  dropped = 0;
  private queue: Array<Waiting | undefined> | null = null;
  private head = 0;
  private queuedBytes = 0;

  constructor(ws: WebSocket, policy: ResolvedPolicy) {
    this.ws = ws;
    this.policy = policy;
  }

  /** Messages waiting in the hub's queue for this member. */
  get queued(): number {
    return this.queue === null ? 0 : this.queue.length - this.head;
  }

  /** Delivers `message` according to the policy. */
  deliver(message: Outgoing, host: MemberHost): Outcome {
    const ws = this.ws;
    const transport = transportOf(ws);
    if (transport === null || ws.readyState !== OPEN) return Outcome.Skipped;
    const frame = message.frameFor(transport);
    const size = frame === null ? message.plainSize : frame.size;
    const policy = this.policy;
    if (this.queue !== null) return this.enqueue(message, frame, size, host);
    const buffered = transport.bufferedAmount;
    if (buffered === 0 || buffered + size <= policy.highWaterMark) {
      return send(transport, message, frame) ? Outcome.Sent : this.drop(transport);
    }
    if (policy.kind === 'drop') return this.drop(transport);
    if (policy.kind === 'close') return this.close();
    const outcome = this.enqueue(message, frame, size, host);
    if (this.queue !== null) host.startQueue(this);
    return outcome;
  }

  /** Sends queued messages while the connection is below the high-water mark; true when empty. */
  flush(host: MemberHost): boolean {
    const queue = this.queue;
    if (queue === null) return true;
    const transport = transportOf(this.ws);
    if (transport === null || this.ws.readyState !== OPEN) {
      this.clear();
      return true;
    }
    const limit = this.policy.highWaterMark;
    while (this.head < queue.length) {
      const next = queue[this.head] as Waiting;
      const buffered = transport.bufferedAmount;
      if (buffered > 0 && buffered + next.size > limit) return false;
      queue[this.head++] = undefined;
      this.queuedBytes -= next.size;
      if (!send(transport, next.message, next.frame)) {
        this.drop(transport);
        host.dropped();
      }
    }
    this.clear();
    return true;
  }

  /** Empties the queue (the member left or closed). */
  clear(): void {
    this.queue = null;
    this.head = 0;
    this.queuedBytes = 0;
  }

  private enqueue(message: Outgoing, frame: SharedFrame | null, size: number, host: MemberHost): Outcome {
    const policy = this.policy;
    const queue = (this.queue ??= []);
    let outcome: Outcome = Outcome.Queued;
    while (this.queued > 0 && (this.queuedBytes + size > policy.maxQueuedBytes || this.queued + 1 > policy.maxQueuedMessages)) {
      if (policy.overflow === 'close') return this.close();
      // Oldest first: a subscriber that catches up sees the most recent messages.
      const oldest = queue[this.head] as Waiting;
      queue[this.head++] = undefined;
      this.queuedBytes -= oldest.size;
      this.drop(transportOf(this.ws));
      host.dropped();
    }
    if (size > policy.maxQueuedBytes) {
      if (policy.overflow === 'close') return this.close();
      outcome = this.drop(transportOf(this.ws));
      if (this.queued === 0) this.clear();
      return outcome;
    }
    if (this.head > 1024 && this.head * 2 > queue.length) {
      queue.splice(0, this.head);
      this.head = 0;
    }
    queue.push({ message, frame, size });
    this.queuedBytes += size;
    return outcome;
  }

  private drop(transport: Transport | null): Outcome {
    this.dropped++;
    transport?.monitor?.broadcastDropped();
    return Outcome.Dropped;
  }

  private close(): Outcome {
    this.clear();
    closeForPolicy(this.ws, 'backpressure', this.policy.code, true);
    return Outcome.Closed;
  }
}
