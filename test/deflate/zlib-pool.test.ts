import { constants, createDeflateRaw, createInflateRaw, deflateRawSync, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deflateStreamBytes, inflateStreamBytes, POOL_IDLE_TIMEOUT, ZlibPool } from '../../src/deflate/zlib-pool.js';
import { expectBytes, words } from './helpers.js';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const FLUSH = constants.Z_SYNC_FLUSH;

function deflater(): DeflateRaw {
  return createDeflateRaw({ windowBits: 15, flush: FLUSH });
}
function inflater(): InflateRaw {
  return createInflateRaw({ windowBits: 15, flush: FLUSH });
}

/** One write through `stream` as the codec's jobs do it: listeners on, all output read, off. */
function run(stream: DeflateRaw | InflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => void chunks.push(chunk);
    const onError = (err: Error): void => {
      stream.off('data', onData);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(data, (err) => {
      if (err) return;
      stream.off('data', onData);
      stream.off('error', onError);
      resolve(Buffer.concat(chunks));
    });
  });
}

const KEY = 'deflate 15';
const BIG = 1 << 30;

describe('ZlibPool', () => {
  it('hands a returned stream to the next taker of the same key only', async () => {
    const pool = new ZlibPool();
    const d = deflater();
    await run(d, words(2000));
    expect(pool.take(KEY)).toBeNull();
    expect(pool.give(KEY, d, 1000, BIG)).toBe(true);
    expect(pool.stats()).toMatchObject({ idleStreams: 1, idleBytes: 1000, returned: 1 });
    expect(pool.take('deflate 9')).toBeNull();
    expect(pool.take(KEY)).toBe(d);
    expect(pool.take(KEY)).toBeNull();
    expect(pool.stats()).toMatchObject({ idleStreams: 0, idleBytes: 0, reused: 1 });
    d.destroy();
    pool.clear();
  });

  it('resets a compressor between users: the next one compresses as a new stream would', async () => {
    const pool = new ZlibPool();
    const message = words(4000, 3);
    const fresh = await run(deflater(), message);
    const d = deflater();
    await run(d, message);
    // Without a reset the same message again is a short back-reference into the window.
    const carried = await run(d, message);
    expect(carried.length).toBeLessThan(fresh.length / 4);
    pool.give(KEY, d, 1000, BIG);
    const reused = pool.take<DeflateRaw>(KEY) as DeflateRaw;
    expectBytes(await run(reused, message), fresh);
    reused.destroy();
  });

  it('resets a decompressor between users: a back-reference into the last user\'s window fails', async () => {
    const pool = new ZlibPool();
    const message = words(4000, 4);
    // Two messages of one context-takeover sender: the second only refers back to the first.
    const sender = deflater();
    const first = await run(sender, message);
    const second = await run(sender, message);
    sender.destroy();
    const i = inflater();
    expectBytes(await run(i, Buffer.concat([first, TAIL])), message);
    pool.give('inflate 15', i, 1000, BIG);
    const reused = pool.take<InflateRaw>('inflate 15') as InflateRaw;
    expect(reused).toBe(i);
    await expect(run(reused, Buffer.concat([second, TAIL]))).rejects.toThrow(/too far back/);
    // A stream on its own decodes a message that stands alone.
    const next = inflater();
    expectBytes(await run(next, Buffer.concat([first, TAIL])), message);
    next.destroy();
  });

  it('keeps idle streams within maxBytes and destroys the rest', async () => {
    const pool = new ZlibPool();
    const streams = [deflater(), deflater(), deflater()];
    for (const s of streams) await run(s, words(100));
    expect(pool.give(KEY, streams[0] as DeflateRaw, 400, 1000)).toBe(true);
    expect(pool.give(KEY, streams[1] as DeflateRaw, 400, 1000)).toBe(true);
    expect(pool.give(KEY, streams[2] as DeflateRaw, 400, 1000)).toBe(false);
    expect(streams[2]?.destroyed).toBe(true);
    expect(pool.stats()).toMatchObject({ idleStreams: 2, idleBytes: 800, discarded: 1 });
    // maxBytes 0: nothing is kept.
    const other = deflater();
    expect(pool.give('other', other, 1, 0)).toBe(false);
    expect(other.destroyed).toBe(true);
    pool.clear();
    expect(streams.every((s) => s.destroyed)).toBe(true);
    expect(pool.stats()).toMatchObject({ idleStreams: 0, idleBytes: 0 });
  });

  it('destroys streams that are not clean instead of pooling them', async () => {
    const pool = new ZlibPool();
    const destroyed = deflater();
    destroyed.destroy();
    const listening = deflater();
    listening.on('data', () => {});
    const paused = inflater();
    paused.pause();
    const pending = deflater();
    pending.write(words(100_000)); // a write still in zlib
    const failed = inflater();
    await run(failed, Buffer.from([0xff, 0xff, 0xff, 0xff])).catch(() => {});
    const ended = inflater();
    // A BFINAL block followed by more input ends the readable side (RFC 7692 §7.2.3.4).
    await run(ended, Buffer.concat([deflateRawSync(Buffer.from('x')), Buffer.from([0x00, 0x00])]));
    for (const stream of [destroyed, listening, paused, pending, failed, ended]) {
      expect(pool.give(KEY, stream, 1, BIG)).toBe(false);
      expect(stream.destroyed).toBe(true);
    }
    expect(pool.stats()).toMatchObject({ idleStreams: 0, discarded: 6 });
  });

  it('destroys streams idle for the idle timeout, the oldest first', () => {
    let clock = 0;
    const pool = new ZlibPool(1000, () => clock);
    const [a, b, c] = [deflater(), deflater(), inflater()];
    pool.give(KEY, a, 10, BIG);
    pool.give('inflate 15', c, 10, BIG);
    clock = 500;
    pool.give(KEY, b, 10, BIG);
    pool.sweep();
    expect(pool.stats().idleStreams).toBe(3);
    clock = 1000;
    pool.sweep();
    expect(a.destroyed && c.destroyed).toBe(true);
    expect(b.destroyed).toBe(false);
    expect(pool.stats()).toMatchObject({ idleStreams: 1, idleBytes: 10 });
    expect(pool.take('inflate 15')).toBeNull();
    clock = 1500;
    pool.sweep();
    expect(b.destroyed).toBe(true);
    expect(pool.take(KEY)).toBeNull();
  });

  it('the default idle timeout is 60 s and the sweep timer does not hold the process', async () => {
    expect(POOL_IDLE_TIMEOUT).toBe(60_000);
    const pool = new ZlibPool();
    const d = deflater();
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    pool.give(KEY, d, 10, BIG);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(after).toBe(before);
    pool.clear();
    expect(d.destroyed).toBe(true);
  });

  it('estimates memory from the parameters (zlib: (1 << (windowBits + 2)) + (1 << (memLevel + 9)))', () => {
    expect(deflateStreamBytes(15, 8)).toBe(131072 + 131072 + 8192 + 16384);
    expect(deflateStreamBytes(9, 1)).toBe(2048 + 1024 + 8192 + 16384);
    expect(inflateStreamBytes(15)).toBe(32768 + 8192 + 16384);
    expect(inflateStreamBytes(15, 1024)).toBe(32768 + 8192 + 1024);
  });
});
