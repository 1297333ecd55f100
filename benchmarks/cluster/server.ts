/**
 * One server of benchmarks/cluster/run.ts, one process each:
 *
 *   node --import tsx server.ts --impl ours|ours-pubsub|socketio|ws-loop --redis URL --prefix P --index I
 *
 * Every connection joins the one room `all`. On `publish` the server publishes `count` messages
 * of `size` bytes, one per event-loop turn (or one every `every` ms); each message starts with
 * the send time (float64 ms since the epoch), the publishing server's index and a sequence number,
 * so receivers can tell latency across servers.
 *
 * - ours:        ws6455 WebSocketServer + Hub + Cluster (Redis Streams, the default)
 * - ours-pubsub: the same with `transport: 'pubsub'`
 * - socketio:    socket.io 4 + @socket.io/redis-streams-adapter, `io.to('all').emit('m', buf)`
 * - ws-loop:     `ws` + the hand-written Redis pub/sub loop people write: PUBLISH every message,
 *                and on the subscriber `for (const c of wss.clients) c.send(message)`
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const impl = arg('impl', 'ours');
const redisUrl = arg('redis', 'redis://127.0.0.1:6379');
const prefix = arg('prefix', 'bench');
const index = Number(arg('index', '0'));
const now = (): number => performance.timeOrigin + performance.now();
const send = (m: object): void => {
  process.send?.(m);
};

const redis = createClient({ url: redisUrl });
redis.on('error', (err: Error) => console.error(`server ${index} redis error: ${err.message}`));
await redis.connect();

let publishOne: (payload: Buffer) => void;
let connections = (): number => 0;
let listen: () => Promise<number>;

if (impl === 'ours' || impl === 'ours-pubsub') {
  const { WebSocketServer } = await import('../../src/index.js');
  const { Hub } = await import('../../src/hub/index.js');
  const { Cluster } = await import('../../src/cluster/index.js');
  // A high-water mark no round reaches: nothing is dropped or held back, as with ws and socket.io
  // (as in benchmarks/broadcast.ts).
  const hub = new Hub({ backpressure: { policy: 'drop', highWaterMark: 1 << 30 } });
  const cluster = await new Cluster(hub, { redis, prefix, transport: impl === 'ours' ? 'streams' : 'pubsub' }).start();
  cluster.on('error', (err) => console.error(`server ${index} cluster error: ${err.code} ${err.message}`));
  cluster.on('gap', (gap) => console.error(`server ${index} missed ${gap.messages} messages of ${gap.server}`));
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096 });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    hub.join(ws, 'all');
  });
  publishOne = (payload) => hub.publish('all', payload);
  connections = () => hub.size('all');
  listen = () => new Promise((resolve) => wss.on('listening', () => resolve((wss.address() as { port: number }).port)));
} else if (impl === 'socketio') {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-streams-adapter');
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false, adapter: createAdapter(redis, { streamName: `${prefix}:sio` }) });
  io.on('connection', (socket) => {
    void socket.join('all');
  });
  publishOne = (payload) => {
    io.to('all').emit('m', payload);
  };
  connections = () => io.of('/').sockets.size;
  listen = () => new Promise((resolve) => http.listen(0, '127.0.0.1', 4096, () => resolve((http.address() as { port: number }).port)));
} else if (impl === 'ws-loop') {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096 });
  const listening = new Promise<number>((resolve) => wss.on('listening', () => resolve((wss.address() as { port: number }).port)));
  wss.on('connection', (ws) => ws.on('error', () => {}));
  const subscriber = redis.duplicate();
  subscriber.on('error', () => {});
  await subscriber.connect();
  const channel = `${prefix}:room:all`;
  await subscriber.subscribe(
    channel,
    (message: Buffer) => {
      for (const client of wss.clients) client.send(message);
    },
    true,
  );
  publishOne = (payload) => {
    void redis.publish(channel, payload);
  };
  connections = () => wss.clients.size;
  listen = () => listening;
} else {
  throw new Error(`unknown impl ${impl}`);
}

// Peak RSS since the last `peak-reset`, sampled every 20 ms (maxRSS only ever grows).
let peak = 0;
setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 20).unref();

let seq = 0;
function publish(count: number, size: number, every: number): void {
  let left = count;
  const one = (): void => {
    const payload = Buffer.alloc(size, 0x61);
    payload.writeDoubleLE(now(), 0);
    payload.writeUInt32LE(index, 8);
    payload.writeUInt32LE(seq++, 12);
    publishOne(payload);
    if (--left > 0) {
      if (every > 0) setTimeout(one, every);
      else setImmediate(one);
    } else send({ type: 'published' });
  };
  one();
}

// A profile (--cpu-prof) is written on a normal exit only: exit on SIGTERM.
process.once('SIGTERM', () => process.exit(0));

process.on('message', (raw) => {
  const m = raw as { type: string; count?: number; size?: number; every?: number };
  if (m.type === 'publish') publish(m.count ?? 1, m.size ?? 1024, m.every ?? 0);
  else if (m.type === 'connections') send({ type: 'connections', n: connections() });
  else if (m.type === 'peak-reset') {
    peak = process.memoryUsage.rss();
    send({ type: 'peak-reset', rss: peak });
  }
  else if (m.type === 'memory') {
    const cpu = process.cpuUsage();
    send({ type: 'memory', rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024, peak, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
});

const port = await listen();
send({ type: 'listening', port });
