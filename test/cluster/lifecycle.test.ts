/**
 * Start and close on a real redis-server, in this process: the cluster opens one connection of
 * its own and closes only that one; a closed server leaves the presence set at once; the
 * application's client stays open and usable.
 */
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, ClusterError } from '../../src/cluster/index.js';
import { Hub } from '../../src/hub/index.js';
import { redisAvailable, RedisServer } from './redis-server.js';

const available = redisAvailable();
let redis: RedisServer;

beforeAll(async () => {
  if (available) redis = await RedisServer.start();
});
afterAll(async () => {
  await redis?.stop();
});

/** Connections to the server, not counting the one that asks. */
async function clientCount(): Promise<number> {
  const admin = new Redis(redis.url);
  try {
    const info = (await admin.info('clients')) as string;
    // The admin connection itself is not counted.
    return Number(/connected_clients:(\d+)/.exec(info)?.[1]) - 1;
  } finally {
    admin.disconnect();
  }
}

describe.skipIf(!available).each(['redis', 'ioredis'] as const)('cluster lifecycle with %s', (kind) => {
  it('opens one connection of its own, closes only that one, and says goodbye', async () => {
    const app = kind === 'redis' ? await createClient({ url: redis.url }).on('error', () => {}).connect() : new Redis(redis.url);
    if (app instanceof Redis) await new Promise<void>((resolve) => app.once('ready', () => resolve()));
    const prefix = `life-${kind}`;
    try {
      const base = await clientCount();
      const a = await new Cluster(new Hub(), { redis: app, prefix }).start();
      const b = await new Cluster(new Hub(), { redis: app, prefix }).start();
      expect(await clientCount()).toBe(base + 2);
      expect((await a.servers()).map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
      await b.close();
      // Gone at once, not after presenceTimeout.
      expect((await a.servers()).map((s) => s.id)).toEqual([a.id]);
      await a.close();
      expect(await clientCount()).toBe(base);
      await expect(a.request('x', '')).rejects.toBeInstanceOf(ClusterError);
      await expect(a.start()).rejects.toMatchObject({ code: 'WS_ERR_CLUSTER_CLOSED' });
      // The application's client still works.
      const pong = kind === 'redis' ? await (app as ReturnType<typeof createClient>).ping() : await (app as Redis).ping();
      expect(pong).toBe('PONG');
    } finally {
      if (app instanceof Redis) app.disconnect();
      else await app.close();
    }
  });

  it('start() rejects with WS_ERR_CLUSTER_REDIS when Redis refuses, and leaves the hub free', async () => {
    const app = kind === 'redis' ? await createClient({ url: redis.url }).on('error', () => {}).connect() : new Redis(redis.url, { maxRetriesPerRequest: 0 });
    const hub = new Hub();
    await redis.command('ACL', 'SETUSER', 'default', '-xrevrange');
    try {
      await expect(new Cluster(hub, { redis: app }).start()).rejects.toMatchObject({ code: 'WS_ERR_CLUSTER_REDIS', command: 'XREVRANGE' });
      hub.setRelay({ relay: () => {} }); // free again
    } finally {
      await redis.command('ACL', 'SETUSER', 'default', '+xrevrange');
      if (app instanceof Redis) app.disconnect();
      else await app.close();
    }
  });
});
