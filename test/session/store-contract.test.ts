/**
 * The in-memory store against the SessionStore contract (store-contract.ts), the suite the
 * Redis store also runs (test/cluster/session-store.test.ts).
 */
import { MemorySessionStore } from '../../src/session/memory-store.js';
import { storeContract } from './store-contract.js';

storeContract('MemorySessionStore', async () => {
  const store = new MemorySessionStore();
  return {
    store,
    inspect: async (id) => {
      const r = store.peek(id);
      return r === undefined ? undefined : { owner: r.owner, received: r.received, sent: r.sent, acknowledged: r.acknowledged, expiresAt: r.expiresAt, outbound: r.outbound };
    },
  };
});
