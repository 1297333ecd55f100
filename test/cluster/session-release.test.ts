/**
 * A session claimed on another server: the server that held it closes its connection with 4001
 * at once when both are in a cluster (`sessions: wss`: the claim travels as a SESSION record),
 * and otherwise at its next write to the store, or when the store's refresh finds it replaced.
 * Two WebSocketServers in this process, each with its own Redis client, store and cluster, on a
 * real redis-server; the client moves from A to B while A still holds its connection (a
 * network switch A has not noticed).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, RedisSessionStore } from '../../src/cluster/index.js';
import { Hub } from '../../src/hub/index.js';
import { WebSocketServer, type Session, type WebSocket } from '../../src/index.js';
import { eventually } from './helpers.js';
import { connectClient, type ClientKind, type Connected } from './redis-clients.js';
import { RedisServer, redisAvailable } from './redis-server.js';
import { SessionPeer } from './session-helpers.js';

const available = redisAvailable();
let redis: RedisServer;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  if (available) redis = await RedisServer.start();
});
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});
afterAll(async () => {
  await redis?.stop();
});

interface Node {
  wss: WebSocketServer;
  store: RedisSessionStore;
  cluster: Cluster | null;
  url: string;
  sessions: Session[];
  closes: string[];
}

let prefixes = 0;

/** The close code, or -1 when the connection is still open after 10 s. */
const within = (closed: Promise<number>): Promise<number> =>
  Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000).unref())]);

async function node(kind: ClientKind, prefix: string, withCluster: boolean, transport: 'streams' | 'pubsub' = 'streams'): Promise<Node> {
  const client: Connected = await connectClient(kind, redis.url);
  cleanups.push(() => client.quit());
  const store = new RedisSessionStore({ redis: client.client, prefix });
  cleanups.push(() => store.close());
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', sessions: { store, ackDelay: 5 } });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const n: Node = { wss, store, cluster: null, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, sessions: [], closes: [] };
  wss.on('session', (s: Session) => {
    n.sessions.push(s);
    s.on('close', (err) => n.closes.push(err.code));
  });
  if (withCluster) {
    n.cluster = await new Cluster(new Hub(), { redis: client.client, prefix, transport, sessions: wss }).start();
    cleanups.push(() => n.cluster?.close(200));
  }
  return n;
}

/** A client with a session on A that moves to B without A noticing; returns its first socket. */
async function move(a: Node, b: Node, peer: SessionPeer): Promise<{ first: WebSocket; closed: Promise<number> }> {
  const first = await peer.connect(a.url);
  cleanups.push(() => first.terminate());
  expect(await eventually(() => peer.open && a.sessions.length === 1, 5000)).toBe(true);
  peer.session.send('on A');
  expect(await eventually(() => peer.session.unacknowledged === 0, 5000)).toBe(true);
  const closed = new Promise<number>((resolve) => first.once('close', (code) => resolve(code)));
  peer.drop();
  const second = await peer.connect(b.url);
  cleanups.push(() => second.terminate());
  expect(await eventually(() => peer.open && b.sessions.length === 1, 5000)).toBe(true);
  return { first, closed };
}

describe.skipIf(!available)('a session claimed on another server is released where it was', () => {
  for (const [kind, transport] of [
    ['redis', 'streams'],
    ['ioredis', 'pubsub'],
  ] as const) {
    it(`${kind}, cluster on ${transport}: A closes its connection with 4001 as soon as B claimed the session`, async () => {
      const prefix = `release-${++prefixes}`;
      const a = await node(kind, prefix, true, transport);
      const b = await node(kind, prefix, true, transport);
      const peer = new SessionPeer();
      const { closed } = await move(a, b, peer);
      // Nothing is written on A: it learns through the cluster.
      expect(await within(closed)).toBe(4001);
      expect(await eventually(() => a.closes.length === 1, 5000)).toBe(true);
      expect(a.closes).toEqual(['WS_SESSION_REPLACED']);
      expect(a.wss.sessions?.size).toBe(0);
      expect(b.sessions[0]?.id).toBe(a.sessions[0]?.id);
      expect(b.cluster?.stats().sessionClaims).toBe(1);
      expect(a.cluster?.stats().sessionReleases).toBe(1);
      // The session goes on at B.
      const reply = new Promise<void>((resolve) => b.sessions[0]?.once('message', () => resolve()));
      peer.session.send('on B');
      await reply;
      expect(peer.resets).toEqual([]);
    });
  }

  it('without a cluster: A learns at its next write to the store (a send), which is refused', async () => {
    const prefix = `release-${++prefixes}`;
    const a = await node('redis', prefix, false);
    const b = await node('redis', prefix, false);
    const peer = new SessionPeer();
    const { closed } = await move(a, b, peer);
    const session = a.sessions[0] as Session;
    expect(session.connected).toBe(true); // A has not noticed
    const refused = session.send('from A, too late');
    await expect(refused).rejects.toMatchObject({ code: 'WS_SESSION_REPLACED' });
    expect(await within(closed)).toBe(4001);
    expect(a.closes).toEqual(['WS_SESSION_REPLACED']);
    expect(peer.received.map((m) => m.text)).not.toContain('from A, too late');
  });

  it("without a cluster: the store's refresh finds the copy replaced; releaseSession(id, owner) closes it, and only that copy", async () => {
    const prefix = `release-${++prefixes}`;
    const a = await node('ioredis', prefix, false);
    const b = await node('ioredis', prefix, false);
    const replaced: Array<{ id: string; owner: string }> = [];
    a.store.on('replaced', (r) => {
      replaced.push(r);
      expect(a.wss.releaseSession(r.id, 'not-the-owner.1')).toBe(false);
      expect(a.wss.releaseSession(r.id, r.owner)).toBe(true);
    });
    const peer = new SessionPeer();
    const { closed } = await move(a, b, peer);
    await a.store.refresh();
    expect(replaced).toHaveLength(1);
    expect(replaced[0]?.id).toBe(a.sessions[0]?.id);
    expect(await within(closed)).toBe(4001);
    expect(a.closes).toEqual(['WS_SESSION_REPLACED']);
    expect(a.wss.releaseSession(replaced[0]?.id as string)).toBe(false);
    expect(new WebSocketServer({ noServer: true }).releaseSession('x')).toBe(false);
  });

  it('the sessions option of the cluster needs a server whose store is a RedisSessionStore', async () => {
    const client = await connectClient('redis', redis.url);
    cleanups.push(() => client.quit());
    const plain = new WebSocketServer({ noServer: true, sessions: true });
    expect(() => new Cluster(new Hub(), { redis: client.client, sessions: plain })).toThrow(TypeError);
    expect(() => new Cluster(new Hub(), { redis: client.client, sessions: new WebSocketServer({ noServer: true }) })).toThrow(TypeError);
  });
});
