/**
 * A resumable session as a server application sees it: one logical connection with its own
 * events, while the WebSocket connections underneath come and go (src/session/ holds the
 * protocol; node/server/sessions.ts binds it to the server).
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { type ServerSession, SessionError } from '../../session/index.js';
import type { WebSocket } from '../socket/websocket.js';

/** What a received session message carries besides its payload. */
export interface SessionMessageInfo {
  /** Its sequence number in the session (1 for the client's first message). */
  seq: number;
  /**
   * `true` when it may have been delivered before: the session was restored from a shared
   * store after the server that held it died, and the client resent it. An application that
   * must not process a message twice ignores a `seq` it has seen.
   */
  redelivered: boolean;
}

/** Events of a {@link Session} and their arguments. */
export interface SessionEvents {
  /** A message from the client, once and in order; text arrives as a Buffer, as on a WebSocket. */
  message: [data: Buffer, isBinary: boolean, info: SessionMessageInfo];
  /**
   * The client came back on a new connection. `restored`: the session was loaded from the
   * store (another server held it). `replaced`: a connection was still attached and was closed.
   */
  resumed: [
    info: {
      /** The session was loaded from the store (another server held it). */
      restored: boolean;
      /** A connection was still attached and was closed. */
      replaced: boolean;
    },
  ];
  /** The connection closed; the session can be resumed within `resumeWindow`. */
  away: [];
  /** The session stayed away longer than `resumeWindow`; unacknowledged messages were dropped. */
  expired: [
    info: {
      /** Messages sent to the client that it had not acknowledged (dropped with the session). */
      unacknowledged: number;
    },
  ];
  /** The session is over: ended by either side, expired, failed, or taken over by another server. */
  close: [err: SessionError];
  /** A `send()` found the resend buffer full (`WS_SESSION_BUFFER_FULL`). */
  overflow: [err: SessionError];
}

/** Options of {@link Session.send}. */
export interface SessionSendOptions {
  /** Send as binary (default: `true` unless `data` is a string). */
  binary?: boolean;
}

/**
 * One resumable session (server side). Messages sent with {@link send} are delivered to the
 * client exactly once and in order, across reconnections; the promise resolves when the client
 * acknowledged the message.
 */
export class Session extends EventEmitter<SessionEvents> {
  /** The session id: stable across resumptions, not a credential. */
  readonly id: string;
  /** @internal The protocol state (a new copy when the session is restored from the store). */
  state: ServerSession;
  /** @internal The connection carrying the session now, if any. */
  current: WebSocket | null = null;

  /** Tells the server that {@link close} ended the session (the protocol state does not report it). */
  private readonly onEnded: (session: Session, err: SessionError) => void;

  /** @internal Made by the server when a session opens. */
  constructor(state: ServerSession, onEnded: (session: Session, err: SessionError) => void) {
    super();
    this.id = state.id;
    this.state = state;
    this.onEnded = onEnded;
  }

  /** The WebSocket carrying the session now, or `null` while the client is away. */
  get socket(): WebSocket | null {
    return this.current;
  }

  /** Whether a connection is attached (and the client confirmed the session). */
  get connected(): boolean {
    return this.state.connected;
  }

  /** Whether the session is over. */
  get closed(): boolean {
    return this.state.ended;
  }

  /** Messages for the client not acknowledged yet (sent, or waiting for it to come back). */
  get unacknowledged(): number {
    return this.state.unacknowledged;
  }

  /** Their payload bytes. */
  get bufferedAmount(): number {
    return this.state.bufferedBytes;
  }

  /**
   * Sends a message: now, or when the client comes back. Resolves once the client acknowledged
   * it; rejects with a `SessionError` when it cannot be delivered: the resend buffer is full
   * (`WS_SESSION_BUFFER_FULL`), the message is larger than it (`WS_SESSION_TOO_LARGE`), or the
   * session ended before the client acknowledged it (`WS_SESSION_EXPIRED`, `_CLOSED`, ...).
   * A rejection nobody observes is not reported as unhandled.
   */
  send(data: string | Buffer | Uint8Array, options: SessionSendOptions = {}): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.state.send(data, {
        binary: options.binary ?? typeof data !== 'string',
        done: (err) => (err ? reject(err) : resolve()),
      });
    });
    promise.catch(() => {});
    return promise;
  }

  /**
   * Sends without a promise (for the hub): `sent` on a connected session, `held` while the
   * client is away, `full` when the resend buffer refused it, `closed` when the session is over.
   * @internal
   */
  offer(data: Buffer, binary: boolean): 'sent' | 'held' | 'full' | 'closed' {
    if (this.state.ended) return 'closed';
    try {
      this.state.send(data, { binary });
    } catch {
      return this.state.ended ? 'closed' : 'full';
    }
    return this.state.connected ? 'sent' : 'held';
  }

  /**
   * Ends the session: the client is told (close 4002) and will not resume it; messages not
   * acknowledged yet are rejected with `WS_SESSION_CLOSED`. The `close` event follows at once.
   */
  close(): void {
    if (this.state.ended) return;
    this.state.end();
    this.onEnded(this, new SessionError('WS_SESSION_CLOSED', 'The session was ended'));
  }
}
