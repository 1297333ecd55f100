/**
 * A {@link SessionStore} in Redis, so that a session held by a server that died can be resumed
 * on another one. Every call is one Lua script (session-scripts.ts): the owner check (fencing),
 * the sequence check and the change are one atomic step, and the calls of one session run in
 * the order they were made because they share the application's connection.
 *
 * Expiry is Redis's: while a session is away its keys expire at its `expiresAt`; while it is
 * connected they expire `resumeWindow + 2 × refreshInterval` after the last refresh, which this
 * store makes every `refreshInterval` for the connected sessions it holds. A server that dies
 * stops refreshing, so its connected sessions stay resumable for at least `resumeWindow` after
 * its death, then disappear.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SessionError } from '../session/errors.js';
import type { ClaimResult, SessionRecord, SessionStore, StoredMessage } from '../session/store.js';
import { ClusterError, redisError } from './errors.js';
import { text, wrapRedis, type ClusterRedis, type RedisClientLike } from './redis.js';
import { int, Reply, ScriptRunner, SCRIPTS, type Script } from './session-scripts.js';

/** Options of {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  /** A connected node-redis (v4+) or ioredis (v5+) client of the application, or a {@link ClusterRedis}. Never closed by the store. */
  redis: RedisClientLike;
  /** Prefix of every key (default `ws6455`): keys are `<prefix>:session:{<id>}` and `…:out`. */
  prefix?: string;
  /** The servers' `sessions.resumeWindow` in ms (default 120,000): give every server and this store the same value. */
  resumeWindow?: number;
  /** How often (ms) the keys of connected sessions held here are extended (default 60,000). */
  refreshInterval?: number;
  /** The clock, in ms (default `Date.now`): turns `expiresAt` into a Redis TTL. */
  clock?: () => number;
}

/** Defaults of {@link RedisSessionStoreOptions}. */
export const REDIS_SESSION_STORE_DEFAULTS: {
  /** Default key prefix. */
  readonly prefix: 'ws6455';
  /** Default resume window (ms). */
  readonly resumeWindow: 120_000;
  /** Default refresh interval (ms). */
  readonly refreshInterval: 60_000;
} = {
  prefix: 'ws6455',
  resumeWindow: 120_000,
  refreshInterval: 60_000,
};

/** A claim that moved a session from one copy to another. */
export interface SessionClaim {
  /** The session id. */
  id: string;
  /** The copy that held it before (`<serverId>.<n>`), on this server or another one. */
  previous: string;
  /** The copy that holds it now. */
  owner: string;
}

/** A copy of a session held here that another copy replaced. */
export interface SessionReplaced {
  /** The session id. */
  id: string;
  /** The copy that was replaced. */
  owner: string;
}

/** Events of a {@link RedisSessionStore}. */
export interface RedisSessionStoreEvents {
  /** A claim through this store took a session from another copy (the cluster tells the other servers). */
  claimed: [claim: SessionClaim];
  /** A refresh found that a copy held here was replaced elsewhere: `wss.releaseSession(id, owner)` closes it (the cluster does so when given `sessions`). */
  replaced: [replaced: SessionReplaced];
  /** A refresh failed (emitted only when listened to; the session calls report their own failures). */
  error: [err: ClusterError];
}

/** What {@link RedisSessionStore.inspect} returns. */
export interface StoredSession {
  /** The copy that holds it. */
  owner: string;
  /** The last seq received from the client and recorded. */
  received: number;
  /** The last seq sent to the client. */
  sent: number;
  /** The last seq the client acknowledged (recorded). */
  acknowledged: number;
  /** `null` while connected. */
  expiresAt: number | null;
  /** Time to live of its keys in ms (Redis `PTTL`). */
  ttl: number;
  /** The unacknowledged messages for the client. */
  outbound: StoredMessage[];
}

/** What {@link RedisSessionStore.scriptStats} returns. */
export interface ScriptStats {
  /** Times Redis answered `NOSCRIPT` and the scripts were sent again. */
  reloads: number;
  /** Calls sent again with `EVAL` after a `NOSCRIPT`. */
  retried: number;
  /** Calls failed because Redis lost the scripts and they could not be sent again in order (an `away` overtaken by later calls of its session). */
  refused: number;
}

/** How many refreshes are sent before waiting for their replies. */
const REFRESH_BATCH = 500;

const TAG_STRING = 's';
const TAG_TEXT_BYTES = 't';
const TAG_BINARY = 'b';

/** A secret as kept in Redis: its SHA-256 (a dump of Redis does not hand out tokens). */
function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

function fenceError(code: number, op: string): Error {
  if (code === Reply.Replaced) return new SessionError('WS_SESSION_REPLACED', 'The session is held by another server', 4001);
  if (code === Reply.Unknown) return new SessionError('WS_SESSION_UNKNOWN', 'The session is no longer in the store');
  if (code === Reply.NotNext) return new SessionError('WS_SESSION_STORE_FAILED', `${op}: the message does not follow the last one stored`, 1011);
  if (code === Reply.Exists) return new SessionError('WS_SESSION_STORE_FAILED', 'Session id already in use', 1011);
  return new SessionError('WS_SESSION_STORE_FAILED', `${op}: unexpected reply ${code}`, 1011);
}

function toBytes(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(text(value), 'utf8');
}

/** A stored message from its list entry (`<tag><payload>`), numbered `seq`. */
function decodeMessage(value: unknown, seq: number): StoredMessage {
  const bytes = toBytes(value);
  const tag = String.fromCharCode(bytes[0] ?? 0);
  if (tag === TAG_STRING) return { seq, data: bytes.toString('utf8', 1), binary: false };
  if (tag !== TAG_TEXT_BYTES && tag !== TAG_BINARY) throw new SessionError('WS_SESSION_STORE_FAILED', `Stored message ${seq} has an unknown tag`, 1011);
  // A copy: the reply buffer may be a slice of a larger one the client reuses.
  return { seq, data: new Uint8Array(bytes.subarray(1)), binary: tag === TAG_BINARY };
}

function decodeMessages(list: unknown, first: number): StoredMessage[] {
  if (!Array.isArray(list)) return [];
  return list.map((value, i) => decodeMessage(value, first + i));
}

function messageArgs(message: StoredMessage): [string, string | Buffer] {
  const data = message.data;
  if (typeof data === 'string') return [message.binary ? TAG_BINARY : TAG_STRING, data];
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return [message.binary ? TAG_BINARY : TAG_TEXT_BYTES, bytes];
}

/**
 * Sessions in Redis, for failover across servers: give the same store (one per process, on the
 * application's client) to `new WebSocketServer({ sessions: { store } })` on every server.
 *
 * ```ts
 * const store = new RedisSessionStore({ redis, resumeWindow: 120_000 });
 * const wss = new WebSocketServer({ port, sessions: { store, resumeWindow: 120_000 } });
 * await new Cluster(hub, { redis, sessions: wss }).start(); // optional: tells a replaced server at once
 * ```
 */
export class RedisSessionStore extends EventEmitter<RedisSessionStoreEvents> implements SessionStore {
  /** The key prefix. */
  readonly prefix: string;
  /** See {@link RedisSessionStoreOptions.resumeWindow}. */
  readonly resumeWindow: number;
  /** See {@link RedisSessionStoreOptions.refreshInterval}. */
  readonly refreshInterval: number;
  private readonly redis: ClusterRedis;
  private readonly scripts: ScriptRunner;
  private readonly clock: () => number;
  /** Connected sessions whose keys this store extends: id → owner (the copy held here). */
  private readonly held = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing = false;
  private closed = false;

  /**
   * @throws ClusterError `WS_ERR_CLUSTER_CLIENT` for an unusable `redis`; RangeError for invalid options
   */
  constructor(options: RedisSessionStoreOptions) {
    super();
    this.redis = wrapRedis(options.redis);
    this.scripts = new ScriptRunner(this.redis);
    this.prefix = options.prefix ?? REDIS_SESSION_STORE_DEFAULTS.prefix;
    if (this.prefix.length === 0) throw new RangeError('prefix must not be empty');
    this.resumeWindow = positive('resumeWindow', options.resumeWindow, REDIS_SESSION_STORE_DEFAULTS.resumeWindow);
    this.refreshInterval = positive('refreshInterval', options.refreshInterval, REDIS_SESSION_STORE_DEFAULTS.refreshInterval);
    this.clock = options.clock ?? Date.now;
  }

  /** Time to live (ms) of a connected session's keys: at least `resumeWindow` after the last refresh its server could make. */
  get connectedTtl(): number {
    return this.resumeWindow + 2 * this.refreshInterval;
  }

  /** Connected sessions this store keeps alive (refreshes). */
  get size(): number {
    return this.held.size;
  }

  /** Scripts sent again with `EVAL` after Redis lost them, and calls failed for it. */
  get scriptStats(): ScriptStats {
    return { ...this.scripts.stats };
  }

  /** The two keys of session `id`. */
  keysOf(id: string): [string, string] {
    const hash = `${this.prefix}:session:{${id}}`;
    return [hash, `${hash}:out`];
  }

  async create(record: SessionRecord): Promise<void> {
    const expires = record.expiresAt === null ? '' : String(record.expiresAt);
    const ttl = record.expiresAt === null ? this.connectedTtl : this.ttlUntil(record.expiresAt);
    const args: Array<string | Buffer> = [
      record.owner,
      record.secret === null ? '' : digest(record.secret),
      record.pendingSecret === null ? '' : digest(record.pendingSecret),
      String(record.received),
      String(record.sent),
      String(record.acknowledged),
      expires,
      String(ttl),
    ];
    for (const m of record.outbound) if (m.seq > record.acknowledged) args.push(...messageArgs(m));
    this.check(await this.run(record.id, SCRIPTS.create, args), 'create');
    if (record.expiresAt === null) this.hold(record.id, record.owner);
  }

  async claim(id: string, secret: string, fresh: string, now: number, owner: string, copy: string | null): Promise<ClaimResult> {
    const reply = await this.run(id, SCRIPTS.claim, [digest(secret), digest(fresh), String(now), owner, copy ?? '', String(this.connectedTtl)]);
    if (!Array.isArray(reply) || reply.length === 0) throw new SessionError('WS_SESSION_STORE_FAILED', 'claim: unexpected reply', 1011);
    const code = int(reply[0]);
    if (code === Reply.Unknown) return { ok: false, reason: 'unknown' };
    if (code === Reply.Expired) return { ok: false, reason: 'expired' };
    if (code === Reply.Stale) return { ok: false, reason: 'stale' };
    if (code === 0) {
      const kept = text(reply[1]);
      this.hold(id, kept);
      return { ok: true, owner: kept, record: null };
    }
    if (code !== 1) throw fenceError(code, 'claim');
    const previous = text(reply[1]);
    const acknowledged = int(reply[4]);
    const record: SessionRecord = {
      id,
      owner,
      secret: null,
      pendingSecret: null,
      received: int(reply[2]),
      sent: int(reply[3]),
      acknowledged,
      outbound: decodeMessages(reply[5], acknowledged + 1),
      expiresAt: null,
    };
    this.hold(id, owner);
    if (previous !== owner) this.emit('claimed', { id, previous, owner });
    return { ok: true, owner, record };
  }

  async confirm(id: string, owner: string, secret: string): Promise<void> {
    await this.write(id, owner, SCRIPTS.confirm, [owner, digest(secret)]);
  }

  async append(id: string, owner: string, message: StoredMessage): Promise<void> {
    const [tag, payload] = messageArgs(message);
    await this.write(id, owner, SCRIPTS.append, [owner, String(message.seq), tag, payload]);
  }

  async acknowledge(id: string, owner: string, upTo: number): Promise<void> {
    await this.write(id, owner, SCRIPTS.acknowledge, [owner, String(upTo)]);
  }

  async received(id: string, owner: string, upTo: number): Promise<void> {
    await this.write(id, owner, SCRIPTS.received, [owner, String(upTo)]);
  }

  async away(id: string, owner: string, expiresAt: number | null): Promise<void> {
    const ttl = expiresAt === null ? this.connectedTtl : this.ttlUntil(expiresAt);
    if (expiresAt !== null) this.unhold(id, owner);
    await this.write(id, owner, SCRIPTS.away, [owner, expiresAt === null ? '' : String(expiresAt), String(ttl)]);
    if (expiresAt === null) this.hold(id, owner);
  }

  async delete(id: string, owner: string): Promise<void> {
    this.unhold(id, owner);
    await this.run(id, SCRIPTS.delete, [owner]);
  }

  /** The stored state of session `id` (secrets left out), or `undefined`: for tests and diagnostics. */
  async inspect(id: string): Promise<StoredSession | undefined> {
    const reply = await this.run(id, SCRIPTS.read, []);
    if (!Array.isArray(reply) || reply.length === 0) return undefined;
    const acknowledged = int(reply[3]);
    const expires = text(reply[4]);
    return {
      owner: text(reply[0]),
      received: int(reply[1]),
      sent: int(reply[2]),
      acknowledged,
      expiresAt: expires === '' ? null : Number(expires),
      ttl: int(reply[5]),
      outbound: decodeMessages(reply[6], acknowledged + 1),
    };
  }

  /**
   * Extends the keys of every connected session held here now (the timer does it every
   * `refreshInterval`); a copy found replaced is dropped and reported (`replaced`).
   * Resolves when done.
   */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const ttl = String(this.connectedTtl);
      const entries = [...this.held];
      for (let i = 0; i < entries.length && !this.closed; i += REFRESH_BATCH) {
        const batch = entries.slice(i, i + REFRESH_BATCH);
        await Promise.all(
          batch.map(async ([id, owner]) => {
            let code: number;
            try {
              code = int(await this.run(id, SCRIPTS.refresh, [owner, ttl]));
            } catch (err) {
              if (this.listenerCount('error') > 0) this.emit('error', err instanceof ClusterError ? err : redisError('refresh', err));
              return;
            }
            if (code === 1) return;
            this.unhold(id, owner);
            if (code === Reply.Replaced) this.emit('replaced', { id, owner });
          }),
        );
      }
    } finally {
      this.refreshing = false;
    }
  }

  /** Stops the refresh timer (keys of connected sessions then expire within `resumeWindow + 2 × refreshInterval`). Never closes the client. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.held.clear();
  }

  private run(id: string, script: Script, args: Array<string | Buffer>): Promise<unknown> {
    return this.scripts.run(id, script, this.keysOf(id), args);
  }

  /** A TTL (ms, at least 1) that ends at `expiresAt` on this store's clock. */
  private ttlUntil(expiresAt: number): number {
    return Math.max(1, Math.ceil(expiresAt - this.clock()));
  }

  private check(reply: unknown, op: string): void {
    const code = int(reply);
    if (code !== Reply.Ok) throw fenceError(code, op);
  }

  /**
   * A fenced write. Any failure (refused, or Redis failed) ends this copy of the session on
   * its server, so it is no longer refreshed: its keys expire unless another server claims it.
   */
  private async write(id: string, owner: string, script: Script, args: Array<string | Buffer>): Promise<void> {
    let code: number;
    try {
      code = int(await this.run(id, script, args));
    } catch (err) {
      this.unhold(id, owner);
      throw err;
    }
    if (code === Reply.Ok) return;
    this.unhold(id, owner);
    throw fenceError(code, script.name);
  }

  private hold(id: string, owner: string): void {
    if (this.closed) return;
    this.held.set(id, owner);
    if (this.timer === null) {
      this.timer = setInterval(() => void this.refresh(), this.refreshInterval);
      this.timer.unref();
    }
  }

  private unhold(id: string, owner: string): void {
    if (this.held.get(id) !== owner) return;
    this.held.delete(id);
    if (this.held.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
