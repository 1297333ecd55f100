/**
 * Starts a redis-server of its own (persistence off, on a free port), three cluster servers
 * (examples/cluster/server.ts, one process each) and one client on each, sends a few messages
 * and prints what every client receives; then stops everything.
 *
 *   npx tsx examples/cluster/demo.ts                 # node-redis, Redis Streams
 *   CLIENT=ioredis TRANSPORT=pubsub npx tsx examples/cluster/demo.ts
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/cluster/demo.ts   # an existing Redis instead
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from '../../src/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let redisUrl = process.env.REDIS_URL;
if (redisUrl === undefined) {
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  redisUrl = `redis://127.0.0.1:${port}`;
  await sleep(300);
}

const servers: Array<{ port: number; id: string }> = [];
for (let i = 0; i < 3; i++) {
  const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, REDIS_URL: redisUrl, PORT: '0' },
  });
  children.push(child);
  servers.push(await new Promise((resolve) => child.once('message', (m) => resolve(m as { port: number; id: string }))));
}

const names = ['alice', 'bob', 'carol'];
const clients = await Promise.all(servers.map((s, i) => WebSocket.connect(`ws://127.0.0.1:${s.port}/?room=lobby&user=${names[i]}`)));
clients.forEach((ws, i) => ws.on('message', (data) => console.log(`  ${names[i]} (server ${servers[i]!.id}) got: ${data.toString()}`)));

console.log('alice says hello to the lobby (her server delivers to its own clients, Redis carries it to the others):');
clients[0]!.send('hello everyone');
await sleep(300);
console.log('carol writes privately to bob, wherever he is connected:');
clients[2]!.send('@bob see you at 5');
await sleep(300);
console.log('bob asks who is online (a server-to-server request):');
clients[1]!.send('/who');
await sleep(1500);

for (const ws of clients) ws.close();
// Servers first (each says goodbye to the cluster), then Redis; each wait bounded.
const redisProcess = process.env.REDIS_URL === undefined ? children[0] : undefined;
const serverProcesses = children.filter((c) => c !== redisProcess);
await Promise.all(
  serverProcesses.map((c) => new Promise<void>((resolve) => {
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(resolve, 3000).unref();
  })),
);
redisProcess?.kill('SIGTERM');
process.exit(0);
