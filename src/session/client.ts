/**
 * The client side of a resumable session, sans-I/O: the transport asks it which subprotocols to
 * offer, hands it each connection that selected {@link SESSION_PROTOCOL} and every message that
 * arrives on it; the session writes through the connection's {@link SessionLink}.
 *
 * ```
 * idle ──connect──► welcome ──!new/!resumed──► open ──closed──► away ──connect──► welcome …
 *                                               │ close()
 *                                               ▼
 *                                             closed
 * ```
 *
 * @module
 */
import {
  Channel,
  type DataPathOptions,
  type SendOptions,
  type SessionConnection,
  type SessionLink,
  type SessionMessage,
} from './channel.js';
import { endError, parseEnd, parseWelcome, refusalError, type EndReason, type Welcome } from './control.js';
import { protocolError, SessionError } from './errors.js';
import { offerProtocols, type ResumeOffer } from './handshake.js';
import { controlMessage, controlWords, decodeHeader, KIND_ACK, KIND_CONTROL, KIND_DATA, newHeader } from './wire.js';

/** What the client tells its application (every member optional but `message`). */
export interface SessionClientHandler {
  /** A message from the server, once, in order. */
  message(message: SessionMessage): void;
  /** The session is established on the new connection (after the server's welcome). */
  ready?(info: { id: string; resumed: boolean }): void;
  /**
   * The session is gone: the resumption was refused (`WS_SESSION_UNKNOWN`, `WS_SESSION_EXPIRED`,
   * `WS_SESSION_STALE_TOKEN`), the server ended it (`WS_SESSION_ENDED`, `WS_SESSION_REPLACED`,
   * `WS_SESSION_OVERFLOW`) or a protocol error broke it. Every unacknowledged message was
   * rejected with `err` (it may or may not have arrived); the next connection starts a new session.
   */
  reset?(err: SessionError): void;
  /** The server broke the protocol; the connection is being closed with `err.closeCode` (a `reset` follows). */
  error?(err: SessionError): void;
  /** A deadline was set: call `tick()` at or after `at` (ms, the session's clock). */
  timer?(at: number): void;
}

/** Options of {@link SessionClient}. */
export interface SessionClientOptions extends DataPathOptions {
  /** Where events go. */
  handler: SessionClientHandler;
}

/** States of {@link SessionClient}. */
export type SessionClientState = 'idle' | 'welcome' | 'open' | 'away' | 'closed';

/** One connection of a client. */
class ClientConnection implements SessionConnection {
  constructor(
    private readonly client: SessionClient,
    readonly link: SessionLink,
    readonly offer: ResumeOffer | null,
  ) {}

  receive(data: string | Uint8Array, binary: boolean): void {
    this.client.onReceive(this, data, binary);
  }

  closed(): void {
    this.client.onClosed(this);
  }
}

/** The client side of a resumable session. */
export class SessionClient {
  private readonly handler: SessionClientHandler;
  private readonly channel: Channel;
  private readonly clock: () => number;
  private readonly header = newHeader();
  private token: string | null = null;
  private idValue: string | null = null;
  private offered: ResumeOffer | null | undefined = undefined;
  private current: ClientConnection | null = null;
  private welcomed = false;
  private isClosed = false;

  /** @throws RangeError for invalid bounds */
  constructor(options: SessionClientOptions) {
    this.handler = options.handler;
    this.clock = options.clock ?? Date.now;
    this.channel = new Channel(options, {
      message: (m) => this.handler.message(m),
      acknowledged: () => {},
      persistReceived: null,
      append: null,
      failed: () => {},
      timer: (at) => this.handler.timer?.(at),
    });
  }

  /** See {@link SessionClientState}. */
  get state(): SessionClientState {
    if (this.isClosed) return 'closed';
    if (this.current !== null) return this.welcomed ? 'open' : 'welcome';
    return this.token === null ? 'idle' : 'away';
  }

  /** The session id (not a credential), once a welcome arrived. */
  get id(): string | null {
    return this.idValue;
  }

  /** Messages sent or queued and not yet acknowledged. */
  get unacknowledged(): number {
    return this.channel.outbox.length;
  }

  /** Their payload bytes. */
  get bufferedBytes(): number {
    return this.channel.outbox.bytes;
  }

  /** Last sequence number received from the server. */
  get received(): number {
    return this.channel.received;
  }

  /** Last sequence number given to a message by `send`. */
  get sent(): number {
    return this.channel.assigned;
  }

  /** When `tick` must run next (ms), or `Infinity`. */
  deadline(): number {
    return this.channel.deadline();
  }

  /** Runs what is due (a standalone acknowledgement). */
  tick(now: number = this.clock()): void {
    this.channel.tick(now);
  }

  /**
   * The subprotocols to offer on the next connection: a new session, or the resumption of the
   * current one (the entry carries the token: a credential).
   * @throws SessionError `WS_SESSION_INVALID_STATE` while connected or after `close()`
   */
  offer(): string[] {
    if (this.isClosed || this.current !== null) throw new SessionError('WS_SESSION_INVALID_STATE', 'offer() needs a client that is disconnected and not closed');
    this.offered = this.token === null ? null : { token: this.token, received: this.channel.received, sent: this.channel.maxSent };
    return offerProtocols(this.offered);
  }

  /**
   * A connection opened with the protocols of the last `offer()`, and the server selected
   * {@link SESSION_PROTOCOL}. The client waits for the server's welcome.
   * @throws SessionError `WS_SESSION_INVALID_STATE` without a preceding `offer()`, while connected, or after `close()`
   */
  connect(link: SessionLink): SessionConnection {
    if (this.isClosed || this.current !== null || this.offered === undefined) {
      throw new SessionError('WS_SESSION_INVALID_STATE', 'connect() needs an offer() and no current connection');
    }
    const conn = new ClientConnection(this, link, this.offered);
    this.offered = undefined;
    this.current = conn;
    this.welcomed = false;
    return conn;
  }

  /**
   * Sends a message, now or, while disconnected, once a connection is established. Returns its
   * sequence number; `options.done` runs when the server acknowledged it (or with the error
   * that lost it).
   * @throws SessionError `WS_SESSION_BUFFER_FULL`, `WS_SESSION_TOO_LARGE`, or `WS_SESSION_CLOSED` after `close()`
   */
  send(data: string | Uint8Array, options: SendOptions = {}): number {
    if (this.isClosed) throw new SessionError('WS_SESSION_CLOSED', 'The session was closed');
    return this.channel.send(data, options.binary ?? typeof data !== 'string', options.done ?? null);
  }

  /**
   * Ends the session: the server is told (when connected) and forgets it; unacknowledged
   * messages are rejected with `WS_SESSION_CLOSED`. To end only after everything was
   * acknowledged, wait until `unacknowledged` is 0.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const conn = this.current;
    this.current = null;
    if (conn !== null) {
      if (this.welcomed) conn.link.send(controlMessage(['end', 'closed']), false);
      conn.link.close(1000, 'session closed');
    }
    this.channel.stop(new SessionError('WS_SESSION_CLOSED', 'The session was closed'));
  }

  /** @internal */
  onReceive(conn: ClientConnection, data: string | Uint8Array, binary: boolean): void {
    if (conn !== this.current) return;
    try {
      decodeHeader(data, this.header);
      const kind = this.header.kind;
      if (kind === KIND_CONTROL) {
        const words = controlWords(data);
        const end = parseEnd(words);
        if (end !== null) this.ended(end);
        else if (this.welcomed) throw protocolError('WS_SESSION_UNEXPECTED', `Unexpected session control message "!${words[0]}"`);
        else this.welcome(conn, parseWelcome(words));
        return;
      }
      if (!this.welcomed) throw protocolError('WS_SESSION_UNEXPECTED', 'Session data before the welcome');
      if (kind === KIND_ACK) {
        this.channel.onAck(this.header.delta);
      } else if (kind === KIND_DATA) {
        if (this.header.delta > 0) this.channel.onAck(this.header.delta);
        this.channel.onData(data, this.header.start, binary);
      }
    } catch (err) {
      if (err instanceof SessionError && err.closeCode !== null && conn === this.current) this.fail(conn, err);
      else throw err;
    }
  }

  /** @internal */
  onClosed(conn: ClientConnection): void {
    if (conn !== this.current) return;
    this.current = null;
    this.welcomed = false;
    this.channel.detach();
  }

  private welcome(conn: ClientConnection, w: Welcome): void {
    const offer = conn.offer;
    if (w.kind === 'new') {
      if (this.token !== null) {
        // Offered to resume and got a new session: whatever was unacknowledged is in doubt.
        const err = refusalError(w.refusal ?? 'unknown');
        this.channel.reset(err);
        this.token = null;
        this.idValue = null;
        this.handler.reset?.(err);
        if (conn !== this.current) return;
      }
      this.start(conn, w.token, w.id, 0, 0, false);
      return;
    }
    if (offer === null || this.token === null) throw protocolError('WS_SESSION_UNEXPECTED', 'Resumed a session that was not offered');
    if (w.id !== this.idValue) throw protocolError('WS_SESSION_BAD_HANDSHAKE', 'Resumed another session');
    const bad = this.channel.checkPeerReceived(w.received) ?? this.channel.checkPeerSent(w.sent, offer.received);
    if (bad !== null) throw bad;
    this.start(conn, w.token, w.id, offer.received, w.received, true);
  }

  private start(conn: ClientConnection, token: string, id: string, stated: number, peerReceived: number, resumed: boolean): void {
    this.token = token;
    this.idValue = id;
    this.welcomed = true;
    // The confirmation goes before anything else: the server accepts nothing before it, and it
    // retires the previous token.
    conn.link.send(controlMessage(['ok']), false);
    this.channel.attach(conn.link, stated, peerReceived);
    if (conn === this.current) this.handler.ready?.({ id, resumed });
  }

  private ended(reason: EndReason): void {
    // The server closes the connection next.
    this.current = null;
    this.welcomed = false;
    this.forget(endError(reason));
  }

  private fail(conn: ClientConnection, err: SessionError): void {
    this.current = null;
    this.welcomed = false;
    conn.link.close(err.closeCode ?? 1002, err.message.slice(0, 120));
    this.handler.error?.(err);
    this.forget(err);
  }

  private forget(err: SessionError): void {
    this.channel.reset(err);
    this.token = null;
    this.idValue = null;
    this.handler.reset?.(err);
  }
}
