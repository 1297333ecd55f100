import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { Assembler } from '../../src/core/assembler.js';
import { INPUT_OFFSET, INPUT_SIZE, simdKernel } from '../../src/core/mask-simd.js';
import {
  type MessageEvent,
  RecordingMessageSink,
  assemblerTarget,
  err,
  feedAllWays,
  feedInChunks,
  frame,
  frames,
  hex,
  hx,
  pseudoRandomBytes,
} from './helpers.js';

const text = (data: string | Uint8Array): MessageEvent => ({ type: 'message', data: hx(data), binary: false, compressed: false });
const binary = (data: string | Uint8Array): MessageEvent => ({ type: 'message', data: hx(data), binary: true, compressed: false });
const control = (opcode: number, payload: string | Uint8Array): MessageEvent => ({ type: 'control', opcode, payload: hx(payload) });

/** Frames as a client sends them (masked), for a server-side assembler. */
const SERVER = { expectMasked: true } as const;

describe('Assembler: borrowed input (a read buffer reused after every push)', () => {
  it('keeps every message and control payload intact, one byte at a time and whole, with a pause in the middle', () => {
    const key = Uint8Array.of(0x11, 0x9c, 0x42, 0xe7);
    const sizes = [0, 1, 16, 17, 125, 126, 1000, 70_000];
    const specs = sizes.flatMap((size, i) => [
      { opcode: 2, payload: pseudoRandomBytes(size, i + 1), mask: key },
      { opcode: 9, payload: pseudoRandomBytes(Math.min(size, 125), i + 50), mask: key },
      { opcode: 1, fin: false, payload: 'x'.repeat(size), mask: key },
      { opcode: 0, payload: 'y'.repeat(i), mask: key },
    ]);
    const input = frames(...specs);
    const expected = sizes.flatMap((size, i) => [
      binary(pseudoRandomBytes(size, i + 1)),
      control(9, pseudoRandomBytes(Math.min(size, 125), i + 50)),
      text('x'.repeat(size) + 'y'.repeat(i)),
    ]);
    // Input lands in the masking kernel's memory, as socket reads do (unmasked in place there).
    const kernel = simdKernel() as NonNullable<ReturnType<typeof simdKernel>>;
    const area = Buffer.from(kernel.memory.buffer, INPUT_OFFSET, INPUT_SIZE);
    for (const [step, pause] of [1, 7, 4096, input.length].flatMap((n) => [[n, false], [n, true]] as const)) {
      const target = assemblerTarget(SERVER)();
      // Paused inside the first message's delivery (the rest of that chunk is held, copied),
      // and for the next 64 pushes (held as well).
      let pausedAt = -1;
      let pushes = 0;
      const deliver = target.sink.message.bind(target.sink);
      target.sink.message = (data, isBinary, compressed): void => {
        deliver(data, isBinary, compressed);
        if (pause && pausedAt === -1) {
          pausedAt = pushes;
          target.parser.pause();
        }
      };
      for (let at = 0; at < input.length; at += step, pushes++) {
        const chunk = input.subarray(at, Math.min(at + step, input.length));
        area.set(chunk);
        target.parser.push(area.subarray(0, chunk.length), true);
        // Whatever the parser or assembler kept must not be this memory: it is overwritten.
        area.fill(0xaa, 0, chunk.length);
        if (pausedAt >= 0 && pushes === pausedAt + 64) target.parser.resume();
      }
      target.parser.resume();
      expect(target.events, `step ${step}, pause ${pause}`).toEqual(expected);
      // The delivered buffers, read again after all input: their bytes are still right.
      expect(target.sink.delivered.map((data) => hx(data)), `step ${step}`).toEqual(expected.map((e) => ('data' in e ? e.data : 'payload' in e ? e.payload : '')));
    }
  });
});

describe('Assembler: messages', () => {
  it('delivers the RFC 6455 §5.7 single-frame and fragmented "Hello" messages', () => {
    expect(feedAllWays(hex('81 05 48 65 6c 6c 6f'), assemblerTarget()).events).toEqual([text('Hello')]);
    expect(feedAllWays(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), assemblerTarget(SERVER)).events).toEqual([text('Hello')]);
    const { events, positions } = feedAllWays(hex('01 03 48 65 6c 80 02 6c 6f'), assemblerTarget());
    expect(events).toEqual([text('Hello')]);
    expect(positions).toEqual([9]);
  });

  it('delivers the §5.7 ping and pong as control frames', () => {
    expect(feedAllWays(hex('89 05 48 65 6c 6c 6f'), assemblerTarget()).events).toEqual([control(9, 'Hello')]);
    expect(feedAllWays(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'), assemblerTarget(SERVER)).events).toEqual([control(10, 'Hello')]);
  });

  it('delivers 256-byte and 64 KiB binary messages (16-bit and 64-bit lengths)', () => {
    const small = pseudoRandomBytes(256, 1);
    const big = pseudoRandomBytes(65536, 2);
    const input = Buffer.concat([hex('82 7e 01 00'), small, hex('82 7f 00 00 00 00 00 01 00 00'), big]);
    const { events, positions } = feedAllWays(input, assemblerTarget(), { maxSplits: 300 });
    expect(events).toEqual([binary(small), binary(big)]);
    expect(positions).toEqual([260, input.length]);
  });

  it('delivers empty messages, and messages made of empty fragments', () => {
    const input = frames(
      { opcode: 1 },
      { opcode: 2 },
      { opcode: 1, fin: false },
      { opcode: 0, fin: false },
      { opcode: 0 },
      { opcode: 2, fin: false },
      { opcode: 0, payload: 'x' },
      { opcode: 1, fin: false, payload: 'ab' },
      { opcode: 0, fin: false },
      { opcode: 0 },
    );
    expect(feedAllWays(input, assemblerTarget()).events).toEqual([text(''), binary(''), text(''), binary('x'), text('ab')]);
  });

  it('joins many fragments and keeps consecutive messages apart', () => {
    const a = pseudoRandomBytes(3000, 5);
    const input = frames(
      { opcode: 2, fin: false, payload: a.subarray(0, 1000), mask: true },
      { opcode: 0, fin: false, payload: a.subarray(1000, 1001), mask: true },
      { opcode: 0, fin: false, payload: a.subarray(1001, 2500), mask: true },
      { opcode: 0, payload: a.subarray(2500), mask: true },
      { opcode: 1, payload: 'next', mask: true },
      { opcode: 1, fin: false, payload: 'fr', mask: true },
      { opcode: 0, payload: 'ag', mask: true },
    );
    expect(feedAllWays(input, assemblerTarget(SERVER), { maxSplits: 400 }).events).toEqual([binary(a), text('next'), text('frag')]);
  });

  it('delivers control frames interleaved between fragments, in order', () => {
    const input = frames(
      { opcode: 1, fin: false, payload: 'Hel', mask: true },
      { opcode: 9, payload: 'ping1', mask: true },
      { opcode: 0, fin: false, payload: 'l', mask: true },
      { opcode: 10, payload: '', mask: true },
      { opcode: 9, payload: Buffer.alloc(125, 0x70), mask: true },
      { opcode: 0, payload: 'o', mask: true },
      { opcode: 8, payload: hex('03e8'), mask: true },
    );
    const { events, positions } = feedAllWays(input, assemblerTarget(SERVER));
    expect(events).toEqual([
      control(9, 'ping1'),
      control(10, ''),
      control(9, Buffer.alloc(125, 0x70)),
      text('Hello'),
      control(8, hex('03e8')),
    ]);
    // Each is delivered with its last byte.
    let end = 0;
    const ends: number[] = [];
    for (const len of [9, 11, 7, 6, 131, 7, 8]) ends.push((end += len));
    expect(positions).toEqual([ends[1], ends[3], ends[4], ends[5], ends[6]]);
  });

  it('delivers a message that arrived as one view without copying it', () => {
    const t = assemblerTarget()();
    const input = frame({ opcode: 2, payload: pseudoRandomBytes(50, 1) });
    t.push(input);
    expect(t.sink.delivered[0]!.buffer).toBe(input.buffer);
  });

  it('hands out each gathered message in its own buffer (the next one does not overwrite it)', () => {
    const t = assemblerTarget()();
    t.push(frames({ opcode: 1, fin: false, payload: 'aaaa' }, { opcode: 0, payload: 'bbbb' }));
    t.push(frames({ opcode: 1, fin: false, payload: 'cccc' }, { opcode: 0, payload: 'dddd' }));
    t.push(frame({ opcode: 9, payload: 'p1' }).subarray(0, 3));
    t.push(frame({ opcode: 9, payload: 'p1' }).subarray(3));
    t.push(frame({ opcode: 9, payload: 'p2' }).subarray(0, 3));
    t.push(frame({ opcode: 9, payload: 'p2' }).subarray(3));
    const [m1, m2, c1, c2] = t.sink.delivered as [Buffer, Buffer, Buffer, Buffer];
    expect(m1.toString()).toBe('aaaabbbb');
    expect(m2.toString()).toBe('ccccdddd');
    expect(c1.toString()).toBe('p1');
    expect(c2.toString()).toBe('p2');
  });

  it('reports the bytes held for an incomplete message', () => {
    const t = assemblerTarget()();
    t.push(frame({ opcode: 2, fin: false, payload: 'abcdef' }));
    expect(t.assembler.bufferedBytes).toBe(6);
    t.push(frame({ opcode: 0, payload: 'gh' }));
    expect(t.assembler.bufferedBytes).toBe(0);
  });

  it('passes RSV1 through as "compressed" and skips UTF-8 checks for it (the extension decodes first)', () => {
    const input = frames(
      { opcode: 1, rsv: 0x40, fin: false, payload: hex('ff fe') },
      { opcode: 0, payload: hex('c0') },
      { opcode: 1, payload: 'plain' },
    );
    expect(feedAllWays(input, assemblerTarget({ allowedRsv: 0x40 })).events).toEqual([
      { type: 'message', data: 'fffec0', binary: false, compressed: true },
      text('plain'),
    ]);
  });

  it('rejects RSV1 on a continuation frame and on a control frame with 1002', () => {
    const cont = frames({ opcode: 1, rsv: 0x40, fin: false, payload: 'a' }, { opcode: 0, rsv: 0x40, payload: 'b' });
    expect(feedAllWays(cont, assemblerTarget({ allowedRsv: 0x40 })).events).toEqual([err('WS_ERR_UNEXPECTED_RSV_1', 1002)]);
    const ctl = frame({ opcode: 9, rsv: 0x40, payload: 'a' });
    expect(feedAllWays(ctl, assemblerTarget({ allowedRsv: 0x40 })).events).toEqual([err('WS_ERR_UNEXPECTED_RSV_1', 1002)]);
  });
});

describe('Assembler: fragmentation rules (RFC 6455 §5.4)', () => {
  it('rejects a continuation frame without a message in progress with 1002', () => {
    for (const fin of [true, false]) {
      const input = frames({ opcode: 1, payload: 'done' }, { opcode: 0, fin, payload: 'x' });
      const { events, positions } = feedAllWays(input, assemblerTarget());
      expect(events).toEqual([text('done'), err('WS_ERR_UNEXPECTED_CONTINUATION', 1002)]);
      expect(positions).toEqual([6, 8]);
    }
  });

  it('rejects a new data frame while a fragmented message is in progress with 1002', () => {
    for (const opcode of [1, 2]) {
      for (const fin of [true, false]) {
        const input = frames({ opcode: 1, fin: false, payload: 'Hel' }, { opcode, fin, payload: 'lo' });
        const { events, positions } = feedAllWays(input, assemblerTarget());
        expect(events).toEqual([err('WS_ERR_EXPECTED_CONTINUATION', 1002)]);
        expect(positions).toEqual([7]);
      }
    }
  });

  it('rejects a message larger than maxPayload at the header of the fragment that crosses it (1009)', () => {
    const input = frames(
      { opcode: 2, fin: false, payload: 'abcdef', mask: true },
      { opcode: 9, payload: 'ping', mask: true }, // control frames do not count
      { opcode: 0, fin: false, payload: 'ghi', mask: true },
      { opcode: 0, payload: 'jk', mask: true }, // 6 + 3 + 2 = 11 > 10
    );
    const { events, positions } = feedAllWays(input, assemblerTarget({ ...SERVER, maxPayload: 10 }));
    expect(events).toEqual([control(9, 'ping'), err('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009)]);
    // Header of the last fragment: 12 + 10 + 9 bytes before it, 6 header bytes.
    expect(positions).toEqual([22, 12 + 10 + 9 + 6]);
  });

  it('fails from the header alone: only the crossing fragment header is fed', () => {
    const input = frames(
      { opcode: 1, fin: false, payload: 'abcdef' },
      { opcode: 0, declaredLength: 5, headerOnly: true },
    );
    expect(feedAllWays(input, assemblerTarget({ maxPayload: 10 })).events).toEqual([err('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009)]);
  });

  it('accepts a message of exactly maxPayload bytes over several fragments', () => {
    const input = frames(
      { opcode: 2, fin: false, payload: 'abcdef' },
      { opcode: 0, fin: false, payload: '' },
      { opcode: 0, payload: 'ghij' },
      { opcode: 2, payload: '0123456789' },
    );
    expect(feedAllWays(input, assemblerTarget({ maxPayload: 10 })).events).toEqual([binary('abcdefghij'), binary('0123456789')]);
  });

  it('rejects a single frame above maxPayload with 1009 before its payload', () => {
    const input = frame({ opcode: 2, declaredLength: 11, headerOnly: true, mask: true });
    const { events, positions } = feedAllWays(input, assemblerTarget({ ...SERVER, maxPayload: 10 }));
    expect(events).toEqual([err('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009)]);
    expect(positions).toEqual([6]);
  });

  it('rejects more than maxFragments frames in one message with 1009', () => {
    const ok = frames({ opcode: 1, fin: false, payload: 'a' }, { opcode: 0, fin: false }, { opcode: 0, payload: 'c' });
    expect(feedAllWays(ok, assemblerTarget({ maxFragments: 3 })).events).toEqual([text('ac')]);
    const tooMany = frames(
      { opcode: 1, fin: false, payload: 'a' },
      { opcode: 9, payload: 'p' }, // not a fragment
      { opcode: 0, fin: false },
      { opcode: 0, fin: false, payload: 'c' },
      { opcode: 0, payload: 'd' },
    );
    const { events, positions } = feedAllWays(tooMany, assemblerTarget({ maxFragments: 3 }));
    expect(events).toEqual([control(9, 'p'), err('WS_ERR_TOO_MANY_FRAGMENTS', 1009)]);
    expect(positions).toEqual([6, tooMany.length - 1]);
    // The count starts over with each message.
    const again = Buffer.concat([ok, ok, ok]);
    expect(feedAllWays(again, assemblerTarget({ maxFragments: 3 })).events).toEqual([text('ac'), text('ac'), text('ac')]);
  });

  it('accepts a 4 MiB message in 65,536 fragments of 64 bytes with maxPayload 16 MiB (Autobahn 9.3.1/9.4.1)', () => {
    const payload = pseudoRandomBytes(4 * 1024 * 1024, 42);
    const parts: Buffer[] = [];
    for (let i = 0; i < 65536; i++) {
      parts.push(
        frame({ opcode: i === 0 ? 2 : 0, fin: i === 65535, payload: payload.subarray(i * 64, i * 64 + 64), mask: pseudoRandomBytes(4, i) }),
      );
    }
    const input = Buffer.concat(parts);
    const target = assemblerTarget({ ...SERVER, maxPayload: 16 * 1024 * 1024 });
    const expected = [binary(payload)];
    const started = performance.now();
    expect(feedInChunks(input, target, 1 << 20)).toEqual(expected);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(feedInChunks(input, target, 1000)).toEqual(expected);
    expect(feedInChunks(input, target, 63)).toEqual(expected);
    // Whole, one byte at a time, and at spread-out split points.
    expect(feedAllWays(input, target, { maxSplits: 8, checkTiming: false }).events).toEqual(expected);
  }, 60_000);
});

describe('Assembler: UTF-8 (RFC 6455 §8.1), failing at the first impossible byte', () => {
  it('fails a fragmented text message when the 2nd fragment arrives, before the 3rd (fin) one', () => {
    const f1 = frame({ opcode: 1, fin: false, payload: 'Hel', mask: true });
    const f2 = frame({ opcode: 0, fin: false, payload: Buffer.from([0x6c, 0xff, 0x6f]), mask: true });
    const f3 = frame({ opcode: 0, payload: '!', mask: true });
    const input = Buffer.concat([f1, f2, f3]);
    const { events, positions } = feedAllWays(input, assemblerTarget(SERVER));
    expect(events).toEqual([err('WS_ERR_INVALID_UTF8', 1007)]);
    // 0xff is payload byte 1 of the 2nd fragment.
    expect(positions).toEqual([f1.length + 6 + 2]);
    // And without the 3rd fragment at all.
    expect(feedAllWays(Buffer.concat([f1, f2]), assemblerTarget(SERVER)).events).toEqual([err('WS_ERR_INVALID_UTF8', 1007)]);
  });

  it('fails on an impossible sequence formed across fragments (E0 then 80: overlong)', () => {
    const f1 = frame({ opcode: 1, fin: false, payload: Buffer.from([0x61, 0xe0]) });
    const f2 = frame({ opcode: 0, fin: false, payload: Buffer.from([0x80, 0x80]) });
    const input = Buffer.concat([f1, f2, frame({ opcode: 0, payload: 'z' })]);
    const { events, positions } = feedAllWays(input, assemblerTarget());
    expect(events).toEqual([err('WS_ERR_INVALID_UTF8', 1007)]);
    expect(positions).toEqual([f1.length + 2 + 1]);
  });

  it('fails a single frame delivered in chunks in the chunk holding the bad byte', () => {
    const good = Buffer.from('é'.repeat(40) + 'abc'); // 83 bytes of valid text
    const payload = Buffer.concat([good, Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('tail'.repeat(20))]); // ED A0: a surrogate
    const input = frame({ opcode: 1, payload, mask: true });
    const { events, positions } = feedAllWays(input, assemblerTarget(SERVER));
    expect(events).toEqual([err('WS_ERR_INVALID_UTF8', 1007)]);
    // Header 2 + 4 + 4 (16-bit length), then the A0 after ED is the impossible byte.
    expect(positions).toEqual([8 + good.length + 2]);
  });

  it('fails a text message truncated in the middle of a sequence with 1007', () => {
    // Single frame, fin: E2 82 is the start of "€".
    const single = frame({ opcode: 1, payload: Buffer.from([0x61, 0xe2, 0x82]) });
    expect(feedAllWays(single, assemblerTarget()).events).toEqual([err('WS_ERR_INVALID_UTF8', 1007)]);
    // Fragmented, the last fragment empty.
    const fragmented = frames(
      { opcode: 1, fin: false, payload: Buffer.from([0x61, 0xf0, 0x9f]) },
      { opcode: 0, fin: false, payload: Buffer.from([0x98]) },
      { opcode: 0 },
    );
    const { events, positions } = feedAllWays(fragmented, assemblerTarget());
    expect(events).toEqual([err('WS_ERR_INVALID_UTF8', 1007)]);
    expect(positions).toEqual([fragmented.length]);
    // A long single frame, so the native whole-buffer check is the one that sees it.
    const long = frame({ opcode: 1, payload: Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0xe2, 0x82])]) });
    expect(feedAllWays(long, assemblerTarget()).events).toEqual([err('WS_ERR_INVALID_UTF8', 1007)]);
  });

  it('accepts multi-byte characters split across fragments', () => {
    const input = frames(
      { opcode: 1, fin: false, payload: Buffer.from([0x61, 0xe2]), mask: true },
      { opcode: 0, fin: false, payload: Buffer.from([0x82]), mask: true },
      { opcode: 9, payload: 'ctl', mask: true },
      { opcode: 0, fin: false, payload: Buffer.from([0xac, 0xf0, 0x9f]), mask: true },
      { opcode: 0, fin: false, payload: Buffer.from([0x98]), mask: true },
      { opcode: 0, fin: false, payload: Buffer.alloc(0), mask: true },
      { opcode: 0, payload: Buffer.from([0x80, 0x62]), mask: true },
    );
    expect(feedAllWays(input, assemblerTarget(SERVER)).events).toEqual([control(9, 'ctl'), text('a€😀b')]);
  });

  it('accepts long valid text in one frame and in fragments, and binary that is not UTF-8', () => {
    const t = Buffer.from('κόσμε ✓ 😀 '.repeat(200));
    const input = frames(
      { opcode: 1, payload: t },
      { opcode: 1, fin: false, payload: t.subarray(0, 1001) },
      { opcode: 0, payload: t.subarray(1001) },
      { opcode: 2, payload: hex('ff c0 80 ed a0 80') },
    );
    expect(feedAllWays(input, assemblerTarget(), { maxSplits: 500 }).events).toEqual([text(t), text(t), binary(hex('ff c0 80 ed a0 80'))]);
  });

  it('starts each message with a fresh validator', () => {
    const input = frames(
      { opcode: 1, fin: false, payload: Buffer.from([0x61]) },
      { opcode: 0, payload: Buffer.from([0x62]) },
      { opcode: 1, payload: Buffer.from([0x80]) }, // a lone continuation byte
    );
    const { events, positions } = feedAllWays(input, assemblerTarget());
    expect(events).toEqual([text('ab'), err('WS_ERR_INVALID_UTF8', 1007)]);
    expect(positions).toEqual([6, 9]);
  });

  it('reset() drops a partial message, including an open UTF-8 sequence', () => {
    const sink = new RecordingMessageSink();
    const assembler = new Assembler(sink, { maxPayload: 100, maxFragments: 10 });
    assembler.frameStart(false, 1, 0, 1);
    assembler.framePayload(Buffer.from([0xe2]));
    assembler.frameEnd();
    assembler.reset();
    expect(assembler.bufferedBytes).toBe(0);
    // An empty text message after the reset is valid.
    assembler.frameStart(true, 1, 0, 0);
    assembler.frameEnd();
    // A message delivered in two pieces after the reset.
    assembler.frameStart(true, 1, 0, 2);
    assembler.framePayload(Buffer.from('o'));
    assembler.framePayload(Buffer.from('k'));
    assembler.frameEnd();
    expect(sink.events).toEqual([text(''), text('ok')]);
  });
});

describe('Assembler: frame boundaries (the fragments binary type)', () => {
  it('records where each frame after the first starts, at every split point; none for one frame or when off', () => {
    const input = frames(
      { opcode: 2, payload: 'ab', fin: false },
      { opcode: 9, payload: 'p' },
      { opcode: 0, payload: '', fin: false },
      { opcode: 0, payload: 'cde' },
      { opcode: 2, payload: 'single' },
    );
    const seen: Array<Array<readonly number[] | null>> = [];
    feedAllWays(input, () => {
      const target = assemblerTarget()();
      target.assembler.recordFrames = true;
      const starts: Array<readonly number[] | null> = [];
      seen.push(starts);
      const message = target.sink.message.bind(target.sink);
      target.sink.message = (data, isBinary, compressed) => {
        starts.push(target.assembler.deliveredFrameStarts);
        message(data, isBinary, compressed);
      };
      return target;
    });
    for (const starts of seen) expect(starts).toEqual([[2, 2], null]);
    const off = assemblerTarget()();
    off.push(input);
    expect(off.assembler.deliveredFrameStarts).toBeNull();
  });
});
