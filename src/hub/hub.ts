/**
 * Rooms and broadcast for many connections: a message is framed (and, where allowed,
 * compressed) once and the same bytes go to every recipient; a recipient that does not keep up
 * meets its backpressure policy and never slows the others down or grows memory without bound.
 *
 * @module
 */
import type { WebSocket } from '../node/socket/websocket.js';
import { type SendData, toPayload } from '../node/socket/send-data.js';
import { Member, type MemberHost, Outcome } from './member.js';
import { type HubDeflateOptions, Outgoing } from './message.js';
import { type ResolvedPolicy, resolvePolicy } from './policy.js';
import type { HubRelay } from './relay.js';
import type { HubMemberOptions, HubOptions, HubStats, PublishOptions, PublishResult } from './types.js';

export type { HubMemberOptions, HubOptions, HubStats, PublishOptions, PublishResult } from './types.js';

const CLOSED = 3;

function isIterable(value: unknown): value is Iterable<WebSocket> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/**
 * Rooms and pre-framed broadcast. Membership ends by itself when a connection closes, and a
 * room disappears with its last member.
 *
 * ```ts
 * const hub = new Hub({ backpressure: { policy: 'drop', highWaterMark: 512 * 1024 } });
 * wss.on('connection', (ws) => hub.join(ws, 'lobby'));
 * hub.publish('lobby', JSON.stringify(update));
 * ```
 */
export class Hub {
  private readonly byConnection = new Map<WebSocket, Member>();
  private readonly byRoom = new Map<string, Set<Member>>();
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
    this.onMemberDrain = function (this: WebSocket) {
      const member = hub.byConnection.get(this);
      if (member !== undefined && member.flush(hub.host)) hub.stopQueue(member);
    };
  }

  /** Connections in `room`, or in the whole hub without an argument (0 for an unknown room). */
  size(room?: string): number {
    if (room === undefined) return this.byConnection.size;
    return this.byRoom.get(room)?.size ?? 0;
  }

  /**
   * Adds a connection (done by {@link join} too), optionally with its own policy; adding it
   * again replaces its policy. A connection that already closed is ignored.
   */
  add(ws: WebSocket, options?: HubMemberOptions): void {
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

  /** Removes a connection from the hub and all its rooms; `false` if it was not in the hub. */
  remove(ws: WebSocket): boolean {
    const member = this.byConnection.get(ws);
    if (member === undefined) return false;
    this.byConnection.delete(ws);
    ws.off('close', this.onMemberClose);
    this.stopQueue(member);
    member.clear();
    const rooms = member.rooms;
    member.rooms = null;
    if (typeof rooms === 'string') this.leaveRoom(member, rooms);
    else if (rooms !== null) for (const room of rooms) this.leaveRoom(member, room);
    return true;
  }

  /** Whether `ws` is in the hub. */
  has(ws: WebSocket): boolean {
    return this.byConnection.has(ws);
  }

  /** Puts `ws` in `room` (adding it to the hub with the default policy if needed). */
  join(ws: WebSocket, room: string): void {
    this.add(ws);
    const member = this.byConnection.get(ws);
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

  /** Takes `ws` out of `room` (it stays in the hub); `false` if it was not in it. */
  leave(ws: WebSocket, room: string): boolean {
    const member = this.byConnection.get(ws);
    if (member === undefined) return false;
    const rooms = member.rooms;
    if (rooms === room) member.rooms = null;
    else if (rooms instanceof Set && rooms.delete(room)) {
      if (rooms.size === 1) member.rooms = rooms.values().next().value as string;
    } else return false;
    this.leaveRoom(member, room);
    return true;
  }

  /** The rooms `ws` is in. */
  rooms(ws: WebSocket): string[] {
    const rooms = this.byConnection.get(ws)?.rooms ?? null;
    if (rooms === null) return [];
    return typeof rooms === 'string' ? [rooms] : [...rooms];
  }

  /** The connections in `room`. */
  members(room: string): WebSocket[] {
    const members = this.byRoom.get(room);
    return members === undefined ? [] : [...members].map((m) => m.ws);
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

  /** Sends `data` to every connection in the hub but `options.except` (and, in a cluster, on every server). */
  broadcast(data: SendData, options?: PublishOptions): PublishResult {
    return this.deliver(this.byConnection.values(), data, options, null);
  }

  /**
   * Sends `data` to the given connections, framed once, each under its own backpressure policy,
   * as `publish` does for a room. Connections that are not in the hub are skipped (not counted).
   * Never relayed to a cluster.
   */
  sendTo(connections: Iterable<WebSocket>, data: SendData, options?: PublishOptions): PublishResult {
    const targets: Member[] = [];
    for (const ws of connections) {
      const member = this.byConnection.get(ws);
      if (member !== undefined) targets.push(member);
    }
    return this.deliver(targets, data, options, undefined);
  }

  /**
   * Delivers to the members of `room` (every connection when `room` is `null`) on this server
   * only: how a cluster hands over what another server published. @internal
   */
  publishLocal(room: string | null, data: SendData, options?: PublishOptions): PublishResult {
    const targets = room === null ? this.byConnection.values() : (this.byRoom.get(room) ?? EMPTY);
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
    targets: Iterable<Member>,
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
    let single: WebSocket | null = null;
    let excluded: Set<WebSocket> | null = null;
    if (except !== undefined) {
      if (isIterable(except)) excluded = except instanceof Set ? (except as Set<WebSocket>) : new Set(except);
      else single = except;
    }
    const result: PublishResult = { recipients: 0, sent: 0, queued: 0, dropped: 0, closed: 0 };
    for (const member of targets) {
      const ws = member.ws;
      if (ws === single || (excluded !== null && excluded.has(ws))) continue;
      result.recipients++;
      switch (member.deliver(message, this.host)) {
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

  private leaveRoom(member: Member, room: string): void {
    const members = this.byRoom.get(room);
    if (members === undefined) return;
    members.delete(member);
    if (members.size === 0) this.byRoom.delete(room);
  }
}

const EMPTY: ReadonlySet<Member> = new Set();
