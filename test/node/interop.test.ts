/**
 * Interoperability over real sockets: our server with the `ws` client, the `ws` server with our
 * client, and Node's built-in (undici) WebSocket client against our server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { WebSocket, type WebSocketServer } from '../../src/index.js';
import {
  collectMessages,
  onCleanup,
  runCleanups,
  startServer,
  trackClient,
  until,
  waitFor,
  watchClose,
  withTimeout,
} from './helpers.js';

afterEach(runCleanups);

const MiB = 1024 * 1024;

function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Resolves with the `close` arguments of a `ws` WebSocket. */
function wsClosed(ws: WsClient): Promise<[number, string]> {
  return withTimeout(
    new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]))),
    5000,
    'ws close',
  );
}

// ---- our server × ws client -------------------------------------------------------------------

async function oursWithWsClient(
  options: Parameters<typeof startServer>[0] = {},
  protocols: string[] = [],
): Promise<{ wss: WebSocketServer; client: WsClient; server: WebSocket }> {
  const { wss, url } = await startServer(options);
  const connection = waitFor<[WebSocket]>(wss, 'connection');
  const client = new WsClient(`${url}/interop`, protocols);
  onCleanup(() => client.terminate());
  client.on('error', () => {});
  await waitFor(client, 'open');
  const [server] = await connection;
  return { wss, client, server };
}

describe('our server × ws client', () => {
  it('text and binary both ways', async () => {
    const { client, server } = await oursWithWsClient();
    const atServer = collectMessages(server);
    const atClient = collectMessages(client);
    client.send('from ws ✓');
    client.send(Buffer.from([0, 128, 255]));
    server.send('from ws6455 ✓');
    server.send(Buffer.from([1, 2]));
    await until(() => atServer.length === 2 && atClient.length === 2);
    expect(atServer.map(([d, b]) => [b ? [...d] : d.toString(), b])).toEqual([
      ['from ws ✓', false],
      [[0, 128, 255], true],
    ]);
    expect(atClient.map(([d, b]) => [b ? [...d] : d.toString(), b])).toEqual([
      ['from ws6455 ✓', false],
      [[1, 2], true],
    ]);
  });

  it('a 1 MiB message both ways', async () => {
    const { client, server } = await oursWithWsClient();
    const up = bytes(MiB, 2);
    const down = bytes(MiB, 3);
    const atServer = waitFor<[Buffer, boolean]>(server, 'message', 10_000);
    const atClient = waitFor<[Buffer, boolean]>(client, 'message', 10_000);
    client.send(up);
    server.send(down);
    const [s] = await atServer;
    const [c] = await atClient;
    expect(s.length).toBe(MiB);
    expect(sha(s)).toBe(sha(up));
    expect(c.length).toBe(MiB);
    expect(sha(c)).toBe(sha(down));
  });

  it('a 1 MiB + 1 message from the ws client is refused with 1009', async () => {
    const { client, server } = await oursWithWsClient();
    const s = watchClose(server);
    const closed = wsClosed(client);
    client.send(bytes(MiB + 1));
    const [code] = await closed;
    expect(code).toBe(1009);
    await s.close;
    expect((s.errors[0] as Error & { code?: string }).code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  });

  it('fragmented sends both ways arrive as one message', async () => {
    const { client, server } = await oursWithWsClient();
    const atServer = collectMessages(server);
    const atClient = collectMessages(client);
    client.send('ab', { fin: false });
    client.send('cd', { fin: false });
    client.send('ef', { fin: true });
    server.send(Buffer.from([1]), { fin: false });
    server.send(Buffer.from([2]), { fin: false });
    server.send(Buffer.from([3]));
    await until(() => atServer.length === 1 && atClient.length === 1);
    expect([atServer[0]?.[0].toString(), atServer[0]?.[1]]).toEqual(['abcdef', false]);
    expect([[...(atClient[0]?.[0] ?? [])], atClient[0]?.[1]]).toEqual([[1, 2, 3], true]);
  });

  it('close codes: ws client closes with 4000', async () => {
    const { client, server } = await oursWithWsClient();
    const s = watchClose(server);
    const c = wsClosed(client);
    client.close(4000, 'client bye');
    const [code, reason] = await s.close;
    expect([code, reason.toString()]).toEqual([4000, 'client bye']);
    expect(await c).toEqual([4000, 'client bye']);
  });

  it('close codes: our server closes with 4001 and 1001', async () => {
    const { client, server } = await oursWithWsClient();
    const s = watchClose(server);
    const c = wsClosed(client);
    server.close(4001, 'server bye');
    expect(await c).toEqual([4001, 'server bye']);
    const [code, reason] = await s.close;
    expect([code, reason.toString()]).toEqual([4001, 'server bye']);

    const second = await oursWithWsClient();
    const c2 = wsClosed(second.client);
    second.server.close(1001);
    expect(await c2).toEqual([1001, '']);
  });

  it('close without a code is seen as 1005 by the ws client', async () => {
    const { client, server } = await oursWithWsClient();
    const c = wsClosed(client);
    server.close();
    expect((await c)[0]).toBe(1005);
  });

  it('terminate() is seen as 1006 by the ws client', async () => {
    const { client, server } = await oursWithWsClient();
    const c = wsClosed(client);
    server.terminate();
    expect((await c)[0]).toBe(1006);
  });

  it('ping/pong both ways', async () => {
    const { client, server } = await oursWithWsClient();
    const serverPing = waitFor<[Buffer]>(server, 'ping');
    const clientPong = waitFor<[Buffer]>(client, 'pong');
    client.ping('from ws');
    expect((await serverPing)[0].toString()).toBe('from ws');
    expect((await clientPong)[0].toString()).toBe('from ws');
    const clientPing = waitFor<[Buffer]>(client, 'ping');
    const serverPong = waitFor<[Buffer]>(server, 'pong');
    server.ping(Buffer.from([5, 6]));
    expect([...(await clientPing)[0]]).toEqual([5, 6]);
    expect([...(await serverPong)[0]]).toEqual([5, 6]);
  });

  it('subprotocol negotiation', async () => {
    const { client, server } = await oursWithWsClient({}, ['v2', 'v1']);
    expect(client.protocol).toBe('v2');
    expect(server.protocol).toBe('v2');
  });

  it('server.close() closes ws clients with 1001', async () => {
    const { wss, client } = await oursWithWsClient();
    const c = wsClosed(client);
    await withTimeout(new Promise<void>((resolve) => wss.close(() => resolve())), 5000, 'server close');
    expect((await c)[0]).toBe(1001);
  });
});

// ---- ws server × our client -------------------------------------------------------------------

async function wsServerWithOurClient(
  serverOptions: ConstructorParameters<typeof WsServer>[0] = {},
  protocols: string[] = [],
): Promise<{ wss: WsServer; client: WebSocket; server: WsClient }> {
  const wss = new WsServer({ ...serverOptions, port: 0, host: '127.0.0.1' });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  await waitFor(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const connection = waitFor<[WsClient]>(wss, 'connection');
  const client = trackClient(new WebSocket(`ws://127.0.0.1:${port}/ours`, protocols));
  client.on('error', () => {});
  await waitFor(client, 'open');
  const [server] = await connection;
  server.on('error', () => {});
  return { wss, client, server };
}

describe('ws server × our client', () => {
  it('text and binary both ways', async () => {
    const { client, server } = await wsServerWithOurClient();
    const atServer = collectMessages(server);
    const atClient = collectMessages(client);
    client.send('from ws6455 ✓');
    client.send(new Uint8Array([9, 8, 7]));
    server.send('from ws ✓');
    server.send(Buffer.from([0, 255]));
    await until(() => atServer.length === 2 && atClient.length === 2);
    expect(atServer.map(([d, b]) => [b ? [...d] : d.toString(), b])).toEqual([
      ['from ws6455 ✓', false],
      [[9, 8, 7], true],
    ]);
    expect(atClient.map(([d, b]) => [b ? [...d] : d.toString(), b])).toEqual([
      ['from ws ✓', false],
      [[0, 255], true],
    ]);
  });

  it('a 1 MiB message both ways', async () => {
    const { client, server } = await wsServerWithOurClient();
    const up = bytes(MiB, 4);
    const down = bytes(MiB, 5);
    const atServer = waitFor<[Buffer, boolean]>(server, 'message', 10_000);
    const atClient = waitFor<[Buffer, boolean]>(client, 'message', 10_000);
    client.send(up);
    server.send(down);
    const [s] = await atServer;
    const [c] = await atClient;
    expect(sha(s)).toBe(sha(up));
    expect(c.length).toBe(MiB);
    expect(sha(c)).toBe(sha(down));
  });

  it('our client refuses a 1 MiB + 1 message with 1009', async () => {
    const { client, server } = await wsServerWithOurClient();
    const c = watchClose(client);
    const s = wsClosed(server);
    server.send(bytes(MiB + 1));
    expect((await s)[0]).toBe(1009);
    await c.close;
    expect((c.errors[0] as Error & { code?: string }).code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  });

  it('fragmented sends both ways arrive as one message', async () => {
    const { client, server } = await wsServerWithOurClient();
    const atServer = collectMessages(server);
    const atClient = collectMessages(client);
    client.send('ab', { fin: false });
    client.send('cd');
    server.send(Buffer.from([1]), { fin: false });
    server.send(Buffer.from([2]), { fin: true });
    await until(() => atServer.length === 1 && atClient.length === 1);
    expect([atServer[0]?.[0].toString(), atServer[0]?.[1]]).toEqual(['abcd', false]);
    expect([[...(atClient[0]?.[0] ?? [])], atClient[0]?.[1]]).toEqual([[1, 2], true]);
  });

  it('close codes: our client closes with 4002', async () => {
    const { client, server } = await wsServerWithOurClient();
    const c = watchClose(client);
    const s = wsClosed(server);
    client.close(4002, 'ours bye');
    expect(await s).toEqual([4002, 'ours bye']);
    const [code, reason] = await c.close;
    expect([code, reason.toString()]).toEqual([4002, 'ours bye']);
  });

  it('close codes: the ws server closes with 4003', async () => {
    const { client, server } = await wsServerWithOurClient();
    const c = watchClose(client);
    const s = wsClosed(server);
    server.close(4003, 'ws bye');
    const [code, reason] = await c.close;
    expect([code, reason.toString()]).toEqual([4003, 'ws bye']);
    expect(await s).toEqual([4003, 'ws bye']);
    expect(c.errors).toEqual([]);
  });

  it('ping/pong both ways', async () => {
    const { client, server } = await wsServerWithOurClient();
    const serverPing = waitFor<[Buffer]>(server, 'ping');
    const clientPong = waitFor<[Buffer]>(client, 'pong');
    client.ping('ours');
    expect((await serverPing)[0].toString()).toBe('ours');
    expect((await clientPong)[0].toString()).toBe('ours');
    const clientPing = waitFor<[Buffer]>(client, 'ping');
    const serverPong = waitFor<[Buffer]>(server, 'pong');
    server.ping('theirs');
    expect((await clientPing)[0].toString()).toBe('theirs');
    expect((await serverPong)[0].toString()).toBe('theirs');
  });

  it('subprotocol negotiation', async () => {
    const { client, server } = await wsServerWithOurClient({}, ['x', 'y']);
    expect(client.protocol).toBe('x');
    expect(server.protocol).toBe('x');
  });
});

// ---- Node's built-in WebSocket (undici) × our server --------------------------------------------

/** The flags that give a child Node process a global WebSocket, or null if none does. */
function nativeWebSocketFlags(): string[] | null {
  for (const flags of [[], ['--experimental-websocket']]) {
    try {
      const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', 'process.stdout.write(typeof WebSocket)'], {
        encoding: 'utf8',
        timeout: 10_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      if (out === 'function') return flags;
    } catch {
      // Unknown flag on this Node version: try the next.
    }
  }
  return null;
}

const nativeFlags = nativeWebSocketFlags();

function runChild(flags: string[], script: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...flags, '--input-type=module', '-e', script],
      { timeout: 15_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        resolve({ stdout, stderr, code });
      },
    );
  });
}

describe("Node's built-in WebSocket client × our server", () => {
  it.skipIf(nativeFlags === null)('exchanges text and binary and closes both ways', async () => {
    const { wss, port } = await startServer();
    const serverLog: string[] = [];
    wss.on('connection', (ws: WebSocket, req) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        serverLog.push(`${req.url} ${isBinary ? `binary ${[...data].join(',')}` : `text ${data.toString()}`}`);
        if (!isBinary && data.toString() === 'close please') {
          ws.close(1000, 'server done');
          return;
        }
        ws.send(isBinary ? data : `echo:${data.toString()}`, { binary: isBinary });
      });
      ws.on('close', (code: number, reason: Buffer) => serverLog.push(`${req.url} close ${code} ${reason.toString()}`));
    });
    const script = `
      const url = 'ws://127.0.0.1:${port}';
      function run(path, finish) {
        return new Promise((resolve) => {
          const out = [];
          const ws = new WebSocket(url + path, ['chat']);
          ws.binaryType = 'arraybuffer';
          ws.onopen = () => {
            out.push('open ' + ws.protocol);
            ws.send('héllo from undici');
            ws.send(new Uint8Array([1, 2, 3, 250]));
          };
          ws.onmessage = (e) => {
            out.push(typeof e.data === 'string' ? 'text ' + e.data : 'binary ' + Array.from(new Uint8Array(e.data)).join(','));
            if (out.length === 3) finish(ws);
          };
          ws.onerror = () => out.push('error');
          ws.onclose = (e) => {
            out.push('close ' + e.code + ' ' + e.reason + ' ' + e.wasClean);
            resolve(out);
          };
        });
      }
      const timer = setTimeout(() => { console.log('TIMEOUT'); process.exit(2); }, 10000);
      const a = await run('/client-closes', (ws) => ws.close(4000, 'native bye'));
      const b = await run('/server-closes', (ws) => ws.send('close please'));
      clearTimeout(timer);
      console.log(JSON.stringify({ a, b }));
    `;
    const { stdout, stderr, code } = await runChild(nativeFlags ?? [], script);
    expect(stderr.replace(/^.*ExperimentalWarning.*$\n?|^.*--trace-warnings.*$\n?/gm, '')).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { a: string[]; b: string[] };
    expect(result.a).toEqual(['open chat', 'text echo:héllo from undici', 'binary 1,2,3,250', 'close 4000 native bye true']);
    expect(result.b).toEqual(['open chat', 'text echo:héllo from undici', 'binary 1,2,3,250', 'close 1000 server done true']);
    await until(() => serverLog.length === 7);
    expect(serverLog.filter((l) => l.startsWith('/client-closes'))).toEqual([
      '/client-closes text héllo from undici',
      '/client-closes binary 1,2,3,250',
      '/client-closes close 4000 native bye',
    ]);
    expect(serverLog.filter((l) => l.startsWith('/server-closes'))).toEqual([
      '/server-closes text héllo from undici',
      '/server-closes binary 1,2,3,250',
      '/server-closes text close please',
      // undici echoes the code without the reason; the server reports what the peer sent.
      '/server-closes close 1000 ',
    ]);
    expect(wss.clients.size).toBe(0);
  });
});
