/**
 * The store seam: where a server keeps each session's state and its unacknowledged messages.
 * {@link MemorySessionStore} keeps them in the process; a Redis store (with the cluster layer)
 * keeps them where another server can resume the session after this one died.
 *
 * Every method may answer synchronously or with a promise. What a store must guarantee for
 * the failover promise ("nothing acknowledged is lost; a message the dead server received but
 * had not recorded may be delivered again, flagged as a possible redelivery"):
 *
 * 1. **Durable when settled.** A write has happened when its call returns or its promise
 *    resolves. The server writes a message to the wire only after `append` settled, and
 *    acknowledges received messages only up to a `received` write that settled, so everything
 *    a client holds or was told is acknowledged is in the store.
 * 2. **In order.** Calls for one session (claims included) are applied in the order they were
 *    made.
 * 3. **Atomic claim.** `claim` checks and rotates the secret and records the owner in one
 *    step, so two servers cannot both resume a session with the same token.
 * 4. **Fenced writes.** A write whose owner is not the record's is refused (throw or reject,
 *    preferably with a `SessionError` `WS_SESSION_REPLACED`), so a copy of the session that
 *    another claim replaced (on another server, or an older copy on the same one) cannot change
 *    it any more; its server learns so and lets that copy go.
 * 5. **Contiguous appends.** `append` refuses a message whose `seq` is not `sent + 1`.
 * 6. **Expiry.** A record whose `expiresAt` has passed is never claimed (`expired`), and is
 *    eventually deleted.
 *
 * Trims (`acknowledge`) may lag or be lost: on resumption, messages at or below the client's
 * stated sequence number are dropped anyway.
 *
 * @module
 */
import type { Awaitable } from './awaitable.js';

/** A message kept until the peer acknowledged it. */
export interface StoredMessage {
  /** Its sequence number (1 for the first message of the session). */
  readonly seq: number;
  /** The payload as sent: a string for text given as a string, else bytes. */
  readonly data: string | Uint8Array;
  /** Binary (true) or text (false). */
  readonly binary: boolean;
}

/** The state of one session as a store keeps it. */
export interface SessionRecord {
  /** The session id. */
  id: string;
  /** The copy that holds it: unique per server and per copy made (`<serverId>.<n>`); writes from any other are refused. */
  owner: string;
  /** The confirmed secret (`null` for a new session whose client has not confirmed its first token). */
  secret: string | null;
  /** A secret handed out in a welcome and not yet confirmed by the client. */
  pendingSecret: string | null;
  /** The last sequence number received from the client and recorded. */
  received: number;
  /** The last sequence number appended for the client. */
  sent: number;
  /** The last sequence number the client acknowledged (recorded; may lag). */
  acknowledged: number;
  /** The unacknowledged messages for the client, in order, ending at `sent`. */
  outbound: StoredMessage[];
  /** While away: the time (ms, the server's clock) after which it cannot be resumed; `null` while connected. */
  expiresAt: number | null;
}

/** Outcome of {@link SessionStore.claim}. */
export type ClaimResult =
  /** Claimed: the owner now holding it; the record unless the caller's copy was current. */
  | {
      /** Claimed. */
      ok: true;
      /** The owner now holding the session (the caller). */
      owner: string;
      /** The stored record, or null when the caller's copy was current. */
      record: SessionRecord | null;
    }
  /** Refused. */
  | {
      /** Refused. */
      ok: false;
      /** Why: no such session, its resume window passed, or the secret was not current. */
      reason: 'unknown' | 'expired' | 'stale';
    };

/** Where a server keeps sessions. See the module documentation for what an implementation must guarantee. */
export interface SessionStore {
  /** Stores a new session (its owner, `pendingSecret` set, `secret` null). */
  create(record: SessionRecord): Awaitable<void>;
  /**
   * Resumes `id` with `secret`, atomically: when `secret` is the pending one it becomes the
   * confirmed one; when it is the confirmed one, the pending one is forgotten (the client never
   * got it); in both cases `fresh` becomes the pending secret and `expiresAt` is cleared. Any
   * other secret is `stale`; a record past `expiresAt` at `now` is `expired`. `copy` is the
   * owner of the caller's own copy (`null`: none): when it is still the record's owner, it
   * stays the owner and the result carries no record; otherwise `owner` becomes the owner and
   * the result carries the record (after the change) to build a new copy from.
   */
  claim(id: string, secret: string, fresh: string, now: number, owner: string, copy: string | null): Awaitable<ClaimResult>;
  /** The client confirmed `secret` (the pending one): it becomes the confirmed secret and the previous one dies. */
  confirm(id: string, owner: string, secret: string): Awaitable<void>;
  /** Appends a message for the client (its `seq` is `sent + 1`). */
  append(id: string, owner: string, message: StoredMessage): Awaitable<void>;
  /** The client acknowledged everything up to `upTo`: those messages may be dropped. */
  acknowledge(id: string, owner: string, upTo: number): Awaitable<void>;
  /** Everything up to `upTo` was received from the client. */
  received(id: string, owner: string, upTo: number): Awaitable<void>;
  /** The session's connection is gone (`expiresAt` set) or back (`null`). */
  away(id: string, owner: string, expiresAt: number | null): Awaitable<void>;
  /** Removes the session. */
  delete(id: string, owner: string): Awaitable<void>;
}
