import { constants, createDeflateRaw, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { WebSocketError } from '../../src/core/errors.js';
import { deflateMessage } from '../../src/deflate/deflate-job.js';
import { DEFLATE_TAIL } from '../../src/deflate/inflate-job.js';
import { expectBytes, words } from './helpers.js';

function run(stream: ReturnType<typeof createDeflateRaw>, data: Buffer, fin: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateMessage(stream, data, fin, (err, out) => (err ? reject(err) : resolve(out as Buffer)));
  });
}

describe('deflateMessage', () => {
  it('removes the tail of the last part only (RFC 7692 §7.2.1)', async () => {
    const stream = createDeflateRaw({ flush: constants.Z_SYNC_FLUSH });
    const part = await run(stream, words(3000, 1), false);
    expect(part.subarray(-4)).toEqual(DEFLATE_TAIL);
    const last = await run(stream, words(3000, 2), true);
    expect(last.subarray(-4).equals(DEFLATE_TAIL)).toBe(false);
    const inflated = inflateRawSync(Buffer.concat([part, last, DEFLATE_TAIL]), { finishFlush: 2 });
    expectBytes(inflated, Buffer.concat([words(3000, 1), words(3000, 2)]));
    expect(stream.listenerCount('data')).toBe(0);
    stream.destroy();
  });

  it('sends an empty message as 0x00, fresh or after other messages', async () => {
    const stream = createDeflateRaw({ flush: constants.Z_SYNC_FLUSH });
    expect(await run(stream, Buffer.alloc(0), true)).toEqual(Buffer.from([0x00]));
    await run(stream, words(100), true);
    expect(await run(stream, Buffer.alloc(0), true)).toEqual(Buffer.from([0x00]));
    stream.destroy();
  });

  it('abandons a job with WS_ERR_NOT_OPEN', async () => {
    const stream = createDeflateRaw({ flush: constants.Z_SYNC_FLUSH });
    const err = await new Promise<Error | null>((resolve) => {
      const abort = deflateMessage(stream, words(100000), true, (e) => resolve(e));
      abort();
      stream.destroy();
    });
    expect((err as WebSocketError).code).toBe('WS_ERR_NOT_OPEN');
  });

  it('reports a failing stream as WS_ERR_EXTENSION_FAILED', async () => {
    const stream = createDeflateRaw({ flush: constants.Z_SYNC_FLUSH });
    stream.destroy();
    const err = await new Promise<Error | null>((resolve) => {
      stream.on('error', () => {});
      deflateMessage(stream, words(10), true, (e) => resolve(e));
    });
    expect((err as WebSocketError).code).toBe('WS_ERR_EXTENSION_FAILED');
  });
});
