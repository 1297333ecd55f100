/**
 * One session on the server side: the logical connection the application talks to while the
 * WebSocket connections underneath come and go. At most one connection is attached; a second
 * resumption replaces the first, which is told `!end replaced` and closed with 4001.
 *
 * @module
 */
import { settle } from './awaitable.js';
import {
  Channel,
  type DataPathOptions,
  type SendOptions,
  type SessionConnection,
  type SessionLink,
  type SessionMessage,
} from './channel.js';
import { type EndReason, newWords, parseEnd, resumedWords, type Refusal, refusalError } from './control.js';
import { CLOSE_SESSION_ENDED, CLOSE_SESSION_REPLACED, protocolError, SessionError } from './errors.js';
import type { SessionStore, SessionRecord } from './store.js';
import { controlMessage, controlWords, decodeHeader, KIND_ACK, KIND_CONTROL, newHeader } from './wire.js';

/** What a server tells its application (every member optional but `message`). */
export interface SessionServerHandler {
  /** A new session (after a plain offer, or instead of a refused resumption: `refused` says why). */
  open?(session: ServerSession, info: { refused: SessionError | null }): void;
  /**
   * A session continues on a new connection. `restored`: it was loaded from the store (another
   * server, or this one before a restart, held it), so messages the client resends are flagged
   * `redelivered`. `replaced`: a connection was still attached and was closed (4001).
   */
  resumed?(session: ServerSession, info: { restored: boolean; replaced: boolean }): void;
  /** A message from the client, once, in order (see `redelivered` for the failover case). */
  message(session: ServerSession, message: SessionMessage): void;
  /** The session's connection closed; it can be resumed within `resumeWindow`. */
  away?(session: ServerSession): void;
  /** The session was away longer than `resumeWindow` and is gone; `unacknowledged` messages were dropped (their `done` got `WS_SESSION_EXPIRED`). */
  expired?(session: ServerSession, info: { unacknowledged: number }): void;
  /**
   * The session is gone for another reason than expiry or `end()`: the client ended it
   * (`WS_SESSION_ENDED`), a protocol error, a store failure (`WS_SESSION_STORE_FAILED`), an
   * overflow with `overflow: 'end'` (`WS_SESSION_OVERFLOW`), or another server took it
   * (`WS_SESSION_REPLACED`).
   */
  ended?(session: ServerSession, err: SessionError): void;
  /** A `send()` found the resend buffer full (`WS_SESSION_BUFFER_FULL`). */
  overflow?(session: ServerSession, err: SessionError): void;
  /** A protocol error or a store failure, for logging; `session` is `null` before one was chosen. */
  error?(err: SessionError, session: ServerSession | null): void;
  /** The server's earliest deadline moved earlier: call `tick()` at or after `at`. */
  timer?(at: number): void;
}

/** What a session needs from its server ({@link SessionServer} is one). */
export interface SessionHost {
  readonly store: SessionStore;
  readonly handler: SessionServerHandler;
  readonly clock: () => number;
  readonly resumeWindow: number;
  readonly overflowPolicy: 'reject' | 'end';
  readonly dataPath: DataPathOptions;
  schedule(session: ServerSession, at: number): void;
  removed(session: ServerSession): void;
}

/** Phases of a server-side connection. */
type Phase = 'pending' | 'welcome' | 'open' | 'closed';

/** One connection on the server side, as the transport feeds it (made by `SessionServer.connect`). */
export class ServerConnection implements SessionConnection {
  /** `pending` until the store answered, `welcome` until the client's `!ok`, then `open`. */
  phase: Phase = 'pending';
  /** The session once chosen. */
  session: ServerSession | null = null;

  constructor(
    private readonly host: SessionHost,
    readonly link: SessionLink,
  ) {}

  receive(data: string | Uint8Array, binary: boolean): void {
    if (this.phase === 'closed') return;
    if (this.session === null) {
      // The client speaks only after the welcome, which is only sent once a session was chosen.
      this.fail(protocolError('WS_SESSION_UNEXPECTED', 'Session message before the welcome'));
      return;
    }
    this.session.onReceive(this, data, binary);
  }

  closed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.session?.onClosed(this);
  }

  /** Closes with the error's code (no session yet, or the session handles the rest). */
  fail(err: SessionError): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.link.close(err.closeCode ?? 1011, err.message.slice(0, 120));
    if (this.session === null) this.host.handler.error?.(err, null);
  }
}

/** One session, as the application sees it on the server. */
export class ServerSession {
  /** The session id: stable across resumptions, not a credential. */
  readonly id: string;
  /** @internal Earliest time this session is in the server's deadline heap for. */
  scheduledAt = Infinity;
  private readonly host: SessionHost;
  private readonly channel: Channel;
  private readonly header = newHeader();
  /** @internal This copy's owner string in the store (`<serverId>.<n>`). */
  readonly owner: string;
  private pendingSecret: string;
  private conn: ServerConnection | null = null;
  private expiresAt = Infinity;
  private endError: SessionError | null = null;

  /** Made by {@link SessionServer} (a new session, or a copy restored from the store). */
  constructor(host: SessionHost, id: string, owner: string, pendingSecret: string, record: SessionRecord | null) {
    this.host = host;
    this.id = id;
    this.owner = owner;
    this.pendingSecret = pendingSecret;
    const store = host.store;
    this.channel = new Channel(host.dataPath, {
      message: (m) => host.handler.message(this, m),
      acknowledged: (upTo) => this.write(() => store.acknowledge(id, owner, upTo)),
      persistReceived: (upTo) => store.received(id, owner, upTo),
      append: (m) => store.append(id, owner, m),
      failed: (err) => this.storeFailed(err),
      timer: (at) => host.schedule(this, at),
    });
    if (record !== null) this.channel.restore(record);
  }

  /** Whether a connection is attached and the client confirmed the welcome. */
  get connected(): boolean {
    return this.conn !== null && this.conn.phase === 'open';
  }

  /** Whether the session is over (expired, ended, replaced elsewhere). */
  get ended(): boolean {
    return this.endError !== null;
  }
  /** The link of the connection carrying the session now (its transport's handle), if any. */
  get link(): SessionLink | null {
    return this.conn?.link ?? null;
  }


  /** Messages for the client not yet acknowledged (sent or waiting for the connection). */
  get unacknowledged(): number {
    return this.channel.outbox.length;
  }

  /** Their payload bytes. */
  get bufferedBytes(): number {
    return this.channel.outbox.bytes;
  }

  /** Last sequence number received from the client. */
  get received(): number {
    return this.channel.received;
  }

  /** Last sequence number given to a message for the client. */
  get sent(): number {
    return this.channel.assigned;
  }

  /** Messages the client resent that had been received already (dropped). */
  get duplicates(): number {
    return this.channel.duplicates;
  }

  /** When it needs a tick next (ms), or `Infinity`. */
  deadline(): number {
    if (this.endError !== null) return Infinity;
    return Math.min(this.channel.deadline(), this.conn === null ? this.expiresAt : Infinity);
  }

  /**
   * Sends a message to the client: now, or when it comes back. Returns its sequence number;
   * `options.done` runs when the client acknowledged it, or with the error that lost it.
   * @throws SessionError `WS_SESSION_BUFFER_FULL` (after an `overflow` event), `WS_SESSION_OVERFLOW`
   * (the session ended, with `overflow: 'end'`), `WS_SESSION_TOO_LARGE`, or the error that ended the session
   */
  send(data: string | Uint8Array, options: SendOptions = {}): number {
    if (this.endError !== null) throw this.endError;
    try {
      return this.channel.send(data, options.binary ?? typeof data !== 'string', options.done ?? null);
    } catch (err) {
      if (err instanceof SessionError && err.code === 'WS_SESSION_BUFFER_FULL') {
        this.host.handler.overflow?.(this, err);
        if (this.host.overflowPolicy === 'end' && this.endError === null) {
          const over = new SessionError('WS_SESSION_OVERFLOW', 'The session ended: its resend buffer overflowed', CLOSE_SESSION_ENDED);
          this.terminate(over, 'overflow', CLOSE_SESSION_ENDED, true, true);
          throw over;
        }
      }
      throw err;
    }
  }

  /**
   * Ends the session: the client is told (`!end closed`, close 4002) or, when away, finds it
   * unknown; unacknowledged messages get `WS_SESSION_CLOSED`.
   */
  end(): void {
    this.terminate(new SessionError('WS_SESSION_CLOSED', 'The session was ended'), 'closed', CLOSE_SESSION_ENDED, true, false);
  }

  /** @internal Runs what is due at `now`: expiry when away, else a standalone acknowledgement. */
  tick(now: number): void {
    if (this.endError !== null) return;
    if (this.conn === null && now >= this.expiresAt) {
      const unacknowledged = this.channel.outbox.length;
      this.terminate(new SessionError('WS_SESSION_EXPIRED', 'The session expired'), null, CLOSE_SESSION_ENDED, true, false);
      this.host.handler.expired?.(this, { unacknowledged });
      return;
    }
    this.channel.tick(now);
  }

  /** @internal A new session on `conn`: the welcome (with the refusal that led here, if any). */
  start(conn: ServerConnection, refusal: Refusal | null): void {
    const refused = refusal === null ? null : refusalError(refusal);
    if (conn.phase === 'closed') {
      // The connection went while the store was answering: the session exists, away.
      this.host.handler.open?.(this, { refused });
      if (this.endError === null && this.conn === null) this.goAway();
      return;
    }
    this.conn = conn;
    conn.session = this;
    conn.phase = 'welcome';
    conn.link.send(controlMessage(newWords(`${this.id}.${this.pendingSecret}`, refusal)), false);
    this.channel.attach(conn.link, 0, 0);
    if (this.conn === conn) this.host.handler.open?.(this, { refused });
  }

  /**
   * @internal The session continues on `conn`, `fresh` being the new pending secret. The client
   * stated it received up to `received` and sent up to `sent`.
   */
  resume(conn: ServerConnection, received: number, sent: number, fresh: string, restored: boolean): void {
    this.pendingSecret = fresh;
    // Acknowledgements only ever cover what is recorded, so that is the point stated; with a
    // store that answers later, messages resent up to `received` are recognised and dropped.
    this.channel.persistAll();
    const stated = this.channel.durable;
    const bad = this.channel.checkPeerReceived(received) ?? this.channel.checkPeerSent(sent, stated);
    if (bad !== null) {
      conn.session = this;
      conn.fail(bad);
      this.host.handler.error?.(bad, this);
      this.terminate(bad, 'error', bad.closeCode ?? 1002, true, true);
      return;
    }
    // A copy built from the store may be behind what its previous holder delivered: whatever
    // the client resends up to `sent` may have been delivered before. Set before anything else,
    // as this connection may already be gone and the next resumption would be a local one.
    if (restored && sent > this.channel.redeliverUpTo) this.channel.redeliverUpTo = sent;
    const previous = this.conn;
    if (previous !== null) {
      this.conn = null;
      this.channel.detach();
      this.closeConnection(previous, 'replaced', CLOSE_SESSION_REPLACED, 'session replaced');
    }
    if (conn.phase === 'closed') {
      // The connection went while the store was answering: the session is here, away.
      this.host.handler.resumed?.(this, { restored, replaced: previous !== null });
      if (this.endError === null && this.conn === null) this.goAway();
      return;
    }
    this.expiresAt = Infinity;
    this.conn = conn;
    conn.session = this;
    conn.phase = 'welcome';
    conn.link.send(controlMessage(resumedWords(`${this.id}.${fresh}`, stated, this.channel.maxSent)), false);
    // The resend follows the welcome at once: the server knows the client's point already.
    this.channel.attach(conn.link, stated, received);
    if (this.conn === conn) this.host.handler.resumed?.(this, { restored, replaced: previous !== null });
  }

  /**
   * @internal Another server took the session (or the store fenced this one off): close the
   * connection with 4001 and forget the session here, leaving the store alone.
   */
  release(err: SessionError): void {
    this.terminate(err, 'replaced', CLOSE_SESSION_REPLACED, false, true);
  }

  /** @internal */
  onReceive(conn: ServerConnection, data: string | Uint8Array, binary: boolean): void {
    if (conn !== this.conn || this.endError !== null) return;
    try {
      decodeHeader(data, this.header);
      const kind = this.header.kind;
      if (kind === KIND_CONTROL) {
        const words = controlWords(data);
        const end = parseEnd(words);
        if (end !== null) {
          this.terminate(new SessionError('WS_SESSION_ENDED', 'The client ended the session'), null, 1000, true, true);
        } else if (conn.phase === 'welcome' && words.length === 1 && words[0] === 'ok') {
          conn.phase = 'open';
          const secret = this.pendingSecret;
          this.write(() => this.host.store.confirm(this.id, this.owner, secret));
        } else {
          throw protocolError('WS_SESSION_UNEXPECTED', `Unexpected session control message "!${words[0]}"`);
        }
        return;
      }
      if (conn.phase !== 'open') throw protocolError('WS_SESSION_UNEXPECTED', 'Session data before the client confirmed the welcome');
      if (kind === KIND_ACK) {
        this.channel.onAck(this.header.delta);
      } else {
        if (this.header.delta > 0) this.channel.onAck(this.header.delta);
        this.channel.onData(data, this.header.start, binary);
      }
    } catch (err) {
      if (!(err instanceof SessionError) || err.closeCode === null || conn !== this.conn || this.endError !== null) throw err;
      this.host.handler.error?.(err, this);
      this.conn = null;
      conn.fail(err);
      this.terminate(err, null, err.closeCode, true, true);
    }
  }

  /** @internal */
  onClosed(conn: ServerConnection): void {
    if (conn !== this.conn || this.endError !== null) return;
    this.goAway();
  }

  private goAway(): void {
    this.conn = null;
    this.channel.detach();
    this.channel.persistAll();
    this.expiresAt = this.host.clock() + this.host.resumeWindow;
    const expiresAt = this.expiresAt;
    this.write(() => this.host.store.away(this.id, this.owner, expiresAt));
    this.host.schedule(this, expiresAt);
    if (this.endError === null) this.host.handler.away?.(this);
  }

  /** Runs a store write whose failure ends the session. */
  private write(action: () => unknown): void {
    settle(action, () => {}, (err) => this.storeFailed(err));
  }

  private storeFailed(err: unknown): void {
    if (this.endError !== null) return;
    if (err instanceof SessionError && (err.code === 'WS_SESSION_REPLACED' || err.code === 'WS_SESSION_UNKNOWN')) {
      // Fenced off: a newer claim (another server) or a deletion won.
      this.release(new SessionError('WS_SESSION_REPLACED', 'The session was resumed elsewhere', CLOSE_SESSION_REPLACED));
      return;
    }
    const failure = new SessionError('WS_SESSION_STORE_FAILED', `Session store failed: ${err instanceof Error ? err.message : String(err)}`, 1011);
    this.host.handler.error?.(failure, this);
    this.terminate(failure, 'error', 1011, false, true);
  }

  private closeConnection(conn: ServerConnection, reason: EndReason | null, code: number, text: string): void {
    if (conn.phase === 'closed') return;
    conn.phase = 'closed';
    if (reason !== null) conn.link.send(controlMessage(['end', reason]), false);
    conn.link.close(code, text);
  }

  /**
   * Ends the session here: tells and closes the attached connection, rejects what is
   * unacknowledged with `err`, removes it from the store (`deleteRecord`) and the server.
   */
  private terminate(err: SessionError, reason: EndReason | null, code: number, deleteRecord: boolean, emit: boolean): void {
    if (this.endError !== null) return;
    this.endError = err;
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) this.closeConnection(conn, reason, code, err.message.slice(0, 120));
    this.host.removed(this);
    this.channel.stop(err);
    if (deleteRecord) settle(() => this.host.store.delete(this.id, this.owner), () => {}, () => {});
    if (emit) this.host.handler.ended?.(this, err);
  }
}
