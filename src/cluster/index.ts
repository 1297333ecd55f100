/**
 * `ws6455/cluster`: a Hub joined to other servers through Redis (Streams by default, or
 * pub/sub), with presence, server-to-server requests and per-user / per-connection addressing.
 * The Redis client is the application's (node-redis v4+ or ioredis v5+).
 *
 * ```ts
 * import { Hub } from 'ws6455/hub';
 * import { Cluster } from 'ws6455/cluster';
 * ```
 *
 * @module ws6455/cluster
 */
export { Cluster, CLUSTER_DEFAULTS } from './cluster.js';
export { ClusterError, type ClusterErrorCode } from './errors.js';
export { renderClusterPrometheus, type ClusterPrometheusOptions } from './prometheus.js';
export type { ClusterServer } from './presence.js';
export type { ClusterRedis, ConnectionEvents, IoRedisClientLike, NodeRedisClientLike, RedisArg, RedisClientLike } from './redis.js';
export type {
  ClusterAnswer,
  ClusterEvents,
  ClusterGap,
  ClusterOptions,
  ClusterRequestHandler,
  ClusterRequestOptions,
  ClusterRequestResult,
  ClusterStats,
} from './types.js';
