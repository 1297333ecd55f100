/**
 * A cluster server for the tests, run as a child process (`node --import tsx fixture-server.ts`)
 * with its configuration in the FIXTURE environment variable (JSON). A WebSocketServer on
 * 127.0.0.1 port 0, a Hub, a Cluster on a Redis client of the kind asked for; the parent drives
 * it over IPC and connects clients to it.
 *
 * Connections: `/?rooms=a,b&user=u` joins those rooms and binds the user; the first message
 * each connection gets is `id:<connection id>`. A message from a client is published to its
 * first room with `except` itself (binary stays binary).
 */
import type { AddressInfo } from 'node:net';
import { Hub } from '../../src/hub/index.js';
import { Cluster, type ClusterOptions } from '../../src/cluster/index.js';
import { WebSocketServer, type WebSocket } from '../../src/index.js';

interface Config {
  redisUrl: string;
  client: 'redis' | 'ioredis' | 'redis-v4' | 'ioredis-v5';
  options?: Omit<ClusterOptions, 'redis'>;
  /** A redis ACL user to connect as (for refusal tests). */
  username?: string;
  password?: string;
}

type Command = { op: string; id: number } & Record<string, unknown>;

const config = JSON.parse(process.env.FIXTURE ?? '{}') as Config;
const send = (m: object): void => {
  process.send?.(m);
};

async function connectRedis(): Promise<{ client: object; quit: () => Promise<void> }> {
  const auth = config.username === undefined ? {} : { username: config.username, password: config.password };
  if (config.client === 'redis' || config.client === 'redis-v4') {
    const mod = (await import(config.client)) as typeof import('redis');
    const client = mod.createClient({ url: config.redisUrl, ...auth });
    client.on('error', () => {});
    await client.connect();
    return { client, quit: async () => void (await client.disconnect().catch(() => undefined)) };
  }
  const mod = (await import(config.client)) as typeof import('ioredis');
  const Redis = mod.default;
  const client = new Redis(config.redisUrl, { ...auth, maxRetriesPerRequest: null });
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return { client, quit: async () => client.disconnect() };
}

const { client, quit } = await connectRedis();
const hub = new Hub({ backpressure: { policy: 'queue', maxQueuedBytes: 64 * 1024 * 1024 } });
const cluster = new Cluster(hub, { ...config.options, redis: client as ClusterOptions['redis'] });
cluster.on('error', (err) => send({ event: 'error', code: err.code, message: err.message }));
cluster.on('gap', (gap) => send({ event: 'gap', gap }));
cluster.on('reconnect', () => send({ event: 'reconnect' }));
cluster.onRequest('echo', (data, from) => `${cluster.id} got ${data.toString()} from ${from}`);
cluster.onRequest('slow', () => new Promise<string>((resolve) => setTimeout(() => resolve('late'), 60_000).unref()));
cluster.onRequest('throws', () => {
  throw new Error('handler failed');
});
await cluster.start();

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
wss.on('connection', (ws: WebSocket, req) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const rooms = (url.searchParams.get('rooms') ?? 'all').split(',').filter(Boolean);
  const user = url.searchParams.get('user');
  for (const room of rooms) hub.join(ws, room);
  if (user !== null) cluster.bindUser(ws, user);
  ws.send(`id:${cluster.idOf(ws)}`);
  ws.on('message', (data, isBinary) => {
    if (rooms[0] !== undefined) hub.publish(rooms[0], data as Buffer, { except: ws, binary: isBinary });
  });
  ws.on('error', () => {});
});

let flooding = 0;
/** Publishes `count` messages `<tag>:<i>` to `room`, one every `every` ms (0: one per turn). */
function flood(room: string, tag: string, count: number, every: number, done: () => void): void {
  flooding++;
  let i = 0;
  const next = (): void => {
    if (i >= count) {
      flooding--;
      done();
      return;
    }
    hub.publish(room, `${tag}:${i++}`);
    if (every > 0) setTimeout(next, every);
    else setImmediate(next);
  };
  next();
}

process.on('message', (raw) => {
  const m = raw as Command;
  const reply = (result: unknown): void => send({ reply: m.id, result });
  const fail = (err: unknown): void => send({ reply: m.id, error: String(err) });
  switch (m.op) {
    case 'publish':
      reply(hub.publish(String(m.room), m.binary === true ? Buffer.from(String(m.data)) : String(m.data)));
      break;
    case 'broadcast':
      reply(hub.broadcast(String(m.data)));
      break;
    case 'flood':
      flood(String(m.room), String(m.tag), Number(m.count), Number(m.every), () => send({ event: 'flooded', tag: m.tag }));
      reply(true);
      break;
    case 'stats':
      reply({ cluster: cluster.stats(), hub: hub.stats(), memory: process.memoryUsage(), flooding });
      break;
    case 'size':
      cluster.size(m.room === undefined ? undefined : String(m.room)).then(reply, fail);
      break;
    case 'roomNames':
      cluster.roomNames().then((names) => reply(names.sort()), fail);
      break;
    case 'servers':
      cluster.servers().then((s) => reply(s.map((x) => x.id).sort()), fail);
      break;
    case 'request':
      cluster.request(String(m.type), String(m.data), { timeout: Number(m.timeout ?? 2000) }).then(
        (answers) => reply(answers.map((a) => ({ server: a.server, data: a.data.toString(), error: a.error }))),
        fail,
      );
      break;
    case 'sendToUser':
      reply(cluster.sendToUser(String(m.user), String(m.data)));
      break;
    case 'sendToConnection':
      reply(cluster.sendToConnection(String(m.target), String(m.data)));
      break;
    case 'stall': {
      // Blocks the event loop: a server too busy to read.
      const end = Date.now() + Number(m.ms);
      while (Date.now() < end) {
        /* busy */
      }
      reply(true);
      break;
    }
    case 'close':
      void (async () => {
        await cluster.close();
        reply(true);
        wss.close();
        await quit();
        setTimeout(() => process.exit(0), 50).unref();
      })();
      break;
    default:
      fail(`unknown op ${m.op}`);
  }
});

send({ event: 'ready', port: (wss.address() as AddressInfo).port, serverId: cluster.id });
