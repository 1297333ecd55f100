import { describe, expect, it } from 'vitest';
import { encodeFrame, type FrameOutput } from '../../src/core/frame-encoder.js';
import { MAX_SLAB_FRAME, frameSlab } from '../../src/core/slab.js';

/** Records the slab ranges an encoder writes, and the frames it writes in buffers of their own. */
function recorder(): { out: FrameOutput; ranges: Array<[Buffer, number, number]>; writes: Buffer[] } {
  const ranges: Array<[Buffer, number, number]> = [];
  const writes: Buffer[] = [];
  return {
    ranges,
    writes,
    out: {
      // Slab frames are a range of the shared slab; others come in buffers of their own.
      writeFrame: (_first, _length, buffer, start, end, payload) => {
        if (payload === null && buffer === frameSlab.buffer) ranges.push([buffer, start, end]);
        else writes.push(buffer.subarray(start, end), ...(payload === null ? [] : [payload]));
      },
    },
  };
}

describe('frame slab', () => {
  it('encodes consecutive small frames back to back in one shared buffer', () => {
    const { out, ranges, writes } = recorder();
    frameSlab.offset = 0; // start on a fresh slab position so both frames fit in it
    encodeFrame(out, 1, Buffer.from('one'), true, 0, false);
    encodeFrame(out, 2, Buffer.from([1, 2, 3, 4]), true, 0, false);
    expect(writes).toEqual([]);
    const [[a, aStart, aEnd], [b, bStart, bEnd]] = ranges as [[Buffer, number, number], [Buffer, number, number]];
    expect(b).toBe(a);
    expect(aStart).toBe(0);
    expect(bStart).toBe(aEnd);
    expect(Array.from(a.subarray(aStart, aEnd))).toEqual([0x81, 3, 0x6f, 0x6e, 0x65]);
    expect(Array.from(b.subarray(bStart, bEnd))).toEqual([0x82, 4, 1, 2, 3, 4]);
  });

  it('gives frames over the slab limit their own buffers', () => {
    const { out, ranges, writes } = recorder();
    const payload = Buffer.alloc(MAX_SLAB_FRAME, 7);
    encodeFrame(out, 2, payload, true, 0, false);
    expect(ranges).toEqual([]);
    expect(writes.reduce((n, w) => n + w.length, 0)).toBe(MAX_SLAB_FRAME + 4);
  });
});
