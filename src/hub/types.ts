/**
 * Options and results of the Hub (hub.ts).
 *
 * @module
 */
import type { Session } from '../node/server/session.js';
import type { WebSocket } from '../node/socket/websocket.js';
import type { HubDeflateOptions } from './message.js';
import type { BackpressurePolicy } from './policy.js';

/** Options of `new Hub(options)`. */
export interface HubOptions {
  /** Policy of every connection added without one of its own (default `{ policy: 'drop' }`). */
  backpressure?: BackpressurePolicy;
  /**
   * Compress once for every recipient whose handshake allows it (`server_no_context_takeover`),
   * instead of once per recipient (default `true`). See the trade-off in the README.
   */
  sharedCompression?: boolean;
  /** zlib settings of shared compression. */
  deflate?: HubDeflateOptions;
}

/** Options of {@link Hub.add}. */
export interface HubMemberOptions {
  /** This connection's policy, instead of the hub's default. */
  backpressure?: BackpressurePolicy;
}

/** Options of {@link Hub.publish} and {@link Hub.broadcast}. */
export interface PublishOptions {
  /** A connection or session (usually the sender), or several, that do not get the message. */
  except?: WebSocket | Session | Iterable<WebSocket | Session>;
  /** Send as binary (default: `true` unless `data` is a string). */
  binary?: boolean;
  /** Compress where permessage-deflate was negotiated (default `true`). */
  compress?: boolean;
}

/** What one publish did, counted per recipient. */
export interface PublishResult {
  /** Connections considered (members of the room, minus `except`). */
  recipients: number;
  /** Handed to the connection. */
  sent: number;
  /** Waiting in a recipient's queue (`queue` policy), or held for a session whose client is away. */
  queued: number;
  /** Skipped by a policy (`drop`, or a full queue dropping its oldest), or refused by a session's full resend buffer. */
  dropped: number;
  /** Recipients closed by a policy. */
  closed: number;
}

/** Counters of a hub since it was created. */
export interface HubStats {
  /** Connections in the hub. */
  connections: number;
  /** Sessions in the hub (connected or away). */
  sessions: number;
  /** Rooms with at least one member. */
  rooms: number;
  /** Calls of `publish` and `broadcast`. */
  published: number;
  /** Deliveries handed to connections. */
  sent: number;
  /** Deliveries skipped by a policy. */
  dropped: number;
  /** Recipients closed by a policy. */
  closed: number;
  /** Messages waiting in queues now. */
  queued: number;
  /** Compressions shared by several recipients. */
  sharedCompressions: number;
  /** Deliveries compressed by the recipient's own compressor. */
  perRecipientCompressions: number;
}
