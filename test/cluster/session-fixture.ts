/**
 * A session server for the failover tests, run as a child process (`node --import tsx
 * session-fixture.ts`) with its configuration in the FIXTURE environment variable (JSON): a
 * WebSocketServer with resumable sessions on a RedisSessionStore (or a memory store, for the
 * comparison), optionally a Cluster told about it.
 *
 * The application writes what happens to its log file with `fs.writeSync`, before anything is
 * acknowledged, so the record survives a SIGKILL: each message received (`R time seq
 * redelivered binary payload`), each message sent to the client (`S n`), acknowledged
 * (`A n`) or failed (`F n code`), each session opened or resumed (`O time id restored`).
 * It sends `s:<name>:<n>` to every session it holds, one every 2 ms while fewer than 64 are
 * unacknowledged, until told to stop (`quiesce`).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Hub } from '../../src/hub/index.js';
import { Cluster, RedisSessionStore, type RedisClientLike } from '../../src/cluster/index.js';
import { MemorySessionStore, WebSocketServer, type Session, type SessionStore } from '../../src/index.js';

interface Config {
  name: string;
  log: string;
  redisUrl: string;
  client: 'redis' | 'ioredis';
  store: 'redis' | 'memory';
  cluster: boolean;
  resumeWindow: number;
  /** Most messages this process sends to its sessions. */
  maxSends: number;
}

type Command = { op: string; id: number } & Record<string, unknown>;

const config = JSON.parse(process.env.FIXTURE ?? '{}') as Config;
const send = (m: object): void => {
  process.send?.(m);
};
const fd = openSync(config.log, 'a');
const now = (): string => (performance.timeOrigin + performance.now()).toFixed(3);
const log = (line: string): void => {
  writeSync(fd, `${line}\n`);
};

async function connectRedis(): Promise<{ client: RedisClientLike; quit: () => Promise<void> }> {
  if (config.client === 'redis') {
    const mod = await import('redis');
    const client = mod.createClient({ url: config.redisUrl });
    client.on('error', () => {});
    await client.connect();
    return { client: client as unknown as RedisClientLike, quit: async () => void (await client.disconnect().catch(() => undefined)) };
  }
  const mod = await import('ioredis');
  const client = new mod.Redis(config.redisUrl, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return { client: client as unknown as RedisClientLike, quit: async () => client.disconnect() };
}

const redis = config.store === 'redis' || config.cluster ? await connectRedis() : null;
const store: SessionStore =
  config.store === 'redis' && redis !== null
    ? new RedisSessionStore({ redis: redis.client, prefix: 'failover', resumeWindow: config.resumeWindow })
    : new MemorySessionStore();
const wss = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  // The default acknowledgement timing (every 32 messages or 100 ms): received messages are
  // recorded as late as the protocol allows, so a kill finds some delivered and not recorded.
  sessions: { store, resumeWindow: config.resumeWindow },
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
let cluster: Cluster | null = null;
if (config.cluster && redis !== null) {
  cluster = await new Cluster(new Hub(), { redis: redis.client, prefix: 'failover', sessions: wss, heartbeatInterval: 500, presenceTimeout: 1500 }).start();
}

let sent = 0;
let pumping = true;
const held = new Set<Session>();

wss.on('session', (session: Session) => {
  held.add(session);
  log(`O ${now()} ${session.id} new`);
  session.on('resumed', (info) => log(`O ${now()} ${session.id} ${info.restored ? 'restored' : 'local'}`));
  session.on('message', (data, isBinary, info) => {
    log(`R ${now()} ${info.seq} ${info.redelivered ? 1 : 0} ${isBinary ? 1 : 0} ${data.toString('utf8')}`);
  });
  session.on('close', (err) => {
    held.delete(session);
    log(`C ${now()} ${err.code}`);
    send({ event: 'close', code: err.code });
  });
  send({ event: 'session', id: session.id });
});

const pump = setInterval(() => {
  if (!pumping) return;
  for (const session of held) {
    if (session.closed || session.unacknowledged >= 64 || sent >= config.maxSends) continue;
    const n = ++sent;
    log(`S ${n}`);
    session.send(`s:${config.name}:${n}`).then(
      () => log(`A ${n}`),
      (err: { code?: string }) => log(`F ${n} ${err.code ?? 'error'}`),
    );
  }
}, 2);

process.on('message', (raw) => {
  const cmd = raw as Command;
  const reply = (result: unknown): void => send({ reply: cmd.id, result });
  switch (cmd.op) {
    case 'quiesce':
      pumping = false;
      reply({ sent });
      break;
    case 'state':
      reply({
        sent,
        sessions: [...held].map((s) => ({ id: s.id, connected: s.connected, unacknowledged: s.unacknowledged })),
        stats: cluster?.stats() ?? null,
      });
      break;
    case 'close':
      void (async () => {
        clearInterval(pump);
        if (store instanceof RedisSessionStore) store.close();
        await cluster?.close(500);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await redis?.quit();
        closeSync(fd);
        reply('closed');
        setTimeout(() => process.exit(0), 50);
      })();
      break;
    default:
      send({ reply: cmd.id, error: `unknown op ${cmd.op}` });
  }
});

send({ event: 'ready', port: (wss.address() as AddressInfo).port });
