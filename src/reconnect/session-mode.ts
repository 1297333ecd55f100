/**
 * The session mode of the reconnecting client, free of any platform: one {@link SessionClient}
 * (src/session, the protocol shared with the server) lives as long as the reconnecting client,
 * and every connection the policy dials offers it and carries it. Sends go into the session's
 * resend buffer (not the policy's queue) and settle when the server acknowledged them; messages
 * reach the application once and in order with their sequence number; a session that cannot be
 * resumed is reported with the sends it failed.
 *
 * The policy (policy.ts) drives it: `offer()` when dialling, `connect()` when a connection
 * opened with the session subprotocol, the connection's messages and its end; `close()` when
 * the client stops. The deadlines of the session (standalone acknowledgements) run on one
 * `setTimeout`, which every platform has.
 *
 * @module
 */
import {
  type DataPathOptions,
  SESSION_PROTOCOL,
  SessionClient,
  type SessionConnection,
  SessionError,
  type SessionLink,
  type SessionMessage,
} from '../session/index.js';

/** The `session` option of a reconnecting client: the resend buffer and acknowledgement settings. */
export type SessionModeOptions = Omit<DataPathOptions, 'clock'>;

/** What a message received in session mode carries besides its payload. */
export interface MessageInfo {
  /** Its sequence number in the session (1 for the server's first message of the session). */
  seq: number;
  /**
   * `true` when it may have been delivered before. Only a server restored from a shared store
   * resends with this flag; a client's messages from the server are always `false` today.
   */
  redelivered: boolean;
}

/** A session as established on a connection. */
export interface SessionInfo {
  /** The session id: stable across resumptions, not a credential. */
  id: string;
  /** `true` when the connection resumed the session, `false` for a new one. */
  resumed: boolean;
}

/** A send the session failed: its promise was rejected; the message may or may not have arrived. */
export interface RejectedSend {
  /** Its sequence number in the session that was lost. */
  seq: number;
  /** The payload as the session took it (a string, or bytes). */
  data: string | Uint8Array;
  /** Sent as binary. */
  binary: boolean;
}

/** What the session mode needs of its platform and owner. */
export interface SessionModeHost {
  /** Writes one WebSocket message on the connection being used (text may come as UTF-8 bytes). */
  write(data: string | Uint8Array, binary: boolean): void;
  /** Closes the connection being used. */
  close(code: number, reason: string): void;
  /** The session is established on the current connection. */
  ready(info: SessionInfo): void;
  /** A message from the server, once and in order. */
  message(message: SessionMessage): void;
  /** The session is gone (see {@link SessionMode}); the next connection starts a new one. */
  reset(err: SessionError, rejected: readonly RejectedSend[]): void;
  /** The server broke the session protocol (its connection is being closed). */
  error(err: SessionError): void;
}

/** The session layer of one reconnecting client. */
export class SessionMode {
  private readonly client: SessionClient;
  private readonly host: SessionModeHost;
  private conn: SessionConnection | null = null;
  /** Sends rejected since the last reset was reported (a reset rejects them just before it is reported). */
  private rejected: RejectedSend[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;

  /** @throws RangeError for invalid bounds */
  constructor(options: SessionModeOptions, host: SessionModeHost) {
    this.host = host;
    this.client = new SessionClient({
      ...options,
      handler: {
        message: (m) => this.host.message(m),
        ready: (info) => this.host.ready(info),
        reset: (err) => {
          const rejected = this.rejected;
          this.rejected = [];
          this.host.reset(err, rejected);
        },
        error: (err) => this.host.error(err),
        timer: (at) => this.arm(at),
      },
    });
  }

  /** The session id, once a server welcomed the client (`null` before, and after a reset). */
  get id(): string | null {
    return this.client.id;
  }

  /** Messages sent and not yet acknowledged by the server (including those waiting for a connection). */
  get unacknowledged(): number {
    return this.client.unacknowledged;
  }

  /** Their payload bytes (strings count UTF-16 code units). */
  get bufferedBytes(): number {
    return this.client.bufferedBytes;
  }

  /** The subprotocols to offer on the next connection: a new session, or the resumption of this one. */
  offer(): string[] {
    return this.client.offer();
  }

  /**
   * A connection opened. Returns the error that stops the client when the server did not
   * select the session subprotocol (it has no sessions; RFC 6455 §4.2.2 lets it select none),
   * else `null`: the session takes the connection and waits for the server's welcome.
   */
  connect(protocol: string): SessionError | null {
    if (protocol !== SESSION_PROTOCOL) {
      const selected = protocol === '' ? 'none' : `"${protocol}"`;
      return new SessionError('WS_SESSION_UNSUPPORTED', `The server did not select the session subprotocol ${SESSION_PROTOCOL} (selected ${selected}): it has no sessions`);
    }
    const link: SessionLink = {
      send: (data, binary) => this.host.write(data, binary),
      close: (code, reason) => this.host.close(code, reason),
    };
    this.conn = this.client.connect(link);
    return null;
  }

  /** A WebSocket message on the current connection. */
  receive(data: string | Uint8Array, binary: boolean): void {
    this.conn?.receive(data, binary);
  }

  /** The current connection closed (or was given up). */
  disconnected(): void {
    const conn = this.conn;
    this.conn = null;
    conn?.closed();
  }

  /**
   * Sends a message through the session: resolves when the server acknowledged it; rejects
   * with a {@link SessionError} when it does not fit the resend buffer, when the session is
   * lost before the acknowledgement (a `reset`), or when the client stops. A rejection nobody
   * observes is not reported as unhandled.
   */
  send(data: string | Uint8Array, binary: boolean): Promise<void> {
    let promise: Promise<void>;
    try {
      let seq = 0;
      promise = new Promise<void>((resolve, reject) => {
        seq = this.client.send(data, {
          binary,
          done: (err) => {
            if (err === null) {
              resolve();
              return;
            }
            // A reset reports them next; a close reports them only through the promises.
            this.rejected.push({ seq, data, binary });
            reject(err);
          },
        });
      });
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.catch(() => {});
    return promise;
  }

  /**
   * Ends the session for good: when connected, the server is told and forgets it; sends not
   * acknowledged yet are rejected with `err`.
   */
  close(err: SessionError): void {
    this.clearTimer();
    this.conn = null;
    this.client.close(err);
    this.rejected = [];
  }

  /** One timer serves the session's deadlines: the earliest one asked for. */
  private arm(at: number): void {
    if (this.timer !== null && at >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    this.client.tick();
    const next = this.client.deadline();
    if (next !== Infinity && this.client.state !== 'closed') this.arm(next);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }
}
