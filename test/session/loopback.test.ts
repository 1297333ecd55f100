/**
 * The sans-I/O session driven over real sockets on 127.0.0.1, the way the integration will
 * drive it: a WebSocketServer that selects the session subprotocol and feeds each connection
 * to a SessionServer, a client that offers `client.offer()` and feeds its socket to the
 * SessionClient. Connections are terminated at random from either end while both sides send
 * (text and binary, some messages large enough to be cut mid-frame), 3,000 messages each way.
 * Only the public API of the package (src/index.ts) is used for sockets.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { SessionClient } from '../../src/session/client.js';
import type { SessionConnection } from '../../src/session/channel.js';
import { SessionError } from '../../src/session/errors.js';
import { parseOffer, SESSION_PROTOCOL } from '../../src/session/handshake.js';
import { SessionServer } from '../../src/session/server.js';
import type { ServerSession } from '../../src/session/server-session.js';
import { prng } from '../core/helpers.js';
import { text } from './helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function index(data: string | Uint8Array, binary: boolean): number {
  if (binary) {
    const b = data as Uint8Array;
    return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
  }
  return Number(text(data).split(':')[1]);
}

function message(side: string, i: number, random: () => number): { data: string | Uint8Array; binary: boolean } {
  const big = random() < 0.05;
  if (random() < 0.5) return { data: `${side}:${i}:${big ? 'x'.repeat(40_000) : ''}`, binary: false };
  const b = new Uint8Array(big ? 40_000 : 8);
  new DataView(b.buffer).setUint32(0, i);
  return { data: b, binary: true };
}

describe('sessions over real sockets', () => {
  it('3,000 messages each way across connections terminated at random: none lost, none duplicated, in order', async () => {
    const COUNT = 3000;
    const random = prng(99);
    const toServer: number[] = [];
    const toClient: number[] = [];
    const errors: string[] = [];
    let session: ServerSession | null = null;
    const sessions = new SessionServer({
      ackDelay: 10,
      handler: {
        open: (s) => {
          session = s;
        },
        message: (_s, m) => toServer.push(index(m.data, m.binary)),
        ended: (_s, err) => errors.push(`ended ${err.code}`),
        error: (err) => errors.push(`server error ${err.code}`),
      },
    });
    const serverSockets = new Set<WebSocket>();
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (offered) => (offered.has(SESSION_PROTOCOL) ? SESSION_PROTOCOL : false),
    });
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => wss.on('listening', () => resolve()));
    wss.on('connection', (ws: WebSocket, req: { headers: Record<string, string | string[] | undefined> }) => {
      ws.on('error', () => {});
      const offer = parseOffer(req.headers['sec-websocket-protocol'] as string | undefined);
      if (offer === null) return ws.close(1002, 'session protocol required');
      serverSockets.add(ws);
      const conn = sessions.connect(offer, {
        send: (data, binary) => ws.send(data, { binary }),
        close: (code, reason) => ws.close(code, reason),
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => conn.receive(data, isBinary));
      ws.on('close', () => {
        serverSockets.delete(ws);
        conn.closed();
      });
    });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;

    const client = new SessionClient({
      ackDelay: 10,
      handler: {
        message: (m) => toClient.push(index(m.data, m.binary)),
        reset: (err) => errors.push(`reset ${err.code}`),
        error: (err) => errors.push(`client error ${err.code}`),
      },
    });
    let socket: WebSocket | null = null;
    let connections = 0;
    let stopped = false;
    const dial = (): void => {
      if (stopped) return;
      const ws = new WebSocket(url, client.offer());
      socket = ws;
      let conn: SessionConnection | null = null;
      ws.on('error', () => {});
      ws.on('open', () => {
        connections += 1;
        if (ws.protocol !== SESSION_PROTOCOL) throw new Error('the server did not select the session protocol');
        conn = client.connect({ send: (data, binary) => ws.send(data, { binary }), close: (code, reason) => ws.close(code, reason) });
      });
      ws.on('message', (data, isBinary) => conn?.receive(data as Buffer, isBinary));
      ws.on('close', () => {
        conn?.closed();
        conn = null;
        socket = null;
        setTimeout(dial, 2);
      });
    };
    dial();
    const ticker = setInterval(() => {
      client.tick();
      sessions.tick();
    }, 5);
    cleanups.push(() => {
      stopped = true;
      clearInterval(ticker);
      (socket as WebSocket | null)?.terminate();
    });

    let clientSent = 0;
    let serverSent = 0;
    let clientAcked = 0;
    let cuts = 0;
    const deadline = Date.now() + 50_000; // a bound on the loop, not a timing assertion
    while (Date.now() < deadline) {
      for (let k = Math.floor(random() * 6); k > 0 && clientSent < COUNT; k--) {
        const m = message('c', clientSent, random);
        try {
          client.send(m.data, { binary: m.binary, done: (err) => (err === null ? (clientAcked += 1) : errors.push(`done ${err.code}`)) });
          clientSent += 1;
        } catch (err) {
          if (!(err instanceof SessionError) || err.code !== 'WS_SESSION_BUFFER_FULL') throw err;
          break;
        }
      }
      const s = session as ServerSession | null;
      for (let k = Math.floor(random() * 6); k > 0 && s !== null && serverSent < COUNT; k--) {
        const m = message('s', serverSent, random);
        try {
          s.send(m.data, { binary: m.binary });
          serverSent += 1;
        } catch (err) {
          if (!(err instanceof SessionError) || err.code !== 'WS_SESSION_BUFFER_FULL') throw err;
          break;
        }
      }
      const sending = clientSent < COUNT || serverSent < COUNT;
      if (sending && random() < 0.1) {
        // Terminate one end: the other learns from the TCP close (or not at all, for a while).
        cuts += 1;
        if (random() < 0.5) (socket as WebSocket | null)?.terminate();
        else for (const ws of serverSockets) ws.terminate();
      }
      if (!sending && toServer.length >= COUNT && toClient.length >= COUNT && clientAcked === COUNT) break;
      await new Promise((resolve) => (random() < 0.3 ? setTimeout(resolve, 1 + Math.floor(random() * 5)) : setImmediate(resolve)));
    }
    const dup = (list: number[]) => list.length - new Set(list).size;
    const inOrder = (list: number[]) => list.every((v, k) => k === 0 || v > (list[k - 1] as number));
    const result = {
      cuts,
      connections,
      toServer: { sent: clientSent, received: toServer.length, acknowledged: clientAcked, duplicated: dup(toServer), inOrder: inOrder(toServer) },
      toClient: { sent: serverSent, received: toClient.length, duplicated: dup(toClient), inOrder: inOrder(toClient) },
      errors,
    };
    console.log(`session loopback: ${JSON.stringify(result)}`);
    expect(errors).toEqual([]);
    expect(result.toServer).toEqual({ sent: COUNT, received: COUNT, acknowledged: COUNT, duplicated: 0, inOrder: true });
    expect(result.toClient).toEqual({ sent: COUNT, received: COUNT, duplicated: 0, inOrder: true });
    expect(cuts).toBeGreaterThan(50);
    expect(connections).toBeGreaterThan(30);
  }, 70_000);
});
