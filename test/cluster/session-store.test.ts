/**
 * RedisSessionStore on a real redis-server, with node-redis and ioredis (current and oldest
 * supported majors): the SessionStore contract suite the memory store passes, then what is
 * Redis's own: TTLs that follow the resume window, the refresh of connected sessions, the key
 * layout and prefix, secrets kept as digests, memory per session, scripts lost by Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/cluster/index.js';
import { SessionError } from '../../src/session/errors.js';
import { code, record, storeContract } from '../session/store-contract.js';
import { eventually } from './helpers.js';
import { connectClient, type ClientKind, type Connected } from './redis-clients.js';
import { RedisServer, redisAvailable } from './redis-server.js';

const available = redisAvailable();
const S0 = 'aaaaaaaaaaaaaaaaaaaaaa';
const S1 = 'bbbbbbbbbbbbbbbbbbbbbb';

let redis: RedisServer;
const clients: Connected[] = [];

beforeAll(async () => {
  if (available) redis = await RedisServer.start();
});
afterAll(async () => {
  for (const c of clients.splice(0)) await c.quit();
  await redis?.stop();
});

async function client(kind: ClientKind): Promise<Connected> {
  const c = await connectClient(kind, redis.url);
  clients.push(c);
  return c;
}

/** A raw command's reply through a node-redis client (strings). */
async function raw(args: string[]): Promise<unknown> {
  const c = await client('redis');
  const redisClient = c.client as unknown as { sendCommand(a: string[]): Promise<unknown> };
  return redisClient.sendCommand(args);
}

const kinds: ClientKind[] = ['redis', 'ioredis', 'redis-v4', 'ioredis-v5'];

describe.skipIf(!available)('RedisSessionStore', () => {
  for (const kind of kinds) {
    storeContract(`RedisSessionStore (${kind})`, async () => {
      const { client: c } = await client(kind);
      // A clock that reads 0: expiresAt 30,000 is a TTL of 30 s.
      const store = new RedisSessionStore({ redis: c, prefix: `contract-${kind}`, clock: () => 0 });
      return { store, inspect: (id) => store.inspect(id) };
    });
  }

  for (const kind of ['redis', 'ioredis'] as const) {
    describe(`with ${kind}`, () => {
      it('keys: <prefix>:session:{id} and …:out; secrets kept as SHA-256 digests only', async () => {
        const { client: c } = await client(kind);
        const store = new RedisSessionStore({ redis: c, prefix: `layout-${kind}` });
        await store.create(record({ id: 'L1' }));
        await store.append('L1', 'A.1', { seq: 1, data: 'hello', binary: false });
        await store.append('L1', 'A.1', { seq: 2, data: Uint8Array.from([1, 2]), binary: true });
        expect(((await raw(['KEYS', `layout-${kind}:*`])) as string[]).sort()).toEqual([`layout-${kind}:session:{L1}`, `layout-${kind}:session:{L1}:out`]);
        const hash = (await raw(['HGETALL', `layout-${kind}:session:{L1}`])) as Record<string, string> | string[];
        const values = Array.isArray(hash) ? hash : Object.entries(hash).flat();
        expect(values.join(' ')).not.toContain(S0);
        expect(await raw(['LRANGE', `layout-${kind}:session:{L1}:out`, '0', '-1'])).toEqual(['shello', 'b\u0001\u0002']);
        // The pending secret still resumes (the digest is compared, not the secret).
        expect(await store.claim('L1', S0, S1, Date.now(), 'A.2', 'A.1')).toMatchObject({ ok: true, owner: 'A.1' });
        store.close();
      });

      it('TTLs: connected sessions live resumeWindow + 2 × refreshInterval, away ones until expiresAt, both keys alike', async () => {
        const { client: c } = await client(kind);
        const store = new RedisSessionStore({ redis: c, prefix: `ttl-${kind}`, resumeWindow: 50_000, refreshInterval: 20_000 });
        expect(store.connectedTtl).toBe(90_000);
        await store.create(record({ id: 'T1' }));
        await store.append('T1', 'A.1', { seq: 1, data: 'x', binary: false });
        const connected = await store.inspect('T1');
        expect(connected?.ttl).toBeGreaterThan(50_000);
        expect(connected?.ttl).toBeLessThanOrEqual(90_000);
        const listTtl = Number(await raw(['PTTL', `ttl-${kind}:session:{T1}:out`]));
        expect(Math.abs(listTtl - (connected?.ttl ?? 0))).toBeLessThan(5_000);
        await store.away('T1', 'A.1', Date.now() + 10_000);
        const away = await store.inspect('T1');
        expect(away?.ttl).toBeGreaterThan(0);
        expect(away?.ttl).toBeLessThanOrEqual(10_000);
        expect(Number(await raw(['PTTL', `ttl-${kind}:session:{T1}:out`]))).toBeLessThanOrEqual(10_000);
        // Back: the long TTL again.
        expect(await store.claim('T1', S0, S1, Date.now(), 'A.2', 'A.1')).toMatchObject({ ok: true });
        expect((await store.inspect('T1'))?.ttl).toBeGreaterThan(50_000);
        store.close();
      });

      it('a session away longer than its window is gone from Redis', async () => {
        const { client: c } = await client(kind);
        const store = new RedisSessionStore({ redis: c, prefix: `gone-${kind}`, resumeWindow: 300 });
        await store.create(record({ id: 'G1' }));
        await store.append('G1', 'A.1', { seq: 1, data: 'x', binary: false });
        await store.away('G1', 'A.1', Date.now() + 300);
        expect(await eventually(async () => Number(await raw(['EXISTS', 'gone-' + kind + ':session:{G1}', 'gone-' + kind + ':session:{G1}:out'])) === 0, 10_000)).toBe(true);
        expect(await store.claim('G1', S0, S1, Date.now(), 'B.1', null)).toEqual({ ok: false, reason: 'unknown' });
        store.close();
      });

      it('the refresh extends connected sessions held here, leaves away ones, and reports a copy claimed elsewhere', async () => {
        const { client: a } = await client(kind);
        const { client: b } = await client(kind);
        const prefix = `refresh-${kind}`;
        const storeA = new RedisSessionStore({ redis: a, prefix, resumeWindow: 60_000, refreshInterval: 3_600_000 });
        const storeB = new RedisSessionStore({ redis: b, prefix, resumeWindow: 60_000, refreshInterval: 3_600_000 });
        const replaced: Array<{ id: string; owner: string }> = [];
        const claimed: Array<{ id: string; previous: string; owner: string }> = [];
        storeA.on('replaced', (r) => replaced.push(r));
        storeB.on('claimed', (c2) => claimed.push(c2));
        for (const id of ['R1', 'R2', 'R3']) await storeA.create(record({ id }));
        expect(storeA.size).toBe(3);
        await storeA.away('R2', 'A.1', Date.now() + 5_000);
        expect(storeA.size).toBe(2);
        expect(await storeB.claim('R3', S0, S1, Date.now(), 'B.1', null)).toMatchObject({ ok: true, owner: 'B.1' });
        expect(claimed).toEqual([{ id: 'R3', previous: 'A.1', owner: 'B.1' }]);
        for (const id of ['R1', 'R2']) await raw(['PEXPIRE', `${prefix}:session:{${id}}`, '4000']);
        await storeA.refresh();
        expect(Number(await raw(['PTTL', `${prefix}:session:{R1}`]))).toBeGreaterThan(60_000);
        expect(Number(await raw(['PTTL', `${prefix}:session:{R2}`]))).toBeLessThanOrEqual(4_000);
        expect(replaced).toEqual([{ id: 'R3', owner: 'A.1' }]);
        expect(storeA.size).toBe(1);
        // A closed store (a server that died) refreshes nothing: the keys run out.
        storeA.close();
        storeB.close();
      });

      it('scripts lost by Redis (SCRIPT FLUSH) are sent again with EVAL, the calls of a session in order', async () => {
        const { client: c } = await client(kind);
        const store = new RedisSessionStore({ redis: c, prefix: `flush-${kind}` });
        await store.create(record({ id: 'F1' }));
        await raw(['SCRIPT', 'FLUSH']);
        await store.append('F1', 'A.1', { seq: 1, data: 'one', binary: false });
        expect(store.scriptStats.retried).toBeGreaterThanOrEqual(1);
        // A burst in flight when the scripts go: every call is refused, sent again in order,
        // and the calls made meanwhile wait for them.
        await raw(['SCRIPT', 'FLUSH']);
        const before = store.scriptStats.retried;
        const calls: Array<Promise<unknown>> = [];
        for (let seq = 2; seq <= 300; seq++) {
          calls.push(store.append('F1', 'A.1', { seq, data: `m${seq}`, binary: false }));
          if (seq % 40 === 0) calls.push(store.acknowledge('F1', 'A.1', seq - 5), store.received('F1', 'A.1', seq));
        }
        const results = await Promise.allSettled(calls);
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        // Most of the burst was on the wire before the first refusal came back.
        expect(store.scriptStats.retried - before).toBeGreaterThan(100);
        const stored = await store.inspect('F1');
        expect(stored).toMatchObject({ sent: 300, acknowledged: 275, received: 280 });
        expect(stored?.outbound.map((m) => m.seq)).toEqual(Array.from({ length: 25 }, (_, i) => 276 + i));
        store.close();
      });

      it('memory per session: bounded by the resend buffer, back to a few hundred bytes once acknowledged', async () => {
        const { client: c } = await client(kind);
        const store = new RedisSessionStore({ redis: c, prefix: `mem-${kind}` });
        const usage = async (id: string): Promise<number> =>
          Number((await raw(['MEMORY', 'USAGE', `mem-${kind}:session:{${id}}`, 'SAMPLES', '0'])) ?? 0) +
          Number((await raw(['MEMORY', 'USAGE', `mem-${kind}:session:{${id}}:out`, 'SAMPLES', '0'])) ?? 0);
        await store.create(record({ id: 'M1' }));
        const empty = await usage('M1');
        const payload = 'x'.repeat(100);
        for (let seq = 1; seq <= 1000; seq++) void store.append('M1', 'A.1', { seq, data: payload, binary: false });
        await store.received('M1', 'A.1', 1000);
        const full = await usage('M1');
        await store.acknowledge('M1', 'A.1', 1000);
        const after = await usage('M1');
        console.log(`[session-store] ${kind}: Redis memory per session: ${empty} B empty, ${full} B with 1,000 unacknowledged messages of 100 B, ${after} B once acknowledged`);
        expect(empty).toBeLessThan(400);
        expect(full).toBeLessThan(1000 * 100 * 1.5);
        expect(after).toBeLessThan(400);
        store.close();
      });
    });
  }

  it('a write refused by the store carries the SessionError codes the server acts on', async () => {
    const { client: c } = await client('redis');
    const store = new RedisSessionStore({ redis: c, prefix: 'codes' });
    await store.create(record({ id: 'C1' }));
    expect(await store.claim('C1', S0, S1, Date.now(), 'B.1', null)).toMatchObject({ ok: true });
    const err = await store.append('C1', 'A.1', { seq: 1, data: 'x', binary: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionError);
    expect(err).toMatchObject({ code: 'WS_SESSION_REPLACED', closeCode: 4001 });
    expect(await code(() => store.append('C1', 'B.1', { seq: 3, data: 'x', binary: false }))).toBe('WS_SESSION_STORE_FAILED');
    expect(() => new RedisSessionStore({ redis: c, prefix: '' })).toThrow(RangeError);
    expect(() => new RedisSessionStore({ redis: c, refreshInterval: 0 })).toThrow(RangeError);
    store.close();
  });
});
