/**
 * Echo server for the ws-compatible implementations: `ws` itself (with or without its native addons,
 * chosen by the WS_NO_BUFFER_UTIL / WS_NO_UTF_8_VALIDATE environment the runner sets) and ws6455.
 * Both are driven by the same code, so any difference measured is the library's, not the harness's.
 *
 *   node --expose-gc --import tsx ws-echo.ts --impl ws|ours [--module /abs/dist/index.js] --port P
 */
import { pathToFileURL } from 'node:url';
import { arg, countError, loadedAddons, newCounters, sendReady, startControl } from './control.js';

/** The slice of the `ws` server API the benchmark uses; ws6455 promises the same shape. */
interface SocketLike {
  on(event: 'message', cb: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'close', cb: () => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  send(data: unknown, opts: { binary: boolean }): void;
}
interface ServerLike {
  on(event: 'connection', cb: (ws: SocketLike) => void): unknown;
  on(event: 'listening', cb: () => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
}
type ServerCtor = new (opts: { port: number; host: string; maxPayload: number }) => ServerLike;

const impl = arg('impl', 'ws');
const port = Number(arg('port', '0'));
const host = arg('host', '127.0.0.1');
// 64 MiB: far above the 1 MiB scenario, so no implementation's default limit shapes a result.
const maxPayload = Number(arg('max-payload', String(64 * 1024 * 1024)));

async function loadServer(): Promise<ServerCtor> {
  if (impl === 'ws') {
    const ws = await import('ws');
    return ws.WebSocketServer as unknown as ServerCtor;
  }
  // The path is computed, so the type checker never needs src/index.ts to exist.
  const modulePath = arg('module', '');
  if (!modulePath) throw new Error('--module is required for --impl ours');
  const mod = (await import(pathToFileURL(modulePath).href)) as { WebSocketServer?: unknown };
  if (typeof mod.WebSocketServer !== 'function') throw new Error(`${modulePath} exports no WebSocketServer`);
  return mod.WebSocketServer as ServerCtor;
}

const counters = newCounters();
startControl(counters);
const WebSocketServer = await loadServer();
const wss = new WebSocketServer({ port, host, maxPayload });
wss.on('error', (err) => {
  console.error('server error:', err);
  process.exit(1);
});
wss.on('connection', (ws) => {
  counters.accepted++;
  counters.open++;
  // The echo handler every ws user writes: the message goes back with the type it arrived with.
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', () => counters.open--);
  ws.on('error', (err) => countError(counters, err));
});
wss.on('listening', () => {
  sendReady(port, { impl, ...(impl === 'ws' ? loadedAddons() : {}) });
});
