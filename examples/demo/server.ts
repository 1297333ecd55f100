/**
 * Demo: a chat with rooms on resumable sessions, a live statistics panel and a slow reader, on
 * http://127.0.0.1:8080. Run with `npm start`; no Redis needed.
 *
 * - `/` the page (plain HTML/CSS/JS) with `/app.js`, `/style.css`, `/favicon.svg` (also
 *   answered for `/favicon.ico`), and `/lib/ws6455-browser.js`, the browser entry
 *   (`ws6455/browser`) as one ES module.
 * - `/chat` the WebSocket: the page's client offers a session (`ws6455.session.1`); a plain
 *   connection is closed with 1008. JSON messages: `{t:'join',room,name}`, `{t:'say',room,id,
 *   text}` in; `{t:'joined',room,history}`, `{t:'msg',…}`, `{t:'presence',room,members}` out.
 *   Rooms through `ws6455/hub`; empty messages are ignored, long ones cut at 2000 characters.
 * - `/stats.json` `wss.stats()` with per-second rates (the page polls it), `/metrics` the same
 *   counters in the Prometheus text format.
 * - `POST /slow?policy=drop|queue|close` starts a slow reader: a client that stops reading and
 *   is sent about 14 MiB in 3 s under that hub backpressure policy; the result is in `/stats.json`.
 * - Sessions are journaled to a file (in `--data`, default the system's temp folder), so a page
 *   resumes its session with nothing lost after the server is stopped (even killed) and started
 *   again on the same port.
 *
 * Flags (or environment): `--port N` (`PORT`, default 8080; 0 picks a free port, printed),
 * `--host H` (`HOST`, default 127.0.0.1), `--data DIR` (`DEMO_DATA`), `--cluster`: two servers
 * (ports N and N+1) joined by `ws6455/cluster` through Redis (`REDIS_URL`, or a redis-server of
 * its own on a free port when the binary is installed, stopped on exit); each page shows which
 * server it is on and room messages cross between them. Stops on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDemo } from './app.js';

const { values: flags } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8080' },
    host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
    data: { type: 'string', default: process.env.DEMO_DATA ?? join(tmpdir(), 'ws6455-demo') },
    redis: { type: 'string' },
    cluster: { type: 'boolean', default: false },
  },
});
const port = Number(flags.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port: ${flags.port}`);

if (flags.cluster) await launchCluster();
else await serve();

/** One server in this process. */
async function serve(): Promise<void> {
  const demo = await startDemo({ port, host: flags.host, data: flags.data, redis: flags.redis });
  const ws = demo.url.replace('http:', 'ws:');
  console.log(`ws6455 demo on ${demo.url} (WebSocket ${ws}/chat, metrics ${demo.url}/metrics)${flags.redis !== undefined ? ` in a cluster (redis ${flags.redis})` : ''}`);
  console.log(`the page's client: ws6455/browser from ${demo.library}`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      // Pages see 1001 and resume their sessions when the server is back.
      demo.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

/** `--cluster`: Redis (given or our own) and two servers in child processes. */
async function launchCluster(): Promise<void> {
  const children: ChildProcess[] = [];
  let redis: ChildProcess | null = null;
  let url = process.env.REDIS_URL;
  if (url === undefined) {
    const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
    if (bin === undefined) {
      console.error('--cluster needs Redis: install redis-server, or set REDIS_URL');
      process.exit(1);
    }
    const redisPort = await freePort();
    // In a process group of its own: a Ctrl-C reaches the servers, which say goodbye to the
    // cluster through it before it is stopped.
    redis = spawn(bin, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const child = redis;
    process.once('exit', () => child.kill('SIGTERM'));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
      redis?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      redis?.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
    });
    url = `redis://127.0.0.1:${redisPort}`;
    console.log(`redis-server on ${url} (no persistence; stopped on exit)`);
  }

  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    const left = children.filter((c) => c.exitCode === null && c.signalCode === null);
    let n = left.length;
    const done = (): void => {
      redis?.kill('SIGTERM');
      process.exit(code);
    };
    if (n === 0) done();
    for (const child of left) child.once('exit', () => --n === 0 && done());
    setTimeout(done, 5000).unref();
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  redis?.once('exit', () => stop(1));

  const script = new URL(import.meta.url).pathname;
  for (const p of port === 0 ? [0, 0] : [port, port + 1]) {
    const args = [...process.execArgv, script, '--port', String(p), '--host', flags.host, '--data', flags.data, '--redis', url];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', () => stop(1));
    children.push(child);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
