/**
 * Resumable sessions as hub members, over real sockets on 127.0.0.1: rooms follow the session
 * across its connections, what is published while the client is away reaches it on
 * resumption (bounded by the session's resend buffer, overflow counted as dropped), and the
 * session leaves the hub when it is over.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Session, WebSocket, WebSocketServer, type ServerSessionOptions } from '../../src/index.js';
import { Hub } from '../../src/hub/index.js';
import { SessionTestClient, until } from '../node/server/session-client.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup(
  sessions: ServerSessionOptions = {},
): Promise<{ wss: WebSocketServer; hub: Hub; url: string; sessions: Session[]; sockets: WebSocket[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', sessions });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const hub = new Hub();
  const list: Session[] = [];
  wss.on('session', (session: Session) => {
    list.push(session);
    hub.join(session, 'news');
  });
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws: WebSocket) => {
    sockets.push(ws);
    hub.join(ws, 'news');
  });
  return { wss, hub, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, sessions: list, sockets };
}

describe('Hub with sessions', () => {
  it('keeps a session in its rooms while the client is away and delivers what was published meanwhile, once, in order', async () => {
    const { hub, url, sessions, sockets } = await setup({ ackDelay: 5 });
    const client = new SessionTestClient(url, cleanups);
    await client.connect();
    const plain = new WebSocket(url);
    cleanups.push(() => plain.terminate());
    const plainReceived: string[] = [];
    plain.on('message', (d) => plainReceived.push(String(d)));
    await new Promise<void>((resolve) => plain.once('open', () => resolve()));
    await until(() => sessions.length === 1 && hub.size('news') === 2, 'both members');
    const session = sessions[0] as Session;
    const plainOnServer = sockets[0] as WebSocket;

    expect(hub.publish('news', 'one')).toEqual({ recipients: 2, sent: 2, queued: 0, dropped: 0, closed: 0 });
    await until(() => client.received.length === 1 && plainReceived.length === 1 && session.unacknowledged === 0, 'the first publish');

    await client.cut();
    await until(() => !session.connected, 'the session away');
    expect(hub.rooms(session)).toEqual(['news']);
    expect(hub.sessions('news')).toEqual([session]);
    expect(hub.members('news')).toEqual([plainOnServer]);
    expect(hub.publish('news', 'two')).toEqual({ recipients: 2, sent: 1, queued: 1, dropped: 0, closed: 0 });
    expect(hub.publish('news', Buffer.from('three'), { except: plainOnServer })).toEqual({ recipients: 1, sent: 0, queued: 1, dropped: 0, closed: 0 });
    expect(hub.broadcast('four', { except: session })).toMatchObject({ recipients: 1, sent: 1 });
    expect(session.unacknowledged).toBe(2);

    await client.connect();
    await until(() => client.received.length === 3 && session.unacknowledged === 0, 'the messages held while away');
    expect(client.received).toEqual(['one', 'two', 'three']);
    await until(() => plainReceived.length === 3, 'the plain client');
    expect(plainReceived).toEqual(['one', 'two', 'four']);
    expect(hub.stats()).toMatchObject({ connections: 1, sessions: 1, rooms: 1 });

    // Over: the session leaves the hub and its rooms.
    session.close();
    expect(hub.has(session)).toBe(false);
    expect(hub.size('news')).toBe(1);
    expect(hub.stats().sessions).toBe(0);
  });

  it('counts a publish refused by a full resend buffer as dropped (the session emits overflow)', async () => {
    const { hub, url, sessions } = await setup({ maxMessages: 2 });
    const client = new SessionTestClient(url, cleanups);
    await client.connect();
    await until(() => sessions.length === 1, 'the session');
    const session = sessions[0] as Session;
    const overflows: string[] = [];
    session.on('overflow', (err) => overflows.push(err.code));
    await client.cut();
    await until(() => !session.connected, 'away');
    const results = [1, 2, 3].map((i) => hub.publish('news', `m${i}`));
    expect(results.map((r) => [r.queued, r.dropped])).toEqual([
      [1, 0],
      [1, 0],
      [0, 1],
    ]);
    expect(overflows).toEqual(['WS_SESSION_BUFFER_FULL']);
    expect(hub.stats().dropped).toBe(1);
    await client.connect();
    await until(() => client.received.length === 2, 'the held messages');
    expect(client.received).toEqual(['m1', 'm2']);
  });

  it('a session that expires leaves the hub', async () => {
    const { hub, url, sessions } = await setup({ resumeWindow: 20 });
    const client = new SessionTestClient(url, cleanups);
    await client.connect();
    await until(() => sessions.length === 1, 'the session');
    const session = sessions[0] as Session;
    const expired: number[] = [];
    session.on('expired', (info) => expired.push(info.unacknowledged));
    await client.cut();
    hub.publish('news', 'lost with the session');
    await until(() => session.closed, 'the expiry');
    expect(expired).toEqual([1]);
    expect(hub.has(session)).toBe(false);
    expect(hub.size()).toBe(0);
  });
});
