/**
 * Test helpers for the session layer: a fake clock, a seeded random source, recording links
 * and a simulated connection between a {@link SessionClient} and a {@link SessionServer} whose
 * two directions are message queues the test delivers, drops or cuts at will.
 */
import { mulberry32 } from '../core/helpers.js';
import type { SessionConnection, SessionLink } from '../../src/session/channel.js';
import type { SessionClient } from '../../src/session/client.js';
import { parseOffer } from '../../src/session/handshake.js';
import { MemorySessionStore } from '../../src/session/memory-store.js';
import type { SessionServer } from '../../src/session/server.js';
import type { SessionStore, StoredMessage } from '../../src/session/store.js';
import type { RandomSource } from '../../src/session/token.js';

/** A clock the test moves. */
export class FakeClock {
  now = 1_000_000;
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A deterministic random source (mulberry32), so tokens are reproducible. */
export function seededRandom(seed: number): RandomSource {
  const next = mulberry32(seed);
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  };
}

/** One WebSocket message in flight, as the socket would carry it (bytes are copied when written). */
export interface Wire {
  data: string | Uint8Array;
  binary: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of a message as a WebSocket frame payload would carry them. */
export function wireBytes(m: Wire): Uint8Array {
  return typeof m.data === 'string' ? encoder.encode(m.data) : m.data;
}

/** A text payload as a string, whatever form it arrived in. */
export function text(data: string | Uint8Array): string {
  return typeof data === 'string' ? data : decoder.decode(data);
}

/** A link that records what the session writes and how it closed. */
export class RecordingLink implements SessionLink {
  readonly sent: Wire[] = [];
  closeCode: number | null = null;
  closeReason = '';
  /** Writes after close() (a session must make none). */
  afterClose = 0;

  send(data: string | Uint8Array, binary: boolean): void {
    if (this.closeCode !== null) this.afterClose += 1;
    // A socket serialises the bytes when written: copy, so a later reuse of the buffer cannot change them.
    this.sent.push({ data: typeof data === 'string' ? data : Uint8Array.from(data), binary });
  }

  close(code: number, reason: string): void {
    if (this.closeCode === null) {
      this.closeCode = code;
      this.closeReason = reason;
    }
  }

  /** Sent messages as text (binary shown as `<bin:hex>`). */
  texts(): string[] {
    return this.sent.map((m) => (m.binary ? `<bin:${Buffer.from(wireBytes(m)).toString('hex')}>` : text(m.data)));
  }

  /** Removes and returns what was sent so far. */
  take(): Wire[] {
    return this.sent.splice(0, this.sent.length);
  }
}

/**
 * A simulated connection between a client and a server: each side writes into its own queue;
 * the test delivers messages one at a time ({@link deliverToServer} / {@link deliverToClient}),
 * and cuts it by closing either side's view of it.
 */
export class Pipe {
  readonly clientLink = new RecordingLink();
  readonly serverLink = new RecordingLink();
  readonly clientConn: SessionConnection;
  readonly serverConn: SessionConnection;
  /** Delivered counts per direction. */
  toServer = 0;
  toClient = 0;
  clientClosed = false;
  serverClosed = false;

  constructor(
    client: SessionClient,
    server: SessionServer,
    private readonly textAsBytes: () => boolean = () => false,
  ) {
    const protocols = client.offer();
    const offer = parseOffer(protocols);
    if (offer === null) throw new Error('client did not offer the session protocol');
    this.serverConn = server.connect(offer, this.serverLink);
    this.clientConn = client.connect(this.clientLink);
  }

  /** Messages waiting to reach the server / the client. */
  get pendingToServer(): number {
    return this.clientLink.sent.length;
  }

  get pendingToClient(): number {
    return this.serverLink.sent.length;
  }

  /** Delivers up to `n` messages to the server; returns how many. */
  deliverToServer(n = Infinity): number {
    let k = 0;
    while (k < n && this.clientLink.sent.length > 0 && !this.serverClosed) {
      const m = this.clientLink.sent.shift() as Wire;
      this.serverConn.receive(this.form(m), m.binary);
      k += 1;
      this.toServer += 1;
    }
    return k;
  }

  /** Delivers up to `n` messages to the client; returns how many. */
  deliverToClient(n = Infinity): number {
    let k = 0;
    while (k < n && this.serverLink.sent.length > 0 && !this.clientClosed) {
      const m = this.serverLink.sent.shift() as Wire;
      this.clientConn.receive(this.form(m), m.binary);
      k += 1;
      this.toClient += 1;
    }
    return k;
  }

  /** Delivers both ways until nothing moves (bounded). */
  settle(limit = 1_000_000): void {
    for (let i = 0; i < limit; i++) {
      const moved = this.deliverToServer() + this.deliverToClient();
      if (moved === 0) return;
    }
    throw new Error('pipe did not settle');
  }

  /** The client's side of the connection ends (its transport noticed the cut); in-flight messages to it are lost. */
  closeClientSide(): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    this.serverLink.sent.length = 0;
    this.clientConn.closed();
  }

  /** The server's side ends; in-flight messages to it are lost. */
  closeServerSide(): void {
    if (this.serverClosed) return;
    this.serverClosed = true;
    this.clientLink.sent.length = 0;
    this.serverConn.closed();
  }

  /** Both sides notice a cut at once. */
  cut(): void {
    this.closeClientSide();
    this.closeServerSide();
  }

  /** Text as the receiving transport would hand it over: a string (browser) or UTF-8 bytes (Node). */
  private form(m: Wire): string | Uint8Array {
    if (m.binary) return typeof m.data === 'string' ? encoder.encode(m.data) : Uint8Array.from(m.data);
    if (typeof m.data === 'string') return this.textAsBytes() ? encoder.encode(m.data) : m.data;
    return this.textAsBytes() ? Uint8Array.from(m.data) : decoder.decode(m.data);
  }
}

/** One store call waiting to be applied. */
interface DeferredOp {
  owner: string;
  apply: () => unknown;
  ok: ((value: unknown) => void) | null;
  fail: ((err: unknown) => void) | null;
}

/**
 * A store whose writes happen only when the test says so ({@link flush}), in call order, like a
 * remote store with latency; {@link crash} drops the writes a dead server had issued and that
 * never reached the store. Answers are delivered synchronously from `flush` through thenables,
 * so a simulation stays deterministic.
 */
export class DeferredStore {
  readonly inner = new MemorySessionStore();
  /** Calls applied, by method. */
  readonly applied = new Map<string, number>();
  private ops: DeferredOp[] = [];
  /** Called with each message whose append was applied. */
  onAppend: (message: StoredMessage) => void = () => {};

  /** Calls waiting. */
  get pending(): number {
    return this.ops.length;
  }

  /** A store for the server `owner` (writes tagged so a crash drops them). */
  view(owner: string): SessionStore {
    const inner = this.inner;
    const d = <T>(name: string, apply: () => T): PromiseLike<T> => this.defer(owner, name, apply);
    return {
      create: (record) => d('create', () => inner.create(record)),
      claim: (id, secret, fresh, now, owner, copy) => d('claim', () => inner.claim(id, secret, fresh, now, owner, copy)),
      confirm: (id, owner, secret) => d('confirm', () => inner.confirm(id, owner, secret)),
      append: (id, owner, message) =>
        d('append', () => {
          inner.append(id, owner, message);
          this.onAppend(message);
        }),
      acknowledge: (id, owner, upTo) => d('acknowledge', () => inner.acknowledge(id, owner, upTo)),
      received: (id, owner, upTo) => d('received', () => inner.received(id, owner, upTo)),
      away: (id, owner, expiresAt) => d('away', () => inner.away(id, owner, expiresAt)),
      delete: (id, owner) => d('delete', () => inner.delete(id, owner)),
    };
  }

  /** Applies up to `n` waiting calls, oldest first; returns how many. */
  flush(n = Infinity): number {
    let k = 0;
    while (k < n && this.ops.length > 0) {
      const op = this.ops.shift() as DeferredOp;
      k += 1;
      let value: unknown;
      try {
        value = op.apply();
      } catch (err) {
        op.fail?.(err);
        continue;
      }
      op.ok?.(value);
    }
    return k;
  }

  /** The server `owner` died: its calls that were not applied never will be. */
  crash(owner: string): number {
    const before = this.ops.length;
    this.ops = this.ops.filter((op) => op.owner !== owner);
    return before - this.ops.length;
  }

  private defer<T>(owner: string, name: string, apply: () => T): PromiseLike<T> {
    const op: DeferredOp = {
      owner,
      apply: () => {
        const value = apply();
        this.applied.set(name, (this.applied.get(name) ?? 0) + 1);
        return value;
      },
      ok: null,
      fail: null,
    };
    this.ops.push(op);
    const thenable = {
      then: (ok?: (value: unknown) => unknown, fail?: (err: unknown) => unknown) => {
        op.ok = ok ?? null;
        op.fail = fail ?? null;
        return thenable;
      },
    };
    return thenable as unknown as PromiseLike<T>;
  }
}
