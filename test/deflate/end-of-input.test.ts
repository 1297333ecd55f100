/**
 * Compressed messages at the end of a connection, over real sockets on 127.0.0.1: every message
 * that arrives before the peer's close frame or FIN is delivered, in order, before `close`,
 * wherever the TCP stream is cut; and a connection failed on invalid compressed data closes as
 * soon as the peer answers, not after `closeTimeout`.
 *
 * Regression tests: a message still being decoded when the socket ended used to be dropped
 * with the frames held behind it (the peer's close frame too, so `close` reported 1006), and a
 * connection failed while its socket was paused for a decode never read the peer's FIN.
 */
import net from 'node:net';
import { deflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/index.js';
import {
  acceptFor,
  buildFrame,
  closePayload,
  collectMessages,
  listen,
  Op,
  openPair,
  parseHead,
  RawClient,
  runCleanups,
  startServer,
  trackClient,
  until,
  waitFor,
  withTimeout,
} from '../node/helpers.js';

afterEach(runCleanups);

/**
 * A permessage-deflate payload. It ends with a final (BFINAL) block rather than a sync flush,
 * which RFC 7692 §7.2.3.4 also allows; the receiver then starts a fresh window.
 */
function compressed(text: string): Buffer {
  return deflateRawSync(Buffer.from(text));
}

const TEXTS = ['first message', 'second one', 'third and last'];

/** The server's side of a stream: compressed text messages, then optionally a close frame. */
function serverBytes(withClose: boolean): Buffer {
  const frames = TEXTS.map((t) => buildFrame({ opcode: Op.Text, rsv: 0x40, payload: compressed(t), mask: false }));
  if (withClose) frames.push(buildFrame({ opcode: Op.Close, payload: closePayload(4001, 'bye'), mask: false }));
  return Buffer.concat(frames);
}

/**
 * A TCP server that accepts one upgrade with permessage-deflate, writes `bytes` in two writes
 * cut at `cut` (the second on a later turn of the event loop), then ends TCP.
 */
async function rawServer(bytes: Buffer, cut: number): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const parsed = parseHead(head);
      if (parsed === null) return;
      socket.off('data', onData);
      socket.resume();
      const key = parsed.headers['sec-websocket-key'] ?? '';
      const response = Buffer.from(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
      );
      // The first part goes with the 101 response, as a fast server's first frames do.
      socket.write(Buffer.concat([response, bytes.subarray(0, cut)]));
      setTimeout(() => {
        socket.write(bytes.subarray(cut));
        socket.end();
      }, 2);
    };
    socket.on('data', onData);
  });
  return listen(server);
}

async function clientRun(bytes: Buffer, cut: number): Promise<{ got: string[]; code: number; reason: string }> {
  const port = await rawServer(bytes, cut);
  const client = trackClient(new WebSocket(`ws://127.0.0.1:${port}/`, { closeTimeout: 30_000 }));
  client.on('error', () => {});
  const got: string[] = [];
  client.on('message', (data: Buffer) => got.push(data.toString()));
  const [code, reason] = await withTimeout(waitFor<[number, Buffer]>(client, 'close', 5000), 5000, `close at cut ${cut}`);
  return { got, code, reason: reason.toString() };
}

describe('compressed messages before the end of the connection (our client)', () => {
  it('regression: messages and the close frame that follow them are delivered at every split point, then close with the peer code', async () => {
    const bytes = serverBytes(true);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { got, code, reason } = await clientRun(bytes, cut);
      expect(got, `cut ${cut}`).toEqual(TEXTS);
      expect([code, reason], `cut ${cut}`).toEqual([4001, 'bye']);
    }
  });

  it('regression: messages followed by FIN without a close frame are all delivered at every split point, then close 1006', async () => {
    const bytes = serverBytes(false);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { got, code } = await clientRun(bytes, cut);
      expect(got, `cut ${cut}`).toEqual(TEXTS);
      expect(code, `cut ${cut}`).toBe(1006);
    }
  });
});

describe('compressed messages before the end of the connection (our server)', () => {
  it('regression: a client that sends compressed messages, its close frame and FIN at once gets every message delivered, at every split point', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: true });
    const frames = TEXTS.map((t) => buildFrame({ opcode: Op.Text, rsv: 0x40, payload: compressed(t) }));
    frames.push(buildFrame({ opcode: Op.Close, payload: closePayload(1000, 'done') }));
    const bytes = Buffer.concat(frames);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const connection = waitFor<[WebSocket]>(wss, 'connection');
      const raw = await RawClient.open(port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
      const [ws] = await connection;
      const got = collectMessages(ws);
      const closed = waitFor<[number, Buffer]>(ws, 'close');
      raw.write(bytes.subarray(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 1));
      raw.write(bytes.subarray(cut));
      raw.end();
      const [code] = await closed;
      expect(got.map(([d]) => d.toString()), `cut ${cut}`).toEqual(TEXTS);
      expect(code, `cut ${cut}`).toBe(1000);
    }
  });
});

describe('compressed messages before the end of the connection (our client × our server)', () => {
  it('regression: an echo that arrives together with the server\'s close frame is delivered, 10 of 10, with close 1000', async () => {
    const { wss, url } = await startServer({ perMessageDeflate: { threshold: 0 } });
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    for (let i = 0; i < 10; i++) {
      const client = trackClient(new WebSocket(url, { perMessageDeflate: { threshold: 0 } }));
      const got = collectMessages(client);
      await waitFor(client, 'open');
      client.send(`echo ${i}`);
      client.close(1000);
      const [code] = await waitFor<[number]>(client, 'close');
      expect(got.map(([d]) => d.toString()), `run ${i}`).toEqual([`echo ${i}`]);
      expect(code, `run ${i}`).toBe(1000);
    }
  });

  it('regression: four compressed messages sent before the server ends TCP all arrive, 10 of 10', async () => {
    const { wss, url } = await startServer({ perMessageDeflate: { threshold: 0 } });
    wss.on('connection', (ws: WebSocket) => {
      for (let i = 0; i < 4; i++) ws.send(`message ${i}`, i === 3 ? () => (ws as unknown as { transport: { socket: net.Socket } }).transport.socket.end() : undefined);
    });
    for (let run = 0; run < 10; run++) {
      const client = trackClient(new WebSocket(url, { perMessageDeflate: { threshold: 0 } }));
      const got = collectMessages(client);
      await waitFor(client, 'close');
      expect(got.map(([d]) => d.toString()), `run ${run}`).toEqual(['message 0', 'message 1', 'message 2', 'message 3']);
    }
  });

  it('messages held while the application paused are delivered before close when the socket is destroyed', async () => {
    const { server, client } = await openPair({}, { closeTimeout: 100 });
    const got = collectMessages(client);
    client.pause();
    for (let i = 0; i < 3; i++) server.send(`held ${i}`);
    await until(() => client.bufferedAmount === 0 && server.bufferedAmount === 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got).toEqual([]);
    // Our close frame goes out; the server's answer cannot be read while paused, so the close
    // timer destroys the socket: what it held was sent before the end and is delivered.
    server.pause();
    client.close(1000);
    const [code] = await waitFor<[number]>(client, 'close');
    expect(got.map(([d]) => d.toString())).toEqual(['held 0', 'held 1', 'held 2']);
    expect(code).toBe(1006);
  });
});

describe('invalid compressed data', () => {
  it('regression: our client closes as soon as the server answers its 1007, not after closeTimeout', async () => {
    const port = await rawServerAnsweringClose();
    const client = trackClient(new WebSocket(`ws://127.0.0.1:${port}/`, { closeTimeout: 20_000 }));
    const errors: Error[] = [];
    client.on('error', (err: Error) => errors.push(err));
    // closeTimeout is 20 s: a close within the 5 s wait shows it was not waited out.
    const [code] = await withTimeout(waitFor<[number]>(client, 'close', 5000), 5000, 'close');
    expect((errors[0] as { code?: string } | undefined)?.code).toBe('WS_ERR_INVALID_COMPRESSED_DATA');
    expect(code).toBe(1006);
  });

  it('regression: our server closes as soon as the client answers its 1007', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: true, closeTimeout: 20_000 });
    const connection = waitFor<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
    const [ws] = await connection;
    ws.on('error', () => {});
    const closed = waitFor<[number]>(ws, 'close', 5000);
    raw.sendFrame({ opcode: Op.Binary, rsv: 0x40, payload: Buffer.from([0xff, 0xee, 0xdd]) });
    const { code } = await raw.readUntilClose();
    expect(code).toBe(1007);
    raw.sendFrame({ opcode: Op.Close, payload: closePayload(1007) });
    await raw.waitEnd();
    raw.end();
    const [closeCode] = await closed;
    expect(closeCode).toBe(1006);
  });
});

/** A raw server that sends invalid compressed data, answers the client's close frame and ends TCP. */
async function rawServerAnsweringClose(): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const parsed = parseHead(buf);
        if (parsed === null) return;
        upgraded = true;
        buf = Buffer.from(parsed.rest);
        const key = parsed.headers['sec-websocket-key'] ?? '';
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
        );
        socket.write(buildFrame({ opcode: Op.Binary, rsv: 0x40, payload: Buffer.from([0xff, 0xee, 0xdd]), mask: false }));
      }
      // The client's close frame (2 header bytes + 4 mask + 2 code bytes at least): answer, end.
      if (buf.length >= 8 && ((buf[0] as number) & 0x0f) === Op.Close) {
        socket.write(buildFrame({ opcode: Op.Close, payload: closePayload(1007), mask: false }));
        socket.end();
      }
    });
  });
  return listen(server);
}
