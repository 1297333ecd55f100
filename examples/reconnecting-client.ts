/**
 * A client that survives a server restart. Starts a server on 127.0.0.1, connects a
 * ReconnectingWebSocket, crashes the server mid-stream and brings it back on the same port:
 * messages sent meanwhile wait in the client's queue and arrive, in order, after it reconnects.
 *
 * Run with `npx tsx examples/reconnecting-client.ts` (finishes in a few seconds).
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from '../src/index.js';
import { ReconnectingWebSocket } from '../src/reconnect/index.js';

const TOTAL = 40;
const received: number[] = [];

/** Starts the server (on `port`, or a free one) and logs what it receives. */
async function startServer(port = 0): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  wss.on('connection', (ws: WebSocket) => {
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      // The client authenticates in onConnect, before its queue is flushed.
      if (text.startsWith('auth:')) return void console.log(`server: ${text}`);
      received.push(Number(text));
    });
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  return wss;
}

/** A crash: every connection dropped without a close frame, and the port released. */
function crash(wss: WebSocketServer): Promise<void> {
  for (const ws of wss.clients) ws.terminate();
  return new Promise((resolve) => wss.close(() => resolve()));
}

async function main(): Promise<void> {
  let server = await startServer();
  const { port } = server.address() as AddressInfo;

  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}`, {
    minDelay: 100,
    maxDelay: 1000,
    heartbeat: { interval: 1000, timeout: 1000 },
    queue: { maxMessages: 100, policy: 'reject' },
    onConnect: (socket, { reconnect }) => {
      socket.send(`auth:token-123 (${reconnect ? 'reconnect' : 'first connection'})`);
    },
  });
  client.on('open', () => console.log('client: open'));
  client.on('close', (code, reason, again) => console.log(`client: closed ${code} ${reason} (reconnecting: ${again})`));
  client.on('reconnecting', (attempt, delay) => console.log(`client: attempt ${attempt} in ${delay} ms`));
  client.on('reconnect', () => console.log(`client: reconnected; ${client.queuedMessages} messages still queued`));
  client.on('error', (err) => console.log(`client: ${err.message}`));

  for (let i = 0; i < TOTAL; i++) {
    if (i === 15) {
      console.log('server: crashing');
      await crash(server);
      setTimeout(() => {
        void startServer(port).then((wss) => {
          server = wss;
          console.log('server: back on the same port');
        });
      }, 500);
    }
    // Resolves once handed to a socket; while disconnected the message waits in the queue.
    client.send(String(i)).catch((err: Error) => console.log(`client: message ${i} not sent: ${err.message}`));
    await new Promise((resolve) => setTimeout(resolve, 30));
  }

  const deadline = Date.now() + 5000;
  while (!received.includes(TOTAL - 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const inOrder = received.every((n, k) => k === 0 || n > (received[k - 1] as number));
  console.log(`server received ${received.length}/${TOTAL} messages, in order and without duplicates: ${inOrder}`);

  const stopped = new Promise((resolve) => client.on('close', (_code, _reason, again) => again || resolve(undefined)));
  client.close(1000, 'done');
  await stopped;
  await new Promise((resolve) => server.close(() => resolve(undefined)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
