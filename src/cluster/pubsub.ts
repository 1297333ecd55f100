/**
 * Redis pub/sub transport: `PUBLISH` to one channel, `SUBSCRIBE` on a connection of its own.
 * Lowest latency and no memory in Redis, but at most once: what is published while a server's
 * subscription is down never reaches it. The sequence numbers of the wire format still tell
 * how many messages it missed (the `gap` event).
 *
 * @module
 */
import { redisError } from './errors.js';
import type { ClusterRedis } from './redis.js';
import { connectionEvents, type Transport, type TransportHooks } from './transport.js';

/** @internal */
export class PubSubTransport implements Transport {
  private subscriber: ClusterRedis | null = null;

  constructor(
    private readonly redis: ClusterRedis,
    private readonly channel: string,
    private readonly hooks: TransportHooks,
  ) {}

  async start(onEntry: (entry: Buffer, storedAt: number | null) => void): Promise<void> {
    try {
      this.subscriber = await this.redis.duplicate(connectionEvents(this.hooks, (err) => redisError('connection', err)));
      await this.subscriber.subscribe(this.channel, (message) => onEntry(message, null));
    } catch (err) {
      await this.subscriber?.close().catch(() => undefined);
      this.subscriber = null;
      throw redisError('SUBSCRIBE', err);
    }
  }

  send(entry: Buffer): Promise<void> {
    return this.redis.command(['PUBLISH', this.channel, entry]).then(() => undefined);
  }

  async stop(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber !== null) await subscriber.close().catch(() => undefined);
  }
}
