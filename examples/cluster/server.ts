/**
 * One server of a cluster: a WebSocketServer, a Hub and a Cluster on the application's Redis
 * client. Clients join the room named in the URL (`ws://host:port/?room=lobby&user=alice`);
 * whatever a client sends goes to its room on every server; `/metrics` serves the server's and
 * the cluster's counters in the Prometheus text format.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8081 npx tsx examples/cluster/server.ts
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8082 npx tsx examples/cluster/server.ts
 *
 * Use `CLIENT=ioredis` for ioredis instead of node-redis, `TRANSPORT=pubsub` for Redis pub/sub.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, WebSocketServer } from '../../src/index.js';
import { Hub } from '../../src/hub/index.js';
import { Cluster, renderClusterPrometheus } from '../../src/cluster/index.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.PORT ?? 8081);

// The Redis client is the application's: the cluster never closes it.
const redis =
  process.env.CLIENT === 'ioredis'
    ? new Redis(redisUrl).on('error', (err: Error) => console.error('redis:', err.message))
    : await createClient({ url: redisUrl })
        .on('error', (err: Error) => console.error('redis:', err.message))
        .connect();

const hub = new Hub({ backpressure: { policy: 'drop', highWaterMark: 512 * 1024 } });
const cluster = new Cluster(hub, { redis, transport: process.env.TRANSPORT === 'pubsub' ? 'pubsub' : 'streams' });
cluster.on('error', (err) => console.error(`cluster: ${err.code} ${err.message}`));
cluster.on('gap', (gap) => console.error(`cluster: missed ${gap.messages} messages from ${gap.server}`));
// Who is online here? Other servers ask with cluster.request('who', …).
cluster.onRequest('who', () => JSON.stringify(hub.members('lobby').map((ws) => cluster.userOf(ws) ?? cluster.idOf(ws))));
await cluster.start();

const http = createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
    res.end(renderPrometheus(wss.stats()) + renderClusterPrometheus(cluster.stats()));
    return;
  }
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server: http });

wss.on('connection', (ws, req) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const room = url.searchParams.get('room') ?? 'lobby';
  const user = url.searchParams.get('user');
  hub.join(ws, room);
  if (user !== null) cluster.bindUser(ws, user);
  ws.on('error', () => {});
  ws.on('message', async (data: Buffer, isBinary: boolean) => {
    const text = data.toString();
    if (!isBinary && text === '/who') {
      const answers = await cluster.request('who', '', { timeout: 1000 });
      const here = hub.members('lobby').map((m) => cluster.userOf(m) ?? cluster.idOf(m));
      const everyone = [here, ...answers.map((a) => JSON.parse(a.data.toString()) as string[])].flat();
      ws.send(`online: ${everyone.join(', ')} (${await cluster.size('lobby')} in lobby on ${(await cluster.servers()).length} servers)`);
      return;
    }
    const to = /^@(\S+) (.*)$/s.exec(text);
    if (!isBinary && to !== null) {
      cluster.sendToUser(to[1] as string, `${user ?? 'someone'} (privately): ${to[2]}`);
      return;
    }
    // To the room on every server, not back to the sender.
    hub.publish(room, isBinary ? data : `${user ?? cluster.idOf(ws)}: ${text}`, { except: ws, binary: isBinary });
  });
});

http.listen(port, '127.0.0.1', () => {
  console.log(`server ${cluster.id} on ws://127.0.0.1:${(http.address() as AddressInfo).port} (redis ${redisUrl})`);
  process.send?.({ port: (http.address() as AddressInfo).port, id: cluster.id });
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await wss.drain({ deadline: 2000 });
    await cluster.close(); // says goodbye: the others stop listing this server at once
    wss.close();
    await redis.quit();
    process.exit(0);
  });
}
