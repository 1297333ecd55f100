import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, createWebSocketStream } from '../../../src/index.js';
import { delay, openPair, runCleanups, startServer, trackClient, until, waitFor, withTimeout } from '../helpers.js';

afterEach(runCleanups);

const KiB = 1024;

function echo(server: WebSocket): void {
  server.on('message', (data: Buffer, isBinary: boolean) => server.send(data, { binary: isBinary }));
}

describe('createWebSocketStream', () => {
  it('pipes a byte stream through an echo server and back, unchanged', async () => {
    const { client, server } = await openPair();
    echo(server);
    const duplex = createWebSocketStream(client);
    const input = Buffer.alloc(512 * KiB);
    for (let i = 0; i < input.length; i++) input[i] = (i * 31) & 0xff;
    const chunks: Buffer[] = [];
    let received = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        received += chunk.length;
        // Every byte is back: close the connection, which ends the readable side.
        if (received === input.length) duplex.end();
        cb();
      },
    });
    const source = Readable.from(
      (function* () {
        for (let off = 0; off < input.length; off += 16 * KiB) yield input.subarray(off, off + 16 * KiB);
      })(),
      { objectMode: false },
    );
    source.pipe(duplex, { end: false });
    await withTimeout(pipeline(duplex, sink), 5000, 'pipeline');
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(sha(Buffer.concat(chunks))).toBe(sha(input));
    await until(() => client.readyState === 3);
  });

  it('each write is one binary message; strings go as text with decodeStrings: false', async () => {
    const { client, server } = await openPair();
    const got: Array<[string, boolean]> = [];
    server.on('message', (data: Buffer, isBinary: boolean) => got.push([data.toString(), isBinary]));
    const duplex = createWebSocketStream(client, { decodeStrings: false });
    duplex.write(Buffer.from('bin'));
    duplex.write('text');
    await until(() => got.length === 2);
    expect(got).toEqual([
      ['bin', true],
      ['text', false],
    ]);
    duplex.destroy();
  });

  it('readableObjectMode yields text as strings and binary as Buffers', async () => {
    const { client, server } = await openPair();
    const duplex = createWebSocketStream(client, { readableObjectMode: true });
    server.send('hello');
    server.send(Buffer.from([1, 2]));
    server.close();
    const items: unknown[] = [];
    for await (const item of duplex) items.push(item);
    expect(items[0]).toBe('hello');
    expect(Buffer.isBuffer(items[1])).toBe(true);
  });

  it('applies backpressure on reading: an unread stream pauses the socket, reading resumes it', async () => {
    const { client, server } = await openPair();
    const duplex = createWebSocketStream(client, { readableHighWaterMark: 16 * KiB });
    for (let i = 0; i < 8; i++) server.send(Buffer.alloc(8 * KiB, i));
    await until(() => client.isPaused, 2000, 'client paused');
    let bytes = 0;
    duplex.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    await until(() => bytes === 64 * KiB, 2000, 'all data');
    expect(client.isPaused).toBe(false);
    duplex.destroy();
  });

  it('applies backpressure on writing: write callbacks wait for the socket while the peer is not reading', async () => {
    const { client, server } = await openPair({ maxPayload: 1024 * KiB });
    server.pause();
    const duplex = createWebSocketStream(client, { writableHighWaterMark: 256 * KiB });
    const chunk = Buffer.alloc(256 * KiB, 9);
    let written = 0;
    let stalled = false;
    // Write until the stream stays full: its callbacks no longer complete because TCP pushes back.
    while (written < 400) {
      written++;
      if (!duplex.write(chunk)) {
        const drained = await Promise.race([waitFor(duplex, 'drain', 200).then(() => true), delay(150).then(() => false)]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    }
    expect(stalled).toBe(true);
    expect(duplex.writableLength).toBeGreaterThan(0);
    expect(client.bufferedAmount).toBeGreaterThan(0);
    // Once the server reads again, everything goes through, in order and complete.
    let count = 0;
    server.on('message', (data: Buffer) => {
      expect(data.length).toBe(chunk.length);
      count++;
    });
    server.resume();
    await until(() => count === written, 5000, 'every chunk');
    expect(duplex.writableLength).toBe(0);
    duplex.destroy();
  });

  it('writes made while connecting wait for open', async () => {
    const { wss, url } = await startServer();
    const got: string[] = [];
    wss.on('connection', (server: WebSocket) => server.on('message', (d: Buffer) => got.push(d.toString())));
    const ws = trackClient(new WebSocket(url));
    expect(ws.readyState).toBe(0);
    const duplex = createWebSocketStream(ws);
    duplex.write('one');
    duplex.write('two');
    await until(() => got.length === 2);
    expect(got).toEqual(['one', 'two']);
    duplex.destroy();
  });

  it('end() closes the WebSocket (a close frame without a code, as in ws) and the stream closes', async () => {
    const { client, server } = await openPair();
    echo(server);
    const duplex = createWebSocketStream(client);
    duplex.resume();
    const serverClose = waitFor<[number]>(server, 'close');
    const streamClose = waitFor(duplex, 'close');
    duplex.end('last');
    const [code] = await serverClose;
    expect(code).toBe(1005);
    await streamClose;
    expect(duplex.destroyed).toBe(true);
  });

  it('a socket error destroys the stream with that error', async () => {
    const { client, server } = await openPair({}, { maxPayload: 8 });
    const duplex = createWebSocketStream(client);
    const error = waitFor<[Error]>(duplex, 'error');
    server.send('more than eight bytes');
    const [err] = await error;
    expect(err).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
    // The Duplex is destroyed once the socket closed (its close frame was written first).
    expect(client.readyState).toBe(WebSocket.CLOSED);
    expect(duplex.destroyed).toBe(true);
  });

  it('destroy(err) terminates the connection', async () => {
    const { client, server } = await openPair();
    const duplex = createWebSocketStream(client);
    duplex.on('error', () => {});
    const closed = waitFor<[number]>(server, 'close');
    duplex.destroy(new Error('boom'));
    const [code] = await closed;
    expect(code).toBe(1006);
  });

  it('the peer closing ends the readable side only; a later write fails with the socket\'s error, as in ws', async () => {
    const { client, server } = await openPair();
    const duplex = createWebSocketStream(client);
    server.send('bye');
    server.close(1001);
    const chunks: string[] = [];
    duplex.on('data', (c: Buffer) => chunks.push(c.toString()));
    await waitFor(duplex, 'end');
    expect(chunks).toEqual(['bye']);
    expect(duplex.readableEnded).toBe(true);
    expect(duplex.writable).toBe(true);
    const errors: Error[] = [];
    duplex.on('error', (err: Error) => errors.push(err));
    duplex.write('too late');
    await waitFor(duplex, 'close');
    expect(errors.map((e) => [(e as { code?: string }).code, e.message])).toEqual([
      ['WS_ERR_NOT_OPEN', 'WebSocket is not open: readyState 3 (CLOSED)'],
    ]);
  });
});
