import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../../src/index.js';
import { listen, runCleanups, startServer, trackClient, waitFor, withTimeout } from '../helpers.js';

afterEach(runCleanups);

/** A port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP server that accepts upgrade requests and never answers them. */
async function silentServer(): Promise<{ port: number; requests: () => number }> {
  let count = 0;
  const server = http.createServer();
  server.on('upgrade', () => {
    count++;
  });
  const port = await listen(server);
  return { port, requests: () => count };
}

describe('WebSocket.connect', () => {
  it('resolves with the open WebSocket, with the negotiated subprotocol', async () => {
    const { url } = await startServer();
    const ws = trackClient(await WebSocket.connect(url, { protocols: ['chat', 'superchat'] }));
    expect(ws).toBeInstanceOf(WebSocket);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(ws.protocol).toBe('chat');
  });

  it('delivers a message the server sends together with the handshake to listeners added after await', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (server: WebSocket) => {
      server.send('first');
      server.send('second');
    });
    for (let i = 0; i < 10; i++) {
      const ws = trackClient(await WebSocket.connect(url));
      const [data] = await waitFor<[Buffer]>(ws, 'message');
      expect(data.toString()).toBe('first');
      expect(ws.isPaused).toBe(false);
      ws.terminate();
    }
  });

  it('keeps a pause() made right after await (the hold does not undo it)', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (server: WebSocket) => server.send('x'));
    const ws = trackClient(await WebSocket.connect(url));
    ws.pause();
    let got = 0;
    ws.on('message', () => got++);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ws.isPaused).toBe(true);
    expect(got).toBe(0);
    ws.resume();
    await waitFor(ws, 'message');
  });

  it('rejects with the network error (ECONNREFUSED)', async () => {
    const port = await closedPort();
    await expect(WebSocket.connect(`ws://127.0.0.1:${port}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects with the handshake error when the server refuses the upgrade', async () => {
    const { url } = await startServer({ verifyClient: () => false });
    await expect(WebSocket.connect(url)).rejects.toMatchObject({ code: 'WS_ERR_UNEXPECTED_RESPONSE' });
  });

  it('rejects with WS_ERR_HANDSHAKE_TIMEOUT when the server never answers', async () => {
    const { port } = await silentServer();
    await expect(WebSocket.connect(`ws://127.0.0.1:${port}`, { handshakeTimeout: 50 })).rejects.toMatchObject({
      code: 'WS_ERR_HANDSHAKE_TIMEOUT',
    });
  });

  it('an AbortSignal cancels the handshake with its reason', async () => {
    const { port, requests } = await silentServer();
    const controller = new AbortController();
    const promise = WebSocket.connect(`ws://127.0.0.1:${port}`, { signal: controller.signal });
    await withTimeout(
      (async () => {
        while (requests() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
    );
    controller.abort();
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('AbortSignal.timeout works as a deadline', async () => {
    const { port } = await silentServer();
    await expect(WebSocket.connect(`ws://127.0.0.1:${port}`, { signal: AbortSignal.timeout(30) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  it('an already aborted signal dials nothing', async () => {
    const { port, requests } = await silentServer();
    const reason = new Error('stop');
    await expect(WebSocket.connect(`ws://127.0.0.1:${port}`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(requests()).toBe(0);
  });

  it('aborting after the connection opened has no effect', async () => {
    const { url } = await startServer();
    const controller = new AbortController();
    const ws = trackClient(await WebSocket.connect(url, { signal: controller.signal }));
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('rejects (does not throw) for an invalid URL', async () => {
    await expect(WebSocket.connect('ftp://example.com')).rejects.toMatchObject({ code: 'WS_ERR_INVALID_URL' });
  });
});

describe('WHATWG-style code runs unchanged', () => {
  it('binaryType arraybuffer, onopen/onmessage with event.data, onclose with code and wasClean', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (server: WebSocket) => {
      server.on('message', (data: Buffer, isBinary: boolean) => server.send(data, { binary: isBinary }));
    });
    // The snippet below is what a browser page would contain.
    const result = await withTimeout(
      new Promise<{ text: unknown; binary: unknown; code: number; wasClean: boolean }>((resolve) => {
        const socket = new WebSocket(url);
        socket.binaryType = 'arraybuffer';
        const got: unknown[] = [];
        socket.onopen = () => {
          socket.send('hi');
          socket.send(new Uint8Array([1, 2, 3]));
        };
        socket.onmessage = (event) => {
          got.push(event.data);
          if (got.length === 2) socket.close(1000, 'done');
        };
        socket.onclose = (event) => resolve({ text: got[0], binary: got[1], code: event.code, wasClean: event.wasClean });
      }),
    );
    expect(result.text).toBe('hi');
    expect(result.binary).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(result.binary as ArrayBuffer)]).toEqual([1, 2, 3]);
    expect(result.code).toBe(1000);
    expect(result.wasClean).toBe(true);
  });
});
