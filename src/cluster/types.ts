/**
 * Options, events and results of the cluster (cluster.ts).
 *
 * @module
 */
import type { ClusterError } from './errors.js';
import type { RedisClientLike } from './redis.js';

/** Options of `new Cluster(hub, options)`. */
export interface ClusterOptions {
  /** A connected node-redis (v4+) or ioredis (v5+) client of the application, or a {@link ClusterRedis}. Never closed by the cluster. */
  redis: RedisClientLike;
  /** Prefix of every Redis key and channel (default `ws6455`): servers with the same prefix form one cluster. */
  prefix?: string;
  /** `streams` (default): nothing lost while the stream holds it; `pubsub`: lowest latency, at most once. */
  transport?: 'streams' | 'pubsub';
  /** Streams: entries the stream keeps, trimmed approximately (`XADD MAXLEN ~`, default 10000). */
  maxLen?: number;
  /** Streams: entries read per `XREAD` (default 100); with `maxEntryBytes` it bounds what a reader holds. */
  readCount?: number;
  /** Streams: how long one `XREAD` blocks, in ms (default 1000; keep it below any command timeout of the client). */
  blockMs?: number;
  /** Bytes the outbox holds while Redis is slow or unreachable (default 16 MiB); beyond, messages are not relayed. */
  maxOutboxBytes?: number;
  /** Size above which a batch of messages is split into several entries (default 256 KiB). */
  maxEntryBytes?: number;
  /** Interval of the presence heartbeat, in ms (default 2000). */
  heartbeatInterval?: number;
  /** Expiry of a server's presence key, in ms (default 6000): a dead server disappears within this time. */
  presenceTimeout?: number;
  /** Default timeout of `request`, `size` and `roomNames`, in ms (default 2000). */
  requestTimeout?: number;
  /** This server's id, 16 hex digits (default: random). */
  serverId?: string;
}

/** The `gap` event: entries of another server that this one will never read. */
export interface ClusterGap {
  /** The server that published them. */
  server: string;
  /** Entries missed. */
  entries: number;
  /** Messages (records) missed: publishes, requests and answers. */
  messages: number;
}

/** One server's answer to {@link Cluster.request}. */
export interface ClusterAnswer {
  /** The answering server's id. */
  server: string;
  /** What its handler returned (empty when `error` is set). */
  data: Buffer;
  /** `null`, or `no_handler` (no handler for the type there) or `failed` (its handler threw). */
  error: 'no_handler' | 'failed' | null;
}

/** Options of {@link Cluster.request}. */
export interface ClusterRequestOptions {
  /** Resolve with the answers that arrived after this many ms (default: `requestTimeout`). */
  timeout?: number;
}

/** What a request handler may return. */
export type ClusterRequestResult = string | Uint8Array | undefined | void;

/** Answers the requests of one type from the other servers. */
export type ClusterRequestHandler = (data: Buffer, from: string) => ClusterRequestResult | Promise<ClusterRequestResult>;

/** Events of a {@link Cluster}. */
export interface ClusterEvents {
  /** A Redis command or connection failed, or the outbox refused a message (emitted only when listened to). */
  error: [err: ClusterError];
  /** This server missed entries of another one. */
  gap: [gap: ClusterGap];
  /** The cluster's own Redis connection (reader or subscriber) was made again after it broke. */
  reconnect: [];
}

/** Counters of a cluster since it started. */
export interface ClusterStats {
  /** This server's id. */
  serverId: string;
  /** `streams` or `pubsub`. */
  transport: 'streams' | 'pubsub';
  /** Messages (records) taken by Redis for the other servers. */
  published: number;
  /** Entries taken by Redis (one carries the messages of one event-loop turn). */
  publishedEntries: number;
  /** Messages waiting in the outbox now. */
  outboxMessages: number;
  /** Bytes waiting in the outbox now. */
  outboxBytes: number;
  /** Messages not relayed because the outbox was full (delivered on this server only). */
  outboxDropped: number;
  /** Messages received from other servers. */
  received: number;
  /** Entries received from other servers. */
  receivedEntries: number;
  /** Entries that could not be read (other version, malformed) and were skipped. */
  skipped: number;
  /** Entries received twice (a retried write) and dropped. */
  duplicates: number;
  /** `gap` events. */
  gaps: number;
  /** Messages missed, summed over the gaps. */
  missed: number;
  /** Milliseconds between Redis storing the last entry read and this server reading it (Streams). */
  lagMs: number;
  /** Entries the other servers had published at their last heartbeat that this server had not read then. */
  lagEntries: number;
  /** Times the cluster's own Redis connection (reader or subscriber) was made again after it broke. */
  reconnects: number;
  /** Redis errors (failed commands and connection errors) and outbox refusals. */
  errors: number;
  /** Requests sent. */
  requests: number;
  /** Answers received to this server's requests. */
  answers: number;
  /** Requests that timed out before every server answered. */
  requestTimeouts: number;
}
