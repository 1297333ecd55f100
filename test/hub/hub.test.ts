import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../src/core/connection.js';
import { WebSocket, type ServerOptions } from '../../src/index.js';
import { Hub } from '../../src/hub/index.js';
import {
  collectMessages,
  Op,
  RawClient,
  runCleanups,
  startServer,
  trackClient,
  until,
  waitFor,
  type StartedServer,
} from '../node/helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  return runCleanups();
});

/** A server whose connections all join `lobby`, and `n` clients of ours connected to it. */
async function hubWithClients(
  n: number,
  serverOptions: Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'host'> = {},
  clientOptions: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<{ hub: Hub; started: StartedServer; clients: WebSocket[]; servers: WebSocket[] }> {
  const started = await startServer(serverOptions);
  const hub = new Hub();
  const servers: WebSocket[] = [];
  started.wss.on('connection', (ws: WebSocket) => {
    servers.push(ws);
    hub.join(ws, 'lobby');
  });
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i++) {
    const client = trackClient(new WebSocket(started.url, [], clientOptions));
    client.on('error', () => {});
    await waitFor(client, 'open');
    clients.push(client);
  }
  await until(() => servers.length === n);
  return { hub, started, clients, servers };
}

describe('rooms', () => {
  it('join, leave, rooms, members and size', async () => {
    const { hub, servers } = await hubWithClients(3);
    const [a, b, c] = servers as [WebSocket, WebSocket, WebSocket];
    hub.join(a, 'red');
    hub.join(b, 'red');
    hub.join(a, 'blue');
    hub.join(a, 'blue'); // twice: no effect
    expect(hub.size()).toBe(3);
    expect(hub.size('lobby')).toBe(3);
    expect(hub.size('red')).toBe(2);
    expect(hub.size('nowhere')).toBe(0);
    expect(hub.rooms(a).sort()).toEqual(['blue', 'lobby', 'red']);
    expect(hub.members('red')).toEqual([a, b]);
    expect(hub.leave(a, 'red')).toBe(true);
    expect(hub.leave(a, 'red')).toBe(false);
    expect(hub.rooms(a).sort()).toEqual(['blue', 'lobby']);
    expect(hub.leave(a, 'blue')).toBe(true);
    // An empty room disappears.
    expect(hub.roomNames().sort()).toEqual(['lobby', 'red']);
    expect(hub.rooms(c)).toEqual(['lobby']);
    expect(hub.remove(c)).toBe(true);
    expect(hub.has(c)).toBe(false);
    expect(hub.size('lobby')).toBe(2);
  });

  it('a connection that closes leaves every room, and empty rooms disappear', async () => {
    const { hub, clients, servers } = await hubWithClients(2);
    const [a] = servers as [WebSocket];
    hub.join(a, 'solo');
    const closed = waitFor(a, 'close');
    (clients[0] as WebSocket).close();
    await closed;
    expect(hub.has(a)).toBe(false);
    expect(hub.size('lobby')).toBe(1);
    expect(hub.roomNames()).toEqual(['lobby']);
  });

  it('publish reaches the room but not `except`; broadcast reaches everyone', async () => {
    const { hub, clients, servers } = await hubWithClients(3);
    const [a, b] = servers as [WebSocket, WebSocket];
    hub.join(a, 'red');
    hub.join(b, 'red');
    const got = clients.map((c) => collectMessages(c));
    expect(hub.publish('red', 'to red', { except: a })).toEqual({ recipients: 1, sent: 1, queued: 0, dropped: 0, closed: 0 });
    expect(hub.publish('red', Buffer.from([1, 2, 3]))).toMatchObject({ recipients: 2, sent: 2 });
    expect(hub.broadcast('all', { except: new Set([b]) })).toMatchObject({ recipients: 2, sent: 2 });
    expect(hub.publish('nobody-here', 'x')).toMatchObject({ recipients: 0 });
    await until(() => got[0]!.length === 2 && got[1]!.length === 2 && got[2]!.length === 1);
    const text = (m: [Buffer, boolean][]) => m.map(([d, bin]) => (bin ? `bin:${[...d].join(',')}` : d.toString()));
    expect(text(got[0]!)).toEqual(['bin:1,2,3', 'all']);
    expect(text(got[1]!)).toEqual(['to red', 'bin:1,2,3']);
    expect(text(got[2]!)).toEqual(['all']);
    expect(hub.stats()).toMatchObject({ connections: 3, rooms: 2, published: 4, sent: 5, dropped: 0 });
  });

  it('frames a message once: every recipient is handed the very same buffers', async () => {
    const { hub, clients } = await hubWithClients(4);
    const framed = vi.spyOn(Connection.prototype, 'sendShared');
    const send = vi.spyOn(Connection.prototype, 'send');
    const got = clients.map((c) => collectMessages(c));
    hub.publish('lobby', 'x'.repeat(2000));
    const big = Buffer.alloc(100_000, 7);
    hub.publish('lobby', big);
    expect(send).not.toHaveBeenCalled();
    expect(framed).toHaveBeenCalledTimes(8);
    const first = framed.mock.calls.slice(0, 4).map((call) => call[0]);
    const second = framed.mock.calls.slice(4).map((call) => call[0]);
    expect(new Set(first).size).toBe(1);
    expect(new Set(second).size).toBe(1);
    // The header alone, and the published payload itself: it is not even copied.
    expect(second[0]?.head).toHaveLength(10);
    expect(second[0]?.payload).toBe(big);
    await until(() => got.every((m) => m.length === 2));
    expect(got.every((m) => m[1]![0].equals(Buffer.alloc(100_000, 7)))).toBe(true);
  });

  it('keeps publish order with direct sends and with the application fragmenting a message', async () => {
    const { hub, clients, servers } = await hubWithClients(1);
    const [a] = servers as [WebSocket];
    const got = collectMessages(clients[0] as WebSocket);
    a.send('direct 1');
    hub.publish('lobby', 'hub 1');
    a.send('frag-', { fin: false });
    // RFC 6455 §5.4: a message cannot go between the fragments of another: skipped and counted.
    expect(hub.publish('lobby', 'hub 2')).toMatchObject({ dropped: 1 });
    a.send('end', { fin: true });
    hub.publish('lobby', 'hub 3');
    await until(() => got.length === 4);
    expect(got.map(([d]) => d.toString())).toEqual(['direct 1', 'hub 1', 'frag-end', 'hub 3']);
  });

  it('sends to a connection of a raw client byte-exact frames', async () => {
    const started = await startServer();
    const hub = new Hub();
    started.wss.on('connection', (ws: WebSocket) => hub.join(ws, 'r'));
    const raw = await RawClient.open(started.port);
    await until(() => hub.size('r') === 1);
    hub.publish('r', 'hello');
    const frame = await raw.readFrame();
    expect([frame.opcode, frame.fin, frame.rsv, frame.masked, frame.payload.toString()]).toEqual([Op.Text, true, 0, false, 'hello']);
  });
});

describe('compression', () => {
  const big = JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ id: i, name: `item ${i}`, ok: i % 2 === 0 })));

  it('compresses once for every recipient without context takeover on our side', async () => {
    const { hub, clients } = await hubWithClients(5, { perMessageDeflate: { serverNoContextTakeover: true } });
    const got = clients.map((c) => collectMessages(c));
    hub.publish('lobby', big);
    hub.publish('lobby', big);
    await until(() => got.every((m) => m.length === 2));
    expect(got.every((m) => m.every(([d]) => d.toString() === big))).toBe(true);
    expect(hub.stats()).toMatchObject({ sharedCompressions: 2, perRecipientCompressions: 0 });
  });

  it('compresses per recipient when our side keeps context, and the client decodes every message', async () => {
    const { hub, clients } = await hubWithClients(3, { perMessageDeflate: true });
    const got = clients.map((c) => collectMessages(c));
    for (let i = 0; i < 3; i++) hub.publish('lobby', `${i}:${big}`);
    await until(() => got.every((m) => m.length === 3));
    expect(got.every((m) => m.every(([d], i) => d.toString() === `${i}:${big}`))).toBe(true);
    expect(hub.stats()).toMatchObject({ sharedCompressions: 0, perRecipientCompressions: 9 });
  });

  it('mixes shared and per-recipient recipients, and interleaves shared frames with context-takeover sends', async () => {
    const started = await startServer({ perMessageDeflate: true });
    const hub = new Hub();
    const servers: WebSocket[] = [];
    started.wss.on('connection', (ws: WebSocket) => {
      servers.push(ws);
      hub.join(ws, 'lobby');
    });
    // One client asks for server_no_context_takeover, one does not.
    const shared = trackClient(new WebSocket(started.url, [], { perMessageDeflate: { serverNoContextTakeover: true } }));
    const own = trackClient(new WebSocket(started.url, [], { perMessageDeflate: true }));
    await Promise.all([waitFor(shared, 'open'), waitFor(own, 'open')]);
    await until(() => servers.length === 2);
    const got = [collectMessages(shared), collectMessages(own)];
    for (let i = 0; i < 3; i++) {
      hub.publish('lobby', `${i}:${big}`);
      for (const ws of servers) ws.send(`direct ${i}:${big}`);
    }
    await until(() => got.every((m) => m.length === 6));
    const expected = [0, 1, 2].flatMap((i) => [`${i}:${big}`, `direct ${i}:${big}`]);
    expect(got[0]!.map(([d]) => d.toString())).toEqual(expected);
    expect(got[1]!.map(([d]) => d.toString())).toEqual(expected);
    expect(hub.stats()).toMatchObject({ sharedCompressions: 3, perRecipientCompressions: 3 });
  });

  it('honours a small negotiated window (server_max_window_bits=9) with a shared compression', async () => {
    const { hub, clients } = await hubWithClients(2, { perMessageDeflate: { serverNoContextTakeover: true } }, {
      perMessageDeflate: { serverMaxWindowBits: 9 },
    });
    const got = clients.map((c) => collectMessages(c));
    hub.publish('lobby', big);
    await until(() => got.every((m) => m.length === 1));
    expect(got.every((m) => m[0]![0].toString() === big)).toBe(true);
  });
});
