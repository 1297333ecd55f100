/**
 * Which servers are in the cluster: each server writes a key with an expiry (`SET … PX`) every
 * `heartbeatInterval` and keeps its id in a set; a server that dies without saying goodbye
 * disappears when its key expires (at most `presenceTimeout` after its last heartbeat), and
 * the first server to list the set after that removes the stale id.
 *
 * @module
 */
import { redisError } from './errors.js';
import { text, type ClusterRedis } from './redis.js';

/** One server of the cluster, as it last described itself. */
export interface ClusterServer {
  /** Its id (16 hex digits). */
  id: string;
  /** Whether it is this server. */
  self: boolean;
  /** When it joined (ms since the epoch, its own clock). */
  since: number;
  /** Hub connections it had at its last heartbeat. */
  connections: number;
  /** Entries it had published at its last heartbeat. */
  published: number;
}

/** What a server writes about itself. @internal */
export interface PresenceInfo {
  since: number;
  connections: number;
  published: number;
}

/** @internal */
export class Presence {
  private readonly setKey: string;

  constructor(
    private readonly redis: ClusterRedis,
    private readonly prefix: string,
    private readonly id: string,
    private readonly ttl: number,
  ) {
    this.setKey = `${prefix}:servers`;
  }

  private keyOf(id: string): string {
    return `${this.prefix}:server:${id}`;
  }

  /** One heartbeat. */
  async beat(info: PresenceInfo): Promise<void> {
    const value = JSON.stringify({ s: info.since, c: info.connections, p: info.published });
    try {
      await Promise.all([
        this.redis.command(['SET', this.keyOf(this.id), value, 'PX', String(this.ttl)]),
        this.redis.command(['SADD', this.setKey, this.id]),
      ]);
    } catch (err) {
      throw redisError('SET', err);
    }
  }

  /** Says goodbye: the others stop listing this server at once. */
  async leave(): Promise<void> {
    try {
      await Promise.all([this.redis.command(['DEL', this.keyOf(this.id)]), this.redis.command(['SREM', this.setKey, this.id])]);
    } catch (err) {
      throw redisError('DEL', err);
    }
  }

  /** The servers whose key has not expired, this one included. */
  async list(): Promise<ClusterServer[]> {
    let ids: string[];
    let values: unknown;
    try {
      const members = await this.redis.command(['SMEMBERS', this.setKey]);
      ids = Array.isArray(members) ? members.map(text) : [];
      if (ids.length === 0) return [];
      values = await this.redis.command(['MGET', ...ids.map((id) => this.keyOf(id))]);
    } catch (err) {
      throw redisError('SMEMBERS', err);
    }
    const servers: ClusterServer[] = [];
    const stale: string[] = [];
    ids.forEach((id, i) => {
      const raw = Array.isArray(values) ? (values[i] as unknown) : null;
      if (raw === null || raw === undefined) {
        stale.push(id);
        return;
      }
      let info: { s?: unknown; c?: unknown; p?: unknown } = {};
      try {
        info = JSON.parse(text(raw)) as typeof info;
      } catch {
        // A value written by something else: the server is listed with zeros.
      }
      servers.push({ id, self: id === this.id, since: Number(info.s) || 0, connections: Number(info.c) || 0, published: Number(info.p) || 0 });
    });
    if (stale.length > 0) void this.redis.command(['SREM', this.setKey, ...stale]).catch(() => undefined);
    return servers.sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : 1));
  }
}
