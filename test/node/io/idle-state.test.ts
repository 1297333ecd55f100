/**
 * What an idle connection holds. A server keeps thousands of connections that have exchanged
 * nothing since the handshake; their reading side (frame parser, message assembler) and their
 * write batch are created by the first byte in or out, and the limits are the server's one
 * object. The fields read here are private: this pins the memory property, not an API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../../src/index.js';
import { collectMessages, runCleanups, startServer, trackClient, until, waitFor } from '../helpers.js';

afterEach(runCleanups);

interface Inside {
  rare: { url: string } | null;
  transport: {
    batchState: object | null;
    settings: object;
    connection: { parserState: object | null; assemblerState: object | null; limits: object; peerClose: object | null };
  };
}

const inside = (ws: WebSocket): Inside['transport'] => (ws as unknown as Inside).transport;
const rareOf = (ws: WebSocket): Inside['rare'] => (ws as unknown as Inside).rare;

describe('an idle connection', () => {
  it('holds no parser, assembler or write batch until bytes flow, and shares the server\'s limits', async () => {
    const { wss, url } = await startServer();
    const accepted: WebSocket[] = [];
    wss.on('connection', (ws: WebSocket) => accepted.push(ws));
    const a = trackClient(new WebSocket(url));
    const b = trackClient(new WebSocket(url));
    await Promise.all([waitFor(a, 'open'), waitFor(b, 'open')]);
    await until(() => accepted.length === 2);
    const [first, second] = accepted.map(inside);
    for (const t of [first, second]) {
      expect(t?.connection.parserState).toBeNull();
      expect(t?.connection.assemblerState).toBeNull();
      expect(t?.batchState).toBeNull();
    }
    // One limits object for the whole server, not a copy per connection.
    expect(first?.connection.limits).toBe(second?.connection.limits);
    expect(first?.connection.limits).toBe(first?.settings);

    // The first message creates the reading side; the echo creates the write batch.
    (accepted[0] as WebSocket).on('message', (data: Buffer) => (accepted[0] as WebSocket).send(data));
    const echoes = collectMessages(a);
    a.send('hello');
    await until(() => echoes.length === 1);
    expect(first?.connection.parserState).not.toBeNull();
    expect(first?.connection.assemblerState).not.toBeNull();
    expect(first?.batchState).not.toBeNull();
    // The other connection stayed idle.
    expect(second?.connection.parserState).toBeNull();
    expect(second?.batchState).toBeNull();
  });

  it('holds no client-only fields on the server side, and no close details before a close frame', async () => {
    const { wss, url } = await startServer();
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const client = trackClient(new WebSocket(url));
    await waitFor(client, 'open');
    const [server] = await accepted;
    expect(rareOf(server)).toBeNull();
    expect(server.url).toBe('');
    expect(inside(server).connection.peerClose).toBeNull();
    // The client keeps its URL (and its handshake state) in the side object.
    expect(client.url.startsWith(url)).toBe(true);
    expect(rareOf(client)?.url).toBe(client.url);
    // The packed fields still behave as fields.
    server.binaryType = 'arraybuffer';
    server.binaryType = 'bogus' as WebSocket['binaryType'];
    expect(server.binaryType).toBe('arraybuffer');
    const closed = waitFor<[number, Buffer]>(server, 'close');
    client.close(4001, 'bye');
    const [code, reason] = await closed;
    expect([code, reason.toString()]).toEqual([4001, 'bye']);
    expect(server.readyState).toBe(WebSocket.CLOSED);
  });
});
