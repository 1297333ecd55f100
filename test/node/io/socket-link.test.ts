/**
 * The link between a socket and its transport (src/node/io/socket-link.ts): shared listeners
 * find the transport through the socket, and on a `net.Socket` our `end` listener takes the
 * place of Node's own and calls it first, so the socket keeps one `end` listener. The socket is
 * read through a private field on purpose: this pins the memory property, not an API.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import { acceptFor, listen, onCleanup, RawClient, runCleanups, startServer, trackClient, until, waitFor } from '../helpers.js';

afterEach(runCleanups);

const socketOf = (ws: WebSocket): net.Socket => (ws as unknown as { transport: { socket: net.Socket } }).transport.socket;

describe('the socket link', () => {
  it('keeps a TCP socket of the server at one end listener, and Node\'s own still runs', async () => {
    const { wss, port } = await startServer();
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    const [server] = await accepted;
    const socket = socketOf(server);
    expect(socket.listenerCount('end')).toBe(1);
    // A FIN without a close frame: the connection ends with 1006.
    const closed = waitFor<[number, Buffer]>(server, 'close');
    raw.socket.end();
    expect((await closed)[0]).toBe(1006);
    await until(() => raw.endOffset !== null);
    expect(socket.listenerCount('end')).toBe(1);
    // This front's sockets do not allow half-open connections, so Node's listener replaces
    // `write` when it runs.
    expect(socket.allowHalfOpen).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(socket, 'write')).toBe(true);
  });

  it('still runs Node\'s own end listener first on a client socket that does not allow half-open', async () => {
    // A server that accepts the upgrade and sends its FIN at once.
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', (head: Buffer) => {
        const key = /sec-websocket-key: *(\S+)/i.exec(head.toString('latin1'))?.[1] ?? '';
        socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
      });
    });
    const port = await listen(server);
    onCleanup(() => server.close());
    const client = trackClient(new WebSocket(`ws://127.0.0.1:${port}`));
    client.on('error', () => {});
    await waitFor(client, 'open');
    const socket = socketOf(client);
    expect(socket.allowHalfOpen).toBe(false);
    const [code] = await waitFor<[number, Buffer]>(client, 'close');
    expect(code).toBe(1006);
    expect(socket.listenerCount('end')).toBe(1);
    // Node's listener replaces `write` on a socket that does not allow half-open connections.
    expect(Object.prototype.hasOwnProperty.call(socket, 'write')).toBe(true);
  });

  it('ends a half-open socket upgraded by a node:http server on the peer\'s FIN (only our listener does that)', async () => {
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer });
    const port = await listen(httpServer);
    onCleanup(() => {
      wss.close();
      httpServer.close();
    });
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    const [server] = await accepted;
    const socket = socketOf(server);
    expect(socket.allowHalfOpen).toBe(true);
    expect(socket.listenerCount('end')).toBe(1);
    // Node's server sockets allow half-open connections: nothing but our listener ends this
    // side when the peer's FIN arrives, and without it no close would come.
    const closed = waitFor<[number, Buffer]>(server, 'close');
    raw.socket.end();
    expect((await closed)[0]).toBe(1006);
    await until(() => raw.endOffset !== null);
  });
});
