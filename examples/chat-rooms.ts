/**
 * A chat with rooms, on the server toolkit: `Hub` rooms and pre-framed broadcast, heartbeats,
 * per-connection rate limits, connection limits, statistics on /metrics (Prometheus text) and a
 * gradual drain on SIGTERM.
 *
 *   npx tsx examples/chat-rooms.ts          # serves ws://127.0.0.1:8081 until Ctrl-C
 *   npx tsx examples/chat-rooms.ts --demo   # starts, runs three scripted users, prints, exits
 *
 * Protocol (JSON text messages from the client):
 *   { "join": "room" }   { "leave": "room" }   { "say": "text", "room": "room" }
 * The server sends { "room", "from", "text" } for chat lines and { "room", "event", "who" } for
 * joins and leaves.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, WebSocket, WebSocketServer } from '../src/index.js';
import { Hub } from '../src/hub/index.js';

const demo = process.argv.includes('--demo');
const port = demo ? 0 : Number(process.env.PORT ?? 8081);

const http = createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
    res.end(renderPrometheus(wss.stats(), { labels: { app: 'chat' } }));
    return;
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({
  server: http,
  path: '/chat',
  maxPayload: 16 * 1024,
  // Dead peers are found with one shared timer; idle ones are closed after 10 minutes.
  heartbeat: { interval: 30_000, timeout: 10_000 },
  idleTimeout: 10 * 60_000,
  // Ten lines a second per connection on average, bursts of 20; beyond that: closed with 1008.
  rateLimit: { messagesPerSecond: 10, burstMessages: 20 },
  maxConnections: 10_000,
  maxConnectionsPerAddress: 50,
});

// A slow reader misses chat lines rather than slowing the room down or filling memory.
const hub = new Hub({ backpressure: { policy: 'drop', highWaterMark: 256 * 1024 } });
const names = new WeakMap<WebSocket, string>();
let next = 1;

wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
  const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? `guest${next++}`;
  names.set(ws, name);
  hub.add(ws);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return;
    let msg: { join?: unknown; leave?: unknown; say?: unknown; room?: unknown };
    try {
      msg = JSON.parse(data.toString()) as typeof msg;
    } catch {
      return;
    }
    if (typeof msg.join === 'string' && msg.join.length <= 64) {
      hub.join(ws, msg.join);
      hub.publish(msg.join, JSON.stringify({ room: msg.join, event: 'join', who: name }));
    } else if (typeof msg.leave === 'string' && hub.leave(ws, msg.leave)) {
      hub.publish(msg.leave, JSON.stringify({ room: msg.leave, event: 'leave', who: name }));
    } else if (typeof msg.say === 'string' && typeof msg.room === 'string' && hub.rooms(ws).includes(msg.room)) {
      // Framed once, the same bytes for everyone in the room but the sender.
      hub.publish(msg.room, JSON.stringify({ room: msg.room, from: name, text: msg.say }), { except: ws });
    }
  });
  // No 'close' handler needed: the hub takes a closed connection out of its rooms.
});

// Rolling deploy: clients are told 1012 (service restart) 100 per second, the rest cut at 20 s.
process.once('SIGTERM', () => {
  void wss.drain({ code: 1012, ratePerSecond: 100, deadline: 20_000 }).then(() => {
    wss.close();
    http.close();
  });
});

http.listen(port, '127.0.0.1', () => {
  const { port: actual } = http.address() as AddressInfo;
  console.log(`chat on ws://127.0.0.1:${actual}/chat?name=you, metrics on http://127.0.0.1:${actual}/metrics`);
  if (demo) {
    runDemo(actual).catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  }
});

/**
 * Three users chat in two rooms; prints what each one sees, then the metrics, and exits. Each
 * step waits until its effect was seen (at most 5 s), so the output is the same on every run.
 */
async function runDemo(actual: number): Promise<void> {
  const user = async (name: string) => {
    const ws = await WebSocket.connect(`ws://127.0.0.1:${actual}/chat?name=${name}`);
    const seen: string[] = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (data: Buffer) => {
      seen.push(data.toString());
      for (const wake of waiters.splice(0)) wake();
    });
    /** Sends `msg` as JSON. */
    const send = (msg: object): void => void ws.send(JSON.stringify(msg));
    /** Resolves once this user received a message containing all of `fields`. */
    const sees = (fields: Record<string, string>): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} never saw ${JSON.stringify(fields)}`)), 5000);
        const check = (): void => {
          const found = seen.some((line) => Object.entries(fields).every(([k, v]) => (JSON.parse(line) as Record<string, unknown>)[k] === v));
          if (!found) return void waiters.push(check);
          clearTimeout(timer);
          resolve();
        };
        check();
      });
    return { name, ws, seen, send, sees };
  };
  const [ada, bob, cy] = await Promise.all([user('ada'), user('bob'), user('cy')]);
  ada.send({ join: 'lobby' });
  await ada.sees({ event: 'join', who: 'ada' });
  bob.send({ join: 'lobby' });
  await ada.sees({ event: 'join', who: 'bob' });
  cy.send({ join: 'dev' });
  await cy.sees({ event: 'join', who: 'cy' });
  ada.send({ say: 'hello lobby', room: 'lobby' });
  await bob.sees({ text: 'hello lobby' });
  bob.send({ join: 'dev' });
  await cy.sees({ event: 'join', who: 'bob' });
  cy.send({ say: 'anyone in dev?', room: 'dev' });
  await bob.sees({ text: 'anyone in dev?' });
  bob.send({ say: 'me!', room: 'dev' });
  await cy.sees({ text: 'me!' });
  bob.send({ leave: 'lobby' });
  await ada.sees({ event: 'leave', who: 'bob' });
  for (const u of [ada, bob, cy]) {
    console.log(`${u.name} saw:`);
    for (const line of u.seen) console.log(`  ${line}`);
  }
  console.log(`rooms: ${hub.roomNames().map((r) => `${r}(${hub.size(r)})`).join(' ')}`);
  const result = await wss.drain({ code: 1012, ratePerSecond: 10, deadline: 2000 });
  console.log(`drained: ${result.closed} closed, ${result.terminated} terminated`);
  console.log(
    renderPrometheus(wss.stats())
      .split('\n')
      .filter((l) => /^ws6455_(connections|messages|closes|handshakes_accepted)/.test(l))
      .join('\n'),
  );
  wss.close();
  http.close();
}
