/**
 * The SessionStore contract (src/session/store.ts) as a suite any store runs: the memory store
 * (store-contract.test.ts) and the Redis store on a real redis-server with each client
 * (test/cluster/session-store.test.ts). Every call is awaited, so stores that answer
 * synchronously and stores that answer with promises take the same tests.
 *
 * Times given to the store are small numbers: a store that turns `expiresAt` into a real
 * expiry must be made with a clock that reads 0, so `expiresAt` 30,000 lives 30 s.
 */
import { describe, expect, it } from 'vitest';
import { SessionError, type SessionErrorCode } from '../../src/session/errors.js';
import type { SessionRecord, SessionStore, StoredMessage } from '../../src/session/store.js';

/** What the suite reads back from a store (secrets left out: a store may keep only digests). */
export interface Inspected {
  owner: string;
  received: number;
  sent: number;
  acknowledged: number;
  expiresAt: number | null;
  outbound: readonly StoredMessage[];
}

/** A store under test, fresh for each test. */
export interface ContractStore {
  store: SessionStore;
  inspect(id: string): Promise<Inspected | undefined>;
}

const S0 = 'aaaaaaaaaaaaaaaaaaaaaa';
const S1 = 'bbbbbbbbbbbbbbbbbbbbbb';
const S2 = 'cccccccccccccccccccccc';
const S3 = 'dddddddddddddddddddddd';

export function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { id: 'id', owner: 'A.1', secret: null, pendingSecret: S0, received: 0, sent: 0, acknowledged: 0, outbound: [], expiresAt: null, ...overrides };
}

/** The SessionError code a call fails with, or `none`. */
export async function code(fn: () => unknown): Promise<SessionErrorCode | 'none'> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof SessionError) return err.code;
    throw err;
  }
  return 'none';
}

const text = (m: StoredMessage): string => (typeof m.data === 'string' ? `s:${m.data}` : `${m.binary ? 'b' : 't'}:${Buffer.from(m.data).toString('hex')}`);

/**
 * Defines the contract tests. `make` gives a fresh store for one test (ids are unique per test
 * through `id`, so stores sharing a database do not collide).
 */
export function storeContract(name: string, make: () => Promise<ContractStore>): void {
  let n = 0;
  const fresh = async (): Promise<ContractStore & { id: (s: string) => string }> => {
    const made = await make();
    const run = ++n;
    return { ...made, id: (s: string) => `${s}-${run}-${Math.random().toString(36).slice(2, 8)}` };
  };

  describe(`SessionStore contract: ${name}`, () => {
    it('claims rotate the secret: pending becomes confirmed, the older one dies', async () => {
      const { store, id } = await fresh();
      const s = id('s');
      await store.create(record({ id: s }));
      expect(await store.claim(id('nope'), S0, S1, 0, 'A.2', null)).toEqual({ ok: false, reason: 'unknown' });
      expect(await store.claim(s, S1, S2, 0, 'A.2', 'A.1')).toEqual({ ok: false, reason: 'stale' });
      // The first token was never confirmed: it is the pending one, and claiming with it confirms it.
      expect(await store.claim(s, S0, S1, 0, 'A.2', 'A.1')).toEqual({ ok: true, owner: 'A.1', record: null });
      // S0 again (S1 never reached the client): S1 is replaced by S2.
      expect(await store.claim(s, S0, S2, 0, 'A.3', 'A.1')).toMatchObject({ ok: true, owner: 'A.1' });
      expect(await store.claim(s, S1, S3, 0, 'A.3', 'A.1')).toEqual({ ok: false, reason: 'stale' });
      // The client confirms S2 over the connection: S0 dies.
      await store.confirm(s, 'A.1', S2);
      expect(await store.claim(s, S0, S3, 0, 'A.3', 'A.1')).toEqual({ ok: false, reason: 'stale' });
      expect(await store.claim(s, S2, S3, 0, 'A.3', 'A.1')).toEqual({ ok: true, owner: 'A.1', record: null });
      // A confirmation of anything but the pending secret changes nothing.
      await store.confirm(s, 'A.1', S1);
      expect(await store.claim(s, S3, S0, 0, 'A.3', 'A.1')).toMatchObject({ ok: true });
    });

    it('a claim by another copy takes the ownership and returns the record; the old owner is fenced', async () => {
      const { store, inspect, id } = await fresh();
      const s = id('s');
      await store.create(record({ id: s }));
      await store.append(s, 'A.1', { seq: 1, data: 'x', binary: false });
      await store.received(s, 'A.1', 4);
      const result = await store.claim(s, S0, S1, 0, 'B.1', null);
      expect(result).toMatchObject({ ok: true, owner: 'B.1' });
      if (!result.ok || result.record === null) throw new Error('no record');
      expect(result.record).toMatchObject({ id: s, owner: 'B.1', received: 4, sent: 1, acknowledged: 0, expiresAt: null });
      expect(result.record.outbound.map(text)).toEqual(['s:x']);
      for (const write of [
        () => store.append(s, 'A.1', { seq: 2, data: 'y', binary: false }),
        () => store.received(s, 'A.1', 5),
        () => store.acknowledge(s, 'A.1', 1),
        () => store.away(s, 'A.1', 5),
        () => store.confirm(s, 'A.1', S1),
      ]) {
        expect(await code(write)).toBe('WS_SESSION_REPLACED');
      }
      expect(await inspect(s)).toMatchObject({ owner: 'B.1', received: 4, sent: 1, acknowledged: 0, expiresAt: null });
      await store.delete(s, 'A.1'); // ignored: not the owner
      expect(await inspect(s)).toBeDefined();
      await store.delete(s, 'B.1');
      expect(await inspect(s)).toBeUndefined();
      expect(await code(() => store.received(s, 'B.1', 1))).toBe('WS_SESSION_UNKNOWN');
      expect(await store.claim(s, S1, S2, 0, 'C.1', null)).toEqual({ ok: false, reason: 'unknown' });
    });

    it('a claim by the copy that holds it keeps the copy (no record); by another copy of the same server, returns the record', async () => {
      const { store, id } = await fresh();
      const s = id('s');
      await store.create(record({ id: s }));
      expect(await store.claim(s, S0, S1, 0, 'A.2', 'A.1')).toEqual({ ok: true, owner: 'A.1', record: null });
      const moved = await store.claim(s, S0, S2, 0, 'A.3', 'A.2');
      expect(moved).toMatchObject({ ok: true, owner: 'A.3' });
      expect(moved.ok && moved.record !== null).toBe(true);
      expect(await code(() => store.received(s, 'A.1', 1))).toBe('WS_SESSION_REPLACED');
      await store.received(s, 'A.3', 1);
    });

    it('two claims with the same token: both succeed in turn, only the last one may write', async () => {
      const { store, inspect, id } = await fresh();
      const s = id('s');
      await store.create(record({ id: s }));
      const [b, c] = await Promise.all([store.claim(s, S0, S1, 0, 'B.1', null), store.claim(s, S0, S2, 0, 'C.1', null)]);
      expect(b).toMatchObject({ ok: true, owner: 'B.1' });
      expect(c).toMatchObject({ ok: true, owner: 'C.1' });
      expect(await code(() => store.append(s, 'B.1', { seq: 1, data: 'b', binary: false }))).toBe('WS_SESSION_REPLACED');
      await store.append(s, 'C.1', { seq: 1, data: 'c', binary: false });
      expect((await inspect(s))?.outbound.map(text)).toEqual(['s:c']);
    });

    it('appends must follow on; acknowledgements trim; counters only grow; an id in use cannot be created again', async () => {
      const { store, inspect, id } = await fresh();
      const s = id('s');
      await store.create(record({ id: s }));
      for (let seq = 1; seq <= 5; seq++) await store.append(s, 'A.1', { seq, data: `m${seq}`, binary: false });
      expect(await code(() => store.append(s, 'A.1', { seq: 7, data: 'gap', binary: false }))).toBe('WS_SESSION_STORE_FAILED');
      expect(await code(() => store.append(s, 'A.1', { seq: 5, data: 'again', binary: false }))).toBe('WS_SESSION_STORE_FAILED');
      await store.acknowledge(s, 'A.1', 3);
      await store.acknowledge(s, 'A.1', 2);
      expect((await inspect(s))?.outbound.map((m) => m.seq)).toEqual([4, 5]);
      expect((await inspect(s))?.acknowledged).toBe(3);
      await store.received(s, 'A.1', 9);
      await store.received(s, 'A.1', 4);
      expect((await inspect(s))?.received).toBe(9);
      await store.acknowledge(s, 'A.1', 5);
      expect((await inspect(s))?.outbound).toEqual([]);
      await store.append(s, 'A.1', { seq: 6, data: 'm6', binary: false });
      expect((await inspect(s))?.outbound.map((m) => m.seq)).toEqual([6]);
      expect(await code(() => store.create(record({ id: s, owner: 'B.1' })))).toBe('WS_SESSION_STORE_FAILED');
    });

    it('keeps payloads as given: strings stay strings, bytes stay bytes, text given as bytes stays text', async () => {
      const { store, id } = await fresh();
      const s = id('s');
      await store.create(record({ id: s }));
      const bytes = Uint8Array.from([0, 1, 2, 255, 0x73, 0x74]);
      const messages: StoredMessage[] = [
        { seq: 1, data: 'plain', binary: false },
        { seq: 2, data: '', binary: false },
        { seq: 3, data: 'é€😀 ünïcode', binary: false },
        { seq: 4, data: bytes, binary: true },
        { seq: 5, data: new TextEncoder().encode('text as bytes'), binary: false },
        { seq: 6, data: new Uint8Array(0), binary: true },
        { seq: 7, data: new Uint8Array(70_000).fill(7), binary: true },
      ];
      for (const m of messages) await store.append(s, 'A.1', m);
      const result = await store.claim(s, S0, S1, 0, 'B.1', null);
      if (!result.ok || result.record === null) throw new Error('no record');
      const back = result.record.outbound;
      expect(back.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(back.map((m) => typeof m.data)).toEqual(['string', 'string', 'string', 'object', 'object', 'object', 'object']);
      expect(back.map((m) => m.binary)).toEqual([false, false, false, true, false, true, true]);
      expect(back.slice(0, 3).map((m) => m.data)).toEqual(['plain', '', 'é€😀 ünïcode']);
      expect(Buffer.from(back[3]?.data as Uint8Array).toString('hex')).toBe('000102ff7374');
      expect(Buffer.from(back[4]?.data as Uint8Array).toString()).toBe('text as bytes');
      expect((back[5]?.data as Uint8Array).byteLength).toBe(0);
      expect((back[6]?.data as Uint8Array).byteLength).toBe(70_000);
      expect((back[6]?.data as Uint8Array).every((b) => b === 7)).toBe(true);
    });

    it('applies the calls of one session in the order they were made, none awaited', async () => {
      const { store, inspect, id } = await fresh();
      const s = id('s');
      await store.create(record({ id: s }));
      // A synchronous store throws where an asynchronous one rejects: both become a rejection here.
      const calls: Array<Promise<unknown>> = [];
      const call = (fn: () => unknown): void => void calls.push(new Promise((resolve) => resolve(fn())));
      for (let seq = 1; seq <= 400; seq++) {
        call(() => store.append(s, 'A.1', { seq, data: `m${seq}`, binary: seq % 2 === 0 }));
        if (seq % 50 === 0) {
          call(() => store.acknowledge(s, 'A.1', seq - 10));
          call(() => store.received(s, 'A.1', seq));
        }
      }
      call(() => store.away(s, 'A.1', 30_000));
      call(() => store.claim(s, S0, S1, 0, 'B.1', null));
      call(() => store.append(s, 'A.1', { seq: 401, data: 'late', binary: false }));
      const results = await Promise.allSettled(calls);
      const failed = results.filter((r) => r.status === 'rejected');
      // Only the write made after the claim by another copy is refused.
      expect(failed.length).toBe(1);
      expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'WS_SESSION_REPLACED' });
      const got = await inspect(s);
      expect(got).toMatchObject({ owner: 'B.1', sent: 400, acknowledged: 390, received: 400, expiresAt: null });
      expect(got?.outbound.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 391 + i));
    });

    it('a record past its expiry is never claimed and is removed; a claim in time clears the expiry', async () => {
      const { store, inspect, id } = await fresh();
      const a = id('a');
      const b = id('b');
      await store.create(record({ id: a }));
      await store.create(record({ id: b }));
      await store.away(a, 'A.1', 30_000);
      await store.away(b, 'A.1', 60_000);
      expect((await inspect(a))?.expiresAt).toBe(30_000);
      expect(await store.claim(a, S0, S1, 29_999, 'A.2', null)).toMatchObject({ ok: true });
      expect((await inspect(a))?.expiresAt).toBeNull(); // claimed: connected again
      await store.away(a, 'A.2', 30_000);
      expect(await store.claim(a, S0, S1, 30_000, 'A.3', null)).toEqual({ ok: false, reason: 'expired' });
      expect(await inspect(a)).toBeUndefined();
      expect(await inspect(b)).toBeDefined();
      await store.away(b, 'A.1', null); // back
      expect((await inspect(b))?.expiresAt).toBeNull();
      expect(await store.claim(b, S0, S1, 1e12, 'A.2', null)).toMatchObject({ ok: true });
    });
  });
}
