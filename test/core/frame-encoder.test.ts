import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { COALESCE_LIMIT, encodeFrame, type FrameOutput, headerSize, toBuffer, writeHeader } from '../../src/core/frame-encoder.js';
import { FrameParser } from '../../src/core/frame-parser.js';
import { RecordingFrameSink, decodeFrames, frame, frameWriter, hex, hx, pseudoRandomBytes } from './helpers.js';

type Write = { data: Buffer; cb: ((err?: Error | null) => void) | undefined };

function recorder(): FrameOutput & { writes: Write[]; bytes(): Buffer } {
  const writes: Write[] = [];
  return {
    writes,
    writeFrame: frameWriter((data, cb) => void writes.push({ data, cb })),
    bytes: () => Buffer.concat(writes.map((w) => w.data)),
  };
}

/** Encodes one frame and returns all bytes written. */
function encode(opcode: number, payload: Uint8Array, fin = true, rsv = 0, masked = false): Buffer {
  const out = recorder();
  const n = encodeFrame(out, opcode, payload, fin, rsv, masked);
  const bytes = out.bytes();
  expect(n).toBe(bytes.length);
  return bytes;
}

describe('headerSize', () => {
  it('uses 2, 4 and 10 bytes at the 125/126 and 65535/65536 boundaries, plus 4 when masked', () => {
    const cases: [number, number][] = [
      [0, 2],
      [125, 2],
      [126, 4],
      [65535, 4],
      [65536, 10],
      [2 ** 32, 10],
      [2 ** 53 - 1, 10],
    ];
    for (const [length, size] of cases) {
      expect(headerSize(length, false), `length ${length}`).toBe(size);
      expect(headerSize(length, true), `length ${length} masked`).toBe(size + 4);
    }
  });
});

describe('writeHeader', () => {
  it('writes the length forms of RFC 6455 §5.2 at 125/126/65535/65536', () => {
    const cases: [number, string][] = [
      [0, '82 00'],
      [5, '82 05'],
      [125, '82 7d'],
      [126, '82 7e 00 7e'],
      [65535, '82 7e ff ff'],
      [65536, '82 7f 00 00 00 00 00 01 00 00'],
      [2 ** 32 + 5, '82 7f 00 00 00 01 00 00 00 05'],
      [2 ** 53 - 1, '82 7f 00 1f ff ff ff ff ff ff'],
    ];
    for (const [length, expected] of cases) {
      const target = Buffer.alloc(16, 0xaa);
      const end = writeHeader(target, 0, 2, true, 0, length, false);
      expect(hx(target.subarray(0, end)), `length ${length}`).toBe(hx(hex(expected)));
      expect(target[end]).toBe(0xaa);
    }
  });

  it('writes FIN, RSV and opcode bits, at an offset', () => {
    const target = Buffer.alloc(8, 0xaa);
    expect(writeHeader(target, 3, 0x0, false, 0x40, 3, false)).toBe(5);
    expect(hx(target)).toBe(hx(hex('aa aa aa 40 03 aa aa aa')));
    expect(writeHeader(target, 0, 0x9, true, 0x70, 0, false)).toBe(2);
    expect(target.subarray(0, 2)).toEqual(hex('f9 00'));
  });

  it('sets the mask bit and appends a key when masked', () => {
    const target = Buffer.alloc(14);
    expect(writeHeader(target, 0, 1, true, 0, 5, true)).toBe(6);
    expect(target.subarray(0, 2)).toEqual(hex('81 85'));
    expect(writeHeader(target, 0, 1, true, 0, 300, true)).toBe(8);
    expect(target.subarray(0, 4)).toEqual(hex('81 fe 01 2c'));
    expect(writeHeader(target, 0, 1, true, 0, 70000, true)).toBe(14);
    expect(target.subarray(0, 10)).toEqual(hex('81 ff 00 00 00 00 00 01 11 70'));
  });
});

describe('encodeFrame: unmasked (server) frames', () => {
  it('encodes the RFC 6455 §5.7 examples byte for byte', () => {
    expect(encode(1, Buffer.from('Hello'))).toEqual(hex('81 05 48 65 6c 6c 6f'));
    expect(encode(1, Buffer.from('Hel'), false)).toEqual(hex('01 03 48 65 6c'));
    expect(encode(0, Buffer.from('lo'))).toEqual(hex('80 02 6c 6f'));
    expect(encode(9, Buffer.from('Hello'))).toEqual(hex('89 05 48 65 6c 6c 6f'));
    const p256 = pseudoRandomBytes(256, 1);
    expect(hx(encode(2, p256))).toBe(hx(Buffer.concat([hex('82 7e 01 00'), p256])));
    const p64k = pseudoRandomBytes(65536, 2);
    expect(hx(encode(2, p64k))).toBe(hx(Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), p64k])));
  });

  it('matches the independent frame builder at every header size boundary', () => {
    for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const payload = pseudoRandomBytes(length, length);
      expect(hx(encode(2, payload)), `length ${length}`).toBe(hx(frame({ opcode: 2, payload })));
    }
  });

  it('writes small payloads behind the header in one write, copied', () => {
    for (const length of [0, 1, 125, 126, COALESCE_LIMIT]) {
      const out = recorder();
      const payload = pseudoRandomBytes(length, 3);
      const cb = (): void => {};
      encodeFrame(out, 2, payload, true, 0, false, cb);
      expect(out.writes, `length ${length}`).toHaveLength(1);
      expect(out.writes[0]!.cb).toBe(cb);
      // The frame does not alias the payload: changing the payload afterwards changes nothing.
      const before = hx(out.bytes());
      payload.fill(0x55);
      expect(hx(out.bytes())).toBe(before);
    }
  });

  it('writes large payloads as header + the payload itself (no copy), the callback on the last write', () => {
    const out = recorder();
    const payload = pseudoRandomBytes(COALESCE_LIMIT + 1, 4);
    const cb = (): void => {};
    expect(encodeFrame(out, 2, payload, true, 0, false, cb)).toBe(4 + COALESCE_LIMIT + 1);
    expect(out.writes).toHaveLength(2);
    expect(out.writes[0]!.data).toEqual(hex('82 7e 10 01'));
    expect(out.writes[0]!.cb).toBeUndefined();
    expect(out.writes[1]!.data).toBe(payload);
    expect(out.writes[1]!.cb).toBe(cb);
  });

  it('writes a large plain Uint8Array as a Buffer view of the same memory', () => {
    const backing = new Uint8Array(10000);
    backing.set(pseudoRandomBytes(10000, 5));
    const payload = backing.subarray(3, 9003);
    const out = recorder();
    encodeFrame(out, 2, payload, true, 0, false);
    const written = out.writes[1]!.data;
    expect(Buffer.isBuffer(written)).toBe(true);
    expect(written.buffer).toBe(backing.buffer);
    expect(written.byteOffset).toBe(3);
    expect(written.length).toBe(9000);
    expect(hx(out.bytes())).toBe(hx(frame({ opcode: 2, payload })));
  });

  it('passes RSV bits and FIN through', () => {
    expect(encode(1, Buffer.from('x'), false, 0x40)).toEqual(hex('41 01 78'));
    expect(encode(0, Buffer.from('x'), true, 0)).toEqual(hex('80 01 78'));
  });
});

describe('encodeFrame: masked (client) frames', () => {
  it('masks with the key in the header and never modifies the caller\'s buffer', () => {
    const lengths = [0, 1, 3, 4, 5, 125, 126, 127, 128, 129, 130, 131, 1000, COALESCE_LIMIT, COALESCE_LIMIT + 1, 65535, 65536, 70001];
    for (const length of lengths) {
      // At every alignment of the source relative to the output.
      for (const offset of [0, 1, 2, 3]) {
        const backing = pseudoRandomBytes(length + offset + 3, length + offset);
        const payload = backing.subarray(offset, offset + length);
        const original = hx(backing);
        const out = recorder();
        const cb = (): void => {};
        const n = encodeFrame(out, 2, payload, true, 0, true, cb);
        expect(hx(backing), `length ${length} offset ${offset}: caller's buffer untouched`).toBe(original);
        expect(out.writes).toHaveLength(1);
        expect(out.writes[0]!.cb).toBe(cb);
        const bytes = out.bytes();
        expect(n).toBe(bytes.length);
        expect(bytes.length).toBe(headerSize(length, true) + length);
        const { frames, rest } = decodeFrames(bytes);
        expect(rest.length).toBe(0);
        expect(frames).toHaveLength(1);
        expect(frames[0]!.masked).toBe(true);
        expect(frames[0]!.opcode).toBe(2);
        expect(hx(frames[0]!.payload), `length ${length} offset ${offset}`).toBe(hx(payload));
      }
    }
  });

  it('the RFC 6455 §5.7 masked "Hello" decodes with the key that is written in the header', () => {
    const bytes = encode(1, Buffer.from('Hello'), true, 0, true);
    expect(bytes.length).toBe(11);
    expect(bytes.subarray(0, 2)).toEqual(hex('81 85'));
    const key = bytes.subarray(2, 6);
    const unmasked = Buffer.from(bytes.subarray(6).map((b, i) => b ^ key[i & 3]!));
    expect(unmasked.toString()).toBe('Hello');
  });

  it('uses a fresh key for each frame', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 64; i++) keys.add(hx(encode(2, Buffer.from('x'), true, 0, true).subarray(2, 6)));
    expect(keys.size).toBeGreaterThan(60);
  });

  it('round-trips through FrameParser', () => {
    const sink = new RecordingFrameSink();
    const parser = new FrameParser(sink, { expectMasked: true, maxFrameLength: 1 << 20 });
    const payloads = [0, 1, 125, 126, 200, 65536, 5].map((n) => pseudoRandomBytes(n, n + 9));
    const out = recorder();
    payloads.forEach((p, i) => encodeFrame(out, i === 0 ? 1 : 2, p, true, 0, true));
    parser.push(out.bytes());
    expect(sink.events.filter((e) => e.type === 'end')).toEqual(payloads.map((p) => ({ type: 'end', payload: hx(p) })));
  });
});

describe('toBuffer', () => {
  it('returns a Buffer as is and wraps other views without copying', () => {
    const b = Buffer.from('abc');
    expect(toBuffer(b)).toBe(b);
    const u = new Uint8Array(8).subarray(2, 5);
    const v = toBuffer(u);
    expect(v.buffer).toBe(u.buffer);
    expect(v.byteOffset).toBe(2);
    expect(v.length).toBe(3);
  });
});
