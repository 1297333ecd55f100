/**
 * The application's Redis clients are accepted as they are (types and runtime detection),
 * without connecting: node-redis 4 and current, ioredis 5 and current, or a ClusterRedis.
 */
import { createClient } from 'redis';
import { createClient as createClientV4 } from 'redis-v4';
import { Redis } from 'ioredis';
import { Redis as RedisV5 } from 'ioredis-v5';
import { describe, expect, it } from 'vitest';
import { Cluster, ClusterError, type ClusterRedis } from '../../src/cluster/index.js';
import { Hub } from '../../src/hub/index.js';

describe('Redis clients', () => {
  it('takes node-redis and ioredis clients without casts, and refuses anything else', () => {
    const ioredis = new Redis({ lazyConnect: true });
    const ioredis5 = new RedisV5({ lazyConnect: true });
    const clients = [createClient(), createClientV4(), ioredis, ioredis5];
    for (const redis of clients) expect(new Cluster(new Hub(), { redis }).id).toMatch(/^[0-9a-f]{16}$/);
    const custom: ClusterRedis = {
      command: async () => null,
      duplicate: async () => custom,
      subscribe: async () => {},
      close: async () => {},
    };
    expect(new Cluster(new Hub(), { redis: custom, serverId: '00000000000000ff' }).id).toBe('00000000000000ff');
    const error = (() => {
      try {
        new Cluster(new Hub(), { redis: {} as ClusterRedis });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as ClusterError).code).toBe('WS_ERR_CLUSTER_CLIENT');
    ioredis.disconnect();
    ioredis5.disconnect();
  });

  it('validates options', () => {
    const redis = createClient();
    expect(() => new Cluster(new Hub(), { redis, serverId: 'nothex' })).toThrow(RangeError);
    expect(() => new Cluster(new Hub(), { redis, maxLen: 0 })).toThrow(RangeError);
    expect(() => new Cluster(new Hub(), { redis, heartbeatInterval: 1000, presenceTimeout: 1000 })).toThrow(RangeError);
    expect(() => new Cluster(new Hub(), { redis, transport: 'kafka' as 'streams' })).toThrow(RangeError);
    expect(() => new Cluster(new Hub(), { redis, maxOutboxBytes: 2 ** 30 })).toThrow(RangeError);
  });

  it('reserves the ws6455: request types', () => {
    const cluster = new Cluster(new Hub(), { redis: createClient() });
    expect(() => cluster.onRequest('ws6455:size', () => '')).toThrow(TypeError);
  });

  it('a hub joins one cluster at a time', async () => {
    const hub = new Hub();
    const custom: ClusterRedis = {
      command: async () => [],
      duplicate: async () => ({ ...custom, command: () => new Promise(() => {}) }),
      subscribe: async () => {},
      close: async () => {},
    };
    const a = await new Cluster(hub, { redis: custom }).start();
    const b = new Cluster(hub, { redis: custom });
    await expect(b.start()).rejects.toThrow(/already joined/);
    await b.close();
    // The failed one did not take the hub away from the first.
    expect(() => hub.setRelay({ relay: () => {} })).toThrow(/already joined/);
    await a.close(100);
    hub.setRelay({ relay: () => {} });
  });
});
