import { constants, createInflateRaw, deflateRawSync, type InflateRaw } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ProtocolError, WebSocketError } from '../../src/core/errors.js';
import { DEFLATE_TAIL, inflateMessage } from '../../src/deflate/inflate-job.js';
import { expectBytes, words, zeroBomb } from './helpers.js';

/** Runs one job; also reports whether the callback came synchronously. */
function run(stream: InflateRaw, data: Buffer, maxPayload: number) {
  return new Promise<{ err: Error | null; out?: Buffer; ended?: boolean; sync: boolean }>((resolve) => {
    let sync = true;
    inflateMessage(stream, data, maxPayload, (err, out, ended) => resolve({ err, out, ended, sync }));
    sync = false;
  });
}

/** Counts every chunk of output zlib produces on `stream`, read or not. */
function countOutput(stream: InflateRaw): { bytes: number } {
  const counter = { bytes: 0 };
  const push = stream.push.bind(stream);
  stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (Buffer.isBuffer(chunk)) counter.bytes += chunk.length;
    return push(chunk, encoding);
  };
  return counter;
}

describe('inflateMessage', () => {
  it('appends the tail and decodes (RFC 7692 §7.2.2)', async () => {
    const stream = createInflateRaw({ flush: constants.Z_SYNC_FLUSH });
    const message = words(5000);
    const compressed = deflateRawSync(message, { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    expect(compressed.subarray(-4)).toEqual(DEFLATE_TAIL);
    const result = await run(stream, compressed.subarray(0, -4), 1 << 20);
    expect(result.err).toBeNull();
    expect(result.ended).toBe(false);
    expectBytes(result.out, message);
    expect(stream.listenerCount('data')).toBe(0);
    stream.destroy();
  });

  it('stops a 16 MiB bomb at the limit, consuming little of it', async () => {
    const bomb = await zeroBomb(16);
    const stream = createInflateRaw({ flush: constants.Z_SYNC_FLUSH });
    const produced = countOutput(stream);
    const result = await run(stream, bomb, 64 * 1024);
    expect(result.err).toBeInstanceOf(ProtocolError);
    expect((result.err as ProtocolError).closeCode).toBe(1009);
    expect(result.sync).toBe(false);
    // Let zlib finish whatever it had started: it must not go on inflating.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(produced.bytes).toBeLessThanOrEqual(64 * 1024 + 2 * 16 * 1024);
    expect(stream.bytesWritten).toBeLessThan(bomb.length / 100);
    expect(stream.isPaused()).toBe(true);
    stream.destroy();
  });

  it('reports invalid data as 1007, asynchronously', async () => {
    const stream = createInflateRaw({ flush: constants.Z_SYNC_FLUSH });
    const result = await run(stream, Buffer.from([0x07, 0x00]), 1024); // BTYPE 11 is reserved
    expect((result.err as ProtocolError).code).toBe('WS_ERR_INVALID_COMPRESSED_DATA');
    expect((result.err as ProtocolError).closeCode).toBe(1007);
    expect(result.sync).toBe(false);
  });

  it('reports the end of the DEFLATE stream, with or without the 0x00 of RFC 7692 §7.2.3.4', async () => {
    for (const pad of [Buffer.alloc(0), Buffer.from([0x00])]) {
      const stream = createInflateRaw({ flush: constants.Z_SYNC_FLUSH });
      const result = await run(stream, Buffer.concat([deflateRawSync(Buffer.from('Hello')), pad]), 1024);
      expect(result.err).toBeNull();
      expect(result.ended).toBe(true);
      expect(result.out?.toString()).toBe('Hello');
      stream.destroy();
    }
  });

  it('abandons a job with WS_ERR_NOT_OPEN', async () => {
    const stream = createInflateRaw({ flush: constants.Z_SYNC_FLUSH });
    const done = new Promise<Error | null>((resolve) => {
      const abort = inflateMessage(stream, deflateRawSync(words(100000)), 1 << 20, (err) => resolve(err));
      abort();
      stream.destroy();
    });
    expect(((await done) as WebSocketError).code).toBe('WS_ERR_NOT_OPEN');
  });
});
