/**
 * How entries travel between servers: the seam between the cluster and Redis Streams or
 * Redis pub/sub.
 *
 * @module
 */
import type { ClusterError } from './errors.js';
import type { ConnectionEvents } from './redis.js';

/** What a transport reports to the cluster. @internal */
export interface TransportHooks {
  /** A Redis command or connection failed (the transport keeps going). */
  error(err: ClusterError): void;
  /** The reader's connection was made again after it broke. */
  reconnected(): void;
}

/** Carries entries to every server (this one included). @internal */
export interface Transport {
  /**
   * Starts reading. Resolves once the reader is positioned: every entry sent after that is
   * delivered to `onEntry` (with the time Redis stored it, in ms, where known).
   */
  start(onEntry: (entry: Buffer, storedAt: number | null) => void): Promise<void>;
  /** Sends one entry; rejects when Redis did not take it. */
  send(entry: Buffer): Promise<void>;
  /** Stops reading and closes the connections the transport opened. */
  stop(): Promise<void>;
}

/** Connection events of a transport's own connection: errors reported, reconnections counted. @internal */
export function connectionEvents(hooks: TransportHooks, onError: (err: unknown) => ClusterError): ConnectionEvents {
  let connected = false;
  return {
    error: (err) => hooks.error(onError(err)),
    ready: () => {
      if (connected) hooks.reconnected();
      connected = true;
    },
  };
}
