import { constants, createInflateRaw, deflateRawSync, inflateRawSync, type InflateRaw } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ProtocolError, WebSocketError } from '../../src/core/errors.js';
import { PerMessageDeflate } from '../../src/deflate/codec.js';
import { limiterLoad } from '../../src/deflate/limiter.js';
import type { NegotiatedParams } from '../../src/deflate/negotiate.js';
import { DEFAULT_POOL_MAX_BYTES } from '../../src/deflate/options.js';
import { zlibPool } from '../../src/deflate/zlib-pool.js';
import {
  decode,
  decodeError,
  encode,
  expectBytes,
  ObservedDeflate,
  PARAMS,
  pseudoRandom,
  repeated,
  words,
  zeroBomb,
} from './helpers.js';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

function pair(params: Partial<NegotiatedParams> = {}, maxPayload?: number) {
  const p = { ...PARAMS, ...params };
  return {
    server: new ObservedDeflate(p, 'server', {}, maxPayload),
    client: new ObservedDeflate(p, 'client', {}, maxPayload),
  };
}

/** A strict raw inflater with a true 2^bits window (small output chunks make zlib use it). */
function strictInflate(data: Buffer, bits: number): Buffer {
  return inflateRawSync(Buffer.concat([data, TAIL]), {
    windowBits: bits,
    chunkSize: 64,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
}

describe('PerMessageDeflate basics', () => {
  it('is permessage-deflate on RSV1', () => {
    const ext = new PerMessageDeflate(PARAMS, 'server');
    expect(ext.name).toBe('permessage-deflate');
    expect(ext.rsv).toBe(0x40);
    ext.dispose();
  });

  it('encodes messages of at least `threshold` bytes', () => {
    const ext = new PerMessageDeflate(PARAMS, 'client');
    expect(ext.shouldEncode(1023)).toBe(false);
    expect(ext.shouldEncode(1024)).toBe(true);
    const custom = new PerMessageDeflate(PARAMS, 'client', { threshold: 0 });
    expect(custom.shouldEncode(0)).toBe(true);
  });

  it('rejects invalid parameters and options', () => {
    expect(() => new PerMessageDeflate({ ...PARAMS, serverMaxWindowBits: 16 }, 'server')).toThrow(RangeError);
    expect(() => new PerMessageDeflate({ ...PARAMS, clientMaxWindowBits: 7 }, 'server')).toThrow(RangeError);
    expect(() => new PerMessageDeflate(PARAMS, 'server', { concurrencyLimit: 0 })).toThrow(RangeError);
  });

  it('creates zlib streams only when first needed', async () => {
    const { server, client } = pair();
    expect(server.inflaters.length + server.deflaters.length).toBe(0);
    const payload = await encode(client, words(2000));
    expect(client.deflaters).toHaveLength(1);
    expect(client.inflaters).toHaveLength(0);
    expectBytes(await decode(server, payload), words(2000));
    expect(server.inflaters).toHaveLength(1);
    expect(server.deflaters).toHaveLength(0);
    server.dispose();
    client.dispose();
  });
});

describe('round trips', () => {
  it('follows RFC 7692 §7.2.3.1: "Hello" without a tail', async () => {
    const { server, client } = pair();
    const payload = await encode(server, Buffer.from('Hello'));
    expect(payload.subarray(-4).equals(TAIL)).toBe(false);
    expect(strictInflate(payload, 15).toString()).toBe('Hello');
    // The RFC's own example decodes.
    expect((await decode(client, Buffer.from('f248cdc9c90700', 'hex'))).toString()).toBe('Hello');
    server.dispose();
    client.dispose();
  });

  it('decodes the examples of RFC 7692 §7.2.3', async () => {
    const hex = (h: string): Buffer => Buffer.from(h.replace(/ /g, ''), 'hex');
    const examples: Array<[string, string[]]> = [
      ['7.2.3.1 one compressed block', ['f2 48 cd c9 c9 07 00']],
      ['7.2.3.2 sharing the window', ['f2 48 cd c9 c9 07 00', 'f2 00 11 00 00']],
      ['7.2.3.3 a stored block', ['00 05 00 fa ff 48 65 6c 6c 6f 00']],
      ['7.2.3.4 BFINAL set', ['f3 48 cd c9 c9 07 00 00']],
      ['7.2.3.5 two blocks', ['f2 48 05 00 00 00 ff ff ca c9 c9 07 00']],
    ];
    for (const [name, payloads] of examples) {
      const client = new PerMessageDeflate(PARAMS, 'client');
      for (const payload of payloads) expect((await decode(client, hex(payload))).toString(), name).toBe('Hello');
      client.dispose();
    }
  });

  for (const takeover of [true, false]) {
    it(`carries several messages both ways ${takeover ? 'with' : 'without'} context takeover`, async () => {
      zlibPool.clear();
      const { server, client } = pair({ serverNoContextTakeover: !takeover, clientNoContextTakeover: !takeover });
      for (let i = 0; i < 6; i++) {
        const message = i % 2 === 0 ? words(3000 + i * 100, i + 1) : pseudoRandom(5000, i + 1);
        expectBytes(await decode(server, await encode(client, message)), message);
        expectBytes(await decode(client, await encode(server, message)), message);
      }
      // Without takeover each message takes a reset stream and gives it back afterwards: the
      // pool's one compressor and one decompressor serve both ends in turn.
      const expected = takeover ? 1 : 6;
      for (const ext of [server, client]) {
        expect(ext.inflaters).toHaveLength(expected);
        expect(ext.deflaters).toHaveLength(expected);
      }
      if (!takeover) {
        expect(server.created + client.created).toBe(2);
        expect(zlibPool.stats().idleStreams).toBe(2);
      } else {
        expect(server.created + client.created).toBe(4);
        expect(zlibPool.stats().idleStreams).toBe(0);
      }
      server.dispose();
      client.dispose();
      // Disposed after their last job: the four streams go back to the pool.
      if (takeover) expect(zlibPool.stats().idleStreams).toBe(4);
    });
  }

  it('with context takeover, a repeated message shrinks to a back-reference (RFC 7692 §7.2.3.2)', async () => {
    const { server, client } = pair();
    const message = words(4000, 7);
    const first = await encode(server, message);
    const second = await encode(server, message);
    expect(second.length).toBeLessThan(first.length / 4);
    expectBytes(await decode(client, first), message);
    expectBytes(await decode(client, second), message);
    server.dispose();
    client.dispose();
  });

  it('without context takeover, a repeated message compresses the same each time', async () => {
    const { server, client } = pair({ serverNoContextTakeover: true });
    const message = words(4000, 7);
    const first = await encode(server, message);
    const second = await encode(server, message);
    expectBytes(second, first);
    expectBytes(await decode(client, second), message);
    // The client's direction keeps its context.
    const c1 = await encode(client, message);
    const c2 = await encode(client, message);
    expect(c2.length).toBeLessThan(c1.length / 4);
    server.dispose();
    client.dispose();
  });

  it('compresses an empty message to a single 0x00 and decodes it (RFC 7692 §7.2.3.6)', async () => {
    const { server, client } = pair();
    await encode(server, words(2000));
    const empty = await encode(server, Buffer.alloc(0));
    expect(empty).toEqual(Buffer.from([0x00]));
    const fresh = await encode(new PerMessageDeflate(PARAMS, 'server'), Buffer.alloc(0));
    expect(fresh).toEqual(Buffer.from([0x00]));
    expect(await decode(client, Buffer.from([0x00]))).toEqual(Buffer.alloc(0));
    server.dispose();
    client.dispose();
  });

  it('decodes an empty payload as an empty message and keeps the stream usable', async () => {
    const { server, client } = pair();
    const m1 = await encode(client, words(1500, 2));
    const m2 = await encode(client, words(1500, 2));
    expectBytes(await decode(server, m1), words(1500, 2));
    expect(await decode(server, Buffer.alloc(0))).toEqual(Buffer.alloc(0));
    expectBytes(await decode(server, m2), words(1500, 2));
    server.dispose();
    client.dispose();
  });

  it('decodes a message ended by a BFINAL block (RFC 7692 §7.2.3.4), then starts a new stream', async () => {
    const { server } = pair();
    const final = Buffer.concat([deflateRawSync(Buffer.from('Hello')), Buffer.from([0x00])]);
    expect((await decode(server, final)).toString()).toBe('Hello');
    const finalNoPad = deflateRawSync(Buffer.from('again'));
    expect((await decode(server, finalNoPad)).toString()).toBe('again');
    const normal = await encode(new PerMessageDeflate(PARAMS, 'client'), Buffer.from('normal'));
    expect((await decode(server, normal)).toString()).toBe('normal');
    expect(server.inflaters).toHaveLength(3);
    server.dispose();
  });

  it('fails with 1007 on data after the end of a DEFLATE stream instead of dropping it', async () => {
    const { server } = pair();
    const twoStreams = Buffer.concat([deflateRawSync(Buffer.from('a')), deflateRawSync(Buffer.from('b'))]);
    const err = await decodeError(server, twoStreams);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).closeCode).toBe(1007);
    server.dispose();
  });
});

describe('window sizes', () => {
  // Repeats at distances above 256 and above 2^bits, so a too-large window would be used.
  const data = Buffer.concat([
    repeated(pseudoRandom(300, 3), 6000),
    repeated(pseudoRandom(5000, 4), 20000),
    repeated(pseudoRandom(20000, 5), 60000),
  ]);

  for (let bits = 8; bits <= 15; bits++) {
    it(`round-trips with ${bits}-bit windows and stays inside the peer's window`, async () => {
      const { server, client } = pair({ serverMaxWindowBits: bits, clientMaxWindowBits: bits });
      for (let i = 0; i < 2; i++) {
        const toClient = await encode(server, data);
        const toServer = await encode(client, data);
        expectBytes(await decode(client, toClient), data);
        expectBytes(await decode(server, toServer), data);
        if (i === 0) {
          // Each message alone inflates with a true 2^bits window...
          expectBytes(strictInflate(toClient, bits), data);
          expectBytes(strictInflate(toServer, bits), data);
          // ...which a 15-bit compressor's output would not.
          if (bits < 15) expect(() => strictInflate(deflateRawSync(data), bits)).toThrow(/too far back/);
        }
      }
      // zlib cannot compress raw data with 8 bits: 9 is asked for (distances stay <= 250).
      const zlibBits = Math.max(bits, 9);
      expect(server.windowBits).toEqual([
        ['deflate', zlibBits],
        ['inflate', zlibBits],
      ]);
      server.dispose();
      client.dispose();
    });
  }

  it('the strict-window check bites: a 15-bit stream fails an 8-bit inflater', () => {
    const wide = deflateRawSync(data, { windowBits: 15 });
    expect(() => inflateRawSync(wide, { windowBits: 8, chunkSize: 64 })).toThrow(/too far back/);
  });

  it('with an 8-bit window, context carried across messages stays decodable by 256 bytes', async () => {
    const server = new PerMessageDeflate({ ...PARAMS, serverMaxWindowBits: 8 }, 'server');
    const strict = createInflateRaw({ windowBits: 8, chunkSize: 64 });
    const out: Buffer[] = [];
    strict.on('data', (chunk: Buffer) => out.push(chunk));
    const messages = [pseudoRandom(200, 9), pseudoRandom(200, 9), repeated(pseudoRandom(220, 10), 3000)];
    for (const message of messages) {
      const payload = await encode(server, message);
      await new Promise<void>((resolve, reject) => {
        strict.once('error', reject);
        strict.write(Buffer.concat([payload, TAIL]), () => resolve());
      });
    }
    await new Promise<void>((resolve) => strict.flush(() => resolve()));
    expectBytes(Buffer.concat(out), Buffer.concat(messages));
    strict.destroy();
    server.dispose();
  });
});

describe('fragmented sends', () => {
  for (const takeover of [true, false]) {
    it(`compresses fragments on one stream ${takeover ? 'with' : 'without'} context takeover`, async () => {
      const { server, client } = pair({ clientNoContextTakeover: !takeover });
      const part = words(3000, 11);
      for (let round = 0; round < 2; round++) {
        const f1 = await encode(client, part, false);
        const f2 = await encode(client, part, false); // same stream: a back-reference
        const f3 = await encode(client, Buffer.alloc(0), false);
        const f4 = await encode(client, Buffer.from('end'), true);
        expect(f1.subarray(-4)).toEqual(TAIL); // only the last fragment loses its tail
        if (round === 0) expect(f2.length).toBeLessThan(f1.length / 4);
        expect(f4.subarray(-4).equals(TAIL)).toBe(false);
        const message = await decode(server, Buffer.concat([f1, f2, f3, f4]));
        expectBytes(message, Buffer.concat([part, part, Buffer.from('end')]));
      }
      expect(client.deflaters).toHaveLength(takeover ? 1 : 2);
      server.dispose();
      client.dispose();
    });
  }

  it('ends a fragmented message with an empty last fragment as a lone 0x00', async () => {
    const { server, client } = pair();
    const f1 = await encode(client, words(2000, 12), false);
    const f2 = await encode(client, Buffer.alloc(0), true);
    expect(f2).toEqual(Buffer.from([0x00]));
    expectBytes(await decode(server, Buffer.concat([f1, f2])), words(2000, 12));
    // Both ends are on a block boundary: the next message decodes.
    expectBytes(await decode(server, await encode(client, words(2000, 13))), words(2000, 13));
    server.dispose();
    client.dispose();
  });
});

describe('limits and bad input', () => {
  it('accepts a message of exactly maxPayload bytes and fails one byte more with 1009', async () => {
    const message = words(5000, 21);
    const payload = await encode(new PerMessageDeflate(PARAMS, 'client'), message);
    const exact = new PerMessageDeflate(PARAMS, 'server', {}, 5000);
    expectBytes(await decode(exact, payload), message);
    const under = new PerMessageDeflate(PARAMS, 'server', {}, 4999);
    const err = await decodeError(under, payload);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect((err as ProtocolError).closeCode).toBe(1009);
    exact.dispose();
    under.dispose();
  });

  it('stops inflating a bomb (4 MiB of zeros) just past maxPayload', async () => {
    const bomb = await zeroBomb(4);
    const server = new ObservedDeflate(PARAMS, 'server', {}, 64 * 1024);
    const err = await decodeError(server, bomb);
    expect((err as ProtocolError).closeCode).toBe(1009);
    // One 16 KiB zlib chunk crosses the limit; zlib produces at most one more, unread.
    expect(server.inflatedBytes).toBeLessThanOrEqual(64 * 1024 + 2 * 16 * 1024);
    const stream = server.inflaters[0] as InflateRaw;
    expect(stream.destroyed).toBe(true);
    expect(stream.bytesWritten - (server.writtenAtTake.get(stream) ?? 0)).toBeLessThan(bomb.length / 10);
    server.dispose();
  });

  it('never holds much more than maxPayload for a 1 GiB bomb', async () => {
    const bomb = await zeroBomb(1024);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const server = new ObservedDeflate(PARAMS, 'server', {}, 64 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    const started = Date.now();
    const err = await decodeError(server, bomb);
    expect((err as ProtocolError).closeCode).toBe(1009);
    expect(server.inflatedBytes).toBeLessThanOrEqual(96 * 1024);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(2000); // inflating 1 GiB would take far longer
    server.dispose();
  });

  it('fails with 1007 on invalid data, then decodes valid data on a new stream', async () => {
    const { server, client } = pair();
    const err = await decodeError(server, Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('WS_ERR_INVALID_COMPRESSED_DATA');
    expect((err as ProtocolError).closeCode).toBe(1007);
    expect(server.inflaters[0]?.destroyed).toBe(true);
    expectBytes(await decode(server, await encode(client, words(2000))), words(2000));
    expect(server.inflaters).toHaveLength(2);
    server.dispose();
    client.dispose();
  });

  it('fails with 1007 on a back-reference beyond the window', async () => {
    const server = new PerMessageDeflate({ ...PARAMS, clientMaxWindowBits: 9 }, 'server');
    const wide = new PerMessageDeflate(PARAMS, 'client');
    const first = await encode(wide, pseudoRandom(2000, 31));
    const second = await encode(wide, pseudoRandom(2000, 31)); // distance 2000 > 512
    await decode(server, first);
    expect(((await decodeError(server, second)) as ProtocolError).closeCode).toBe(1007);
    server.dispose();
    wide.dispose();
  });
});

describe('ordering, concurrency and disposal', () => {
  it('calls back encodes in call order, and the outputs decode in sequence', async () => {
    const { server, client } = pair();
    const messages = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? pseudoRandom(20000 - i * 300, i + 1) : words(50 + i * 97, i + 1)));
    const order: number[] = [];
    const outputs = await Promise.all(
      messages.map(
        (message, i) =>
          new Promise<Buffer>((resolve, reject) => {
            server.encode(message, true, (err, out) => {
              order.push(i);
              if (err) reject(err);
              else resolve(out as Buffer);
            });
          }),
      ),
    );
    expect(order).toEqual(messages.map((_, i) => i));
    const decodeOrder: number[] = [];
    const decoded = await Promise.all(
      outputs.map(
        (payload, i) =>
          new Promise<Buffer>((resolve, reject) => {
            client.decode(payload, (err, out) => {
              decodeOrder.push(i);
              if (err) reject(err);
              else resolve(out as Buffer);
            });
          }),
      ),
    );
    expect(decodeOrder).toEqual(order);
    decoded.forEach((message, i) => expectBytes(message, messages[i] as Buffer));
    server.dispose();
    client.dispose();
  });

  it('shares the limiter across connections and keeps each one in order', async () => {
    const codecs = Array.from({ length: 8 }, () => new PerMessageDeflate(PARAMS, 'server', { concurrencyLimit: 2 }));
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, limiterLoad().running)), 0);
    const orders = codecs.map(() => [] as number[]);
    await Promise.all(
      codecs.flatMap((codec, c) =>
        Array.from(
          { length: 10 },
          (_, i) =>
            new Promise<void>((resolve, reject) =>
              codec.encode(words(4000, c * 10 + i + 1), true, (err) => {
                orders[c]?.push(i);
                if (err) reject(err);
                else resolve();
              }),
            ),
        ),
      ),
    );
    clearInterval(watch);
    expect(peak).toBeLessThanOrEqual(2);
    for (const order of orders) expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(limiterLoad()).toEqual({ running: 0, waiting: 0 });
    for (const codec of codecs) codec.dispose();
  });

  it('dispose fails pending work in order and releases the streams and limiter slots', async () => {
    const { server, client } = pair();
    await decode(server, await encode(client, words(2000))); // both server streams may now exist
    await encode(server, words(2000));
    const results: Array<[string, number, string | undefined]> = [];
    const pending = [
      ...[0, 1, 2].map(
        (i) =>
          new Promise<void>((resolve) =>
            server.encode(pseudoRandom(50000, i + 1), true, (err) => {
              results.push(['encode', i, (err as WebSocketError | null)?.code]);
              resolve();
            }),
          ),
      ),
      ...[0, 1].map(
        (i) =>
          new Promise<void>((resolve) =>
            server.decode(Buffer.from([0x00]), (err) => {
              results.push(['decode', i, (err as WebSocketError | null)?.code]);
              resolve();
            }),
          ),
      ),
    ];
    server.dispose();
    server.dispose(); // idempotent
    await Promise.all(pending);
    expect(results.filter(([kind]) => kind === 'encode').map(([, i, code]) => [i, code])).toEqual([
      [0, 'WS_ERR_NOT_OPEN'],
      [1, 'WS_ERR_NOT_OPEN'],
      [2, 'WS_ERR_NOT_OPEN'],
    ]);
    expect(results.filter(([kind]) => kind === 'decode').map(([, i, code]) => [i, code])).toEqual([
      [0, 'WS_ERR_NOT_OPEN'],
      [1, 'WS_ERR_NOT_OPEN'],
    ]);
    expect([...server.inflaters, ...server.deflaters].every((s) => s.destroyed)).toBe(true);
    expect(limiterLoad()).toEqual({ running: 0, waiting: 0 });
    // Work after dispose fails too, asynchronously.
    let sync = true;
    let calledSync = false;
    const late = new Promise<Error | null>((resolve) =>
      server.encode(Buffer.from('x'), true, (err) => {
        calledSync = sync;
        resolve(err);
      }),
    );
    sync = false;
    expect(((await late) as WebSocketError).code).toBe('WS_ERR_NOT_OPEN');
    expect(calledSync).toBe(false);
    client.dispose();
  });

  it('a throwing callback does not leak its limiter slot', async () => {
    const ext = new PerMessageDeflate(PARAMS, 'server', { concurrencyLimit: 1 });
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const caught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    ext.encode(Buffer.from('a'), true, () => {
      throw new Error('user bug');
    });
    expect(((await caught) as Error).message).toBe('user bug');
    for (const listener of listeners) process.on('uncaughtException', listener);
    expect(await encode(ext, Buffer.from('b'))).toBeInstanceOf(Buffer);
    expect(limiterLoad()).toEqual({ running: 0, waiting: 0 });
    ext.dispose();
  });
});

describe('stream reuse across connections (the zlib pool)', () => {
  it('a connection never sees the window of the connection that used the stream before', async () => {
    zlibPool.clear();
    const message = words(4000, 41);
    const sender = new PerMessageDeflate(PARAMS, 'client');
    const first = await encode(sender, message);
    const second = await encode(sender, message); // only a back-reference into `first`
    sender.dispose();
    const before = new ObservedDeflate(PARAMS, 'server');
    expectBytes(await decode(before, first), message);
    expectBytes(await decode(before, second), message);
    before.dispose(); // idle: the inflater goes back to the pool, reset
    const after = new ObservedDeflate(PARAMS, 'server');
    const err = await decodeError(after, second);
    // The same zlib stream, but an empty window: RFC 7692 §7.1.1 context belongs to one connection.
    expect(after.inflaters[0]).toBe(before.inflaters[0]);
    expect((err as ProtocolError).closeCode).toBe(1007);
    after.dispose();
  });

  it('a compressor taken from the pool compresses as a new one would', async () => {
    zlibPool.clear();
    const message = words(4000, 42);
    const fresh = await encode(new PerMessageDeflate(PARAMS, 'server', { poolMaxBytes: 0 }), message);
    const first = new ObservedDeflate(PARAMS, 'server');
    await encode(first, message);
    first.dispose();
    const second = new ObservedDeflate(PARAMS, 'server');
    const out = await encode(second, message);
    expect(second.deflaters[0]).toBe(first.deflaters[0]);
    expect(second.created).toBe(0);
    expectBytes(out, fresh);
    second.dispose();
  });

  it('streams are pooled only by their parameters', async () => {
    zlibPool.clear();
    const a = new ObservedDeflate({ ...PARAMS, serverMaxWindowBits: 12 }, 'server');
    await encode(a, words(2000));
    a.dispose();
    const b = new ObservedDeflate(PARAMS, 'server');
    await encode(b, words(2000));
    b.dispose();
    // Idle now: a 12-bit and a 15-bit compressor at level 6. Level 1 takes neither.
    const c = new ObservedDeflate(PARAMS, 'server', { zlibDeflateOptions: { level: 1 } });
    await encode(c, words(2000));
    expect(b.created + c.created).toBe(2);
    const d = new ObservedDeflate({ ...PARAMS, serverMaxWindowBits: 12 }, 'server');
    await encode(d, words(2000));
    expect(d.deflaters[0]).toBe(a.deflaters[0]);
    const e = new ObservedDeflate(PARAMS, 'server');
    await encode(e, words(2000));
    expect(e.deflaters[0]).toBe(b.deflaters[0]);
    for (const ext of [c, d, e]) ext.dispose();
  });

  it('destroys a stream that failed, stopped a bomb or was busy, and pools one that finished', async () => {
    zlibPool.clear();
    const invalid = new ObservedDeflate(PARAMS, 'server');
    await decodeError(invalid, Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const bomb = new ObservedDeflate(PARAMS, 'server', {}, 64 * 1024);
    await decodeError(bomb, await zeroBomb(4));
    const busy = new ObservedDeflate(PARAMS, 'server');
    const pending = encode(busy, pseudoRandom(200_000, 3)).catch((err: WebSocketError) => err.code);
    busy.dispose(); // its job is still in zlib
    expect(await pending).toBe('WS_ERR_NOT_OPEN');
    const idle = new ObservedDeflate(PARAMS, 'server');
    await encode(idle, words(2000));
    idle.dispose();
    for (const stream of [invalid.inflaters[0], bomb.inflaters[0], busy.deflaters[0]]) expect(stream?.destroyed).toBe(true);
    expect(idle.deflaters[0]?.destroyed).toBe(false);
    expect(zlibPool.stats().idleStreams).toBe(1);
    const next = new ObservedDeflate(PARAMS, 'server');
    await encode(next, words(2000));
    expect(next.deflaters[0]).toBe(idle.deflaters[0]);
    next.dispose();
  });

  it('with poolMaxBytes 0, released streams are destroyed as before', async () => {
    zlibPool.clear();
    const { server, client } = pair({ serverNoContextTakeover: true, clientNoContextTakeover: true });
    const off = new ObservedDeflate({ ...PARAMS, serverNoContextTakeover: true }, 'server', { poolMaxBytes: 0 });
    for (let i = 0; i < 3; i++) await decode(client, await encode(off, words(2000, i + 1)));
    expect(off.created).toBe(3);
    expect(off.deflaters.every((s) => s.destroyed)).toBe(true);
    expect(zlibPool.stats().idleStreams).toBe(1); // the client's inflater, pooled by its own setting
    for (const ext of [server, client, off]) ext.dispose();
  });

  it('keeps no more than poolMaxBytes of idle streams, however many connections end at once', async () => {
    expect(DEFAULT_POOL_MAX_BYTES).toBe(32 * 1024 * 1024);
    zlibPool.clear();
    const poolMaxBytes = 4 * 1024 * 1024;
    const codecs = Array.from({ length: 40 }, () => new PerMessageDeflate(PARAMS, 'server', { poolMaxBytes }));
    await Promise.all(codecs.map((codec, i) => encode(codec, words(2000, i + 1))));
    for (const codec of codecs) codec.dispose();
    const { idleStreams, idleBytes } = zlibPool.stats();
    // 4 MiB of 15-bit compressors (280 KiB each): 14 kept, 26 destroyed.
    expect(idleBytes).toBeLessThanOrEqual(poolMaxBytes);
    expect(idleStreams).toBe(Math.floor(poolMaxBytes / (256 * 1024 + 24 * 1024)));
    zlibPool.clear();
  });
});
