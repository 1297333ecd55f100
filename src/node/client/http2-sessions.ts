/**
 * The HTTP/2 sessions of clients dialled with `http2: true`: one session per origin and set of
 * connection options, shared by every WebSocket dialled to it (RFC 8441 puts each WebSocket on a
 * stream of one connection), opened on first use and closed once idle.
 *
 * - A session is usable for WebSockets once the server's first SETTINGS frame says
 *   `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3). Dials wait for that frame.
 * - A server whose SETTINGS do not say so, or a connection that does not become an HTTP/2
 *   session at all (an HTTP/1.1-only server: no `h2` in TLS ALPN, or an answer that is not an
 *   HTTP/2 preface), makes the dial fall back to HTTP/1.1; the origin is remembered as such for
 *   {@link HTTP1_MEMORY} ms, so later dials go to HTTP/1.1 at once. A network error (refused,
 *   unreachable, unknown host) is reported as it is, without a second try over HTTP/1.1.
 * - A GOAWAY from the server (RFC 9113 §6.8) retires the session: its WebSockets go on until
 *   they close, new dials open a new session.
 * - A session with no WebSocket left does not keep the process alive (`unref`) and is closed
 *   after {@link IDLE_SESSION_TIMEOUT} ms without one.
 *
 * The pool is module state: a process that loads both the ES module and the CommonJS build has
 * two pools (and so up to two sessions per origin).
 *
 * @internal
 * @module
 */
import http2, { type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import { WebSocketError } from '../../core/errors.js';

/** How long a session without WebSockets stays open for the next dial (ms). */
export const IDLE_SESSION_TIMEOUT = 5000;

/** How long an origin that did not offer WebSockets over HTTP/2 is dialled over HTTP/1.1 directly (ms). */
export const HTTP1_MEMORY = 60_000;

/** A session's use by one WebSocket: `release()` once its stream is over. */
export interface SessionLease {
  readonly session: ClientHttp2Session;
  release(): void;
}

/** What a dial gets: a session to open a stream on, a reason to use HTTP/1.1, or a network error. */
export type SessionOutcome = { lease: SessionLease } | { fallback: string } | { error: Error };

type Waiter = (outcome: SessionOutcome) => void;

interface Entry {
  readonly key: string;
  readonly session: ClientHttp2Session;
  /** The server's first SETTINGS arrived and allowed extended CONNECT. */
  ready: boolean;
  waiters: Waiter[];
  /** Leases not yet released. */
  leases: number;
  idleTimer: NodeJS.Timeout | null;
}

const entries = new Map<string, Entry>();
const http1Until = new Map<string, number>();

/**
 * Forgets which origins were found without WebSockets over HTTP/2. For tests, whose servers
 * listen on port 0: a port number the system gives again within {@link HTTP1_MEMORY} would
 * otherwise send an HTTP/2 test's dials to HTTP/1.1. @internal
 */
export function forgetHttp1Origins(): void {
  http1Until.clear();
}

/** Errors of the network itself, which HTTP/1.1 would meet as well. */
function isNetworkError(err: Error): boolean {
  return typeof (err as { syscall?: unknown }).syscall === 'string';
}

/**
 * Gets a session for `key`, opening one with `connect` if there is none, and calls `cb` with the
 * outcome: at once when known, else once the server's SETTINGS (or a failure) arrived. Returns a
 * function that withdraws the request (a handshake aborted while waiting).
 *
 * @throws what `connect` throws (invalid options)
 */
export function acquireSession(key: string, connect: () => ClientHttp2Session, cb: Waiter): () => void {
  const until = http1Until.get(key);
  if (until !== undefined) {
    if (until > Date.now()) {
      cb({ fallback: 'the server did not offer WebSockets over HTTP/2 recently' });
      return noop;
    }
    http1Until.delete(key);
  }
  const entry = entries.get(key) ?? open(key, connect);
  if (entry.ready) {
    cb({ lease: lease(entry) });
    return noop;
  }
  entry.waiters.push(cb);
  return () => {
    const at = entry.waiters.indexOf(cb);
    if (at !== -1) entry.waiters.splice(at, 1);
    checkIdle(entry);
  };
}

function noop(): void {}

function open(key: string, connect: () => ClientHttp2Session): Entry {
  const session = connect();
  const entry: Entry = { key, session, ready: false, waiters: [], leases: 0, idleTimer: null };
  entries.set(key, entry);
  session.on('error', (err: Error) => {
    retire(entry);
    if (entry.ready) return; // the streams report it
    if (isNetworkError(err)) settle(entry, { error: err });
    else giveUp(entry, `no HTTP/2 session (${err.message})`);
  });
  session.once('remoteSettings', (settings) => {
    // RFC 8441 §3: extended CONNECT only after SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    if (settings.enableConnectProtocol !== true) {
      giveUp(entry, 'the server does not offer WebSockets over HTTP/2 (SETTINGS_ENABLE_CONNECT_PROTOCOL)');
      return;
    }
    entry.ready = true;
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const waiter of waiters) waiter({ lease: lease(entry) });
    checkIdle(entry);
  });
  // RFC 9113 §6.8: after GOAWAY no new stream may be opened; the open ones go on.
  session.on('goaway', () => retire(entry));
  session.on('close', () => {
    retire(entry);
    if (entry.idleTimer !== null) clearTimeout(entry.idleTimer);
    settle(entry, { error: new WebSocketError('WS_ERR_HANDSHAKE', 'The HTTP/2 session closed before the server sent its settings') });
  });
  return entry;
}

/** The origin does not do WebSockets over HTTP/2: HTTP/1.1 for the waiting dials and for a while. */
function giveUp(entry: Entry, reason: string): void {
  http1Until.set(entry.key, Date.now() + HTTP1_MEMORY);
  retire(entry);
  settle(entry, { fallback: reason });
  if (entry.leases === 0) entry.session.close();
}

function settle(entry: Entry, outcome: SessionOutcome): void {
  const waiters = entry.waiters;
  entry.waiters = [];
  for (const waiter of waiters) waiter(outcome);
}

/** Takes the session out of the pool: later dials open another. */
function retire(entry: Entry): void {
  if (entries.get(entry.key) === entry) entries.delete(entry.key);
}

function lease(entry: Entry): SessionLease {
  entry.leases++;
  checkIdle(entry);
  let released = false;
  return {
    session: entry.session,
    release: () => {
      if (released) return;
      released = true;
      entry.leases--;
      checkIdle(entry);
    },
  };
}

/** A session in use keeps the process alive; an idle one does not, and closes after a while. */
function checkIdle(entry: Entry): void {
  const session = entry.session;
  if (session.closed || session.destroyed) return;
  if (entry.leases > 0 || entry.waiters.length > 0) {
    if (entry.idleTimer !== null) clearTimeout(entry.idleTimer);
    entry.idleTimer = null;
    session.ref();
    return;
  }
  session.unref();
  if (entry.idleTimer !== null) return;
  entry.idleTimer = setTimeout(closeIdle, IDLE_SESSION_TIMEOUT, entry);
  entry.idleTimer.unref();
}

function closeIdle(entry: Entry): void {
  entry.idleTimer = null;
  if (entry.leases > 0 || entry.waiters.length > 0) return;
  retire(entry);
  entry.session.close();
}

/** Identities of option values that are objects (certificates, keys, functions) in pool keys. */
const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/**
 * The pool key of a dial: the authority plus every connection option, objects by identity, so
 * that only dials with the same TLS settings share a session.
 */
export function sessionKey(authority: string, options: SecureClientSessionOptions & { socketPath?: string }): string {
  let key = authority;
  for (const name of Object.keys(options).sort()) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
      let id = identities.get(value);
      if (id === undefined) identities.set(value, (id = ++nextIdentity));
      key += `|${name}=#${id}`;
    } else {
      key += `|${name}=${String(value)}`;
    }
  }
  return key;
}

/** Opens a session (a thin wrapper, so that the dialer has one place to connect). */
export function connectSession(authority: string, options: SecureClientSessionOptions): ClientHttp2Session {
  return http2.connect(authority, options);
}
