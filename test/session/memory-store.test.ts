import { describe, expect, it } from 'vitest';
import { SessionError } from '../../src/session/errors.js';
import { MemorySessionStore } from '../../src/session/memory-store.js';
import type { SessionRecord } from '../../src/session/store.js';

const S0 = 'aaaaaaaaaaaaaaaaaaaaaa';
const S1 = 'bbbbbbbbbbbbbbbbbbbbbb';
const S2 = 'cccccccccccccccccccccc';
const S3 = 'dddddddddddddddddddddd';

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { id: 'id', owner: 'A.1', secret: null, pendingSecret: S0, received: 0, sent: 0, acknowledged: 0, outbound: [], expiresAt: null, ...overrides };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SessionError) return err.code;
    throw err;
  }
  return 'none';
}

describe('MemorySessionStore', () => {
  it('claims rotate the secret: pending becomes confirmed, the older one dies', () => {
    const store = new MemorySessionStore();
    store.create(record());
    expect(store.claim('nope', S0, S1, 0, 'A.2', null)).toEqual({ ok: false, reason: 'unknown' });
    expect(store.claim('id', S1, S2, 0, 'A.2', 'A.1')).toEqual({ ok: false, reason: 'stale' });
    // The first token was never confirmed: it is the pending one, and claiming with it confirms it.
    expect(store.claim('id', S0, S1, 0, 'A.2', 'A.1')).toEqual({ ok: true, owner: 'A.1', record: null });
    expect(store.peek('id')).toMatchObject({ secret: S0, pendingSecret: S1 });
    // S0 again (S1 never reached the client): S1 is replaced by S2.
    expect(store.claim('id', S0, S2, 0, 'A.3', 'A.1')).toMatchObject({ ok: true });
    expect(store.peek('id')).toMatchObject({ secret: S0, pendingSecret: S2 });
    expect(store.claim('id', S1, S3, 0, 'A.3', 'A.1')).toEqual({ ok: false, reason: 'stale' });
    // The client confirms S2 over the connection: S0 dies.
    store.confirm('id', 'A.1', S2);
    expect(store.peek('id')).toMatchObject({ secret: S2, pendingSecret: null });
    expect(store.claim('id', S0, S3, 0, 'A.3', 'A.1')).toEqual({ ok: false, reason: 'stale' });
  });

  it('a claim by another copy takes the ownership and returns the record; the old owner is fenced', () => {
    const store = new MemorySessionStore();
    store.create(record());
    store.append('id', 'A.1', { seq: 1, data: 'x', binary: false });
    const result = store.claim('id', S0, S1, 0, 'B.1', null);
    expect(result).toMatchObject({ ok: true, owner: 'B.1' });
    expect(result.ok && result.record?.outbound.length).toBe(1);
    for (const write of [
      () => store.append('id', 'A.1', { seq: 2, data: 'y', binary: false }),
      () => store.received('id', 'A.1', 1),
      () => store.acknowledge('id', 'A.1', 1),
      () => store.away('id', 'A.1', 5),
      () => store.confirm('id', 'A.1', S1),
    ]) {
      expect(code(write)).toBe('WS_SESSION_REPLACED');
    }
    store.delete('id', 'A.1'); // ignored: not the owner
    expect(store.size).toBe(1);
    store.delete('id', 'B.1');
    expect(store.size).toBe(0);
    expect(code(() => store.received('id', 'B.1', 1))).toBe('WS_SESSION_UNKNOWN');
  });

  it('appends must follow on; acknowledgements trim; counters only grow', () => {
    const store = new MemorySessionStore();
    store.create(record());
    for (let seq = 1; seq <= 5; seq++) store.append('id', 'A.1', { seq, data: `m${seq}`, binary: false });
    expect(code(() => store.append('id', 'A.1', { seq: 7, data: 'gap', binary: false }))).toBe('WS_SESSION_STORE_FAILED');
    expect(code(() => store.append('id', 'A.1', { seq: 5, data: 'again', binary: false }))).toBe('WS_SESSION_STORE_FAILED');
    store.acknowledge('id', 'A.1', 3);
    store.acknowledge('id', 'A.1', 2);
    expect(store.peek('id')?.outbound.map((m) => m.seq)).toEqual([4, 5]);
    expect(store.peek('id')?.acknowledged).toBe(3);
    store.received('id', 'A.1', 9);
    store.received('id', 'A.1', 4);
    expect(store.peek('id')?.received).toBe(9);
    expect(code(() => store.create(record()))).toBe('WS_SESSION_STORE_FAILED');
  });

  it('a record past its expiry is never claimed, and is swept', () => {
    const store = new MemorySessionStore();
    store.create(record({ id: 'a' }));
    store.create(record({ id: 'b' }));
    store.away('a', 'A.1', 1000);
    store.away('b', 'A.1', 2000);
    expect(store.claim('a', S0, S1, 999, 'A.2', null)).toMatchObject({ ok: true });
    expect(store.peek('a')?.expiresAt).toBeNull(); // claimed: connected again
    store.away('a', 'A.2', 1000);
    expect(store.claim('a', S0, S1, 1000, 'A.3', null)).toEqual({ ok: false, reason: 'expired' });
    expect(store.size).toBe(1);
    expect(store.sweep(1999)).toBe(0);
    expect(store.sweep(2000)).toBe(1);
    expect(store.size).toBe(0);
  });
});
