/**
 * Resumable sessions on a WebSocketServer (the `sessions` option): the server selects
 * {@link SESSION_PROTOCOL} when a client offers it, and hands such connections to the
 * sans-I/O session server (src/session/) instead of emitting `connection`; the application
 * gets a {@link Session} per logical session through the server's `session` event. Plain
 * clients on the same server are not affected.
 *
 * The resumption token travels in `Sec-WebSocket-Protocol` (the only header a browser can
 * set). It is a credential: it is read from the request and then removed from the request the
 * application sees (`req.headers`, `req.rawHeaders`), so that `verifyClient`, `connection`
 * logs and diagnostics never carry it.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import {
  type DataPathOptions,
  parseOffer,
  RESUME_PREFIX,
  type ServerSession,
  SessionError,
  type SessionLink,
  type SessionMessage,
  type SessionOffer,
  SessionServer,
  type SessionStore,
} from '../../session/index.js';
import type { WebSocket } from '../socket/websocket.js';
import { Session } from './session.js';

/** The `sessions` option of a WebSocketServer. */
export interface ServerSessionOptions extends DataPathOptions {
  /** Where sessions live (default: in this process's memory; a shared store for failover). */
  store?: SessionStore;
  /** How long (ms) a session stays resumable after its connection closed (default 120,000). */
  resumeWindow?: number;
  /** Most sessions held, connected or away; beyond it new ones are refused with 1013 (default 100,000). */
  maxSessions?: number;
  /** A full resend buffer: `reject` refuses that send, `end` ends the session (default `reject`). */
  overflow?: 'reject' | 'end';
  /** This server's identity in a shared store (default: random per run). */
  serverId?: string;
}

/** What the binding tells its server. @internal */
export interface SessionServerEvents {
  /** A session this server had not seen (new, or restored from the store): the server emits `session`. */
  opened(session: Session, req: IncomingMessage): void;
}

/** A connection's handle as the session layer sees it, with what the binding needs to know. */
class SocketLink implements SessionLink {
  constructor(
    readonly ws: WebSocket,
    readonly req: IncomingMessage,
  ) {}

  send(data: string | Uint8Array, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
}

/** The session protocol on one WebSocketServer. @internal */
export class ServerSessions {
  private readonly server: SessionServer;
  /** Facades by session id: a session restored from the store is a new state under the same facade. */
  private readonly byId = new Map<string, Session>();
  private readonly events: SessionServerEvents;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  /** @throws RangeError for invalid options */
  constructor(options: ServerSessionOptions, events: SessionServerEvents) {
    this.events = events;
    this.server = new SessionServer({
      ...options,
      handler: {
        open: (state) => this.connected(state, null),
        resumed: (state, info) => this.connected(state, info),
        message: (state, message) => this.message(state, message),
        away: (state) => this.away(state),
        expired: (state, info) => this.expired(state, info),
        ended: (state, err) => this.ended(state, err),
        overflow: (state, err) => this.current(state)?.emit('overflow', err),
        timer: (at) => this.arm(at),
      },
    });
  }

  /** Sessions held here (connected or away), by id. */
  get sessions(): ReadonlyMap<string, Session> {
    return this.byId;
  }

  /**
   * Reads the client's session offer from an upgrade request and removes the resumption token
   * from it. Returns `null` when the client did not ask for a session.
   */
  takeOffer(req: IncomingMessage): SessionOffer | null {
    const offer = parseOffer(req.headers['sec-websocket-protocol']);
    if (offer !== null) redactToken(req);
    return offer;
  }

  /** A connection that selected the session protocol opened: the session layer takes it. */
  accept(ws: WebSocket, offer: SessionOffer, req: IncomingMessage): void {
    const conn = this.server.connect(offer, new SocketLink(ws, req));
    ws.on('message', (data: Buffer, isBinary: boolean) => conn.receive(data, isBinary));
    ws.on('close', () => conn.closed());
    // The connection's own errors end in its close, which the session handles (it goes away).
    ws.on('error', () => {});
  }

  /** Forgets session `id` here without touching the store (another server claimed it). */
  release(id: string): boolean {
    return this.server.release(id);
  }

  /** Stops the deadline timer (the server closed; sessions left are resumable elsewhere or expire here). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  /** A connection carries `state` now: a new session, a resumption, or a copy restored from the store. */
  private connected(state: ServerSession, info: { restored: boolean; replaced: boolean } | null): void {
    const link = state.link as SocketLink | null;
    let session = this.byId.get(state.id);
    const fresh = session === undefined;
    if (session === undefined) {
      session = new Session(state, (closed, err) => this.closed(closed, err));
      this.byId.set(state.id, session);
    } else {
      session.state = state;
    }
    session.current = link?.ws ?? null;
    if (fresh && link !== null) this.events.opened(session, link.req);
    if (info !== null) session.emit('resumed', info);
  }

  /** The facade of `state` while it is the live copy of its session. */
  private current(state: ServerSession): Session | undefined {
    const session = this.byId.get(state.id);
    return session !== undefined && session.state === state ? session : undefined;
  }

  private message(state: ServerSession, message: SessionMessage): void {
    this.current(state)?.emit('message', toBuffer(message.data), message.binary, { seq: message.seq, redelivered: message.redelivered });
  }

  private away(state: ServerSession): void {
    const session = this.current(state);
    if (session === undefined) return;
    session.current = null;
    session.emit('away');
  }

  private expired(state: ServerSession, info: { unacknowledged: number }): void {
    const session = this.current(state);
    if (session === undefined) return;
    session.emit('expired', info);
    this.closed(session, new SessionError('WS_SESSION_EXPIRED', 'The session expired'));
  }

  private ended(state: ServerSession, err: SessionError): void {
    const session = this.current(state);
    // A copy replaced by a newer one here keeps its facade (the new copy has it).
    if (session !== undefined) this.closed(session, err);
  }

  private closed(session: Session, err: SessionError): void {
    if (this.byId.get(session.id) === session) this.byId.delete(session.id);
    session.current = null;
    session.emit('close', err);
  }

  /** One timer serves every session's deadlines (acknowledgements, expiries). */
  private arm(at: number): void {
    if (at >= this.timerAt && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    this.server.tick();
    const next = this.server.deadline();
    if (next !== Infinity) this.arm(next);
  }
}

/** Removes the resumption entry (a credential) from a request's subprotocol header. */
function redactToken(req: IncomingMessage): void {
  const strip = (value: string): string =>
    value
      .split(',')
      .map((p) => p.trim())
      .filter((p) => !p.startsWith(RESUME_PREFIX))
      .join(', ');
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header === 'string') req.headers['sec-websocket-protocol'] = strip(header);
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'sec-websocket-protocol') raw[i + 1] = strip(raw[i + 1] as string);
  }
}

function toBuffer(data: string | Uint8Array): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
