/**
 * The fault test of the client's session mode: a ReconnectingWebSocket in session mode talks to
 * a WebSocketServer with `sessions` through a TCP proxy that the test cuts (in the middle of a
 * chunk, in either direction, with a FIN or a reset) and takes down for a while, many times,
 * while 10,000 messages go each way (text and binary, some large enough to span several
 * chunks). Every message must arrive once and in order, and every client send must be
 * acknowledged: counted, printed and asserted.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type Session } from '../../src/index.js';
import { ReconnectingWebSocket } from '../../src/reconnect/index.js';
import { prng } from '../core/helpers.js';
import { onCleanup, runCleanups, waitFor } from '../node/helpers.js';
import { CuttingProxy } from './proxy.js';

afterEach(runCleanups);

const COUNT = 10_000;
/** Most unacknowledged messages each side keeps in flight (below the default resend buffer of 1,000). */
const WINDOW = 150;

/** Message `i` from `side`: text or binary, 3% of them 24 KiB (several TCP chunks). */
function message(side: 'c' | 's', i: number, random: () => number): string | Buffer {
  const big = random() < 0.03;
  if (random() < 0.5) return `${side}:${i}:${big ? 'x'.repeat(24 * 1024) : ''}`;
  const b = Buffer.alloc(big ? 24 * 1024 : 8);
  b.writeUInt32BE(i, 0);
  return b;
}

function indexOf(data: Buffer, isBinary: boolean): number {
  return isBinary ? data.readUInt32BE(0) : Number(data.toString('latin1', 0, 16).split(':')[1]);
}

/** How a list of received indexes compares to 0 … sent − 1. */
function tally(sent: number, received: readonly number[]): { sent: number; received: number; lost: number; duplicated: number; inOrder: boolean } {
  const unique = new Set(received);
  let lost = 0;
  for (let i = 0; i < sent; i++) if (!unique.has(i)) lost += 1;
  return {
    sent,
    received: received.length,
    lost,
    duplicated: received.length - unique.size,
    inOrder: received.every((v, k) => v === k),
  };
}

describe('session mode through a proxy cut many times', () => {
  it('10,000 messages each way: none lost, none duplicated, in order; every send acknowledged', async () => {
    const random = prng(16);
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', sessions: { ackDelay: 10 } });
    onCleanup(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await waitFor(wss, 'listening');
    const proxy = new CuttingProxy((wss.address() as AddressInfo).port, random);
    await proxy.start();
    onCleanup(() => proxy.close());

    const toServer: number[] = [];
    const toClient: number[] = [];
    const errors: string[] = [];
    let seqMismatch = 0;
    let session: Session | null = null;
    let sessions = 0;
    let serverResumed = 0;
    wss.on('session', (s: Session) => {
      sessions += 1;
      session = s;
      s.on('message', (data, isBinary, info) => {
        const i = indexOf(data, isBinary);
        if (info.seq !== i + 1) seqMismatch += 1;
        toServer.push(i);
      });
      s.on('resumed', () => void (serverResumed += 1));
      s.on('close', (err) => errors.push(`server session closed ${err.code}`));
    });

    const rws = new ReconnectingWebSocket(`ws://127.0.0.1:${proxy.port}`, { minDelay: 2, maxDelay: 40, session: { ackDelay: 10 } });
    onCleanup(() => rws.close());
    rws.on('message', (data, isBinary, info) => {
      const i = indexOf(data as Buffer, isBinary);
      if (info?.seq !== i + 1) seqMismatch += 1;
      toClient.push(i);
    });
    rws.on('reset', (err) => errors.push(`reset ${err.code}`));
    let clientResumed = 0;
    rws.on('session', (info) => void (info.resumed && (clientResumed += 1)));

    let clientSent = 0;
    let clientAcked = 0;
    let serverSent = 0;
    let serverAcked = 0;
    let downs = 0;
    let nextCut = 50;
    const settle = (side: string, p: Promise<void>, acked: () => void): void => {
      p.then(acked, (err: { code?: string }) => errors.push(`${side} send rejected ${err.code ?? String(err)}`));
    };
    const done = (): boolean => clientAcked === COUNT && serverAcked === COUNT && toServer.length >= COUNT && toClient.length >= COUNT;
    const deadline = Date.now() + 150_000; // a bound on the loop, not a timing assertion
    for (let round = 0; round < 1_000_000 && !done() && errors.length === 0 && Date.now() < deadline; round++) {
      for (let k = 1 + Math.floor(random() * 8); k > 0 && clientSent < COUNT && rws.unacknowledged < WINDOW; k--) {
        settle('client', rws.send(message('c', clientSent, random)), () => void (clientAcked += 1));
        clientSent += 1;
      }
      const s = session as Session | null;
      for (let k = 1 + Math.floor(random() * 8); s !== null && k > 0 && serverSent < COUNT && s.unacknowledged < WINDOW; k--) {
        settle('server', s.send(message('s', serverSent, random)), () => void (serverAcked += 1));
        serverSent += 1;
      }
      // A cut after every 10-70 messages delivered (either way), while traffic flows.
      const progress = toServer.length + toClient.length;
      if ((clientSent < COUNT || serverSent < COUNT) && proxy.live > 0 && progress >= nextCut) {
        nextCut = progress + 10 + Math.floor(random() * 60);
        if (random() < 0.15 && !proxy.down) {
          // Down for a while: reconnection attempts are refused until it comes back.
          proxy.down = true;
          downs += 1;
          setTimeout(() => (proxy.down = false), 5 + Math.floor(random() * 60));
        }
        proxy.cut();
      }
      await new Promise((resolve) => (random() < 0.5 ? setTimeout(resolve, 1 + Math.floor(random() * 3)) : setImmediate(resolve)));
    }

    const cut = proxy.counts.midToServer + proxy.counts.midToClient + proxy.counts.idle;
    const result = {
      cuts: cut,
      downs,
      proxy: proxy.counts,
      sessions,
      resumed: { client: clientResumed, server: serverResumed },
      toServer: { ...tally(clientSent, toServer), acknowledged: clientAcked },
      toClient: { ...tally(serverSent, toClient), acknowledged: serverAcked },
      seqMismatch,
      errors: errors.slice(0, 10),
    };
    console.log(`session mode through a cutting proxy: ${JSON.stringify(result)}`);
    expect(errors).toEqual([]);
    expect(result.toServer).toEqual({ sent: COUNT, received: COUNT, lost: 0, duplicated: 0, inOrder: true, acknowledged: COUNT });
    expect(result.toClient).toEqual({ sent: COUNT, received: COUNT, lost: 0, duplicated: 0, inOrder: true, acknowledged: COUNT });
    expect(seqMismatch).toBe(0);
    expect(sessions).toBe(1);
    // The faults really happened: many cuts, in the middle of traffic both ways, and resumptions.
    expect(cut).toBeGreaterThan(120);
    expect(proxy.counts.midToServer).toBeGreaterThan(30);
    expect(proxy.counts.midToClient).toBeGreaterThan(30);
    expect(proxy.counts.refused).toBeGreaterThan(0);
    expect(clientResumed).toBeGreaterThan(80);
  }, 180_000);
});
