import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WriteBatch } from '../../../src/node/io/write-batch.js';

/** A socket stand-in that records every buffer handed to it, one entry per write call. */
function recordingSocket(): { socket: Writable; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const socket = new Writable({
    writev(chunks, done) {
      for (const { chunk } of chunks) writes.push(Buffer.from(chunk as Buffer));
      done();
    },
    write(chunk: Buffer, _enc, done) {
      writes.push(Buffer.from(chunk));
      done();
    },
  });
  return { socket, writes };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WriteBatch', () => {
  it('leaves the buffers of one tick in a single write, joining adjacent ranges without a copy', async () => {
    const { socket, writes } = recordingSocket();
    const batch = new WriteBatch(socket as never);
    const slab = Buffer.from('abcdefgh');
    batch.write(slab, 0, 3);
    batch.write(slab, 3, 5);
    batch.write(Buffer.from('XY'), 0, 2);
    expect(batch.pendingBytes).toBe(7);
    expect(writes).toEqual([]);
    await tick();
    expect(writes.map((b) => b.toString())).toEqual(['abcdeXY']);
    expect(batch.pendingBytes).toBe(0);
  });

  it('writes one run as a view of its buffer', async () => {
    const { socket, writes } = recordingSocket();
    const seen: Buffer[] = [];
    const original = socket.write.bind(socket);
    socket.write = ((chunk: Buffer, ...rest: never[]) => {
      seen.push(chunk);
      return original(chunk, ...rest);
    }) as typeof socket.write;
    const batch = new WriteBatch(socket as never);
    const slab = Buffer.from('0123456789');
    batch.write(slab, 2, 4);
    batch.write(slab, 4, 7);
    await tick();
    expect(writes.map((b) => b.toString())).toEqual(['23456']);
    expect(seen[0]?.buffer).toBe(slab.buffer);
  });

  it('keeps order when a large buffer goes out directly, and runs callbacks in order', async () => {
    const { socket, writes } = recordingSocket();
    const batch = new WriteBatch(socket as never);
    const order: string[] = [];
    batch.write(Buffer.from('head'), 0, 4, () => order.push('small'));
    const large = Buffer.alloc(16 * 1024, 0x61);
    batch.write(large, 0, large.length, () => order.push('large'));
    await tick();
    await tick();
    expect(writes.map((b) => b.length)).toEqual([4, large.length]);
    expect(writes[0]?.toString()).toBe('head');
    expect(order).toEqual(['small', 'large']);
  });

  it('fails the callbacks of discarded bytes and writes nothing', async () => {
    const { socket, writes } = recordingSocket();
    const batch = new WriteBatch(socket as never);
    const errors: unknown[] = [];
    batch.write(Buffer.from('x'), 0, 1, (err) => errors.push(err));
    batch.discard('gone');
    await tick();
    expect(writes).toEqual([]);
    expect((errors[0] as Error).message).toBe('gone');
  });
});
