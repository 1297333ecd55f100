/**
 * The load driver of the HTTP/2 benchmark: ws6455's own client (the same bundle as the server),
 * dialling HTTP/1.1 upgrades or, with `http2: true`, streams of HTTP/2 sessions (RFC 8441, h2c).
 * Socket i dials from the local address 127.0.0.(1 + i % sessions), which also spreads the HTTP/2
 * streams over `sessions` sessions (a session is shared per origin and connection options).
 *
 *   node --import tsx benchmarks/http2/driver.ts --module /abs/index.js
 *
 * Requests (`{ id, cmd }`):
 * - `open` `{ port, mode, n, sessions, concurrency }`: opens n sockets, at most `concurrency`
 *   handshakes at a time, and keeps them open; replies `{ opened, failed, ms, firstError }`.
 * - `close-all`: closes them (1000) and waits for every `close`.
 * - `echo` `{ port, mode, conns, sessions, inflight, size, warmupMs, windowMs }`: `conns` sockets,
 *   `inflight` binary messages of `size` bytes outstanding on each (every echo is answered by a
 *   new message); replies with the echoes and bytes counted in the window and the driver's CPU.
 */
import { pathToFileURL } from 'node:url';

interface ClientSocket {
  on(event: 'open', cb: () => void): unknown;
  on(event: 'message', cb: (data: Buffer) => void): unknown;
  on(event: 'close', cb: () => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
  send(data: Buffer): boolean;
  close(code?: number): void;
  readonly readyState: number;
}
type ClientCtor = new (url: string, options: Record<string, unknown>) => ClientSocket;

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : '';
}
const { WebSocket } = (await import(pathToFileURL(arg('module')).href)) as { WebSocket: ClientCtor };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let sockets: ClientSocket[] = [];

function dial(port: number, mode: string, i: number, sessions: number): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    const options: Record<string, unknown> = { localAddress: `127.0.0.${1 + (i % sessions)}`, perMessageDeflate: false, handshakeTimeout: 30_000 };
    if (mode === 'h2c') options.http2 = true;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, options);
    ws.on('error', (err) => reject(err));
    ws.on('open', () => resolve(ws));
  });
}

async function open(port: number, mode: string, n: number, sessions: number, concurrency: number): Promise<Record<string, unknown>> {
  let next = 0;
  let failed = 0;
  let firstError = '';
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      try {
        sockets.push(await dial(port, mode, i, sessions));
      } catch (err) {
        failed++;
        firstError ||= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { opened: sockets.length, failed, ms: performance.now() - t0, firstError };
}

async function closeAll(): Promise<void> {
  const closing = sockets.map((ws) => new Promise<void>((resolve) => (ws.readyState === 3 ? resolve() : ws.on('close', () => resolve()))));
  for (const ws of sockets) ws.close(1000);
  await Promise.race([Promise.all(closing), sleep(30_000)]);
  sockets = [];
}

async function echo(body: Record<string, number | string>): Promise<Record<string, unknown>> {
  const port = Number(body.port);
  const mode = String(body.mode);
  const conns = Number(body.conns);
  const inflight = Number(body.inflight);
  const size = Number(body.size);
  const opened = await open(port, mode, conns, Number(body.sessions), Math.min(conns, 16));
  const payload = Buffer.alloc(size, 0x61);
  let counting = false;
  let messages = 0;
  let wrong = 0;
  for (const ws of sockets) {
    ws.on('message', (data) => {
      if (data.length !== size) wrong++;
      if (counting) messages++;
      ws.send(payload);
    });
    for (let k = 0; k < inflight; k++) ws.send(payload);
  }
  await sleep(Number(body.warmupMs));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  counting = true;
  await sleep(Number(body.windowMs));
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const counted = messages;
  await closeAll();
  return { opened: opened.opened, failed: opened.failed, messages: counted, seconds, bytes: counted * size, wrong, cpuUs: cpu.user + cpu.system };
}

process.on('message', (msg: { id: number; cmd: string } & Record<string, number | string>) => {
  const reply = (body: Record<string, unknown>): void => {
    process.send?.({ id: msg.id, ...body });
  };
  if (msg.cmd === 'open') {
    void open(Number(msg.port), String(msg.mode), Number(msg.n), Number(msg.sessions), Number(msg.concurrency)).then(reply);
  } else if (msg.cmd === 'close-all') {
    void closeAll().then(() => reply({}));
  } else if (msg.cmd === 'echo') {
    void echo(msg).then(reply, (err: unknown) => reply({ error: String(err) }));
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
