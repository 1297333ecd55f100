/**
 * Server side of benchmarks/broadcast.ts, one process per run:
 *
 *   node --import tsx broadcast-server.ts --impl ours-hub|ours-loop|ws-loop --deflate off|on [--hwm bytes]
 *
 * `ours-hub` broadcasts with `Hub.broadcast` (framed once); the `*-loop` variants run the usual
 * `for (const c of wss.clients) c.send(data)`. Driven over IPC by the coordinator.
 */
import { performance } from 'node:perf_hooks';
import { WebSocketServer as WsServer } from 'ws';
import { WebSocketServer as OurServer } from '../../src/index.js';
import { Hub } from '../../src/hub/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const impl = arg('impl', 'ours-hub');
const deflate = arg('deflate', 'off') === 'on';
/** High-water mark of the hub's drop policy (default: so high that nothing is dropped). */
const hwm = Number(arg('hwm', String(1 << 30)));
const now = (): number => performance.timeOrigin + performance.now();
const send = (m: object): void => {
  process.send?.(m);
};

interface Client {
  send(data: Buffer, opts?: { binary?: boolean }): unknown;
  on(event: 'error', cb: () => void): unknown;
}
let clients: Set<Client>;
let hub: Hub | null = null;
const options = { port: 0, host: '127.0.0.1', backlog: 4096, maxPayload: 1 << 20, perMessageDeflate: deflate };

if (impl === 'ws-loop') {
  const wss = new WsServer(options);
  clients = wss.clients as unknown as Set<Client>;
  wss.on('connection', (ws) => ws.on('error', () => {}));
  wss.on('listening', () => send({ type: 'listening', port: (wss.address() as { port: number }).port }));
} else {
  // By default a high-water mark no broadcast reaches: nothing is dropped, as with `ws`.
  if (impl === 'ours-hub') hub = new Hub({ backpressure: { policy: 'drop', highWaterMark: hwm } });
  const wss = new OurServer(options);
  clients = wss.clients as unknown as Set<Client>;
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    hub?.add(ws);
  });
  wss.on('listening', () => send({ type: 'listening', port: (wss.address() as { port: number }).port }));
}

let peakRss = 0;
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50).unref();

function broadcastOnce(payload: Buffer): void {
  if (hub !== null) {
    hub.broadcast(payload);
    return;
  }
  for (const c of clients) c.send(payload);
}

process.on('message', (m: { type: string; count?: number; payloads?: string[]; fresh?: boolean; every?: number }) => {
  if (m.type === 'cpu') {
    const used = process.cpuUsage();
    send({ type: 'cpu', ms: (used.user + used.system) / 1000, peakRss });
    return;
  }
  if (m.type === 'exit') process.exit(0);
  if (m.type !== 'broadcast') return;
  const texts = m.payloads ?? [''];
  const payloads = texts.map((p) => Buffer.from(p, 'utf8'));
  // `fresh`: a new Buffer for every broadcast (as an application serialising each update does),
  // so a recipient that falls behind keeps every message it has not received alive.
  const fresh = m.fresh === true;
  const count = m.count ?? 1;
  const every = m.every ?? 0;
  const t0 = now();
  let i = 0;
  // One broadcast per turn of the event loop (or every `every` ms): sockets write in between.
  const step = (): void => {
    broadcastOnce(fresh ? Buffer.from(texts[i % texts.length] as string, 'utf8') : (payloads[i % payloads.length] as Buffer));
    if (++i < count) {
      if (every > 0) setTimeout(step, every);
      else setImmediate(step);
      return;
    }
    send({ type: 'broadcasted', t0, t1: now(), peakRss, hub: hub?.stats() });
  };
  step();
});
