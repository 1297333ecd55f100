/**
 * A Hub joined to other servers through Redis: `hub.publish(room, data)` on any server reaches
 * the room's members on every server. Each server frames a message once for its own members
 * and applies each member's backpressure policy, as the Hub does alone.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Hub } from '../hub/hub.js';
import { toPayload, type HubRelay } from '../hub/relay.js';
import type { PublishOptions, PublishResult } from '../hub/types.js';
import type { SendData } from '../node/socket/send-data.js';
import type { WebSocket } from '../node/socket/websocket.js';
import { Addressing } from './addressing.js';
import { ClusterError, redisError } from './errors.js';
import { Origins, Verdict } from './origins.js';
import { Outbox } from './outbox.js';
import { Presence, type ClusterServer } from './presence.js';
import { PubSubTransport } from './pubsub.js';
import { wrapRedis, type ClusterRedis } from './redis.js';
import { Requests } from './requests.js';
import { StreamsTransport } from './streams.js';
import type { Transport } from './transport.js';
import type {
  ClusterAnswer,
  ClusterEvents,
  ClusterGap,
  ClusterOptions,
  ClusterRequestHandler,
  ClusterRequestOptions,
  ClusterRequestResult,
  ClusterStats,
} from './types.js';
import { decodeStrings, encodeStrings } from './strings.js';
import { EntryWriter, Flag, Kind, ReplyStatus, forEachRecord, readHeader, validEntry, type WireRecord } from './wire.js';

/** Defaults of {@link ClusterOptions}. */
export const CLUSTER_DEFAULTS = {
  /** {@link ClusterOptions.prefix}: prefix of every key and channel. */
  prefix: 'ws6455',
  /** {@link ClusterOptions.transport}: one Redis stream per cluster. */
  transport: 'streams',
  /** {@link ClusterOptions.maxLen}: entries the stream keeps (trimmed approximately). */
  maxLen: 10_000,
  /** {@link ClusterOptions.readCount}: entries read per `XREAD`. */
  readCount: 100,
  /** {@link ClusterOptions.blockMs}: milliseconds one `XREAD` blocks. */
  blockMs: 1000,
  /** {@link ClusterOptions.maxOutboxBytes}: bytes waiting for Redis before messages are no longer relayed (16 MiB). */
  maxOutboxBytes: 16 * 1024 * 1024,
  /** {@link ClusterOptions.maxEntryBytes}: a batch above this is split (256 KiB). */
  maxEntryBytes: 256 * 1024,
  /** {@link ClusterOptions.heartbeatInterval}: milliseconds between presence heartbeats. */
  heartbeatInterval: 2000,
  /** {@link ClusterOptions.presenceTimeout}: milliseconds before a silent server's presence expires. */
  presenceTimeout: 6000,
  /** {@link ClusterOptions.requestTimeout}: default timeout of requests, `size` and `roomNames` (ms). */
  requestTimeout: 2000,
} as const;

/** Request types of the cluster itself; an application's types may not start with this. */
const RESERVED = 'ws6455:';
const SIZE = `${RESERVED}size`;
const ROOMS = `${RESERVED}rooms`;
const NAME_CACHE = 1024;

function positiveInteger(name: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new RangeError(`${name} must be an integer from 1 to ${max}`);
  return value;
}

/**
 * A Hub joined to a cluster of servers through Redis.
 *
 * ```ts
 * const redis = await createClient({ url }).connect();      // or new Redis(url) with ioredis
 * const hub = new Hub();
 * const cluster = await new Cluster(hub, { redis }).start();
 * wss.on('connection', (ws) => hub.join(ws, 'lobby'));
 * hub.publish('lobby', 'hello'); // every server's members of lobby get it
 * ```
 */
export class Cluster extends EventEmitter<ClusterEvents> {
  /** This server's id (16 hex digits). */
  readonly id: string;
  /** The hub this cluster relays. */
  readonly hub: Hub;
  private readonly origin: Buffer;
  private readonly redis: ClusterRedis;
  private readonly transportKind: 'streams' | 'pubsub';
  private readonly transport: Transport;
  private readonly outbox: Outbox;
  private readonly presence: Presence;
  private readonly origins = new Origins();
  private readonly requests = new Requests();
  private readonly addressing: Addressing;
  private readonly handlers = new Map<string, ClusterRequestHandler>();
  private readonly names = new Map<string, Buffer>();
  private readonly settings: {
    heartbeatInterval: number;
    presenceTimeout: number;
    requestTimeout: number;
  };
  private readonly since = Date.now();
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private starting: Promise<this> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Whether this cluster is the hub's relay. */
  private claimed = false;
  private beating = false;
  /** Origin (hex) of the entry being read. */
  private current = '';
  private readonly counters = {
    published: 0,
    publishedEntries: 0,
    received: 0,
    receivedEntries: 0,
    skipped: 0,
    duplicates: 0,
    gaps: 0,
    missed: 0,
    lagMs: 0,
    lagEntries: 0,
    reconnects: 0,
    errors: 0,
    requests: 0,
  };
  private readonly relayer: HubRelay = {
    relay: (room, payload, binary, compress) => {
      const flags = (binary ? Flag.Binary : 0) | (compress ? 0 : Flag.NoCompress);
      if (room === null) this.writeData(Kind.All, flags, null, payload);
      else this.writeData(Kind.Room, flags, this.nameBytes(room), payload);
    },
  };

  /**
   * Prepares the cluster; nothing is sent to Redis before {@link start}.
   * @throws ClusterError `WS_ERR_CLUSTER_CLIENT` for an unusable `redis`; RangeError for invalid options
   */
  constructor(hub: Hub, options: ClusterOptions) {
    super();
    this.hub = hub;
    this.redis = wrapRedis(options.redis);
    const id = options.serverId ?? randomBytes(8).toString('hex');
    if (!/^[0-9a-f]{16}$/.test(id)) throw new RangeError('serverId must be 16 lowercase hex digits');
    this.id = id;
    this.origin = Buffer.from(id, 'hex');
    const prefix = options.prefix ?? CLUSTER_DEFAULTS.prefix;
    if (prefix.length === 0) throw new RangeError('prefix must not be empty');
    const transport = options.transport ?? CLUSTER_DEFAULTS.transport;
    if (transport !== 'streams' && transport !== 'pubsub') throw new RangeError("transport must be 'streams' or 'pubsub'");
    this.transportKind = transport;
    const heartbeatInterval = positiveInteger('heartbeatInterval', options.heartbeatInterval, CLUSTER_DEFAULTS.heartbeatInterval);
    const presenceTimeout = positiveInteger('presenceTimeout', options.presenceTimeout, CLUSTER_DEFAULTS.presenceTimeout);
    if (presenceTimeout <= heartbeatInterval) throw new RangeError('presenceTimeout must be longer than heartbeatInterval');
    this.settings = {
      heartbeatInterval,
      presenceTimeout,
      requestTimeout: positiveInteger('requestTimeout', options.requestTimeout, CLUSTER_DEFAULTS.requestTimeout),
    };
    const hooks = {
      error: (err: ClusterError) => this.report(err),
      reconnected: () => {
        this.counters.reconnects++;
        this.emit('reconnect');
      },
    };
    this.transport =
      transport === 'streams'
        ? new StreamsTransport(
            this.redis,
            {
              key: `${prefix}:stream`,
              maxLen: positiveInteger('maxLen', options.maxLen, CLUSTER_DEFAULTS.maxLen),
              readCount: positiveInteger('readCount', options.readCount, CLUSTER_DEFAULTS.readCount),
              blockMs: positiveInteger('blockMs', options.blockMs, CLUSTER_DEFAULTS.blockMs),
            },
            hooks,
          )
        : new PubSubTransport(this.redis, `${prefix}:bus`, hooks);
    this.outbox = new Outbox(
      this.origin,
      (entry) => this.transport.send(entry),
      transport === 'streams' ? 'XADD' : 'PUBLISH',
      // The varint of a record's length holds 28 bits: no record may come near 256 MiB.
      positiveInteger('maxOutboxBytes', options.maxOutboxBytes, CLUSTER_DEFAULTS.maxOutboxBytes, 0x0fffffff),
      positiveInteger('maxEntryBytes', options.maxEntryBytes, CLUSTER_DEFAULTS.maxEntryBytes),
      {
        error: (err) => this.report(err),
        sent: (records) => {
          this.counters.published += records;
          this.counters.publishedEntries++;
        },
      },
    );
    this.presence = new Presence(this.redis, prefix, id, presenceTimeout);
    this.addressing = new Addressing(id);
    this.handlers.set(SIZE, (data) => String(data.length === 0 ? this.hub.size() : this.hub.size(data.toString('utf8'))));
    this.handlers.set(ROOMS, () => encodeStrings(this.hub.roomNames()));
  }

  /**
   * Connects: positions the reader (what is published from now on is received), joins the
   * presence set and relays the hub's publishes from then on. Resolves with the cluster.
   * @throws ClusterError `WS_ERR_CLUSTER_REDIS` when Redis cannot be reached; `WS_ERR_CLUSTER_CLOSED` after close
   */
  start(): Promise<this> {
    if (this.state === 'closed') return Promise.reject(new ClusterError('WS_ERR_CLUSTER_CLOSED', 'The cluster is closed'));
    if (this.starting !== null) return this.starting;
    this.state = 'starting';
    this.starting = (async () => {
      // Claims the hub first: a hub joins one cluster at a time. Nothing is relayed before
      // the state is 'running'.
      try {
        this.hub.setRelay(this.relayer);
      } catch (err) {
        this.state = 'closed';
        throw err;
      }
      this.claimed = true;
      try {
        await this.transport.start(this.onEntry);
        await this.presence.beat(this.presenceInfo());
      } catch (err) {
        this.state = 'closed';
        this.release();
        await this.transport.stop().catch(() => undefined);
        throw err instanceof ClusterError ? err : redisError('start', err);
      }
      if (this.state !== 'starting') throw new ClusterError('WS_ERR_CLUSTER_CLOSED', 'The cluster was closed while starting');
      this.state = 'running';
      this.heartbeat = setInterval(this.beat, this.settings.heartbeatInterval);
      this.heartbeat.unref();
      return this;
    })();
    return this.starting;
  }

  /** Same as `hub.publish`: the room's members here at once, and on every other server. */
  publish(room: string, data: SendData, options?: PublishOptions): PublishResult {
    return this.hub.publish(room, data, options);
  }

  /** Same as `hub.broadcast`: every connection of every server's hub. */
  broadcast(data: SendData, options?: PublishOptions): PublishResult {
    return this.hub.broadcast(data, options);
  }

  /** The cluster-wide id of a connection (`<server id>.<n>`), made on first use; adds it to the hub. */
  idOf(ws: WebSocket): string {
    this.hub.add(ws);
    return this.addressing.idOf(ws);
  }

  /** Ties `ws` to an application's user id (one per connection; a user may have many). Adds it to the hub. */
  bindUser(ws: WebSocket, user: string): void {
    this.hub.add(ws);
    this.addressing.bindUser(ws, user);
  }

  /** Unties `ws` from its user id; `false` if it had none. */
  unbindUser(ws: WebSocket): boolean {
    return this.addressing.unbindUser(ws);
  }

  /** The user id bound to `ws`, if any. */
  userOf(ws: WebSocket): string | undefined {
    return this.addressing.user(ws);
  }

  /**
   * Sends to one connection of any server, by its {@link idOf} id. On this server it is
   * delivered at once (result: `true` if the connection is here); elsewhere it is relayed
   * (result: `true` if the outbox took it).
   */
  sendToConnection(id: string, data: SendData, options?: Omit<PublishOptions, 'except'>): boolean {
    if (this.addressing.isLocal(id)) {
      const ws = this.addressing.connection(id);
      if (ws === undefined) return false;
      this.hub.sendTo([ws], data, options);
      return true;
    }
    return this.writeData(Kind.Connection, this.flagsOf(data, options), this.nameBytes(id), toPayload(data));
  }

  /**
   * Sends to every connection of `user` on every server. Returns the local delivery (the
   * other servers' recipients are not counted here).
   */
  sendToUser(user: string, data: SendData, options?: PublishOptions): PublishResult {
    const payload = toPayload(data);
    const result = this.hub.sendTo(this.except(this.addressing.connectionsOf(user), options), payload, this.localOptions(data, options));
    this.writeData(Kind.User, this.flagsOf(data, options), this.nameBytes(user), payload);
    return result;
  }

  /** The servers alive now (presence keys not expired), this one included. */
  async servers(): Promise<ClusterServer[]> {
    return this.presence.list();
  }

  /** Connections in `room` on every server (or in every hub without a room); servers that do not answer in time are not counted. */
  async size(room?: string, options?: ClusterRequestOptions): Promise<number> {
    const local = room === undefined ? this.hub.size() : this.hub.size(room);
    const answers = await this.request(SIZE, room ?? '', options);
    let total = local;
    for (const a of answers) if (a.error === null) total += Number(a.data.toString('latin1')) || 0;
    return total;
  }

  /** Names of the rooms with members on any server that answered in time. */
  async roomNames(options?: ClusterRequestOptions): Promise<string[]> {
    const names = new Set(this.hub.roomNames());
    const answers = await this.request(ROOMS, '', options);
    for (const a of answers) if (a.error === null) for (const n of decodeStrings(a.data)) names.add(n);
    return [...names];
  }

  /**
   * Asks every other server and collects their answers: resolves when every server alive at
   * the time answered, or after `timeout` ms with the answers that arrived.
   * @throws ClusterError `WS_ERR_CLUSTER_CLOSED` when the cluster is not running
   */
  async request(type: string, data: string | Uint8Array, options?: ClusterRequestOptions): Promise<ClusterAnswer[]> {
    if (this.state !== 'running') throw new ClusterError('WS_ERR_CLUSTER_CLOSED', 'The cluster is not running');
    const timeout = options?.timeout ?? this.settings.requestTimeout;
    let expected: Set<string> | null = null;
    try {
      expected = new Set((await this.presence.list()).filter((s) => !s.self).map((s) => s.id));
    } catch (err) {
      this.report(err instanceof ClusterError ? err : redisError('SMEMBERS', err));
    }
    const { id, done } = this.requests.open(expected, timeout);
    if (expected === null || expected.size > 0) {
      this.counters.requests++;
      const type8 = Buffer.from(type, 'utf8');
      const payload = toPayload(data);
      const writer = this.outbox.take(EntryWriter.requestSize(type8, payload.length));
      if (writer === null) this.requests.finish(id);
      else writer.request(id, type8, payload);
    }
    return done;
  }

  /**
   * Answers requests of `type` from other servers (one handler per type; `null` removes it).
   * @throws TypeError for a type starting with `ws6455:` (the cluster's own)
   */
  onRequest(type: string, handler: ClusterRequestHandler | null): void {
    if (type.startsWith(RESERVED)) throw new TypeError(`Request types starting with ${RESERVED} are reserved`);
    if (handler === null) this.handlers.delete(type);
    else this.handlers.set(type, handler);
  }

  /** Counters since the cluster was created. */
  stats(): ClusterStats {
    const c = this.counters;
    return {
      serverId: this.id,
      transport: this.transportKind,
      published: c.published,
      publishedEntries: c.publishedEntries,
      outboxMessages: this.outbox.pending,
      outboxBytes: this.outbox.bytes,
      outboxDropped: this.outbox.dropped,
      received: c.received,
      receivedEntries: c.receivedEntries,
      skipped: c.skipped,
      duplicates: c.duplicates,
      gaps: c.gaps,
      missed: c.missed,
      lagMs: c.lagMs,
      lagEntries: c.lagEntries,
      reconnects: c.reconnects,
      errors: c.errors,
      requests: c.requests,
      answers: this.requests.answers,
      requestTimeouts: this.requests.timeouts,
    };
  }

  /**
   * Leaves the cluster: stops relaying, sends what waits in the outbox (for at most `timeout`
   * ms, default 2000), stops reading, removes this server's presence and closes the Redis
   * connections the cluster opened (never the application's client). Pending requests resolve
   * with what arrived.
   */
  async close(timeout = 2000): Promise<void> {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.release();
    if (wasRunning) await this.outbox.idle(timeout);
    this.outbox.close();
    await this.transport.stop();
    this.requests.finishAll();
    this.addressing.clear();
    if (wasRunning) await this.presence.leave().catch((err: unknown) => this.report(err as ClusterError));
  }

  // ---- internals -----------------------------------------------------------------------------

  private release(): void {
    if (this.claimed) this.hub.setRelay(null);
    this.claimed = false;
  }

  /** Emits `error` only when someone listens: a Redis failure never crashes the process. */
  private report(err: ClusterError): void {
    this.counters.errors++;
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private presenceInfo(): { since: number; connections: number; published: number } {
    return { since: this.since, connections: this.hub.size(), published: this.counters.publishedEntries };
  }

  private readonly beat = (): void => {
    if (this.beating || this.state !== 'running') return;
    this.beating = true;
    void (async () => {
      try {
        await this.presence.beat(this.presenceInfo());
        const servers = await this.presence.list();
        let lag = 0;
        const alive = new Set<string>();
        for (const s of servers) {
          alive.add(s.id);
          if (!s.self) lag += Math.max(0, s.published - this.origins.entrySeqOf(s.id));
        }
        this.counters.lagEntries = lag;
        this.origins.prune(alive, this.settings.presenceTimeout * 2);
      } catch (err) {
        this.report(err instanceof ClusterError ? err : redisError('heartbeat', err));
      } finally {
        this.beating = false;
      }
    })();
  };

  /** Appends a data record to the outbox; `false` when it was refused (counted). */
  private writeData(kind: Kind, flags: number, target: Buffer | null, payload: Buffer): boolean {
    if (this.state !== 'running') return false;
    const writer = this.outbox.take(EntryWriter.dataSize(target, payload.length));
    if (writer === null) return false;
    writer.data(kind, flags, target, payload);
    return true;
  }

  /** UTF-8 bytes of a room name or id, cached for the names in use. */
  private nameBytes(name: string): Buffer {
    let bytes = this.names.get(name);
    if (bytes === undefined) {
      if (this.names.size >= NAME_CACHE) this.names.clear();
      bytes = Buffer.from(name, 'utf8');
      this.names.set(name, bytes);
    }
    return bytes;
  }

  private flagsOf(data: SendData, options: Omit<PublishOptions, 'except'> | undefined): number {
    const binary = options?.binary ?? typeof data !== 'string';
    return (binary ? Flag.Binary : 0) | (options?.compress === false ? Flag.NoCompress : 0);
  }

  private localOptions(data: SendData, options: PublishOptions | undefined): PublishOptions {
    return { binary: options?.binary ?? typeof data !== 'string', compress: options?.compress ?? true };
  }

  private except(targets: ReadonlySet<WebSocket>, options: PublishOptions | undefined): Iterable<WebSocket> {
    const except = options?.except;
    if (except === undefined) return targets;
    const excluded = new Set<WebSocket>(Symbol.iterator in Object(except) ? (except as Iterable<WebSocket>) : [except as WebSocket]);
    return [...targets].filter((ws) => !excluded.has(ws));
  }

  private readonly onEntry = (entry: Buffer, storedAt: number | null): void => {
    const header = readHeader(entry);
    if (header === null || !validEntry(entry, header)) {
      this.counters.skipped++;
      return;
    }
    // Our own entries: already delivered here when they were published.
    if (header.origin.equals(this.origin)) return;
    const origin = header.origin.toString('hex');
    const verdict = this.origins.check(origin, header);
    const c = this.counters;
    if (verdict === Verdict.Duplicate) {
      c.duplicates++;
      return;
    }
    if (verdict === Verdict.Gap) {
      const gap: ClusterGap = { server: origin, entries: this.origins.missedEntries, messages: this.origins.missedRecords };
      c.gaps++;
      c.missed += gap.messages;
      this.emit('gap', gap);
    }
    c.receivedEntries++;
    c.received += header.count;
    if (storedAt !== null) c.lagMs = Math.max(0, Date.now() - storedAt);
    this.current = origin;
    forEachRecord(entry, header, this.onRecord);
  };

  private readonly onRecord = (record: WireRecord): void => {
    const options: PublishOptions = { binary: (record.flags & Flag.Binary) !== 0, compress: (record.flags & Flag.NoCompress) === 0 };
    switch (record.kind) {
      case Kind.Room:
        this.hub.publishLocal(record.target, record.payload, options);
        break;
      case Kind.All:
        this.hub.publishLocal(null, record.payload, options);
        break;
      case Kind.Connection: {
        const ws = this.addressing.connection(record.target);
        if (ws !== undefined) this.hub.sendTo([ws], record.payload, options);
        break;
      }
      case Kind.User: {
        const targets = this.addressing.connectionsOf(record.target);
        if (targets.size > 0) this.hub.sendTo(targets, record.payload, options);
        break;
      }
      case Kind.Request:
        this.answer(this.current, record.target, record.requestId, record.payload);
        break;
      case Kind.Reply:
        if (record.requester !== null && record.requester.equals(this.origin)) {
          const error = record.status === ReplyStatus.Ok ? null : record.status === ReplyStatus.NoHandler ? 'no_handler' : 'failed';
          this.requests.answer(record.requestId, { server: this.current, data: Buffer.from(record.payload), error });
        }
        break;
      default:
    }
  };

  private answer(from: string, type: string, requestId: number, data: Buffer): void {
    const requester = Buffer.from(from, 'hex');
    const send = (status: number, result: ClusterRequestResult): void => {
      const payload = result === undefined || result === null ? EMPTY : typeof result === 'string' ? Buffer.from(result, 'utf8') : toPayload(result);
      const writer = this.outbox.take(EntryWriter.replySize(payload.length));
      writer?.reply(requester, requestId, status, payload);
    };
    const handler = this.handlers.get(type);
    if (handler === undefined) {
      send(ReplyStatus.NoHandler, undefined);
      return;
    }
    const copy = Buffer.from(data);
    let result: ClusterRequestResult | Promise<ClusterRequestResult>;
    try {
      result = handler(copy, from);
    } catch {
      send(ReplyStatus.Failed, undefined);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => send(ReplyStatus.Ok, value),
        () => send(ReplyStatus.Failed, undefined),
      );
    } else send(ReplyStatus.Ok, result);
  }
}

const EMPTY = Buffer.alloc(0);
