/**
 * Connected Redis clients of each kind the package supports, for tests in this process.
 */
import type { RedisClientLike } from '../../src/cluster/index.js';

export type ClientKind = 'redis' | 'ioredis' | 'redis-v4' | 'ioredis-v5';

/** A connected client and how to close it. */
export interface Connected {
  client: RedisClientLike;
  quit(): Promise<void>;
}

/** Connects a client of `kind` to `url` (errors are swallowed: tests watch outcomes, not logs). */
export async function connectClient(kind: ClientKind, url: string): Promise<Connected> {
  if (kind === 'redis' || kind === 'redis-v4') {
    const mod = (await import(kind)) as typeof import('redis');
    const client = mod.createClient({ url });
    client.on('error', () => {});
    await client.connect();
    return { client: client as unknown as RedisClientLike, quit: async () => void (await client.disconnect().catch(() => undefined)) };
  }
  const mod = (await import(kind)) as typeof import('ioredis');
  const client = new mod.default(url, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('ioredis ended before ready')));
  });
  return { client: client as unknown as RedisClientLike, quit: async () => client.disconnect() };
}
