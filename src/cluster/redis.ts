/**
 * The Redis client is the application's: this module reaches node-redis (`redis` v4 and later)
 * and ioredis (v5 and later) through one small interface, {@link ClusterRedis}, that an
 * application may also implement itself for another client. Only raw commands are used, with
 * bulk replies as Buffers, so binary payloads are never converted to strings.
 *
 * The cluster makes its own connection with `duplicate()` where a command blocks (`XREAD
 * BLOCK`) or a connection is taken over (`SUBSCRIBE`), and closes only the connections it made.
 *
 * @module
 */
import { ClusterError } from './errors.js';

/** One argument of a Redis command. */
export type RedisArg = string | Buffer;

/**
 * The interface the cluster needs from a Redis connection. node-redis and ioredis clients are
 * wrapped into it automatically; implement it to use another client.
 */
export interface ClusterRedis {
  /** Runs one command; bulk-string replies come back as Buffers (strings are accepted too). */
  command(args: readonly RedisArg[]): Promise<unknown>;
  /**
   * A new, connected connection to the same server, owned (and later closed) by the caller.
   * `events.error` gets its connection errors; `events.ready`, if the client can tell, is
   * called each time it is (re)connected.
   */
  duplicate(events: ConnectionEvents): Promise<ClusterRedis>;
  /** Subscribes this connection to `channel` (it then runs no other command); messages as Buffers. */
  subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<void>;
  /** Closes this connection at once (pending commands fail). Only called on duplicates. */
  close(): Promise<void>;
}

/** What a connection made by {@link ClusterRedis.duplicate} reports. */
export interface ConnectionEvents {
  /** A connection error (the connection may reconnect by itself). */
  error(err: unknown): void;
  /** The connection is (again) ready for commands. */
  ready?(): void;
}

/** The parts of a node-redis client (v4 and later) the cluster uses. */
export interface NodeRedisClientLike {
  /** Runs a raw command; the cluster asks for Buffer replies. */
  sendCommand(args: RedisArg[], options?: object): Promise<unknown>;
  /** A new, unconnected client with the same settings. */
  duplicate(): NodeRedisClientLike;
  /** Connects a duplicate. */
  connect(): Promise<unknown>;
  /** Connection errors and readiness of a duplicate. */
  on(event: 'error' | 'ready', listener: (err: unknown) => void): unknown;
  /** Subscribes a duplicate to a channel, messages as Buffers. */
  subscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<unknown>;
  /** Closes a duplicate at once (node-redis v5). */
  destroy?(): void;
  /** Closes a duplicate at once (node-redis v4). */
  disconnect?(): Promise<unknown>;
}

/** The parts of an ioredis client (v5 and later) the cluster uses. */
export interface IoRedisClientLike {
  /** Runs a raw command with Buffer replies. */
  callBuffer(command: string, ...args: RedisArg[]): Promise<unknown>;
  /** A new client with the same settings (connecting unless `lazyConnect`). */
  duplicate(): IoRedisClientLike;
  /** The connection's state: `wait`, `connecting`, `ready`, `end`, ... */
  status: string;
  /** Connects a duplicate made with `lazyConnect`. */
  connect(): Promise<unknown>;
  /** Listens to `error`, `ready`, `end` and `messageBuffer`. */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Listens once to `ready` or `end`. */
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Removes a listener. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Subscribes a duplicate to a channel. */
  subscribe(channel: string): Promise<unknown>;
  /** Closes a duplicate at once. */
  disconnect(): void;
}

type Listener = (...args: unknown[]) => void;

/** What the `redis` option of the cluster accepts. */
export type RedisClientLike = NodeRedisClientLike | IoRedisClientLike | ClusterRedis;

// node-redis v5+ maps RESP types to JavaScript types per command; 36 is RESP's `$` (blob
// string). v4 reads `returnBuffers` instead. Each ignores the other's option.
const NODE_REDIS_BUFFERS = { returnBuffers: true, typeMapping: { 36: Buffer } };

function isIoRedis(client: object): client is IoRedisClientLike {
  return typeof (client as { callBuffer?: unknown }).callBuffer === 'function';
}

function isNodeRedis(client: object): client is NodeRedisClientLike {
  return typeof (client as { sendCommand?: unknown }).sendCommand === 'function' && typeof (client as { duplicate?: unknown }).duplicate === 'function';
}

function isClusterRedis(client: object): client is ClusterRedis {
  const c = client as Partial<Record<keyof ClusterRedis, unknown>>;
  return typeof c.command === 'function' && typeof c.duplicate === 'function' && typeof c.close === 'function';
}

class NodeRedis implements ClusterRedis {
  constructor(private readonly client: NodeRedisClientLike) {}

  command(args: readonly RedisArg[]): Promise<unknown> {
    return this.client.sendCommand(args as RedisArg[], NODE_REDIS_BUFFERS);
  }

  async duplicate(events: ConnectionEvents): Promise<ClusterRedis> {
    const copy = this.client.duplicate();
    // A node-redis client without an `error` listener throws its connection errors.
    copy.on('error', events.error);
    if (events.ready !== undefined) copy.on('ready', events.ready);
    await copy.connect();
    return new NodeRedis(copy);
  }

  async subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<void> {
    await this.client.subscribe(channel, (message) => onMessage(message), true);
  }

  async close(): Promise<void> {
    if (typeof this.client.destroy === 'function') this.client.destroy();
    else await this.client.disconnect?.();
  }
}

class IoRedis implements ClusterRedis {
  constructor(private readonly client: IoRedisClientLike) {}

  command(args: readonly RedisArg[]): Promise<unknown> {
    const [name, ...rest] = args;
    return this.client.callBuffer(String(name), ...rest);
  }

  async duplicate(events: ConnectionEvents): Promise<ClusterRedis> {
    const copy = this.client.duplicate();
    copy.on('error', events.error as Listener);
    if (events.ready !== undefined) copy.on('ready', events.ready as Listener);
    if (copy.status === 'wait') await copy.connect();
    else if (copy.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const ready = (): void => {
          copy.off('end', end);
          resolve();
        };
        const end = (): void => {
          copy.off('ready', ready);
          reject(new Error('Connection ended before it was ready'));
        };
        copy.once('ready', ready);
        copy.once('end', end);
      });
    }
    return new IoRedis(copy);
  }

  async subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<void> {
    const listener = (from: Buffer, message: Buffer): void => {
      if (from.toString() === channel) onMessage(message);
    };
    this.client.on('messageBuffer', listener as Listener);
    await this.client.subscribe(channel);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

/**
 * Wraps an application's client.
 * @throws ClusterError `WS_ERR_CLUSTER_CLIENT` when it is neither node-redis, ioredis nor a {@link ClusterRedis}
 * @internal
 */
export function wrapRedis(client: RedisClientLike): ClusterRedis {
  if (typeof client === 'object' && client !== null) {
    // The client libraries first: both also have methods named `command` (Redis's COMMAND).
    if (isIoRedis(client)) return new IoRedis(client);
    if (isNodeRedis(client)) return new NodeRedis(client);
    if (isClusterRedis(client)) return client;
  }
  throw new ClusterError('WS_ERR_CLUSTER_CLIENT', 'The redis option must be a connected node-redis (v4+) or ioredis (v5+) client');
}

/** A reply value as text (Buffers are decoded as UTF-8). @internal */
export function text(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}
