/**
 * Redis Streams transport: one stream per cluster. Each entry is added with `XADD … MAXLEN ~ n`
 * (approximate trimming, which Redis does in whole radix-tree nodes, cheaply), and each server
 * reads with `XREAD BLOCK` from the last id it read, on a connection of its own. A server whose
 * connection breaks resumes from that id: it loses nothing the stream still holds.
 *
 * @module
 */
import { Sleeper, retryDelay } from './backoff.js';
import { redisError } from './errors.js';
import { text, type ClusterRedis } from './redis.js';
import { connectionEvents, type Transport, type TransportHooks } from './transport.js';

/** Settings of the Streams transport. @internal */
export interface StreamsSettings {
  key: string;
  maxLen: number;
  readCount: number;
  blockMs: number;
}

const FIELD = 'm';

/** The entries of the one stream in an `XREAD` reply (RESP2 arrays or RESP3 maps). */
function streamEntries(reply: unknown): unknown[] {
  if (reply === null || reply === undefined) return [];
  let first: unknown;
  if (Array.isArray(reply)) first = (reply[0] as unknown[] | undefined)?.[1];
  else if (reply instanceof Map) first = reply.values().next().value;
  else if (typeof reply === 'object') first = Object.values(reply)[0];
  return Array.isArray(first) ? first : [];
}

/** The value of field `m` of an entry's field list (array or map). */
function fieldValue(fields: unknown): Buffer | null {
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (text(fields[i]) === FIELD) {
        const value = fields[i + 1];
        return Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value, 'latin1') : null;
      }
    }
    return null;
  }
  if (fields instanceof Map) {
    for (const [k, v] of fields) if (text(k) === FIELD) return Buffer.isBuffer(v) ? v : null;
    return null;
  }
  if (typeof fields === 'object' && fields !== null) {
    const v = (fields as Record<string, unknown>)[FIELD];
    return Buffer.isBuffer(v) ? v : null;
  }
  return null;
}

/** @internal */
export class StreamsTransport implements Transport {
  private reader: ClusterRedis | null = null;
  private lastId = '0-0';
  private stopped = false;
  private readonly sleeper = new Sleeper();
  private loopDone: Promise<void> = Promise.resolve();
  private readonly xadd: Array<string | Buffer>;

  constructor(
    private readonly redis: ClusterRedis,
    private readonly settings: StreamsSettings,
    private readonly hooks: TransportHooks,
  ) {
    this.xadd = ['XADD', settings.key, 'MAXLEN', '~', String(settings.maxLen), '*', FIELD, Buffer.alloc(0)];
  }

  /** The id of the last entry read (for tests and diagnostics). */
  get position(): string {
    return this.lastId;
  }

  async start(onEntry: (entry: Buffer, storedAt: number | null) => void): Promise<void> {
    let last: unknown;
    try {
      last = await this.redis.command(['XREVRANGE', this.settings.key, '+', '-', 'COUNT', '1']);
    } catch (err) {
      throw redisError('XREVRANGE', err);
    }
    const newest = Array.isArray(last) ? (last[0] as unknown[] | undefined) : undefined;
    this.lastId = newest === undefined ? '0-0' : text(newest[0]);
    try {
      this.reader = await this.redis.duplicate(connectionEvents(this.hooks, (err) => redisError('connection', err)));
    } catch (err) {
      throw redisError('duplicate', err);
    }
    this.loopDone = this.loop(this.reader, onEntry);
  }

  send(entry: Buffer): Promise<void> {
    const args = this.xadd.slice();
    args[7] = entry;
    return this.redis.command(args).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.cancel();
    const reader = this.reader;
    this.reader = null;
    if (reader !== null) await reader.close().catch(() => undefined);
    // Closing the connection fails the blocked XREAD; a client that does not do so is not waited for.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loopDone, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }

  private async loop(reader: ClusterRedis, onEntry: (entry: Buffer, storedAt: number | null) => void): Promise<void> {
    const { key, readCount, blockMs } = this.settings;
    let failures = 0;
    while (!this.stopped) {
      let reply: unknown;
      try {
        reply = await reader.command(['XREAD', 'COUNT', String(readCount), 'BLOCK', String(blockMs), 'STREAMS', key, this.lastId]);
      } catch (err) {
        if (this.stopped) return;
        this.hooks.error(redisError('XREAD', err));
        failures++;
        await this.sleeper.sleep(retryDelay(failures));
        continue;
      }
      if (this.stopped) return;
      failures = 0;
      for (const item of streamEntries(reply)) {
        if (!Array.isArray(item)) continue;
        const id = text(item[0]);
        this.lastId = id;
        const value = fieldValue(item[1]);
        const dash = id.indexOf('-');
        // An entry without our field is handed over empty: it is counted as unreadable.
        onEntry(value ?? EMPTY, dash > 0 ? Number(id.slice(0, dash)) : null);
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);
