import { describe, expect, it } from 'vitest';
import { BlobOutbox, isBlob, runInOrder } from '../../../src/node/socket/blob-outbox.js';
import { until } from '../helpers.js';

describe('BlobOutbox', () => {
  it('runs commands in call order around Blobs being read, and counts the Blobs as pending', async () => {
    const done: string[] = [];
    let box: BlobOutbox | null = null;
    box = runInOrder(box, Buffer.from('first'), undefined, (b) => done.push(b.toString()));
    expect(box).toBeNull();
    box = runInOrder(box, new Blob(['blob-1']), undefined, (b) => done.push(b.toString()));
    box = runInOrder(box, Buffer.from('after'), undefined, (b) => done.push(b.toString()));
    box = runInOrder(box, new Blob(['blob-2']), undefined, (b) => done.push(b.toString()));
    expect(done).toEqual(['first']);
    expect(box?.pendingBytes).toBe(12);
    expect(box?.idle).toBe(false);
    await until(() => done.length === 4);
    expect(done).toEqual(['first', 'blob-1', 'after', 'blob-2']);
    expect(box?.pendingBytes).toBe(0);
    expect(box?.idle).toBe(true);
  });

  it('clear() drops what waits', async () => {
    const done: string[] = [];
    const box = new BlobOutbox();
    box.pushBlob(new Blob(['x']), () => done.push('blob'));
    box.push(() => done.push('later'));
    box.clear();
    expect(box.pendingBytes).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toEqual([]);
  });

  it('isBlob', () => {
    expect(isBlob(new Blob([]))).toBe(true);
    expect(isBlob(Buffer.alloc(1))).toBe(false);
  });
});
