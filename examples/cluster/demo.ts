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
// Whatever happens (an error included), no redis-server or server process outlives the demo.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `port` on 127.0.0.1 accepts a connection (a redis-server just started); at most 10 s. */
async function listening(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
      s.once('connect', () => s.destroy());
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await sleep(50);
  }
}

let redisUrl = process.env.REDIS_URL;
if (redisUrl === undefined) {
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  redisUrl = `redis://127.0.0.1:${port}`;
  await listening(port);
}

// The three servers start side by side; each reports its port and id once it has joined the cluster.
const servers = await Promise.all(
  [0, 1, 2].map((): Promise<{ port: number; id: string }> => {
    const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, REDIS_URL: redisUrl, PORT: '0' },
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.once('message', (m) => resolve(m as { port: number; id: string }));
      child.once('exit', (code) => reject(new Error(`a server exited (${code}) before it started`)));
    });
  }),
);

const names = ['alice', 'bob', 'carol'];
const clients = await Promise.all(servers.map((s, i) => WebSocket.connect(`ws://127.0.0.1:${s.port}/?room=lobby&user=${names[i]}`)));
const received = clients.map(() => [] as string[]);
clients.forEach((ws, i) =>
  ws.on('message', (data) => {
    received[i]!.push(data.toString());
    console.log(`  ${names[i]} (server ${servers[i]!.id}) got: ${data.toString()}`);
  }),
);
/** Waits (at most 5 s) until client `i` received a message starting with `text`. */
async function gets(i: number, text: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!received[i]!.some((m) => m.startsWith(text))) {
    if (Date.now() > deadline) throw new Error(`${names[i]} never got "${text}"`);
    await sleep(10);
  }
}

console.log('alice says hello to the lobby (her server delivers to its own clients, Redis carries it to the others):');
clients[0]!.send('hello everyone');
await Promise.all([gets(1, 'alice: hello everyone'), gets(2, 'alice: hello everyone')]);
console.log('carol writes privately to bob, wherever he is connected:');
clients[2]!.send('@bob see you at 5');
await gets(1, 'carol (privately): see you at 5');
console.log('bob asks who is online (a server-to-server request):');
clients[1]!.send('/who');
await gets(1, 'online: ');

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
