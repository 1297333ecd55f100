/**
 * The in-process session store. Answers synchronously; keeps references to the messages it is
 * given (no copies). A process that dies takes its sessions with it: a client that comes back
 * to the restarted server is told its session is unknown and starts a new one.
 *
 * @module
 */
import { SessionError } from './errors.js';
import { sameSecret } from './token.js';
import type { ClaimResult, SessionRecord, SessionStore, StoredMessage } from './store.js';

/** A {@link SessionStore} in a `Map`. Several servers in one process may share one (tests of failover do). */
export class MemorySessionStore implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();

  /** Sessions held. */
  get size(): number {
    return this.records.size;
  }

  /** The record of `id` (read-only; for tests and diagnostics). */
  peek(id: string): Readonly<SessionRecord> | undefined {
    return this.records.get(id);
  }

  /** @throws SessionError `WS_SESSION_STORE_FAILED` when the id exists (a collision of 96 random bits) */
  create(record: SessionRecord): void {
    if (this.records.has(record.id)) throw new SessionError('WS_SESSION_STORE_FAILED', 'Session id already in use', 1011);
    this.records.set(record.id, { ...record, outbound: [...record.outbound] });
  }

  claim(id: string, secret: string, fresh: string, now: number, owner: string, copy: string | null): ClaimResult {
    const record = this.records.get(id);
    if (record === undefined) return { ok: false, reason: 'unknown' };
    if (record.expiresAt !== null && now >= record.expiresAt) {
      this.records.delete(id);
      return { ok: false, reason: 'expired' };
    }
    if (sameSecret(secret, record.pendingSecret)) {
      // The client got the pending secret: it is now the confirmed one, the older one dies.
      record.secret = record.pendingSecret;
    } else if (!sameSecret(secret, record.secret)) {
      return { ok: false, reason: 'stale' };
    }
    // (Presented the confirmed secret: the pending one never reached the client; replaced below.)
    record.pendingSecret = fresh;
    record.expiresAt = null;
    if (copy !== null && record.owner === copy) return { ok: true, owner: copy, record: null };
    record.owner = owner;
    return { ok: true, owner, record };
  }

  confirm(id: string, owner: string, secret: string): void {
    const record = this.fenced(id, owner);
    if (sameSecret(secret, record.pendingSecret)) {
      record.secret = secret;
      record.pendingSecret = null;
    }
  }

  append(id: string, owner: string, message: StoredMessage): void {
    const record = this.fenced(id, owner);
    if (message.seq !== record.sent + 1) {
      throw new SessionError('WS_SESSION_STORE_FAILED', `Append of message ${message.seq} after ${record.sent}`, 1011);
    }
    record.outbound.push(message);
    record.sent = message.seq;
  }

  acknowledge(id: string, owner: string, upTo: number): void {
    const record = this.fenced(id, owner);
    if (upTo <= record.acknowledged) return;
    record.acknowledged = upTo;
    let n = 0;
    while (n < record.outbound.length && (record.outbound[n] as StoredMessage).seq <= upTo) n++;
    if (n > 0) record.outbound.splice(0, n);
  }

  received(id: string, owner: string, upTo: number): void {
    const record = this.fenced(id, owner);
    if (upTo > record.received) record.received = upTo;
  }

  away(id: string, owner: string, expiresAt: number | null): void {
    this.fenced(id, owner).expiresAt = expiresAt;
  }

  delete(id: string, owner: string): void {
    const record = this.records.get(id);
    if (record !== undefined && record.owner === owner) this.records.delete(id);
  }

  /** Removes every record whose `expiresAt` has passed at `now`; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [id, record] of this.records) {
      if (record.expiresAt !== null && now >= record.expiresAt) {
        this.records.delete(id);
        n += 1;
      }
    }
    return n;
  }

  private fenced(id: string, owner: string): SessionRecord {
    const record = this.records.get(id);
    if (record === undefined) throw new SessionError('WS_SESSION_UNKNOWN', 'The session is no longer in the store');
    if (record.owner !== owner) throw new SessionError('WS_SESSION_REPLACED', 'The session is held by another server', 4001);
    return record;
  }
}
