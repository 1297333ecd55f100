import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/core/constants.js';
import { SHARED_JOIN_LIMIT, sharedFrame } from '../../src/core/shared-frame.js';
import { decodeFrames } from './helpers.js';

describe('sharedFrame', () => {
  it('copies a small payload behind its header: one buffer, one write', () => {
    const frame = sharedFrame(Opcode.Text, 0, Buffer.from('hello'));
    expect(frame.payload).toBeNull();
    expect(frame.first).toBe(0x81);
    expect(frame.size).toBe(7);
    expect(decodeFrames(frame.head).frames).toEqual([{ fin: true, rsv: 0, opcode: Opcode.Text, masked: false, payload: Buffer.from('hello') }]);
  });

  it('refers to a large payload without copying it, after a header of its own', () => {
    const payload = Buffer.alloc(SHARED_JOIN_LIMIT + 1, 3);
    const frame = sharedFrame(Opcode.Binary, 0x40, payload);
    expect(frame.payload).toBe(payload);
    expect(frame.first).toBe(0x80 | 0x40 | Opcode.Binary);
    expect(frame.head).toHaveLength(4);
    expect(frame.size).toBe(4 + payload.length);
    const decoded = decodeFrames(Buffer.concat([frame.head, payload])).frames;
    expect(decoded).toHaveLength(1);
    expect(decoded[0]?.payload.equals(payload)).toBe(true);
  });
});
