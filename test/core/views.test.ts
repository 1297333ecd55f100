import { describe, expect, it } from 'vitest';
import { bufferView, uint8View } from '../../src/core/views.js';

describe('views', () => {
  it('bufferView is a Buffer sharing the memory of a Buffer or a plain Uint8Array', () => {
    const buf = Buffer.from('abcdefgh');
    const view = bufferView(buf, 2, 5);
    expect(Buffer.isBuffer(view)).toBe(true);
    expect(view.toString()).toBe('cde');
    view[0] = 0x43;
    expect(buf.toString()).toBe('abCdefgh');

    const plain = new Uint8Array([1, 2, 3, 4]);
    const fromPlain = bufferView(plain, 1, 3);
    expect(Buffer.isBuffer(fromPlain)).toBe(true);
    expect([...fromPlain]).toEqual([2, 3]);
    fromPlain[1] = 9;
    expect([...plain]).toEqual([1, 2, 9, 4]);
  });

  it('uint8View is a plain Uint8Array sharing the memory, and clamps as subarray does', () => {
    const plain = new Uint8Array([1, 2, 3, 4]);
    const view = uint8View(plain, 1, 3);
    expect(Buffer.isBuffer(view)).toBe(false);
    expect(view).toBeInstanceOf(Uint8Array);
    expect([...view]).toEqual([2, 3]);
    view[0] = 7;
    expect(plain[1]).toBe(7);
    expect(uint8View(plain, 3, 10).length).toBe(1);
    expect(bufferView(plain, 3, 10).length).toBe(1);
  });
});
