import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket, WebSocketMessage } from '../../../src/index.js';
import { delay, openPair, runCleanups, until, waitFor, withTimeout } from '../helpers.js';

afterEach(runCleanups);

const KiB = 1024;

/**
 * Sends from the server until its socket write buffer stays backed up for 50 ms: the kernel
 * buffers (which loopback autotuning grows) are full because the client stopped reading.
 */
async function fillUntilBackpressure(server: WebSocket, chunk: Buffer, maxMessages: number): Promise<number> {
  let sent = 0;
  while (sent < maxMessages) {
    server.send(chunk);
    sent++;
    if (server.bufferedAmount >= 4 * chunk.length) {
      await delay(50);
      if (server.bufferedAmount >= 4 * chunk.length) return sent;
    }
  }
  return sent;
}

describe('for await (const message of ws)', () => {
  it('yields messages in order and ends when the socket closes', async () => {
    const { client, server } = await openPair();
    for (let i = 0; i < 5; i++) server.send(`m${i}`);
    server.send(Buffer.from([7]));
    server.close(1000);
    const got: Array<[string, boolean]> = [];
    await withTimeout(
      (async () => {
        for await (const { data, isBinary } of client) got.push([isBinary ? `bin:${[...(data as Buffer)]}` : String(data), isBinary]);
      })(),
    );
    expect(got).toEqual([['m0', false], ['m1', false], ['m2', false], ['m3', false], ['m4', false], ['bin:7', true]]);
  });

  it('applies backpressure: a slow consumer pauses the socket and the server sees its writes back up', async () => {
    const { client, server } = await openPair({}, { maxPayload: 1024 * KiB });
    const iterator = client.messages({ highWaterMark: 4 });
    const chunk = Buffer.alloc(256 * KiB, 1);
    // Nobody consumes yet: after 4 messages the client pauses and TCP pushes back on the server.
    const sent = await fillUntilBackpressure(server, chunk, 400);
    await until(() => client.isPaused, 3000, 'client paused');
    expect(sent).toBeLessThan(400);
    // It stays backed up while the consumer does nothing: the client is not reading.
    const backlog = server.bufferedAmount;
    expect(backlog).toBeGreaterThanOrEqual(4 * chunk.length);
    await delay(50);
    expect(server.bufferedAmount).toBe(backlog);
    // Draining the iterator resumes the socket and every message arrives, in order.
    const closed = waitFor(server, 'close');
    server.close(1000);
    let count = 0;
    let sawResume = false;
    for await (const message of iterator) {
      expect((message.data as Buffer).length).toBe(chunk.length);
      count++;
      if (!client.isPaused) sawResume = true;
    }
    expect(count).toBe(sent);
    expect(sawResume).toBe(true);
    await closed;
  });

  it('bounds the buffer in bytes as well as in messages', async () => {
    const { client, server } = await openPair();
    const iterator = client.messages({ highWaterMark: 1000, maxBufferedBytes: 100 * KiB });
    for (let i = 0; i < 4; i++) server.send(Buffer.alloc(40 * KiB));
    await until(() => client.isPaused, 2000, 'paused on bytes');
    const first = await iterator.next();
    expect(first.done).toBe(false);
    await iterator.return?.();
  });

  it('break resumes a socket the iterator had paused, and leaves it open', async () => {
    const { client, server } = await openPair();
    const iterator = client.messages({ highWaterMark: 2 });
    for (let i = 0; i < 6; i++) server.send(`m${i}`);
    await until(() => client.isPaused, 2000, 'paused');
    for await (const message of iterator) {
      expect(String(message.data)).toBe('m0');
      break;
    }
    expect(client.isPaused).toBe(false);
    expect(client.readyState).toBe(1);
    expect(client.listenerCount('message')).toBe(0);
  });

  it('an AbortSignal ends the iteration with its reason; the socket stays open', async () => {
    const { client, server } = await openPair();
    const controller = new AbortController();
    const got: string[] = [];
    const loop = (async () => {
      for await (const message of client.messages({ signal: controller.signal })) {
        got.push(String(message.data));
        if (got.length === 2) controller.abort(new Error('enough'));
      }
    })();
    server.send('a');
    server.send('b');
    server.send('c');
    await expect(withTimeout(loop)).rejects.toThrow('enough');
    expect(got).toEqual(['a', 'b']);
    expect(client.readyState).toBe(1);
  });

  it('a pending next() rejects when the signal aborts while waiting', async () => {
    const { client } = await openPair();
    const controller = new AbortController();
    const next = client.messages({ signal: controller.signal }).next();
    controller.abort();
    await expect(next).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('throws the error that failed the connection, after the messages that came before it', async () => {
    const pair = await openPair({}, { maxPayload: 10 });
    const errors = pair.client.messages();
    pair.server.send('fine');
    pair.server.send('this message is too long');
    const first = await errors.next();
    expect(String(first.value?.data)).toBe('fine');
    await expect(errors.next()).rejects.toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
  });

  it('on a closed socket, iteration ends at once', async () => {
    const { client, server } = await openPair();
    const closed = waitFor(client, 'close');
    server.close();
    await closed;
    const all: WebSocketMessage[] = [];
    for await (const m of client) all.push(m);
    expect(all).toEqual([]);
  });

  it('works on the server side too', async () => {
    const { client, server } = await openPair();
    client.send('x');
    client.send('y');
    client.close();
    const got: string[] = [];
    for await (const m of server) got.push(String(m.data));
    expect(got).toEqual(['x', 'y']);
  });
});
