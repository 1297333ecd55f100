/**
 * A seeded, in-process simulation of a session over a connection that is cut and restored
 * many times: 10,000 messages each way (text and binary, some non-ASCII, some empty), cuts at
 * random points (in-flight messages in both directions lost, handshakes interrupted), half-open
 * connections where one side notices long after the other (so a resumption replaces a
 * connection the server still holds), small resend buffers that fill up while the connection is
 * down, acknowledgement timers driven by a fake clock. Counts
 * sent, received, lost, duplicated and out-of-order messages each way, and every `done`.
 */
import { describe, expect, it } from 'vitest';
import { prng } from '../core/helpers.js';
import { SessionClient } from '../../src/session/client.js';
import { SessionError } from '../../src/session/errors.js';
import { SessionServer } from '../../src/session/server.js';
import type { ServerSession } from '../../src/session/server-session.js';
import type { SessionMessage } from '../../src/session/channel.js';
import { FakeClock, Pipe, seededRandom, text } from './helpers.js';

const encoder = new TextEncoder();

/** A payload that names its index: text (sometimes non-ASCII or long) or binary. */
function payload(side: string, index: number, random: () => number): { data: string | Uint8Array; binary: boolean } {
  const r = random();
  if (r < 0.5) {
    const pad = r < 0.05 ? 'é€😀'.repeat(1 + Math.floor(random() * 20)) : r < 0.1 ? 'x'.repeat(Math.floor(random() * 3000)) : '';
    return { data: `${side}:${index}:${pad}`, binary: false };
  }
  const size = 4 + (r < 0.55 ? 0 : Math.floor(random() * 300));
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, index);
  for (let i = 4; i < size; i++) bytes[i] = (index * 31 + i) & 0xff;
  return { data: bytes, binary: true };
}

/** The index a received payload names; checks its content too. */
function indexOf(side: string, m: SessionMessage): number {
  if (m.binary) {
    const bytes = typeof m.data === 'string' ? encoder.encode(m.data) : m.data;
    const index = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    for (let i = 4; i < bytes.length; i++) if (bytes[i] !== ((index * 31 + i) & 0xff)) throw new Error(`corrupt binary ${index}`);
    return index;
  }
  const s = text(m.data);
  const [who, n] = s.split(':');
  if (who !== side) throw new Error(`unexpected text ${s.slice(0, 40)}`);
  return Number(n);
}

interface Tally {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  acknowledged: number;
  failedDone: number;
}

function tally(sent: number, seen: number[], acknowledged: number, failedDone: number): Tally {
  const counts = new Map<number, number>();
  let outOfOrder = 0;
  let last = -1;
  for (const i of seen) {
    counts.set(i, (counts.get(i) ?? 0) + 1);
    if (i <= last) outOfOrder += 1;
    last = Math.max(last, i);
  }
  let lost = 0;
  for (let i = 0; i < sent; i++) if (!counts.has(i)) lost += 1;
  let duplicated = 0;
  for (const c of counts.values()) duplicated += c - 1;
  return { sent, received: seen.length, lost, duplicated, outOfOrder, acknowledged, failedDone };
}

interface SimResult {
  toServer: Tally;
  toClient: Tally;
  cuts: number;
  halfOpen: number;
  connections: number;
  replaced: number;
  cutBeforeWelcome: number;
  cutBeforeOk: number;
  resets: number;
  errors: string[];
  bufferFull: number;
  duplicatesDropped: number;
  steps: number;
}

function simulate(seed: number, count: number): SimResult {
  const random = prng(seed);
  const clock = new FakeClock();
  const errors: string[] = [];
  const fromClient: number[] = [];
  const fromServer: number[] = [];
  let session: ServerSession | null = null;
  let replaced = 0;
  let resets = 0;
  const server = new SessionServer({
    clock: clock.read,
    random: seededRandom(seed),
    maxMessages: 40,
    handler: {
      open: (s) => {
        session = s;
      },
      resumed: (_s, info) => {
        if (info.replaced) replaced += 1;
      },
      message: (_s, m) => {
        if (m.redelivered) errors.push('redelivered flag on a local session');
        fromClient.push(indexOf('c', m));
      },
      ended: (_s, err) => errors.push(`server ended: ${err.code}`),
      expired: () => errors.push('expired'),
      error: (err) => errors.push(`server error: ${err.code}`),
    },
  });
  const client = new SessionClient({
    clock: clock.read,
    maxMessages: 30,
    handler: {
      message: (m) => fromServer.push(indexOf('s', m)),
      reset: (err) => {
        resets += 1;
        errors.push(`reset: ${err.code}`);
      },
      error: (err) => errors.push(`client error: ${err.code}`),
    },
  });

  let clientSent = 0;
  let serverSent = 0;
  let clientAcked = 0;
  let serverAcked = 0;
  let clientFailed = 0;
  let serverFailed = 0;
  let bufferFull = 0;
  let cuts = 0;
  let halfOpen = 0;
  let connections = 0;
  let cutBeforeWelcome = 0;
  let cutBeforeOk = 0;
  let pipe: Pipe | null = null;
  /** Pipes the client gave up on while the server still holds them (half-open). */
  const lingering: Pipe[] = [];

  const done = (who: 'c' | 's') => (err: SessionError | null) => {
    if (err === null) {
      if (who === 'c') clientAcked += 1;
      else serverAcked += 1;
    } else if (who === 'c') clientFailed += 1;
    else serverFailed += 1;
  };

  const cut = (partial = true): void => {
    if (pipe === null || pipe.serverClosed) return;
    cuts += 1;
    if (partial) {
      // Mid-stream: a random part of what is in flight still arrives, in each direction.
      pipe.deliverToServer(Math.floor(random() * (pipe.pendingToServer + 1)));
      pipe.deliverToClient(Math.floor(random() * (pipe.pendingToClient + 1)));
    }
    if (pipe.toClient === 0) cutBeforeWelcome += 1;
    else if (pipe.toServer === 0) cutBeforeOk += 1;
    const mode = random();
    if (mode < 0.6) {
      pipe.cut();
      pipe = null;
    } else if (mode < 0.85) {
      // The server notices only later (a dead peer it has not detected yet): the client's
      // resumption arrives while the server still holds this connection.
      halfOpen += 1;
      pipe.closeClientSide();
      lingering.push(pipe);
      pipe = null;
    } else {
      // The server notices first; the client keeps writing into the void for a while.
      pipe.closeServerSide();
    }
  };

  let steps = 0;
  const maxSteps = 3_000_000;
  for (; steps < maxSteps; steps++) {
    const finished =
      clientSent === count && serverSent === count && fromClient.length >= count && fromServer.length >= count &&
      clientAcked + clientFailed === count && serverAcked + serverFailed === count;
    if (finished) break;
    const sending = clientSent < count || serverSent < count;
    const r = random();
    if (pipe === null && random() < 0.3) {
      pipe = new Pipe(client, server, () => random() < 0.5);
      connections += 1;
      const h = random();
      if (h < 0.05) {
        cut(false); // before the welcome arrived: the server rotated the token, the client never saw it
      } else if (h < 0.1) {
        pipe.deliverToClient(1);
        cut(false); // the client has the new token, the server never got its confirmation
      }
    }
    if (r < 0.2) {
      for (let k = Math.floor(random() * 4); k > 0 && clientSent < count; k--) {
        const p = payload('c', clientSent, random);
        try {
          client.send(p.data, { binary: p.binary, done: done('c') });
          clientSent += 1;
        } catch (err) {
          if (!(err instanceof SessionError) || err.code !== 'WS_SESSION_BUFFER_FULL') throw err;
          bufferFull += 1;
          break;
        }
      }
    } else if (r < 0.4) {
      const s = session as ServerSession | null;
      for (let k = Math.floor(random() * 4); k > 0 && s !== null && serverSent < count; k--) {
        const p = payload('s', serverSent, random);
        try {
          s.send(p.data, { binary: p.binary, done: done('s') });
          serverSent += 1;
        } catch (err) {
          if (!(err instanceof SessionError) || err.code !== 'WS_SESSION_BUFFER_FULL') throw err;
          bufferFull += 1;
          break;
        }
      }
    } else if (r < 0.7) {
      if (pipe !== null) pipe.deliverToServer(1 + Math.floor(random() * 6));
    } else if (r < 0.95) {
      if (pipe !== null) pipe.deliverToClient(1 + Math.floor(random() * 6));
    } else if (r < 0.965) {
      clock.advance(Math.floor(random() * 150));
      client.tick();
      server.tick();
    } else if (r < 0.965 + (sending ? 0.035 : 0.02)) {
      cut();
    }
    // Half-open connections are noticed sooner or later.
    if (lingering.length > 0 && random() < 0.05) (lingering.shift() as Pipe).closeServerSide();
    if (pipe !== null && pipe.serverClosed && random() < 0.05) {
      pipe.closeClientSide();
      pipe = null;
    }
  }
  return {
    toServer: tally(clientSent, fromClient, clientAcked, clientFailed),
    toClient: tally(serverSent, fromServer, serverAcked, serverFailed),
    cuts,
    halfOpen,
    connections,
    replaced,
    cutBeforeWelcome,
    cutBeforeOk,
    resets,
    errors,
    bufferFull,
    duplicatesDropped: (session as ServerSession | null)?.duplicates ?? 0,
    steps,
  };
}

describe('session simulation over a connection cut and restored many times', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 10,000 messages each way, none lost, none duplicated, in order`, () => {
      const result = simulate(seed, 10_000);
      console.log(`session simulation seed ${seed}: ${JSON.stringify(result)}`);
      expect(result.errors).toEqual([]);
      for (const t of [result.toServer, result.toClient]) {
        expect(t.sent).toBe(10_000);
        expect(t.received).toBe(10_000);
        expect(t.lost).toBe(0);
        expect(t.duplicated).toBe(0);
        expect(t.outOfOrder).toBe(0);
        expect(t.acknowledged).toBe(10_000);
        expect(t.failedDone).toBe(0);
      }
      // The faults the simulation claims to exercise did happen.
      expect(result.cuts).toBeGreaterThan(1000);
      expect(result.halfOpen).toBeGreaterThan(200);
      expect(result.replaced).toBeGreaterThan(100);
      expect(result.cutBeforeWelcome).toBeGreaterThan(50);
      expect(result.cutBeforeOk).toBeGreaterThan(50);
      expect(result.bufferFull).toBeGreaterThan(10); // senders met a full resend buffer and waited
      expect(result.resets).toBe(0);
      expect(result.steps).toBeLessThan(3_000_000);
    });
  }
});
