/**
 * The router over sessions, over real sockets on 127.0.0.1: a ReconnectingWebSocket in session
 * mode on the client side, a server `Session` on the server side, a TCP proxy between them that
 * the test cuts. A request in flight when the connection goes gets its answer after the
 * resumption and is handled once; a session that is lost fails pending requests with `reset`.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type Session } from '../../src/index.js';
import { ReconnectingWebSocket } from '../../src/reconnect/index.js';
import { Router, RouterError, type RouterPeer } from '../../src/router/index.js';
import { prng } from '../core/helpers.js';
import { onCleanup, runCleanups, until, waitFor } from '../node/helpers.js';
import { RestartableServer } from '../reconnect/helpers.js';
import { CuttingProxy } from '../reconnect/proxy.js';

afterEach(runCleanups);

type Api = {
  echo: { payload: { n: number }; result: { n: number } };
  hold: { payload: { n: number }; result: { n: number } };
  ping: { payload: { n: number }; result: { pong: number } };
};

/** A server with sessions and a router on each session, behind a proxy; `hold` answers once released. */
async function setup(): Promise<{
  wss: WebSocketServer;
  proxy: CuttingProxy;
  calls: number[];
  peers: Array<RouterPeer<Api>>;
  release: () => void;
}> {
  const calls: number[] = [];
  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const router = new Router<Api>()
    .on('echo', ({ n }) => {
      calls.push(n);
      return { n };
    })
    .on('hold', async ({ n }) => {
      calls.push(n);
      await held;
      return { n };
    });
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', sessions: { ackDelay: 5 } });
  onCleanup(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await waitFor(wss, 'listening');
  const peers: Array<RouterPeer<Api>> = [];
  wss.on('session', (session: Session) => peers.push(router.attach(session)));
  const proxy = new CuttingProxy((wss.address() as AddressInfo).port, prng(7));
  await proxy.start();
  onCleanup(() => proxy.close());
  return { wss, proxy, calls, peers, release };
}

function client(port: number): ReconnectingWebSocket {
  const rws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}`, { minDelay: 5, maxDelay: 30, session: { ackDelay: 5 } });
  rws.on('error', () => {});
  onCleanup(() => rws.close());
  return rws;
}

describe('Router over a session', () => {
  it('a request in flight across a cut gets its answer after the resumption, handled once', async () => {
    const { wss, proxy, calls, release } = await setup();
    const rws = client(proxy.port);
    const resumed: boolean[] = [];
    const resets: string[] = [];
    rws.on('session', (info) => resumed.push(info.resumed));
    rws.on('reset', (err) => resets.push(err.code));
    const peer = new Router<Api>().attach(rws);
    expect(await peer.request('echo', { n: 0 })).toEqual({ n: 0 });

    const held = peer.request('hold', { n: 1 }, { timeout: 20_000 });
    await until(() => calls.includes(1), 5000, 'the server handles the request');
    // The connection goes, and stays gone while the server answers.
    proxy.down = true;
    proxy.cut();
    const session = [...wss.sessions!.values()][0]!;
    await until(() => !session.connected && rws.readyState !== 1, 5000, 'both ends see the cut');
    release();
    // Sent while disconnected: it waits in the session's resend buffer.
    const later = peer.request('echo', { n: 2 }, { timeout: 20_000 });
    await until(() => session.unacknowledged >= 1, 5000, 'the answer waits for the client');
    proxy.down = false;
    expect(await held).toEqual({ n: 1 });
    expect(await later).toEqual({ n: 2 });
    expect(calls).toEqual([0, 1, 2]);
    expect(resumed).toEqual([false, true]);
    expect(resets).toEqual([]);
    expect(peer.pendingRequests).toBe(0);
  });

  it('300 requests while the proxy cuts the connection mid-chunk again and again: every answer arrives, each request handled once', async () => {
    const { proxy, calls } = await setup();
    const rws = client(proxy.port);
    const peer = new Router<Api>().attach(rws);
    const COUNT = 300;
    const answers: number[] = [];
    const failures: string[] = [];
    const pending: Array<Promise<void>> = [];
    const random = prng(3);
    let connections = 0;
    for (let n = 0; n < COUNT; n++) {
      pending.push(
        peer.request('echo', { n }, { timeout: 60_000 }).then(
          (r) => void answers.push(r.n),
          (err: RouterError) => void failures.push(`${n} ${err.code}`),
        ),
      );
      if (n % 10 === 9) {
        // Wait for a new connection, let requests and answers move a little, then cut it.
        await until(() => proxy.counts.connections > connections && proxy.live > 0, 5000, 'a new connection');
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
        connections = proxy.counts.connections;
        proxy.cut(5);
      }
    }
    await Promise.race([Promise.all(pending), until(() => false, 60_000, 'every answer').catch(() => undefined)]);
    const cuts = proxy.counts.midToServer + proxy.counts.midToClient + proxy.counts.idle;
    const unique = new Set(calls);
    const result = { requests: COUNT, answered: answers.length, failed: failures.length, handled: calls.length, duplicated: calls.length - unique.size, cuts };
    console.log(`router over a session through a cutting proxy: ${JSON.stringify(result)}`);
    expect(failures).toEqual([]);
    expect(answers.sort((a, b) => a - b)).toEqual(Array.from({ length: COUNT }, (_, n) => n));
    expect(calls).toEqual(Array.from({ length: COUNT }, (_, n) => n));
    expect(cuts).toBeGreaterThanOrEqual(25);
  });

  it('a request from the server to the client across a cut: answered after the resumption', async () => {
    const { proxy, peers } = await setup();
    const rws = client(proxy.port);
    const handled: number[] = [];
    new Router<Api>().on('ping', ({ n }) => (handled.push(n), { pong: n })).attach(rws);
    await until(() => peers.length === 1 && rws.readyState === 1, 5000, 'the session');
    proxy.down = true;
    proxy.cut();
    await until(() => rws.readyState !== 1, 5000, 'the client sees the cut');
    const answer = peers[0]!.request('ping', { n: 7 }, { timeout: 20_000 });
    setTimeout(() => (proxy.down = false), 20);
    expect(await answer).toEqual({ pong: 7 });
    expect(handled).toEqual([7]);
  });

  it('a lost session (server restarted with a memory store) fails pending requests with "reset"', async () => {
    const server = new RestartableServer({ sessions: { ackDelay: 5 } });
    const router = new Router<Api>().on('hold', () => new Promise<never>(() => {}));
    const start = async (): Promise<void> => {
      await server.start();
      server.wss!.on('session', (s: Session) => router.attach(s));
    };
    await start();
    const rws = client(server.port);
    const peer = new Router<Api>().attach(rws);
    const held = peer.request('hold', { n: 1 }, { timeout: 20_000 }).catch((err: unknown) => err);
    await until(() => rws.unacknowledged === 0 && rws.readyState === 1, 5000, 'the request acknowledged');
    await server.kill();
    await start();
    const err = await held;
    expect(err).toBeInstanceOf(RouterError);
    expect((err as RouterError).code).toBe('reset');
    expect(((err as RouterError).cause as { code: string }).code).toBe('WS_SESSION_UNKNOWN');
    expect(peer.pendingRequests).toBe(0);
  });
});
