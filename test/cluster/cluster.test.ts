/**
 * Cross-server semantics on a real redis-server: three server processes per combination of
 * Redis client (node-redis 4 and current, ioredis 5 and current) and transport, clients on each.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eventually, Fixture, Receiver, type ClientKind } from './helpers.js';
import { redisAvailable, RedisServer } from './redis-server.js';

const COMBOS: Array<[ClientKind, 'streams' | 'pubsub']> = [
  ['redis', 'streams'],
  ['ioredis', 'streams'],
  ['redis-v4', 'streams'],
  ['ioredis-v5', 'streams'],
  ['redis', 'pubsub'],
  ['ioredis', 'pubsub'],
];

const available = redisAvailable();
let redis: RedisServer;

beforeAll(async () => {
  if (available) redis = await RedisServer.start();
});
afterAll(async () => {
  await redis?.stop();
});

let prefixes = 0;

describe.skipIf(!available).each(COMBOS)('cluster over %s, %s', (client, transport) => {
  const servers: Fixture[] = [];
  const clients: Receiver[] = [];
  const prefix = `t${++prefixes}${client.replace(/-/g, '')}${transport}`;

  beforeAll(async () => {
    const options = { prefix, transport, heartbeatInterval: 200, presenceTimeout: 1000, requestTimeout: 3000 };
    servers.push(...(await Promise.all([0, 1, 2].map(() => Fixture.start({ redisUrl: redis.url, client, options })))));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop()));
  }, 30_000);

  async function connect(server: number, query = ''): Promise<Receiver> {
    const receiver = await Receiver.connect(servers[server] as Fixture, query);
    clients.push(receiver);
    return receiver;
  }

  it('publish reaches the room on every server once, except the sender; text stays text and binary binary', async () => {
    const room = 'chat';
    const [a, b, c, d] = await Promise.all([connect(0, `rooms=${room}`), connect(0, `rooms=${room}`), connect(1, `rooms=${room}`), connect(2, `rooms=${room}`)]);
    const outsider = await connect(2, 'rooms=elsewhere');
    a!.ws.send('hello');
    c!.ws.send(Buffer.from('bytes'));
    const arrived = await eventually(
      () => b!.texts.length === 1 && c!.texts.length === 1 && d!.texts.length === 1 && a!.binaries.length === 1 && b!.binaries.length === 1 && d!.binaries.length === 1,
      10_000,
    );
    expect(arrived).toBe(true);
    // Give a second copy the time to show up before checking there is none.
    await new Promise((r) => setTimeout(r, 300));
    expect([a!.texts, b!.texts, c!.texts, d!.texts]).toEqual([[], ['hello'], ['hello'], ['hello']]);
    expect([a!.binaries, b!.binaries, c!.binaries, d!.binaries]).toEqual([['bytes'], ['bytes'], [], ['bytes']]);
    expect(outsider.texts).toEqual([]);
    expect(outsider.binaries).toEqual([]);
  });

  it('keeps each publisher\'s order on every server and loses nothing (two publishers at once)', async () => {
    const room = 'order';
    const receivers = await Promise.all([connect(0, `rooms=${room}`), connect(1, `rooms=${room}`), connect(2, `rooms=${room}`)]);
    const n = 400;
    await Promise.all([servers[0]!.call('flood', { room, tag: 'A', count: n, every: 0 }), servers[1]!.call('flood', { room, tag: 'B', count: n, every: 0 })]);
    const done = await eventually(() => receivers.every((r) => r.seqs('A').length >= n && r.seqs('B').length >= n), 20_000);
    expect(done).toBe(true);
    for (const r of receivers) {
      for (const tag of ['A', 'B']) {
        const c = count(r, tag, n);
        expect(c).toEqual({ sent: n, received: n, lost: 0, duplicated: 0, inOrder: true });
      }
    }
  });

  it('broadcast reaches every connection of every server', async () => {
    const receivers = await Promise.all([connect(0, 'rooms=b1'), connect(1, 'rooms=b2'), connect(2, '')]);
    await servers[1]!.call('broadcast', { data: 'to everyone' });
    expect(await eventually(() => receivers.every((r) => r.texts.includes('to everyone')), 10_000)).toBe(true);
  });

  it('answers size, roomNames and servers cluster-wide', async () => {
    await Promise.all([connect(0, 'rooms=sz'), connect(1, 'rooms=sz'), connect(1, 'rooms=sz,solo')]);
    expect(await servers[2]!.call('size', { room: 'sz' })).toBe(3);
    expect(await servers[0]!.call('size', { room: 'solo' })).toBe(1);
    expect(await servers[0]!.call('size', { room: 'none' })).toBe(0);
    const names = await servers[2]!.call<string[]>('roomNames');
    expect(names).toEqual(expect.arrayContaining(['sz', 'solo']));
    expect(await servers[0]!.call('servers')).toEqual(servers.map((s) => s.serverId).sort());
  });

  it('server-to-server requests: answers, a timeout that returns what arrived, errors', async () => {
    const answers = await servers[0]!.call<Array<{ server: string; data: string; error: string | null }>>('request', { type: 'echo', data: 'ping' });
    expect(answers.map((a) => a.server).sort()).toEqual([servers[1]!.serverId, servers[2]!.serverId].sort());
    for (const a of answers) expect(a).toEqual({ server: a.server, data: `${a.server} got ping from ${servers[0]!.serverId}`, error: null });
    const slow = await servers[0]!.call<unknown[]>('request', { type: 'slow', data: '', timeout: 300 });
    expect(slow).toEqual([]);
    const failed = await servers[1]!.call<Array<{ error: string | null }>>('request', { type: 'throws', data: '' });
    expect(failed.map((a) => a.error)).toEqual(['failed', 'failed']);
    const unknown = await servers[1]!.call<Array<{ error: string | null }>>('request', { type: 'nobody', data: '' });
    expect(unknown.map((a) => a.error)).toEqual(['no_handler', 'no_handler']);
  });

  it('sends to a user and to a connection wherever they are connected', async () => {
    const [u0, u2, other] = await Promise.all([connect(0, 'rooms=u&user=alice'), connect(2, 'rooms=u&user=alice'), connect(1, 'rooms=u&user=bob')]);
    await servers[1]!.call('sendToUser', { user: 'alice', data: 'for alice' });
    expect(await eventually(() => u0!.texts.length === 1 && u2!.texts.length === 1, 10_000)).toBe(true);
    await servers[0]!.call('sendToConnection', { target: u2!.id, data: 'for one' });
    await servers[2]!.call('sendToConnection', { target: other!.id, data: 'for bob' });
    expect(await eventually(() => u2!.texts.length === 2 && other!.texts.length === 1, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(u0!.texts).toEqual(['for alice']);
    expect(u2!.texts).toEqual(['for alice', 'for one']);
    expect(other!.texts).toEqual(['for bob']);
    expect(u2!.id.startsWith(`${servers[2]!.serverId}.`)).toBe(true);
  });

  it('skips and counts an entry it cannot read, and goes on', async () => {
    const r = await connect(2, 'rooms=after');
    const before = await Promise.all(servers.map((s) => s.call<{ cluster: { skipped: number } }>('stats')));
    if (transport === 'streams') {
      await redis.command('XADD', `${prefix}:stream`, '*', 'm', 'not an entry');
      await redis.command('XADD', `${prefix}:stream`, '*', 'other', 'field');
    } else {
      await redis.command('PUBLISH', `${prefix}:bus`, 'not an entry');
      await redis.command('PUBLISH', `${prefix}:bus`, '\u0002version two');
    }
    await servers[0]!.call('publish', { room: 'after', data: 'still works' });
    expect(await eventually(() => r.texts.includes('still works'), 10_000)).toBe(true);
    // Every server reads both (the others may still be on their way: bounded wait).
    let deltas: number[] = [];
    await eventually(async () => {
      const after = await Promise.all(servers.map((s) => s.call<{ cluster: { skipped: number } }>('stats')));
      deltas = after.map((a, i) => a.cluster.skipped - before[i]!.cluster.skipped);
      return deltas.every((d) => d >= 2);
    }, 10_000);
    expect(deltas).toEqual([2, 2, 2]);
  });

  it.skipIf(transport !== 'streams')('an entry stored twice (a retried write) is delivered once and counted', async () => {
    const r = await connect(1, 'rooms=twice');
    await servers[0]!.call('publish', { room: 'twice', data: 'only once' });
    expect(await eventually(() => r.texts.includes('only once'), 10_000)).toBe(true);
    const admin = new Redis(redis.url);
    try {
      const newest = (await admin.callBuffer('XREVRANGE', `${prefix}:stream`, '+', '-', 'COUNT', '1')) as Array<[Buffer, Buffer[]]>;
      const value = newest[0]![1][1]!;
      await admin.callBuffer('XADD', `${prefix}:stream`, '*', 'm', value);
    } finally {
      admin.disconnect();
    }
    await servers[0]!.call('publish', { room: 'twice', data: 'after' });
    expect(await eventually(() => r.texts.includes('after'), 10_000)).toBe(true);
    expect(r.texts.filter((t) => t === 'only once')).toHaveLength(1);
    const stats = await servers[1]!.call<{ cluster: { duplicates: number } }>('stats');
    expect(stats.cluster.duplicates).toBe(1);
  });
});
