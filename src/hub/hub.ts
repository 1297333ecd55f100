/**
 * Rooms and broadcast for many connections: a message is framed (and, where allowed,
 * compressed) once and the same bytes go to every recipient; a recipient that does not keep up
 * meets its backpressure policy and never slows the others down or grows memory without bound.
 *
 * @module
 */
import type { WebSocket } from '../node/socket/websocket.js';
import { type SendData, toPayload } from '../node/socket/send-data.js';
import { Session } from '../node/server/session.js';
import { Member, type MemberHost, Outcome } from './member.js';
import { SessionMember } from './session-member.js';
import { type HubDeflateOptions, Outgoing } from './message.js';
import { type ResolvedPolicy, resolvePolicy } from './policy.js';
import type { HubRelay } from './relay.js';
import type { HubMemberOptions, HubOptions, HubStats, PublishOptions, PublishResult } from './types.js';

export type { HubMemberOptions, HubOptions, HubStats, PublishOptions, PublishResult } from './types.js';

const CLOSED = 3;

/** What a hub holds: a connection, or a resumable session (whose connections come and go). */
export type HubTarget = WebSocket | Session;

function isIterable(value: unknown): value is Iterable<HubTarget> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/** A room's member of either kind. */
type AnyMember = Member | SessionMember;

/**
 * Rooms and pre-framed broadcast. Membership ends by itself when a connection closes, and a
 * room disappears with its last member.
 *
 * A resumable {@link Session} can be a member too: it stays in its rooms while its client is
 * away, what is published meanwhile waits in its resend buffer and arrives on resumption, and
 * it leaves the hub when the session is over.
 *
 * ```ts
 * const hub = new Hub({ backpressure: { policy: 'drop', highWaterMark: 512 * 1024 } });
 * wss.on('connection', (ws) => hub.join(ws, 'lobby'));
 * hub.publish('lobby', JSON.stringify(update));
 * ```
 */
export class Hub {
  private readonly byConnection = new Map<WebSocket, Member>();
  private readonly bySession = new Map<Session, SessionMember>();
  private readonly byRoom = new Map<string, Set<AnyMember>>();
  private readonly defaultPolicy: ResolvedPolicy;
  private readonly sharedCompression: boolean;
  private readonly deflate: HubDeflateOptions;
  private readonly counters = { published: 0, sent: 0, dropped: 0, closed: 0, shared: 0, perRecipient: 0 };
  private readonly queuedMembers = new Set<Member>();
  /** Where publishes also go (a cluster), if anywhere. */
  private relay: HubRelay | null = null;
  // One listener function per hub, called with the WebSocket as `this`: no closure per connection.
  private readonly onMemberClose: (this: WebSocket) => void;
  private readonly onMemberDrain: (this: WebSocket) => void;
  private readonly onSessionClose: (this: Session) => void;
  private readonly host: MemberHost = {
    startQueue: (member) => {
      if (this.queuedMembers.has(member)) return;
      this.queuedMembers.add(member);
      member.ws.on('drain', this.onMemberDrain);
    },
    dropped: () => {
      this.counters.dropped++;
    },
  };

  /** @throws RangeError or TypeError on an invalid policy */
  constructor(options: HubOptions = {}) {
    this.defaultPolicy = resolvePolicy(options.backpressure);
    this.sharedCompression = options.sharedCompression ?? true;
    this.deflate = { ...options.deflate };
    const hub = this;
    this.onMemberClose = function (this: WebSocket) {
      hub.remove(this);
    };
    this.onSessionClose = function (this: Session) {
      hub.remove(this);
    };
    this.onMemberDrain = function (this: WebSocket) {
      const member = hub.byConnection.get(this);
      if (member !== undefined && member.flush(hub.host)) hub.stopQueue(member);
    };
  }

  /** Members (connections and sessions) in `room`, or in the whole hub without an argument (0 for an unknown room). */
  size(room?: string): number {
    if (room === undefined) return this.byConnection.size + this.bySession.size;
    return this.byRoom.get(room)?.size ?? 0;
  }

  /**
   * Adds a connection or a session (done by {@link join} too), optionally with its own policy
   * (connections only: a session is bounded by its resend buffer); adding it again replaces its
   * policy. A connection that already closed, or a session that is over, is ignored.
   */
  add(target: HubTarget, options?: HubMemberOptions): void {
    if (target instanceof Session) {
      if (this.bySession.has(target) || target.closed) return;
      this.bySession.set(target, new SessionMember(target));
      target.on('close', this.onSessionClose);
      return;
    }
    const ws = target;
    const policy = options?.backpressure === undefined ? this.defaultPolicy : resolvePolicy(options.backpressure);
    const existing = this.byConnection.get(ws);
    if (existing !== undefined) {
      existing.policy = policy;
      return;
    }
    if (ws.readyState === CLOSED) return;
    this.byConnection.set(ws, new Member(ws, policy));
    ws.on('close', this.onMemberClose);
  }

  /** Removes a connection or session from the hub and all its rooms; `false` if it was not in the hub. */
  remove(target: HubTarget): boolean {
    let member: AnyMember | undefined;
    if (target instanceof Session) {
      member = this.bySession.get(target);
      if (member === undefined) return false;
      this.bySession.delete(target);
      target.off('close', this.onSessionClose);
    } else {
      member = this.byConnection.get(target);
      if (member === undefined) return false;
      this.byConnection.delete(target);
      target.off('close', this.onMemberClose);
      this.stopQueue(member);
      member.clear();
    }
    const rooms = member.rooms;
    member.rooms = null;
    if (typeof rooms === 'string') this.leaveRoom(member, rooms);
    else if (rooms !== null) for (const room of rooms) this.leaveRoom(member, room);
    return true;
  }

  /** Whether `target` is in the hub. */
  has(target: HubTarget): boolean {
    return this.memberOf(target) !== undefined;
  }

  /** Puts `target` in `room` (adding it to the hub with the default policy if needed). */
  join(target: HubTarget, room: string): void {
    this.add(target);
    const member = this.memberOf(target);
    if (member === undefined) return;
    const rooms = member.rooms;
    if (rooms === room || (rooms instanceof Set && rooms.has(room))) return;
    if (rooms === null) member.rooms = room;
    else if (typeof rooms === 'string') member.rooms = new Set([rooms, room]);
    else rooms.add(room);
    let members = this.byRoom.get(room);
    if (members === undefined) this.byRoom.set(room, (members = new Set()));
    members.add(member);
  }

  /** Takes `target` out of `room` (it stays in the hub); `false` if it was not in it. */
  leave(target: HubTarget, room: string): boolean {
    const member = this.memberOf(target);
    if (member === undefined) return false;
    const rooms = member.rooms;
    if (rooms === room) member.rooms = null;
    else if (rooms instanceof Set && rooms.delete(room)) {
      if (rooms.size === 1) member.rooms = rooms.values().next().value as string;
    } else return false;
    this.leaveRoom(member, room);
    return true;
  }

  /** The rooms `target` is in. */
  rooms(target: HubTarget): string[] {
    const rooms = this.memberOf(target)?.rooms ?? null;
    if (rooms === null) return [];
    return typeof rooms === 'string' ? [rooms] : [...rooms];
  }

  /** The connections in `room` (sessions: {@link sessions}). */
  members(room: string): WebSocket[] {
    const members = this.byRoom.get(room);
    const list: WebSocket[] = [];
    if (members !== undefined) for (const m of members) if (m instanceof Member) list.push(m.ws);
    return list;
  }

  /** The sessions in `room`. */
  sessions(room: string): Session[] {
    const members = this.byRoom.get(room);
    const list: Session[] = [];
    if (members !== undefined) for (const m of members) if (m instanceof SessionMember) list.push(m.session);
    return list;
  }

  /** Names of the rooms that have members. */
  roomNames(): string[] {
    return [...this.byRoom.keys()];
  }

  /**
   * Sends `data` to every member of `room` but `options.except`. When the hub is joined to a
   * cluster (`ws6455/cluster`), the message also goes to the room's members on the other
   * servers; the result counts the local recipients.
   */
  publish(room: string, data: SendData, options?: PublishOptions): PublishResult {
    return this.deliver(this.byRoom.get(room) ?? EMPTY, data, options, room);
  }

  /** Sends `data` to every member of the hub but `options.except` (and, in a cluster, on every server). */
  broadcast(data: SendData, options?: PublishOptions): PublishResult {
    return this.deliver(this.everyone(), data, options, null);
  }

  /**
   * Sends `data` to the given connections, framed once, each under its own backpressure policy,
   * as `publish` does for a room. Connections that are not in the hub are skipped (not counted).
   * Never relayed to a cluster.
   */
  sendTo(connections: Iterable<HubTarget>, data: SendData, options?: PublishOptions): PublishResult {
    const targets: AnyMember[] = [];
    for (const target of connections) {
      const member = this.memberOf(target);
      if (member !== undefined) targets.push(member);
    }
    return this.deliver(targets, data, options, undefined);
  }

  /**
   * Delivers to the members of `room` (every connection when `room` is `null`) on this server
   * only: how a cluster hands over what another server published. @internal
   */
  publishLocal(room: string | null, data: SendData, options?: PublishOptions): PublishResult {
    const targets = room === null ? this.everyone() : (this.byRoom.get(room) ?? EMPTY);
    return this.deliver(targets, data, options, undefined);
  }

  /**
   * Sets (or, with `null`, removes) the relay that carries publishes to other servers.
   * @throws Error when another relay is already set @internal
   */
  setRelay(relay: HubRelay | null): void {
    if (relay !== null && this.relay !== null && this.relay !== relay) throw new Error('This hub is already joined to a cluster');
    this.relay = relay;
  }

  /** Counters since the hub was created. */
  stats(): HubStats {
    let queued = 0;
    for (const member of this.queuedMembers) queued += member.queued;
    const c = this.counters;
    return {
      connections: this.byConnection.size,
      sessions: this.bySession.size,
      rooms: this.byRoom.size,
      published: c.published,
      sent: c.sent,
      dropped: c.dropped,
      closed: c.closed,
      queued,
      sharedCompressions: c.shared,
      perRecipientCompressions: c.perRecipient,
    };
  }

  /** `relayTo`: the room (or `null` for all) to hand to the relay, `undefined` for local only. */
  private deliver(
    targets: Iterable<AnyMember>,
    data: SendData,
    options: PublishOptions | undefined,
    relayTo: string | null | undefined,
  ): PublishResult {
    const payload = toPayload(data);
    const binary = options?.binary ?? typeof data !== 'string';
    const compress = options?.compress ?? true;
    const message = new Outgoing(payload, binary, compress, this.sharedCompression, this.deflate);
    // The other servers first: their copy leaves while this one writes to its own members.
    if (relayTo !== undefined && this.relay !== null) this.relay.relay(relayTo, payload, binary, compress);
    const except = options?.except;
    let single: HubTarget | null = null;
    let excluded: Set<HubTarget> | null = null;
    if (except !== undefined) {
      if (isIterable(except)) excluded = except instanceof Set ? (except as Set<HubTarget>) : new Set(except);
      else single = except;
    }
    const result: PublishResult = { recipients: 0, sent: 0, queued: 0, dropped: 0, closed: 0 };
    for (const member of targets) {
      const target = member instanceof Member ? member.ws : member.session;
      if (target === single || (excluded !== null && excluded.has(target))) continue;
      result.recipients++;
      const outcome = member instanceof Member ? member.deliver(message, this.host) : member.deliver(message);
      switch (outcome) {
        case Outcome.Sent:
          result.sent++;
          break;
        case Outcome.Queued:
          result.queued++;
          break;
        case Outcome.Dropped:
          result.dropped++;
          break;
        case Outcome.Closed:
          result.closed++;
          break;
        default:
          result.recipients--;
      }
    }
    const c = this.counters;
    c.published++;
    c.sent += result.sent;
    c.dropped += result.dropped;
    c.closed += result.closed;
    c.shared += message.shared;
    c.perRecipient += message.perRecipient;
    return result;
  }

  private stopQueue(member: Member): void {
    if (!this.queuedMembers.delete(member)) return;
    member.ws.off('drain', this.onMemberDrain);
  }

  private memberOf(target: HubTarget): AnyMember | undefined {
    return target instanceof Session ? this.bySession.get(target) : this.byConnection.get(target);
  }

  /** Every member: connections, then sessions. */
  private *everyone(): Iterable<AnyMember> {
    yield* this.byConnection.values();
    yield* this.bySession.values();
  }

  private leaveRoom(member: AnyMember, room: string): void {
    const members = this.byRoom.get(room);
    if (members === undefined) return;
    members.delete(member);
    if (members.size === 0) this.byRoom.delete(room);
  }
}

const EMPTY: ReadonlySet<AnyMember> = new Set();
