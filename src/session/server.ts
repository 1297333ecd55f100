/**
 * The server side of resumable sessions, sans-I/O: the transport reads the client's offer from
 * the handshake ({@link parseOffer}), answers with {@link SESSION_PROTOCOL}, and hands each
 * opened connection to {@link SessionServer.connect}; sessions are found by token in the store,
 * created, resumed (token rotated) or refused (a new session, the client told why). One
 * `tick()` serves the deadlines of every session (acknowledgements, expiry).
 *
 * @module
 */
import { settle } from './awaitable.js';
import { checkDataPathOptions, type DataPathOptions, type SessionConnection, type SessionLink } from './channel.js';
import type { Refusal } from './control.js';
import { DeadlineHeap } from './deadlines.js';
import { SessionError } from './errors.js';
import type { SessionOffer } from './handshake.js';
import { MemorySessionStore } from './memory-store.js';
import { ServerConnection, ServerSession, type SessionHost, type SessionServerHandler } from './server-session.js';
import type { ClaimResult, SessionRecord, SessionStore } from './store.js';
import { defaultRandom, type RandomSource, randomString, SECRET_BYTES, SESSION_ID_BYTES } from './token.js';

/** Options of {@link SessionServer} (defaults in brackets). */
export interface SessionServerOptions extends DataPathOptions {
  /** Where events go. */
  handler: SessionServerHandler;
  /** Where sessions live [a new {@link MemorySessionStore}]. */
  store?: SessionStore;
  /** Source of token randomness [`crypto.getRandomValues`]. */
  random?: RandomSource;
  /**
   * This server's identity in the store: writes of a server that is not a session's owner are
   * refused. Must differ between servers and between runs of one server [16 random characters].
   */
  serverId?: string;
  /** How long (ms) a session stays resumable after its connection closed [120,000]. */
  resumeWindow?: number;
  /**
   * Most sessions this server holds, connected or away; beyond it a new session is refused
   * with close 1013 `WS_SESSION_LIMIT` (resumptions still work) [100,000].
   */
  maxSessions?: number;
  /**
   * When a `send()` finds the resend buffer full: `reject` refuses that message
   * (`WS_SESSION_BUFFER_FULL`; the session goes on), `end` ends the session
   * (`WS_SESSION_OVERFLOW`, close 4002) so the client learns it missed messages ['reject'].
   */
  overflow?: 'reject' | 'end';
}

/** Default of {@link SessionServerOptions.resumeWindow} (ms). */
export const DEFAULT_RESUME_WINDOW = 120_000;
/** Default of {@link SessionServerOptions.maxSessions}. */
export const DEFAULT_MAX_SESSIONS = 100_000;

/** The server side of resumable sessions. */
export class SessionServer implements SessionHost {
  /** Where sessions live. */
  readonly store: SessionStore;
  /** Where events go. */
  readonly handler: SessionServerHandler;
  /** The clock (ms). */
  readonly clock: () => number;
  /** See {@link SessionServerOptions.resumeWindow}. */
  readonly resumeWindow: number;
  /** See {@link SessionServerOptions.overflow}. */
  readonly overflowPolicy: 'reject' | 'end';
  /** The data-path options every session gets. */
  readonly dataPath: DataPathOptions;
  /** This server's identity in the store (each copy of a session it makes is owned by `<serverId>.<n>`). */
  readonly serverId: string;
  private readonly random: RandomSource;
  private readonly maxSessions: number;
  private readonly sessions = new Map<string, ServerSession>();
  private readonly heap = new DeadlineHeap<ServerSession>();
  private copies = 0;
  private creating = 0;

  /** @throws RangeError / TypeError for invalid options (or no `crypto.getRandomValues` and no `random`) */
  constructor(options: SessionServerOptions) {
    this.handler = options.handler;
    this.store = options.store ?? new MemorySessionStore();
    this.random = options.random ?? defaultRandom();
    this.clock = options.clock ?? Date.now;
    this.serverId = options.serverId ?? randomString(this.random, SESSION_ID_BYTES);
    this.resumeWindow = options.resumeWindow ?? DEFAULT_RESUME_WINDOW;
    this.overflowPolicy = options.overflow ?? 'reject';
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!(this.resumeWindow >= 0)) throw new RangeError('resumeWindow must not be negative');
    if (!(this.maxSessions >= 1)) throw new RangeError('maxSessions must be at least 1');
    if (this.overflowPolicy !== 'reject' && this.overflowPolicy !== 'end') throw new RangeError(`Unknown overflow policy: ${String(this.overflowPolicy)}`);
    checkDataPathOptions(options);
    this.dataPath = options;
  }

  /** Sessions held by this server (connected or away). */
  get size(): number {
    return this.sessions.size;
  }

  /** The session `id`, if this server holds it. */
  get(id: string): ServerSession | undefined {
    return this.sessions.get(id);
  }

  /** The sessions this server holds. */
  values(): IterableIterator<ServerSession> {
    return this.sessions.values();
  }

  /**
   * A connection opened with {@link SESSION_PROTOCOL} selected; `offer` is what
   * {@link parseOffer} read from its handshake. Returns the handle to feed its messages and
   * its close to. The session is chosen once the store answered (at once with the memory store).
   */
  connect(offer: SessionOffer, link: SessionLink): SessionConnection {
    const conn = new ServerConnection(this, link);
    if (offer.kind === 'invalid') {
      conn.fail(new SessionError('WS_SESSION_BAD_HANDSHAKE', `Bad session resume offer: ${offer.reason}`, 1002));
    } else if (offer.kind === 'new') {
      this.create(conn, null);
    } else {
      this.resume(conn, offer);
    }
    return conn;
  }

  /**
   * Runs what is due at `now` for every session (acknowledgements, expiries). Call it when the
   * `timer` event's time has come, or periodically.
   */
  tick(now: number = this.clock()): void {
    const due: ServerSession[] = [];
    while (this.heap.peek() <= now) {
      const at = this.heap.peek();
      const session = this.heap.pop() as ServerSession;
      if (session.ended || session.scheduledAt !== at) continue; // stale entry
      session.scheduledAt = Infinity;
      due.push(session);
    }
    for (const session of due) {
      session.tick(now);
      const next = session.deadline();
      if (next !== Infinity) this.schedule(session, next);
    }
  }

  /** When `tick` must run next (ms), or `Infinity`. */
  deadline(): number {
    return this.heap.peek();
  }

  /**
   * Forgets session `id` here without touching the store, closing its connection with 4001:
   * for a cluster, when another server claimed it. Returns whether it was held.
   */
  release(id: string): boolean {
    const session = this.sessions.get(id);
    if (session === undefined) return false;
    session.release(new SessionError('WS_SESSION_REPLACED', 'The session was resumed elsewhere', 4001));
    return true;
  }

  /** Puts `session` in the deadline heap for `at` (sessions call it; not for applications). */
  schedule(session: ServerSession, at: number): void {
    if (!(at < session.scheduledAt) || session.ended) return;
    const before = this.heap.peek();
    session.scheduledAt = at;
    this.heap.push(at, session);
    if (at < before) this.handler.timer?.(at);
  }

  /** Forgets `session` (sessions call it when they end; not for applications). */
  removed(session: ServerSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  private create(conn: ServerConnection, refusal: Refusal | null): void {
    if (this.sessions.size + this.creating >= this.maxSessions) {
      conn.fail(new SessionError('WS_SESSION_LIMIT', `Too many sessions (${this.maxSessions})`, 1013));
      return;
    }
    const id = randomString(this.random, SESSION_ID_BYTES);
    const secret = randomString(this.random, SECRET_BYTES);
    const owner = this.nextOwner();
    const record: SessionRecord = {
      id,
      owner,
      secret: null,
      pendingSecret: secret,
      received: 0,
      sent: 0,
      acknowledged: 0,
      outbound: [],
      expiresAt: null,
    };
    this.creating += 1;
    settle(
      () => this.store.create(record),
      () => {
        this.creating -= 1;
        const session = new ServerSession(this, id, owner, secret, null);
        this.sessions.set(id, session);
        session.start(conn, refusal);
      },
      (err) => {
        this.creating -= 1;
        conn.fail(storeFailure(err));
      },
    );
  }

  private resume(conn: ServerConnection, offer: Extract<SessionOffer, { kind: 'resume' }>): void {
    const fresh = randomString(this.random, SECRET_BYTES);
    const copy = this.sessions.get(offer.id)?.owner ?? null;
    const owner = this.nextOwner();
    settle(
      () => this.store.claim(offer.id, offer.secret, fresh, this.clock(), owner, copy),
      (result: ClaimResult) => {
        if (!result.ok) {
          this.create(conn, result.reason);
          return;
        }
        let session = this.sessions.get(offer.id);
        let restored = false;
        if (result.record !== null) {
          // No copy here, or another claim (another server, or another connection here)
          // replaced it since: build a new copy from the store.
          session?.release(new SessionError('WS_SESSION_REPLACED', 'The session was resumed elsewhere', 4001));
          try {
            session = new ServerSession(this, offer.id, result.owner, fresh, result.record);
          } catch (err) {
            conn.fail(storeFailure(err));
            return;
          }
          restored = true;
          this.sessions.set(offer.id, session);
        } else if (session === undefined || session.owner !== result.owner) {
          // The copy ended here while the claim was under way.
          settle(() => this.store.delete(offer.id, result.owner), () => {}, () => {});
          this.create(conn, 'unknown');
          return;
        }
        session.resume(conn, offer.received, offer.sent, fresh, restored);
      },
      (err) => conn.fail(storeFailure(err)),
    );
  }

  private nextOwner(): string {
    this.copies += 1;
    return `${this.serverId}.${this.copies}`;
  }
}

function storeFailure(err: unknown): SessionError {
  if (err instanceof SessionError && err.code === 'WS_SESSION_STORE_FAILED') return err;
  return new SessionError('WS_SESSION_STORE_FAILED', `Session store failed: ${err instanceof Error ? err.message : String(err)}`, 1011);
}
