/**
 * Faults, each counted (sent, received, lost, duplicated) on a real redis-server with server
 * processes and clients: Redis restarted or crashed while messages flow, a server killed with
 * SIGKILL, a slow server, Redis refusing commands. Every loop and wait is bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { count, eventually, Fixture, Receiver, report, total, type ClientKind, type Count } from './helpers.js';
import { redisAvailable, RedisServer } from './redis-server.js';

const available = redisAvailable();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Stats {
  cluster: { missed: number; gaps: number; duplicates: number; reconnects: number; errors: number; outboxDropped: number; received: number; lagEntries: number };
  memory: { rss: number; heapUsed: number };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}, 30_000);

async function redisServer(): Promise<RedisServer> {
  const server = await RedisServer.start();
  cleanups.push(() => server.stop());
  return server;
}

async function fixtures(n: number, redis: RedisServer, client: ClientKind, options: Record<string, unknown>, extra: object = {}): Promise<Fixture[]> {
  const all = await Promise.all(
    Array.from({ length: n }, () =>
      Fixture.start({ redisUrl: redis.url, client, options: { heartbeatInterval: 200, presenceTimeout: 1000, ...options }, ...extra }),
    ),
  );
  cleanups.push(() => Promise.all(all.map((f) => f.stop())).then(() => undefined));
  return all;
}

async function receivers(servers: Fixture[], room: string): Promise<Receiver[]> {
  const all = await Promise.all(servers.map((s) => Receiver.connect(s, `rooms=${room}`)));
  cleanups.push(() => all.forEach((r) => r.close()));
  return all;
}

/** Waits (bounded) until the flood is over and every receiver has `n` messages or nothing moves any more. */
async function settle(publisher: Fixture, tag: string, rs: Receiver[], n: number, ms = 30_000): Promise<void> {
  await eventually(() => publisher.eventsNamed('flooded').some((e) => e.tag === tag), ms);
  let last = -1;
  let stable = 0;
  await eventually(() => {
    const got = rs.reduce((a, r) => a + new Set(r.seqs(tag)).size, 0);
    if (got === rs.length * n) return true;
    stable = got === last ? stable + 1 : 0;
    last = got;
    return stable > 100; // 2 s without progress
  }, ms);
}

describe.skipIf(!available).each(['redis', 'ioredis'] as ClientKind[])('faults with %s', (client) => {
  it('Redis restarted (SHUTDOWN SAVE, same port) while messages flow: Streams lose nothing, no duplicates, order kept', async () => {
    const redis = await redisServer();
    const servers = await fixtures(3, redis, client, { prefix: 'restart' });
    const rs = await receivers(servers, 'flow');
    const n = 1500;
    await servers[0]!.call('flood', { room: 'flow', tag: 'R', count: n, every: 2 });
    await sleep(800);
    await redis.shutdownSave();
    await sleep(1000);
    await redis.launch();
    await settle(servers[0]!, 'R', rs, n);
    const counts = rs.map((r) => count(r, 'R', n));
    const stats = await Promise.all(servers.map((s) => s.call<Stats>('stats')));
    const t = total(counts);
    report(`${client} streams, Redis restarted (SHUTDOWN SAVE)`, t, { reconnects: stats.map((s) => s.cluster.reconnects) });
    expect(t.lost).toBe(0);
    expect(t.duplicated).toBe(0);
    expect(t.inOrder).toBe(true);
    // Every server's reader connection was made again.
    for (const s of stats) expect(s.cluster.reconnects).toBeGreaterThan(0);
    expect(servers.every((s) => s.alive)).toBe(true);
  }, 90_000);

  for (const transport of ['streams', 'pubsub'] as const) {
    it(`Redis crashed (SIGKILL, no persistence) and restarted, ${transport}: every message lost is reported as a gap, none twice`, async () => {
      const redis = await redisServer();
      const servers = await fixtures(3, redis, client, { prefix: 'crash', transport });
      const rs = await receivers(servers, 'flow');
      const n = 1500;
      await servers[0]!.call('flood', { room: 'flow', tag: 'K', count: n, every: 2 });
      await sleep(800);
      await redis.kill('SIGKILL');
      await sleep(500);
      await redis.launch();
      await settle(servers[0]!, 'K', rs, n);
      const stats = await Promise.all(servers.map((s) => s.call<Stats>('stats')));
      const counts = rs.map((r) => count(r, 'K', n));
      const t = total(counts);
      const reported = stats[1]!.cluster.missed + stats[2]!.cluster.missed;
      report(`${client} ${transport}, Redis crashed (SIGKILL) and restarted empty`, t, { reportedMissed: reported });
      for (const s of stats) expect(s.cluster.reconnects).toBeGreaterThan(0);
      // The publisher's own clients get everything (local delivery needs no Redis).
      expect(counts[0]).toEqual({ sent: n, received: n, lost: 0, duplicated: 0, inOrder: true });
      // Elsewhere: what was lost is exactly what the gap events said.
      expect(counts[1]!.lost).toBe(stats[1]!.cluster.missed);
      expect(counts[2]!.lost).toBe(stats[2]!.cluster.missed);
      expect(t.duplicated).toBe(0);
      expect(t.inOrder).toBe(true);
      expect(servers.every((s) => s.alive)).toBe(true);
    }, 90_000);
  }

  it('a server killed with SIGKILL: its presence expires, the others go on without loss', async () => {
    const redis = await redisServer();
    const servers = await fixtures(3, redis, client, { prefix: 'kill' });
    const rs = await receivers(servers.slice(0, 2), 'flow');
    expect((await servers[0]!.call<string[]>('servers')).length).toBe(3);
    const n = 1000;
    await servers[1]!.call('flood', { room: 'flow', tag: 'S', count: n, every: 2 });
    await sleep(300);
    await servers[2]!.kill();
    // presenceTimeout is 1000 ms: the dead server is gone from the list within that (bounded wait of 5 s).
    const gone = await eventually(async () => (await servers[0]!.call<string[]>('servers')).length === 2, 5000);
    expect(gone).toBe(true);
    expect(await servers[0]!.call<string[]>('servers')).not.toContain(servers[2]!.serverId);
    // A request now waits only for the live server.
    const answers = await servers[0]!.call<Array<{ server: string }>>('request', { type: 'echo', data: 'x', timeout: 20_000 });
    expect(answers.map((a) => a.server)).toEqual([servers[1]!.serverId]);
    await settle(servers[1]!, 'S', rs, n);
    const t = total(rs.map((r) => count(r, 'S', n)));
    report(`${client} streams, one server SIGKILLed`, t);
    expect(t).toEqual({ sent: 2 * n, received: 2 * n, lost: 0, duplicated: 0, inOrder: true });
  }, 90_000);

  it('a slow server (event loop blocked 2 s) catches up from the stream: nothing lost, memory bounded', async () => {
    const redis = await redisServer();
    const servers = await fixtures(2, redis, client, { prefix: 'slow', readCount: 50 });
    const rs = await receivers(servers, 'flow');
    const n = 1500;
    const before = await servers[1]!.call<Stats>('stats');
    await servers[0]!.call('flood', { room: 'flow', tag: 'L', count: n, every: 1 });
    await servers[1]!.call('stall', { ms: 2000 });
    await settle(servers[0]!, 'L', rs, n);
    const after = await servers[1]!.call<Stats>('stats');
    const t = total(rs.map((r) => count(r, 'L', n)));
    report(`${client} streams, slow server catches up`, t, { rssGrowthMiB: +((after.memory.rss - before.memory.rss) / 2 ** 20).toFixed(1) });
    expect(t).toEqual({ sent: 2 * n, received: 2 * n, lost: 0, duplicated: 0, inOrder: true });
    // It read in batches of readCount entries: its heap did not take in the whole backlog at once.
    expect(after.memory.heapUsed - before.memory.heapUsed).toBeLessThan(64 * 2 ** 20);
  }, 90_000);

  it('a slow server that falls behind what the stream keeps reports the gap; the others lose nothing', async () => {
    const redis = await redisServer();
    // Small stream nodes so that MAXLEN ~ trims close to maxLen.
    await redis.command('CONFIG', 'SET', 'stream-node-max-entries', '10');
    const servers = await fixtures(3, redis, client, { prefix: 'behind', maxLen: 20, readCount: 5 });
    const rs = await receivers(servers, 'flow');
    const n = 600;
    await servers[0]!.call('flood', { room: 'flow', tag: 'G', count: n, every: 3 });
    await sleep(200);
    await servers[2]!.call('stall', { ms: 2500 }, 15_000);
    await settle(servers[0]!, 'G', rs, n);
    // settle() stops after 2 s without progress, which a loaded machine can also produce: wait
    // (bounded) until every message is either received or reported missed, then count.
    let stats: Stats[] = [];
    await eventually(async () => {
      stats = await Promise.all(servers.map((s) => s.call<Stats>('stats')));
      const c = rs.map((r) => count(r, 'G', n));
      return c[0]!.lost + c[1]!.lost === 0 && c[2]!.lost === stats[2]!.cluster.missed;
    }, 20_000);
    const counts = rs.map((r) => count(r, 'G', n));
    const gaps = servers[2]!.eventsNamed('gap');
    report(`${client} streams, slow server behind the stream's end`, total(counts), {
      reportedMissed: stats[2]!.cluster.missed,
      gapEvents: gaps.length,
    });
    expect(counts[0]!.lost + counts[1]!.lost).toBe(0);
    expect(counts[2]!.lost).toBeGreaterThan(0);
    expect(counts[2]!.lost).toBe(stats[2]!.cluster.missed);
    expect(gaps.length).toBe(stats[2]!.cluster.gaps);
    expect(total(counts).duplicated).toBe(0);
    expect(total(counts).inOrder).toBe(true);
  }, 90_000);

  it('Redis refusing writes (maxmemory reached, OOM): errors reported, the outbox holds the messages, nothing lost once it accepts again', async () => {
    const redis = await redisServer();
    const servers = await fixtures(2, redis, client, { prefix: 'oom' });
    const rs = await receivers(servers, 'flow');
    await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await redis.command('CONFIG', 'SET', 'maxmemory', '1');
    const n = 500;
    await servers[0]!.call('flood', { room: 'flow', tag: 'O', count: n, every: 2 });
    await eventually(() => servers[0]!.eventsNamed('error').length > 0, 5000);
    await sleep(500);
    await redis.command('CONFIG', 'SET', 'maxmemory', '0');
    await settle(servers[0]!, 'O', rs, n);
    const errors = servers[0]!.eventsNamed('error');
    const t = total(rs.map((r) => count(r, 'O', n)));
    report(`${client} streams, Redis refusing writes (OOM)`, t, { errorEvents: errors.length });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.code === 'WS_ERR_CLUSTER_REDIS')).toBe(true);
    expect(String(errors[0]!.message)).toMatch(/OOM/);
    expect(t).toEqual({ sent: 2 * n, received: 2 * n, lost: 0, duplicated: 0, inOrder: true });
    expect((await servers[0]!.call<Stats>('stats')).cluster.errors).toBeGreaterThanOrEqual(errors.length);
  }, 90_000);

  it('Redis refusing for longer than the outbox holds: the overflow is refused clearly and counted, the rest arrives', async () => {
    const redis = await redisServer();
    const servers = await fixtures(2, redis, client, { prefix: 'full', maxOutboxBytes: 4096 });
    const rs = await receivers(servers, 'flow');
    await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await redis.command('CONFIG', 'SET', 'maxmemory', '1');
    const n = 600;
    await servers[0]!.call('flood', { room: 'flow', tag: 'F', count: n, every: 1 });
    await eventually(() => servers[0]!.eventsNamed('flooded').length > 0, 20_000);
    await redis.command('CONFIG', 'SET', 'maxmemory', '0');
    await settle(servers[0]!, 'F', rs, n);
    const stats = await servers[0]!.call<Stats>('stats');
    const remote = count(rs[1]!, 'F', n);
    report(`${client} streams, outbox full while Redis refuses`, remote, { outboxDropped: stats.cluster.outboxDropped });
    expect(servers[0]!.eventsNamed('error').some((e) => e.code === 'WS_ERR_CLUSTER_OUTBOX_FULL')).toBe(true);
    expect(stats.cluster.outboxDropped).toBeGreaterThan(0);
    expect(remote.lost).toBe(stats.cluster.outboxDropped);
    expect(remote.duplicated).toBe(0);
    // Local clients are not affected by the outbox.
    expect(count(rs[0]!, 'F', n)).toEqual({ sent: n, received: n, lost: 0, duplicated: 0, inOrder: true });
  }, 90_000);

  it('Redis refusing commands by ACL (NOPERM on XADD) and paused (CLIENT PAUSE WRITE): errors, no crash, nothing lost', async () => {
    const redis = await redisServer();
    await redis.command('ACL', 'SETUSER', 'app', 'on', '>secret', '~*', '&*', '+@all');
    const servers = await fixtures(2, redis, client, { prefix: 'acl' }, { username: 'app', password: 'secret' });
    const rs = await receivers(servers, 'flow');
    const n = 600;
    await redis.command('ACL', 'SETUSER', 'app', '-xadd');
    await servers[0]!.call('flood', { room: 'flow', tag: 'A', count: n, every: 2 });
    await eventually(() => servers[0]!.eventsNamed('error').length > 0, 5000);
    await redis.command('ACL', 'SETUSER', 'app', '+xadd');
    await sleep(300);
    await redis.command('CLIENT', 'PAUSE', '700', 'WRITE');
    await settle(servers[0]!, 'A', rs, n);
    const errors = servers[0]!.eventsNamed('error');
    const t = total(rs.map((r) => count(r, 'A', n)));
    report(`${client} streams, Redis refusing (ACL NOPERM, CLIENT PAUSE)`, t, { errorEvents: errors.length });
    expect(String(errors[0]?.message)).toMatch(/NOPERM|permission/i);
    expect(t).toEqual({ sent: 2 * n, received: 2 * n, lost: 0, duplicated: 0, inOrder: true });
    expect(servers.every((s) => s.alive)).toBe(true);
  }, 90_000);
});

export type { Count };
