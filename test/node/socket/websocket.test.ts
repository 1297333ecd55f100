import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { WebSocket, WsCloseEvent, WsErrorEvent, WsEvent, WsMessageEvent } from '../../../src/index.js';
import {
  buildFrame,
  closePayload,
  collectMessages,
  delay,
  Op,
  openPair,
  RawClient,
  runCleanups,
  startServer,
  TIMEOUT,
  trackClient,
  until,
  waitFor,
  watchClose,
  withTimeout,
  type Frame,
  type StartedServer,
} from '../helpers.js';

afterEach(runCleanups);

const MiB = 1024 * 1024;

/** A server and a raw client connected to it, with the server's WebSocket. */
async function rawPair(
  options: Parameters<typeof startServer>[0] = {},
): Promise<StartedServer & { raw: RawClient; ws: WebSocket }> {
  const started = await startServer(options);
  const connection = waitFor<[WebSocket]>(started.wss, 'connection');
  const raw = await RawClient.open(started.port);
  const [ws] = await connection;
  return { ...started, raw, ws };
}

/** Deterministic bytes. */
function bytes(n: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Asserts that no further bytes arrive at the raw client within `ms`. */
async function expectSilence(raw: RawClient, ms = 100): Promise<void> {
  const before = raw.totalReceived;
  await delay(ms);
  expect(raw.totalReceived).toBe(before);
}

describe('messages', () => {
  it('text arrives as a Buffer with isBinary false, binary with isBinary true (both directions)', async () => {
    const { client, server } = await openPair();
    const atServer = collectMessages(server);
    const atClient = collectMessages(client);
    client.send('héllo');
    client.send(Buffer.from([0, 1, 255]));
    server.send('wörld');
    server.send(Buffer.from([9, 8]));
    await until(() => atServer.length === 2 && atClient.length === 2);
    expect(Buffer.isBuffer(atServer[0]?.[0])).toBe(true);
    expect(atServer[0]?.[0].toString('utf8')).toBe('héllo');
    expect(atServer[0]?.[1]).toBe(false);
    expect([...(atServer[1]?.[0] ?? [])]).toEqual([0, 1, 255]);
    expect(atServer[1]?.[1]).toBe(true);
    expect(Buffer.isBuffer(atClient[0]?.[0])).toBe(true);
    expect(atClient[0]?.[0].toString('utf8')).toBe('wörld');
    expect(atClient[0]?.[1]).toBe(false);
    expect([...(atClient[1]?.[0] ?? [])]).toEqual([9, 8]);
    expect(atClient[1]?.[1]).toBe(true);
  });

  it("binaryType 'arraybuffer' gives an ArrayBuffer (text stays a Buffer)", async () => {
    const { raw, ws } = await rawPair();
    ws.binaryType = 'arraybuffer';
    const got = collectMessages<unknown>(ws);
    raw.sendFrame({ opcode: Op.Binary, payload: Buffer.from([1, 2, 3, 4, 5]) });
    raw.sendFrame({ opcode: Op.Text, payload: 'txt' });
    await until(() => got.length === 2);
    const [data, isBinary] = got[0] as [unknown, boolean];
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect(isBinary).toBe(true);
    expect([...new Uint8Array(data as ArrayBuffer)]).toEqual([1, 2, 3, 4, 5]);
    expect((data as ArrayBuffer).byteLength).toBe(5);
    expect(Buffer.isBuffer(got[1]?.[0])).toBe(true);
    expect(String(got[1]?.[0])).toBe('txt');
  });

  it("binaryType 'fragments' gives a Buffer[] holding the message", async () => {
    const { raw, ws } = await rawPair();
    ws.binaryType = 'fragments';
    const got = collectMessages<unknown>(ws);
    raw.sendFrame({ opcode: Op.Binary, payload: Buffer.from('ab'), fin: false });
    raw.sendFrame({ opcode: Op.Cont, payload: Buffer.from('cd') });
    await until(() => got.length === 1);
    const [data, isBinary] = got[0] as [unknown, boolean];
    expect(Array.isArray(data)).toBe(true);
    expect(isBinary).toBe(true);
    for (const part of data as unknown[]) expect(Buffer.isBuffer(part)).toBe(true);
    expect(Buffer.concat(data as Buffer[]).toString()).toBe('abcd');
  });

  it('sends strings, Buffer, ArrayBuffer, Uint8Array and DataView with exact bytes and opcodes', async () => {
    const { raw, ws } = await rawPair();
    const backing = Uint8Array.of(10, 11, 12, 13, 14, 15, 16, 17).buffer;
    ws.send('text ✓');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(Uint8Array.of(4, 5, 6).buffer);
    ws.send(new Uint8Array(backing, 2, 3)); // a view with an offset: 12, 13, 14
    ws.send(new DataView(backing, 5, 2)); // 15, 16
    ws.send('as binary', { binary: true });
    ws.send(Buffer.from('as text'), { binary: false });
    ws.send('');
    const frames: Frame[] = [];
    for (let i = 0; i < 8; i++) frames.push(await raw.readFrame());
    const summary = frames.map((f) => [f.opcode, f.fin, f.masked, f.rsv, [...f.payload]]);
    expect(summary).toEqual([
      [Op.Text, true, false, 0, [...Buffer.from('text ✓')]],
      [Op.Binary, true, false, 0, [1, 2, 3]],
      [Op.Binary, true, false, 0, [4, 5, 6]],
      [Op.Binary, true, false, 0, [12, 13, 14]],
      [Op.Binary, true, false, 0, [15, 16]],
      [Op.Binary, true, false, 0, [...Buffer.from('as binary')]],
      [Op.Text, true, false, 0, [...Buffer.from('as text')]],
      [Op.Text, true, false, 0, []],
    ]);
  });

  it('uses the 16- and 64-bit length encodings with the right payloads', async () => {
    const { raw, ws } = await rawPair();
    const mid = bytes(300);
    const big = bytes(70_000, 3);
    ws.send(mid);
    ws.send(big);
    const f1 = await raw.readFrame();
    // Messages over 64 KiB go out in 64 KiB fragments (send-scheduler.ts); 65,536 needs the
    // 64-bit length (RFC 6455 §5.2: 126 only covers up to 65,535).
    const m2 = await raw.readMessage();
    expect(raw.buffer.subarray(0, 4).toString('hex')).toBe(`827e${(300).toString(16).padStart(4, '0')}`);
    expect(f1.payload.equals(mid)).toBe(true);
    expect(m2.payload.equals(big)).toBe(true);
    expect(m2.frames.map((f) => [f.opcode, f.fin, f.size])).toEqual([
      [Op.Binary, false, 10 + 65_536],
      [Op.Cont, true, 4 + 70_000 - 65_536],
    ]);
  });

  it('the send callback fires once, without an error, after the data was written', async () => {
    const { raw, ws } = await rawPair();
    const calls: unknown[] = [];
    let returned = false;
    ws.send(bytes(200_000), (err) => {
      calls.push(err);
      // Called asynchronously, after send returned.
      expect(returned).toBe(true);
    });
    returned = true;
    await until(() => calls.length > 0);
    const message = await raw.readMessage();
    expect(message.payload.length).toBe(200_000);
    await delay(30);
    expect(calls).toHaveLength(1);
    expect(calls[0] ?? undefined).toBeUndefined();
  });

  it('send(data, options, cb) calls back too', async () => {
    const { ws } = await rawPair();
    const err = await withTimeout(new Promise<unknown>((resolve) => ws.send('x', { binary: true }, resolve)));
    expect(err ?? undefined).toBeUndefined();
  });

  it('send during CONNECTING throws', async () => {
    const { url } = await startServer();
    const client = trackClient(new WebSocket(url));
    client.on('error', () => {});
    expect(client.readyState).toBe(WebSocket.CONNECTING);
    expect(() => client.send('too early')).toThrow(/not open|CONNECTING/i);
    expect(() => client.ping()).toThrow();
    await waitFor(client, 'open');
  });

  it("send after close calls back with an error whose code is 'WS_ERR_NOT_OPEN', and sends nothing", async () => {
    const { raw, ws } = await rawPair();
    ws.close(1000);
    const close = await raw.readUntilClose();
    expect(close.code).toBe(1000);
    const errors: Array<Error & { code?: string }> = [];
    let returned: boolean | undefined;
    const done = new Promise<void>((resolve) => {
      returned = ws.send('late', (err) => {
        if (err) errors.push(err);
        resolve();
      });
    });
    // The callback is asynchronous.
    expect(errors).toHaveLength(0);
    expect(returned).toBe(false);
    await withTimeout(done);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('WS_ERR_NOT_OPEN');
    // Also once fully closed.
    raw.sendFrame({ opcode: Op.Close, payload: closePayload(1000) });
    await waitFor(ws, 'close');
    const err2 = await withTimeout(new Promise<(Error & { code?: string }) | null | undefined>((resolve) => ws.send('later', resolve)));
    expect(err2?.code).toBe('WS_ERR_NOT_OPEN');
    await expectSilence(raw, 50);
    expect(raw.unread).toBe(0);
  });

  it('fin: false sends become one message at the peer, framed as continuation frames', async () => {
    const { raw, ws } = await rawPair();
    ws.send('ab', { fin: false });
    ws.send('cd', { fin: false });
    ws.send('ef');
    ws.send(Buffer.from([1]), { fin: false });
    ws.send(Buffer.from([2]));
    const frames: Frame[] = [];
    for (let i = 0; i < 5; i++) frames.push(await raw.readFrame());
    expect(frames.map((f) => [f.opcode, f.fin, f.payload.toString('latin1')])).toEqual([
      [Op.Text, false, 'ab'],
      [Op.Cont, false, 'cd'],
      [Op.Cont, true, 'ef'],
      [Op.Binary, false, '\x01'],
      [Op.Cont, true, '\x02'],
    ]);
  });

  it('fin: false sends arrive as one message at our client', async () => {
    const { client, server } = await openPair();
    const got = collectMessages(client);
    server.send('one ', { fin: false });
    server.send('two ', { fin: false });
    server.send('three');
    await until(() => got.length === 1);
    await delay(20);
    expect(got).toHaveLength(1);
    expect(got[0]?.[0].toString()).toBe('one two three');
    expect(got[0]?.[1]).toBe(false);
  });

  it('a fragmented message from the peer (with a ping in between) is delivered whole', async () => {
    const { raw, ws } = await rawPair();
    const got = collectMessages(ws);
    raw.sendFrame({ opcode: Op.Text, payload: 'frag', fin: false });
    raw.sendFrame({ opcode: Op.Ping, payload: 'p' });
    raw.sendFrame({ opcode: Op.Cont, payload: 'mented' });
    const pong = await raw.readFrame();
    expect([pong.opcode, pong.payload.toString()]).toEqual([Op.Pong, 'p']);
    await until(() => got.length === 1);
    expect(got[0]?.[0].toString()).toBe('fragmented');
  });
});

describe('limits and protocol errors', () => {
  it('maxPayload exceeded → peer gets 1009; server ws emits error WS_ERR_UNSUPPORTED_MESSAGE_LENGTH, then close', async () => {
    const { raw, ws } = await rawPair({ maxPayload: 100 });
    const events: string[] = [];
    const errors: Array<Error & { code?: string }> = [];
    ws.on('error', (err: Error & { code?: string }) => {
      events.push('error');
      errors.push(err);
    });
    const closed = waitFor<[number, Buffer]>(ws, 'close');
    ws.on('close', () => events.push('close'));
    const got = collectMessages(ws);
    raw.sendFrame({ opcode: Op.Binary, payload: bytes(100) });
    raw.sendFrame({ opcode: Op.Binary, payload: bytes(101) });
    const close = await raw.readUntilClose();
    expect(close.before).toHaveLength(0);
    expect(close.code).toBe(1009);
    await closed;
    expect(events).toEqual(['error', 'close']);
    expect(errors[0]?.code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(got).toHaveLength(1);
    expect(got[0]?.[0].length).toBe(100);
    await raw.waitEnd();
  });

  it('maxPayload counts the bytes of all fragments of a message', async () => {
    const { raw, ws } = await rawPair({ maxPayload: 100 });
    const w = watchClose(ws);
    raw.sendFrame({ opcode: Op.Text, payload: 'a'.repeat(60), fin: false });
    raw.sendFrame({ opcode: Op.Cont, payload: 'b'.repeat(41) });
    expect((await raw.readUntilClose()).code).toBe(1009);
    await w.close;
    expect((w.errors[0] as Error & { code?: string }).code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  });

  it('the default maxPayload is 1 MiB: exactly 1 MiB is accepted', async () => {
    const { raw, ws } = await rawPair();
    const payload = bytes(MiB);
    const got = waitFor<[Buffer, boolean]>(ws, 'message', 10_000);
    raw.sendFrame({ opcode: Op.Binary, payload });
    const [data] = await got;
    expect(data.length).toBe(MiB);
    expect(sha(data)).toBe(sha(payload));
  });

  it('the default maxPayload is 1 MiB: 1 MiB + 1 is refused with 1009', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    let messages = 0;
    ws.on('message', () => messages++);
    raw.sendFrame({ opcode: Op.Binary, payload: bytes(MiB + 1) });
    expect((await raw.readUntilClose(10_000)).code).toBe(1009);
    await w.close;
    expect(messages).toBe(0);
  });

  it('an unmasked frame from a client → close 1002 (WS_ERR_EXPECTED_MASK)', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    raw.sendFrame({ opcode: Op.Text, payload: 'plain', mask: false });
    const close = await raw.readUntilClose();
    expect(close.code).toBe(1002);
    expect(close.frame.masked).toBe(false);
    const [code] = await w.close;
    expect(code).toBe(1006);
    expect((w.errors[0] as Error & { code?: string }).code).toBe('WS_ERR_EXPECTED_MASK');
    await raw.waitEnd();
  });

  it('invalid UTF-8 in a text message → close 1007 (WS_ERR_INVALID_UTF8)', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    const got = collectMessages(ws);
    raw.sendFrame({ opcode: Op.Text, payload: Buffer.from([0x68, 0x69, 0xc3, 0x28]) });
    expect((await raw.readUntilClose()).code).toBe(1007);
    await w.close;
    expect(got).toHaveLength(0);
    expect((w.errors[0] as Error & { code?: string }).code).toBe('WS_ERR_INVALID_UTF8');
  });

  it('invalid UTF-8 in the first fragment fails before the last fragment arrives', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    raw.sendFrame({ opcode: Op.Text, payload: Buffer.from([0xff]), fin: false });
    expect((await raw.readUntilClose()).code).toBe(1007);
    await w.close;
  });

  it('a reserved opcode → 1002', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    raw.sendFrame({ opcode: 0x3, payload: 'x' });
    expect((await raw.readUntilClose()).code).toBe(1002);
    await w.close;
    expect((w.errors[0] as Error & { code?: string }).code).toBe('WS_ERR_INVALID_OPCODE');
  });

  const violations: Array<[string, () => Buffer, number, string]> = [
    ['RSV1 without an extension', () => buildFrame({ opcode: Op.Text, payload: 'x', rsv: 0x40 }), 1002, 'WS_ERR_UNEXPECTED_RSV_1'],
    ['RSV2', () => buildFrame({ opcode: Op.Text, payload: 'x', rsv: 0x20 }), 1002, 'WS_ERR_UNEXPECTED_RSV_2_3'],
    ['a fragmented ping', () => buildFrame({ opcode: Op.Ping, payload: 'x', fin: false }), 1002, 'WS_ERR_EXPECTED_FIN'],
    ['a 126-byte ping', () => buildFrame({ opcode: Op.Ping, payload: Buffer.alloc(126) }), 1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
    ['a continuation without a message', () => buildFrame({ opcode: Op.Cont, payload: 'x' }), 1002, 'WS_ERR_UNEXPECTED_CONTINUATION'],
    [
      'a new message inside a fragmented one',
      () => Buffer.concat([buildFrame({ opcode: Op.Text, payload: 'a', fin: false }), buildFrame({ opcode: Op.Text, payload: 'b' })]),
      1002,
      'WS_ERR_EXPECTED_CONTINUATION',
    ],
    ['close code 1005 on the wire', () => buildFrame({ opcode: Op.Close, payload: closePayload(1005) }), 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
    ['a 1-byte close payload', () => buildFrame({ opcode: Op.Close, payload: Buffer.from([3]) }), 1002, 'WS_ERR_INVALID_CLOSE_PAYLOAD'],
    [
      'a close reason that is not UTF-8',
      () => buildFrame({ opcode: Op.Close, payload: Buffer.concat([closePayload(1000), Buffer.from([0xc0, 0x80])]) }),
      1007,
      'WS_ERR_INVALID_UTF8',
    ],
  ];
  for (const [name, bytesOf, closeCode, errorCode] of violations) {
    it(`${name} → close ${closeCode} (${errorCode})`, async () => {
      const { raw, ws } = await rawPair();
      const w = watchClose(ws);
      raw.write(bytesOf());
      const close = await raw.readUntilClose();
      expect(close.before).toEqual([]);
      expect(close.code).toBe(closeCode);
      await w.close;
      expect(w.errors.map((e) => (e as Error & { code?: string }).code)).toEqual([errorCode]);
      await raw.waitEnd();
    });
  }

  it('a FIN without a close frame → close 1006, no error', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    raw.end();
    const [code, reason] = await w.close;
    expect([code, reason.length]).toEqual([1006, 0]);
    expect(w.errors).toEqual([]);
  });

  it('a server-side ws without an error listener does not crash the process on a protocol error', async () => {
    const { raw, ws } = await rawPair();
    expect(ws.listenerCount('error')).toBe(0);
    const closed = waitFor<[number, Buffer]>(ws, 'close');
    raw.sendFrame({ opcode: Op.Binary, payload: 'x', mask: false });
    expect((await raw.readUntilClose()).code).toBe(1002);
    const [code] = await closed;
    expect(code).toBe(1006);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });
});

describe('ping and pong', () => {
  it("auto-pong: a client's ping gets a pong with the same payload; 'ping' is emitted", async () => {
    const { raw, ws } = await rawPair();
    const pings: string[] = [];
    ws.on('ping', (data: Buffer) => pings.push(data.toString()));
    raw.sendFrame({ opcode: Op.Ping, payload: 'abc' });
    raw.sendFrame({ opcode: Op.Ping });
    const pong = await raw.readFrame();
    expect([pong.opcode, pong.fin, pong.masked, pong.payload.toString()]).toEqual([Op.Pong, true, false, 'abc']);
    const pong2 = await raw.readFrame();
    expect([pong2.opcode, pong2.payload.length]).toEqual([Op.Pong, 0]);
    expect(pings).toEqual(['abc', '']);
  });

  it('autoPong: false emits ping without answering it', async () => {
    const { raw, ws } = await rawPair({ autoPong: false });
    const ping = waitFor<[Buffer]>(ws, 'ping');
    raw.sendFrame({ opcode: Op.Ping, payload: 'quiet' });
    expect((await ping)[0].toString()).toBe('quiet');
    await expectSilence(raw, 100);
    ws.pong('manual');
    const pong = await raw.readFrame();
    expect([pong.opcode, pong.payload.toString()]).toEqual([Op.Pong, 'manual']);
  });

  it("ping() sends a ping; the peer's pong is emitted as 'pong'", async () => {
    const { raw, ws } = await rawPair();
    const cb = new Promise<unknown>((resolve) => ws.ping('hi', undefined, resolve));
    const ping = await raw.readFrame();
    expect([ping.opcode, ping.fin, ping.masked, ping.payload.toString()]).toEqual([Op.Ping, true, false, 'hi']);
    expect((await withTimeout(cb)) ?? undefined).toBeUndefined();
    const pong = waitFor<[Buffer]>(ws, 'pong');
    raw.sendFrame({ opcode: Op.Pong, payload: ping.payload });
    expect((await pong)[0].toString()).toBe('hi');
  });

  it('ping and pong between our client and server', async () => {
    const { client, server } = await openPair();
    const serverPing = waitFor<[Buffer]>(server, 'ping');
    const clientPong = waitFor<[Buffer]>(client, 'pong');
    client.ping(Buffer.from([1, 2, 3]));
    expect([...(await serverPing)[0]]).toEqual([1, 2, 3]);
    expect([...(await clientPong)[0]]).toEqual([1, 2, 3]);
    const clientPing = waitFor<[Buffer]>(client, 'ping');
    const serverPong = waitFor<[Buffer]>(server, 'pong');
    server.ping('s');
    expect((await clientPing)[0].toString()).toBe('s');
    expect((await serverPong)[0].toString()).toBe('s');
  });

  it('a ping or pong payload over 125 bytes throws RangeError and sends nothing', async () => {
    const { raw, ws } = await rawPair();
    expect(() => ws.ping(Buffer.alloc(126))).toThrow(RangeError);
    expect(() => ws.pong('x'.repeat(126))).toThrow(RangeError);
    await expectSilence(raw, 50);
    ws.ping(Buffer.alloc(125, 1));
    const ping = await raw.readFrame();
    expect(ping.payload.length).toBe(125);
  });
});

describe('close', () => {
  it("close(1000, 'bye'): the peer sees 1000 'bye' and both sides emit close", async () => {
    const { client, server } = await openPair();
    const c = watchClose(client);
    const s = watchClose(server);
    server.close(1000, 'bye');
    expect(server.readyState).toBe(WebSocket.CLOSING);
    const [code, reason] = await c.close;
    expect(code).toBe(1000);
    expect(reason.toString()).toBe('bye');
    const [scode, sreason] = await s.close;
    expect(scode).toBe(1000);
    expect(sreason.toString()).toBe('bye');
    expect(client.readyState).toBe(WebSocket.CLOSED);
    expect(server.readyState).toBe(WebSocket.CLOSED);
    expect(c.errors).toEqual([]);
    expect(s.errors).toEqual([]);
  });

  it('the raw peer sees the exact close frame 1000 "bye"', async () => {
    const { raw, ws } = await rawPair();
    ws.close(1000, 'bye');
    const close = await raw.readUntilClose();
    expect(close.frame.payload.toString('hex')).toBe(`03e8${Buffer.from('bye').toString('hex')}`);
    expect(close.frame.fin).toBe(true);
  });

  it('an invalid code throws TypeError and a 124-byte reason RangeError; nothing is sent', async () => {
    const { raw, ws } = await rawPair();
    for (const code of [1005, 1006, 1015, 999, 0, 1004, 2000, 5000, 1000.5]) {
      expect(() => ws.close(code), String(code)).toThrow(TypeError);
    }
    expect(() => ws.close(1000, 'x'.repeat(124))).toThrow(RangeError);
    expect(() => ws.close(1000, 'é'.repeat(62))).toThrow(RangeError); // 124 bytes
    await expectSilence(raw, 100);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // A 123-byte reason is fine.
    ws.close(4999, 'x'.repeat(123));
    const close = await raw.readUntilClose();
    expect(close.code).toBe(4999);
    expect(close.reason).toBe('x'.repeat(123));
  });

  it('close() without a code sends an empty close frame; the peer reports 1005', async () => {
    const { client, server } = await openPair();
    const c = watchClose(client);
    const s = watchClose(server);
    server.close();
    expect((await c.close)[0]).toBe(1005);
    expect((await s.close)[0]).toBe(1005);
  });

  it('close() without a code: empty payload on the wire', async () => {
    const { raw, ws } = await rawPair();
    ws.close();
    const close = await raw.readUntilClose();
    expect(close.frame.payload.length).toBe(0);
  });

  it('client-initiated close: the server echoes the code and then closes TCP first (RFC 6455 §7.1.1)', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    raw.sendFrame({ opcode: Op.Close, payload: closePayload(4001, 'done') });
    const close = await raw.readUntilClose();
    expect(close.code).toBe(4001);
    expect(close.reason).toBe('done');
    // The raw client never ends its side; the server's FIN arrives after the close frame.
    await raw.waitEnd();
    expect(raw.endOffset).toBe(raw.totalReceived);
    expect(raw.unread).toBe(0);
    const [code, reason] = await w.close;
    expect(code).toBe(4001);
    expect(reason.toString()).toBe('done');
  });

  it('server-initiated close: the server waits for the close reply, then sends its FIN', async () => {
    const { raw, ws } = await rawPair();
    const w = watchClose(ws);
    ws.close(1000, 'end');
    const close = await raw.readUntilClose();
    expect(close.code).toBe(1000);
    await delay(150);
    // Not yet: the close handshake is not complete.
    expect(raw.endOffset).toBeNull();
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    raw.sendFrame({ opcode: Op.Close, payload: closePayload(1000, 'end') });
    await raw.waitEnd();
    expect(raw.endOffset).toBe(raw.totalReceived);
    const [code] = await w.close;
    expect(code).toBe(1000);
  });

  it('terminate() → close 1006 on both sides', async () => {
    const { client, server } = await openPair();
    const c = watchClose(client);
    const s = watchClose(server);
    server.terminate();
    expect((await s.close)[0]).toBe(1006);
    expect((await c.close)[0]).toBe(1006);
    expect(client.readyState).toBe(WebSocket.CLOSED);
  });

  it('terminate() from the client → 1006 on both sides', async () => {
    const { client, server } = await openPair();
    const c = watchClose(client);
    const s = watchClose(server);
    client.terminate();
    expect((await c.close)[0]).toBe(1006);
    expect((await s.close)[0]).toBe(1006);
  });

  it('data sent before close() arrives before the close frame (2 MiB then close)', async () => {
    const { raw, ws } = await rawPair();
    const payload = bytes(2 * MiB, 11);
    ws.send('first');
    ws.send(payload);
    ws.close(1000, 'after data');
    const close = await raw.readUntilClose(10_000);
    // The 2 MiB message arrives as 32 fragments of 64 KiB (send-scheduler.ts), before the close.
    const data = close.before.slice(1);
    expect(close.before[0] && [close.before[0].opcode, close.before[0].fin, close.before[0].payload.length]).toEqual([Op.Text, true, 5]);
    expect(data.map((f) => f.opcode)).toEqual([Op.Binary, ...Array<number>(data.length - 1).fill(Op.Cont)]);
    expect(data.map((f) => f.fin)).toEqual([...Array<boolean>(data.length - 1).fill(false), true]);
    expect(sha(Buffer.concat(data.map((f) => f.payload)))).toBe(sha(payload));
    expect(close.code).toBe(1000);
    expect(close.reason).toBe('after data');
  });

  it('our client receives the whole 2 MiB message before the close event', async () => {
    const { client, server } = await openPair({}, { maxPayload: 4 * MiB });
    const payload = bytes(2 * MiB, 5);
    const order: string[] = [];
    client.on('message', (data: Buffer) => order.push(`message ${data.length} ${sha(data) === sha(payload)}`));
    const c = watchClose(client);
    client.on('close', (code: number) => order.push(`close ${code}`));
    server.send(payload);
    server.close(1000);
    await c.close;
    expect(order).toEqual([`message ${2 * MiB} true`, 'close 1000']);
  });

  it('closeTimeout destroys a peer that never answers the close', async () => {
    const { raw, ws } = await rawPair({ closeTimeout: 200 });
    const w = watchClose(ws);
    const started = Date.now();
    ws.close(1000);
    expect((await raw.readUntilClose()).code).toBe(1000);
    const [code] = await w.close;
    const elapsed = Date.now() - started;
    expect(code).toBe(1006);
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(1500);
    await raw.waitEnd();
  });

  it('close() twice sends one close frame', async () => {
    const { raw, ws } = await rawPair();
    ws.close(1000, 'one');
    ws.close(1001, 'two');
    const close = await raw.readUntilClose();
    expect(close.reason).toBe('one');
    await expectSilence(raw, 50);
    expect(raw.unread).toBe(0);
  });
});

describe('pause() and resume()', () => {
  it('holds messages while paused and delivers them in order after resume', async () => {
    const { raw, ws } = await rawPair();
    const got = collectMessages(ws);
    expect(ws.isPaused).toBe(false);
    ws.pause();
    expect(ws.isPaused).toBe(true);
    for (let i = 0; i < 5; i++) raw.sendFrame({ opcode: Op.Text, payload: `m${i}` });
    raw.sendFrame({ opcode: Op.Binary, payload: bytes(100_000) });
    await delay(150);
    expect(got).toHaveLength(0);
    ws.resume();
    expect(ws.isPaused).toBe(false);
    await until(() => got.length === 6);
    expect(got.slice(0, 5).map(([d]) => d.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(got[5]?.[0].length).toBe(100_000);
  });

  it('pausing inside a message listener holds the messages that follow in the same chunk', async () => {
    const { raw, ws } = await rawPair();
    const got: string[] = [];
    ws.on('message', (data: Buffer) => {
      got.push(data.toString());
      if (got.length === 1) ws.pause();
    });
    raw.write(Buffer.concat(['a', 'b', 'c'].map((p) => Buffer.from(rawFrameText(p)))));
    await until(() => got.length >= 1);
    await delay(100);
    expect(got).toEqual(['a']);
    ws.resume();
    await until(() => got.length === 3);
    expect(got).toEqual(['a', 'b', 'c']);
  });
});

/** A masked text frame with a zero key (so the payload reads as itself on the wire). */
function rawFrameText(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

describe('backpressure', () => {
  it("send returns false over the high-water mark of a peer that does not read; 'drain' fires once it reads", async () => {
    const { raw, ws } = await rawPair();
    raw.pauseReading();
    expect(ws.send('small')).toBe(true);
    await delay(20);
    let drains = 0;
    ws.on('drain', () => drains++);
    const chunk = Buffer.alloc(MiB, 0x61);
    let result = true;
    // Far more than the kernel's socket buffers hold.
    for (let i = 0; i < 32; i++) result = ws.send(chunk);
    expect(result).toBe(false);
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    await delay(200);
    expect(drains).toBe(0);
    expect(ws.send(chunk)).toBe(false);
    const drained = waitFor(ws, 'drain', 10_000);
    raw.resumeDiscarding();
    await drained;
    expect(ws.bufferedAmount).toBe(0);
    expect(ws.send('after drain')).toBe(true);
    await until(() => raw.totalReceived >= 33 * MiB, 10_000);
  });
});

describe('WHATWG-style API', () => {
  it('readyState constants on the class and the instance', async () => {
    expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    const { client } = await openPair();
    expect([client.CONNECTING, client.OPEN, client.CLOSING, client.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(client.readyState).toBe(client.OPEN);
  });

  it('onopen, onmessage (string for text), onclose with event objects', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.send('hello');
      ws.send(Buffer.from([7, 7]));
      ws.close(4000, 'later');
    });
    const client = trackClient(new WebSocket(url));
    const events: unknown[] = [];
    const closed = new Promise<void>((resolve) => {
      client.onopen = (e: WsEvent) => events.push(['open', e instanceof WsEvent, e.type, e.target === client]);
      client.onmessage = (e: WsMessageEvent) => {
        events.push(['message', e.type, typeof e.data === 'string' ? e.data : [...(e.data as Buffer)]]);
      };
      client.onclose = (e: WsCloseEvent) => {
        events.push(['close', e.type, e.code, e.reason, e.wasClean]);
        resolve();
      };
    });
    expect(typeof client.onopen).toBe('function');
    await withTimeout(closed);
    expect(events).toEqual([
      ['open', true, 'open', true],
      ['message', 'message', 'hello'],
      ['message', 'message', [7, 7]],
      ['close', 'close', 4000, 'later', true],
    ]);
  });

  it('setting an on* handler replaces the previous one; null removes it', async () => {
    const { client, server } = await openPair();
    const seen: string[] = [];
    client.onmessage = () => seen.push('first');
    client.onmessage = (e: WsMessageEvent) => seen.push(`second ${String(e.data)}`);
    expect(client.listenerCount('message')).toBe(1);
    server.send('x');
    await until(() => seen.length === 1);
    client.onmessage = null;
    expect(client.onmessage).toBeNull();
    expect(client.listenerCount('message')).toBe(0);
    expect(seen).toEqual(['second x']);
  });

  it('onerror gets an event with the error', async () => {
    const { raw, ws } = await rawPair();
    const got = new Promise<WsErrorEvent>((resolve) => {
      ws.onerror = resolve;
    });
    raw.sendFrame({ opcode: Op.Text, payload: Buffer.from([0xfe]) });
    const event = await withTimeout(got);
    expect(event.type).toBe('error');
    expect(event.target).toBe(ws);
    expect((event.error as Error & { code?: string }).code).toBe('WS_ERR_INVALID_UTF8');
    expect(event.message).toBe(event.error.message);
    expect((await raw.readUntilClose()).code).toBe(1007);
  });

  it('addEventListener with once, removeEventListener, and no duplicate registration', async () => {
    const { client, server } = await openPair();
    const onceSeen: string[] = [];
    const allSeen: string[] = [];
    const removed: string[] = [];
    const onceListener = (e: WsMessageEvent): void => {
      onceSeen.push(String(e.data));
    };
    const all = (e: WsMessageEvent): void => {
      allSeen.push(String(e.data));
    };
    const gone = (e: WsMessageEvent): void => {
      removed.push(String(e.data));
    };
    client.addEventListener('message', onceListener, { once: true });
    client.addEventListener('message', all);
    client.addEventListener('message', all);
    client.addEventListener('message', gone);
    client.removeEventListener('message', gone);
    server.send('1');
    server.send('2');
    server.send('3');
    await until(() => allSeen.length === 3);
    await delay(20);
    expect(onceSeen).toEqual(['1']);
    expect(allSeen).toEqual(['1', '2', '3']);
    expect(removed).toEqual([]);
    client.removeEventListener('message', all);
    expect(client.listenerCount('message')).toBe(0);

    const closeEvents: WsCloseEvent[] = [];
    client.addEventListener('close', (e: WsCloseEvent) => closeEvents.push(e));
    client.close(1000, 'ok');
    await waitFor(client, 'close');
    expect(closeEvents.map((e) => [e.type, e.code, e.reason, e.wasClean])).toEqual([['close', 1000, 'ok', true]]);
  });

  it('accepts an object with handleEvent as a listener (as ws and the DOM do)', async () => {
    const { client, server } = await openPair();
    const seen: unknown[] = [];
    const listener = {
      handleEvent(this: unknown, e: WsMessageEvent): void {
        seen.push([this === listener, e.type, e.data]);
      },
    };
    client.addEventListener('message', listener);
    server.send('obj');
    await until(() => seen.length === 1);
    expect(seen).toEqual([[true, 'message', 'obj']]);
    client.removeEventListener('message', listener);
    expect(client.listenerCount('message')).toBe(0);
  });

  it('close event after terminate has wasClean false and code 1006', async () => {
    const { client, server } = await openPair();
    const got = new Promise<WsCloseEvent>((resolve) => client.addEventListener('close', resolve, { once: true }));
    server.terminate();
    const e = await withTimeout(got);
    expect([e.code, e.wasClean]).toEqual([1006, false]);
  });
});

describe('regressions', () => {
  it('messages in the upgrade head are not emitted before connection listeners can subscribe', async () => {
    const { wss, port } = await startServer();
    const got = new Promise<string>((resolve) => {
      wss.on('connection', (ws: WebSocket) => ws.once('message', (data: Buffer) => resolve(data.toString())));
    });
    await RawClient.open(port, {}, rawFrameText('early'));
    expect(await withTimeout(got, TIMEOUT, 'head message')).toBe('early');
  });
});

describe('every method is safe in every state, from every listener', () => {
  /** Calls every command; returns what each did: 'ok', or the thrown error's constructor and message. */
  function poke(ws: WebSocket): Record<string, string> {
    const out: Record<string, string> = {};
    const attempt = (name: string, fn: () => void): void => {
      try {
        fn();
        out[name] = 'ok';
      } catch (err) {
        out[name] = `${(err as Error).constructor.name}: ${(err as Error).message}`;
      }
    };
    attempt('send', () => ws.send('x', () => {}));
    attempt('ping', () => ws.ping(() => {}));
    attempt('pong', () => ws.pong(() => {}));
    attempt('close', () => ws.close(1000));
    attempt('terminate', () => ws.terminate());
    return out;
  }
  const SAFE = { send: 'ok', ping: 'ok', pong: 'ok', close: 'ok', terminate: 'ok' };

  it('regression: in the error listener of a refused connection (ECONNREFUSED), then close 1006', async () => {
    const { port, wss } = await startServer();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const results: Array<Record<string, string>> = [];
    ws.on('error', () => results.push(poke(ws)));
    const [code] = await waitFor<[number]>(ws, 'close');
    expect(code).toBe(1006);
    expect(results).toEqual([SAFE]);
    expect(poke(ws)).toEqual(SAFE);
  });

  it('regression: in the error listener of a refused handshake (403), then close 1006', async () => {
    const { url } = await startServer({ verifyClient: () => false });
    const ws = new WebSocket(url);
    const results: Array<Record<string, string>> = [];
    ws.on('error', () => results.push(poke(ws)));
    const [code] = await waitFor<[number]>(ws, 'close');
    expect(code).toBe(1006);
    expect(results).toEqual([SAFE]);
  });

  it('in open, message, ping, pong and close listeners of both ends', async () => {
    for (const event of ['open', 'message', 'ping', 'pong', 'close'] as const) {
      const { client, server } = await openPair();
      const results: Array<Record<string, string>> = [];
      const closed = waitFor(client, 'close');
      client.on(event, () => results.push(poke(client)));
      server.on(event, () => results.push(poke(server)));
      if (event === 'open') results.push(poke(client));
      else if (event === 'message') server.send('m');
      else if (event === 'ping') server.ping();
      else if (event === 'pong') client.ping();
      else server.close(1000);
      await closed;
      expect(results.length, event).toBeGreaterThan(0);
      for (const r of results) expect(r, event).toEqual(SAFE);
    }
  });

  it('while CONNECTING (as in ws: send, ping and pong throw a plain Error; close and terminate abort)', async () => {
    const { url } = await startServer();
    const ws = new WebSocket(url);
    const errors: Error[] = [];
    ws.on('error', (err: Error) => errors.push(err));
    const result = poke(ws);
    const connecting = 'Error: WebSocket is not open: readyState 0 (CONNECTING)';
    expect(result).toEqual({ send: connecting, ping: connecting, pong: connecting, close: 'ok', terminate: 'ok' });
    await waitFor(ws, 'close');
    expect(errors.map((e) => e.message)).toEqual(['WebSocket was closed before the connection was established']);
  });
});
