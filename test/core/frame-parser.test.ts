import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/core/constants.js';
import type { FrameParserOptions } from '../../src/core/frame-parser.js';
import {
  type FrameEvent,
  type FrameSpec,
  RFC_KEY,
  err,
  feedAllWays,
  frame,
  frames,
  hex,
  hx,
  parserTarget,
  pseudoRandomBytes,
} from './helpers.js';

const CLIENT: FrameParserOptions = { expectMasked: false, maxFrameLength: 1 << 20 }; // parses server frames
const SERVER: FrameParserOptions = { expectMasked: true, maxFrameLength: 1 << 20 }; // parses client frames

const start = (opcode: number, length: number, fin = true, rsv = 0): FrameEvent => ({ type: 'start', fin, opcode, rsv, length });
const end = (payload: string | Uint8Array): FrameEvent => ({ type: 'end', payload: hx(payload) });

function parse(input: Buffer, options: FrameParserOptions = CLIENT) {
  return feedAllWays(input, parserTarget(options));
}

describe('frame builder (test helper)', () => {
  it('reproduces the RFC 6455 §5.7 example bytes', () => {
    expect(frame({ opcode: 1, payload: 'Hello' })).toEqual(hex('81 05 48 65 6c 6c 6f'));
    expect(frame({ opcode: 1, payload: 'Hello', mask: true })).toEqual(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
    expect(frame({ opcode: 1, payload: 'Hel', fin: false })).toEqual(hex('01 03 48 65 6c'));
    expect(frame({ opcode: 0, payload: 'lo' })).toEqual(hex('80 02 6c 6f'));
    expect(frame({ opcode: 2, payload: Buffer.alloc(256) }).subarray(0, 4)).toEqual(hex('82 7e 01 00'));
    expect(frame({ opcode: 2, payload: Buffer.alloc(65536) }).subarray(0, 10)).toEqual(hex('82 7f 00 00 00 00 00 01 00 00'));
  });
});

describe('feedAllWays (test helper)', () => {
  it('fails when the events depend on how the input was split', () => {
    const chunky = () => {
      const events: number[] = [];
      return { events, push: (c: Buffer) => void events.push(c.length) };
    };
    expect(() => feedAllWays(hex('01 02 03'), chunky)).toThrow(/one byte at a time/);
  });

  it('fails when an event is reported later than the chunk that decides it', () => {
    // Reports "seen 2 bytes" one push late.
    const lazy = () => {
      const events: string[] = [];
      let seen = 0;
      let due = false;
      return {
        events,
        push(c: Buffer): void {
          if (due) {
            events.push('two');
            due = false;
          }
          seen += c.length;
          if (seen >= 2 && seen - c.length < 2) due = true;
        },
        finish(): void {
          if (due) events.push('two');
        },
      };
    };
    expect(() => feedAllWays(hex('01 02 03 04'), lazy)).toThrow(/timing/);
  });
});

describe('FrameParser: RFC 6455 §5.7 examples', () => {
  it('a single-frame unmasked text message', () => {
    const { events } = parse(hex('81 05 48 65 6c 6c 6f'));
    expect(events).toEqual([start(1, 5), end('Hello')]);
  });

  it('a single-frame masked text message (unmasked with 37 fa 21 3d)', () => {
    const { events, positions } = parse(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), SERVER);
    expect(events).toEqual([start(1, 5), end('Hello')]);
    // The header is reported once all 6 header bytes are in, the end with the last payload byte.
    expect(positions).toEqual([6, 11]);
  });

  it('a fragmented unmasked text message ("Hel" + "lo")', () => {
    const { events, positions } = parse(hex('01 03 48 65 6c 80 02 6c 6f'));
    expect(events).toEqual([start(1, 3, false), end('Hel'), start(0, 2), end('lo')]);
    expect(positions).toEqual([2, 5, 7, 9]);
  });

  it('an unmasked ping and a masked pong carrying "Hello"', () => {
    expect(parse(hex('89 05 48 65 6c 6c 6f')).events).toEqual([start(9, 5), end('Hello')]);
    expect(parse(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'), SERVER).events).toEqual([start(10, 5), end('Hello')]);
  });

  it('256 bytes of binary data with a 16-bit length (7e 01 00)', () => {
    const payload = pseudoRandomBytes(256, 7);
    const input = Buffer.concat([hex('82 7e 01 00'), payload]);
    const { events, positions } = parse(input);
    expect(events).toEqual([start(2, 256), end(payload)]);
    expect(positions).toEqual([4, 260]);
  });

  it('64 KiB of binary data with a 64-bit length (7f 00 00 00 00 00 01 00 00)', () => {
    const payload = pseudoRandomBytes(65536, 8);
    const input = Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), payload]);
    const { events, positions } = feedAllWays(input, parserTarget(CLIENT), { maxSplits: 300 });
    expect(events).toEqual([start(2, 65536), end(payload)]);
    expect(positions).toEqual([10, 65546]);
  });

  it('masked 64 KiB binary: unmasking is right at every chunk offset', () => {
    const payload = pseudoRandomBytes(65536 + 3, 9);
    const input = frame({ opcode: 2, payload, mask: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) });
    const { events } = feedAllWays(input, parserTarget(SERVER), { maxSplits: 300 });
    expect(events).toEqual([start(2, 65539), end(payload)]);
  });
});

describe('FrameParser: header forms', () => {
  it('parses every length encoding boundary, masked and unmasked', () => {
    for (const length of [0, 1, 125, 126, 127, 128, 65535, 65536]) {
      const payload = pseudoRandomBytes(length, length);
      for (const mask of [false, true]) {
        const input = frame({ opcode: 2, payload, mask });
        const { events } = feedAllWays(input, parserTarget(mask ? SERVER : CLIENT), { maxSplits: 64 });
        expect(events, `length ${length}, masked ${mask}`).toEqual([start(2, length), end(payload)]);
      }
    }
  });

  it('accepts non-minimal length encodings (16-bit and 64-bit for 5 bytes)', () => {
    const input = frames(
      { opcode: 1, payload: 'Hello', lengthBits: 16 },
      { opcode: 1, payload: 'Hello', lengthBits: 64 },
    );
    expect(parse(input).events).toEqual([start(1, 5), end('Hello'), start(1, 5), end('Hello')]);
  });

  it('reports a zero-length frame with no payload call', () => {
    const { events, positions } = parse(frames({ opcode: 1 }, { opcode: 9, mask: false }, { opcode: 2 }));
    expect(events).toEqual([start(1, 0), end(''), start(9, 0), end(''), start(2, 0), end('')]);
    expect(positions).toEqual([2, 2, 4, 4, 6, 6]);
  });

  it('reports masked zero-length frames once the mask key is in', () => {
    const { events, positions } = parse(frame({ opcode: 1, mask: true }), SERVER);
    expect(events).toEqual([start(1, 0), end('')]);
    expect(positions).toEqual([6, 6]);
  });

  it('parses many frames in one chunk, in order, with each mask key', () => {
    const specs: FrameSpec[] = [];
    const expected: FrameEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const payload = pseudoRandomBytes(i * 13, i);
      specs.push({ opcode: i % 2 === 0 ? 2 : 1, payload, fin: true, mask: pseudoRandomBytes(4, 100 + i) });
      expected.push(start(i % 2 === 0 ? 2 : 1, payload.length), end(payload));
    }
    expect(feedAllWays(frames(...specs), parserTarget(SERVER), { maxSplits: 500 }).events).toEqual(expected);
  });

  it('reports FIN and the allowed RSV bits as on the wire', () => {
    const input = frames({ opcode: 1, payload: 'a', fin: false, rsv: 0x40 }, { opcode: 0, payload: 'b' });
    expect(parse(input, { ...CLIENT, allowedRsv: 0x40 }).events).toEqual([
      start(1, 1, false, 0x40),
      end('a'),
      start(0, 1),
      end('b'),
    ]);
  });

  it('hands out payload views over the input, not copies, for a frame inside one chunk', () => {
    const make = parserTarget(SERVER);
    const target = make();
    const input = Buffer.concat([
      frame({ opcode: 2, payload: pseudoRandomBytes(300, 1), mask: true }),
      frame({ opcode: 1, payload: 'Hello', mask: true }),
    ]);
    target.push(input);
    expect(target.sink.views).toHaveLength(2);
    const [a, b] = target.sink.views as [Buffer, Buffer];
    expect(a.buffer).toBe(input.buffer);
    expect(a.byteOffset).toBe(input.byteOffset + 8);
    expect(a.length).toBe(300);
    expect(b.buffer).toBe(input.buffer);
    expect(b.byteOffset).toBe(input.byteOffset + 308 + 6);
    // Unmasked in place.
    expect(b.toString()).toBe('Hello');
    expect(input.subarray(314).toString()).toBe('Hello');
  });

  it('hands out the chunk itself when it is exactly the payload', () => {
    const target = parserTarget(CLIENT)();
    target.push(hex('82 03'));
    const chunk = Buffer.from('abc');
    target.push(chunk);
    expect(target.sink.views[0]).toBe(chunk);
  });
});

describe('FrameParser: header rules (RFC 6455 §5.2, §5.5, §5.1)', () => {
  it('rejects RSV1/RSV2/RSV3 without an extension with 1002 as soon as byte 2 arrives', () => {
    const cases: [number, string][] = [
      [0x40, 'WS_ERR_UNEXPECTED_RSV_1'],
      [0x20, 'WS_ERR_UNEXPECTED_RSV_2_3'],
      [0x10, 'WS_ERR_UNEXPECTED_RSV_2_3'],
      [0x30, 'WS_ERR_UNEXPECTED_RSV_2_3'],
      [0x60, 'WS_ERR_UNEXPECTED_RSV_1'],
      [0x70, 'WS_ERR_UNEXPECTED_RSV_1'],
    ];
    for (const [rsv, code] of cases) {
      for (const opts of [CLIENT, SERVER]) {
        const input = frames({ opcode: 1, payload: 'Hello', rsv, mask: opts.expectMasked }, { opcode: 1, payload: 'x', mask: opts.expectMasked });
        const { events, positions } = parse(input, opts);
        expect(events, `rsv ${rsv}`).toEqual([err(code, 1002)]);
        expect(positions).toEqual([2]);
      }
    }
  });

  it('accepts RSV1 when allowedRsv is 0x40 but still rejects RSV2/RSV3', () => {
    const opts = { ...CLIENT, allowedRsv: 0x40 };
    expect(parse(frame({ opcode: 2, payload: 'z', rsv: 0x40 }), opts).events).toEqual([start(2, 1, true, 0x40), end('z')]);
    expect(parse(frame({ opcode: 2, payload: 'z', rsv: 0x20 }), opts).events).toEqual([err('WS_ERR_UNEXPECTED_RSV_2_3', 1002)]);
    expect(parse(frame({ opcode: 2, payload: 'z', rsv: 0x50 }), opts).events).toEqual([err('WS_ERR_UNEXPECTED_RSV_2_3', 1002)]);
  });

  it('setAllowedRsv changes which bits are accepted', () => {
    const t = parserTarget(CLIENT, (p) => p.setAllowedRsv(0x40))();
    t.push(frame({ opcode: 2, payload: 'z', rsv: 0x40 }));
    expect(t.events).toEqual([start(2, 1, true, 0x40), end('z')]);
  });

  it('rejects reserved opcodes 3-7 and 0xB-0xF with 1002', () => {
    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      for (const fin of [true, false]) {
        const { events, positions } = parse(frame({ opcode, payload: 'abc', fin }));
        expect(events, `opcode ${opcode}`).toEqual([err('WS_ERR_INVALID_OPCODE', 1002)]);
        expect(positions).toEqual([2]);
      }
    }
  });

  it('rejects a fragmented control frame with 1002', () => {
    for (const opcode of [8, 9, 10]) {
      const { events, positions } = parse(frame({ opcode, payload: 'ab', fin: false }));
      expect(events, `opcode ${opcode}`).toEqual([err('WS_ERR_EXPECTED_FIN', 1002)]);
      expect(positions).toEqual([2]);
    }
  });

  it('rejects a control payload of 126 bytes (16-bit length) before the length bytes arrive', () => {
    for (const opcode of [8, 9, 10]) {
      const { events, positions } = parse(frame({ opcode, payload: Buffer.alloc(126, 0x61) }));
      expect(events).toEqual([err('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002)]);
      expect(positions).toEqual([2]);
      // Even a short payload declared with a 16-bit or 64-bit length field.
      const viaLong = parse(frame({ opcode, payload: 'x', lengthBits: 64 }));
      expect(viaLong.events).toEqual([err('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002)]);
    }
  });

  it('accepts a control payload of exactly 125 bytes', () => {
    const payload = Buffer.alloc(125, 0x62);
    expect(parse(frame({ opcode: 9, payload })).events).toEqual([start(9, 125), end(payload)]);
  });

  it('rejects an unmasked frame sent to a server with 1002', () => {
    const { events, positions } = parse(frame({ opcode: 1, payload: 'Hello' }), SERVER);
    expect(events).toEqual([err('WS_ERR_EXPECTED_MASK', 1002)]);
    expect(positions).toEqual([2]);
  });

  it('rejects a masked frame sent to a client with 1002', () => {
    const { events, positions } = parse(frame({ opcode: 1, payload: 'Hello', mask: true }), CLIENT);
    expect(events).toEqual([err('WS_ERR_UNEXPECTED_MASK', 1002)]);
    expect(positions).toEqual([2]);
  });

  it('rejects a 64-bit length with the most significant bit set with 1002', () => {
    const header = frame({ opcode: 2, declaredLength: 0x8000000000000000n, headerOnly: true });
    expect(header).toEqual(hex('82 7f 80 00 00 00 00 00 00 00'));
    const { events, positions } = parse(Buffer.concat([header, hex('00 01 02')]));
    expect(events).toEqual([err('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1002)]);
    expect(positions).toEqual([10]);
    const masked = frame({ opcode: 2, declaredLength: 0xffffffffffffffffn, headerOnly: true, mask: true });
    expect(parse(masked, SERVER).events).toEqual([err('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1002)]);
  });

  it('rejects 64-bit lengths beyond 2^53 with 1009', () => {
    const header = frame({ opcode: 2, declaredLength: 2n ** 53n + 1n, headerOnly: true });
    expect(parse(header, { ...CLIENT, maxFrameLength: Number.MAX_SAFE_INTEGER }).events).toEqual([
      err('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009),
    ]);
  });

  it('rejects a declared length above maxFrameLength with 1009 from the header alone', () => {
    const max = 1000;
    const cases: FrameSpec[] = [
      { opcode: 2, declaredLength: 1001, headerOnly: true }, // 16-bit
      { opcode: 1, declaredLength: 70000, headerOnly: true }, // 64-bit
      { opcode: 0, fin: false, declaredLength: 1001, headerOnly: true },
      { opcode: 2, declaredLength: 2 ** 40, headerOnly: true },
    ];
    for (const spec of cases) {
      for (const opts of [CLIENT, SERVER]) {
        const header = frame({ ...spec, mask: opts.expectMasked });
        const { events, positions } = parse(header, { ...opts, maxFrameLength: max });
        expect(events, `declared ${String(spec.declaredLength)}`).toEqual([err('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009)]);
        expect(positions).toEqual([header.length]);
      }
    }
  });

  it('accepts a declared length of exactly maxFrameLength', () => {
    const header = frame({ opcode: 2, declaredLength: 1000, headerOnly: true });
    expect(parse(header, { ...CLIENT, maxFrameLength: 1000 }).events).toEqual([start(2, 1000)]);
  });

  it('ignores all input after a protocol error', () => {
    const t = parserTarget(CLIENT)();
    t.push(frame({ opcode: 3 }));
    t.push(frame({ opcode: 1, payload: 'Hello' }));
    expect(t.events).toEqual([err('WS_ERR_INVALID_OPCODE', 1002)]);
    expect(t.parser.stopped).toBe(true);
    expect(() => t.parser.push(frame({ opcode: 1, payload: 'x' }))).not.toThrow();
  });

  it('stops an error raised by the sink, and ignores later input', () => {
    const t = parserTarget(CLIENT, (parser, sink) => {
      sink.hook = (e) => {
        if (e.type === 'start' && e.opcode === 2) throw new Error('sink says no');
      };
      void parser;
    })();
    expect(() => t.parser.push(frames({ opcode: 1, payload: 'a' }, { opcode: 2, payload: 'b' }, { opcode: 1, payload: 'c' }))).toThrow(
      'sink says no',
    );
    expect(t.parser.stopped).toBe(true);
    t.push(frame({ opcode: 1, payload: 'd' }));
    expect(t.events).toEqual([start(1, 1), end('a'), start(2, 1)]);
  });
});

describe('FrameParser: maxFrameChunks (the maxBufferedChunks option)', () => {
  const input = frame({ opcode: 2, payload: Buffer.alloc(10, 7) }); // 12 bytes

  function feed(cuts: number[], maxFrameChunks: number) {
    const target = parserTarget({ ...CLIENT, maxFrameChunks })();
    let start = 0;
    for (const cut of [...cuts, input.length]) {
      target.push(Buffer.from(input.subarray(start, cut)));
      start = cut;
    }
    return target.events;
  }

  it('accepts a frame spanning exactly the limit of chunks, header included, and fails one more with 1008', () => {
    // 3 chunks: a header split in two, then the payload.
    expect(feed([1, 2], 3).at(-1)).toEqual(end(Buffer.alloc(10, 7)));
    expect(feed([1, 2], 2).at(-1)).toEqual(err('WS_ERR_TOO_MANY_BUFFERED_PARTS', 1008));
    // 3 chunks: the header, then two pieces of payload.
    expect(feed([2, 7], 3).at(-1)).toEqual(end(Buffer.alloc(10, 7)));
    expect(feed([2, 7], 2).at(-1)).toEqual(err('WS_ERR_TOO_MANY_BUFFERED_PARTS', 1008));
  });

  it('counts per frame: many frames in one chunk each, or many chunks holding whole frames, never add up', () => {
    const many = Buffer.concat(Array.from({ length: 50 }, () => input));
    const target = parserTarget({ ...CLIENT, maxFrameChunks: 1 })();
    for (let i = 0; i < many.length; i += input.length) target.push(Buffer.from(many.subarray(i, i + input.length)));
    target.push(many);
    expect(target.events.filter((e) => e.type === 'end')).toHaveLength(100);
    expect(target.events.filter((e) => e.type === 'error')).toEqual([]);
  });
});

describe('FrameParser: pause, resume, stop', () => {
  const input = frames(
    { opcode: 1, payload: 'one', mask: true },
    { opcode: 2, payload: pseudoRandomBytes(200, 3), mask: true },
    { opcode: 9, payload: 'p', mask: true },
    { opcode: 1, payload: 'four', mask: true },
  );
  const all: FrameEvent[] = [
    start(1, 3),
    end('one'),
    start(2, 200),
    end(pseudoRandomBytes(200, 3)),
    start(9, 1),
    end('p'),
    start(1, 4),
    end('four'),
  ];

  it('pausing at each frame end holds the rest; resume delivers it in order, nothing lost', () => {
    const { events } = feedAllWays(
      input,
      () => {
        const t = parserTarget(SERVER, (parser, sink) => {
          sink.hook = (e) => {
            if (e.type === 'end') parser.pause();
          };
        })();
        return {
          ...t,
          push: t.push,
          finish(): void {
            while (t.parser.isPaused) t.parser.resume();
          },
        };
      },
      { checkTiming: false },
    );
    expect(events).toEqual(all);
  });

  it('holds input while paused and reports it as pending', () => {
    const t = parserTarget(SERVER)();
    t.push(Buffer.from(input.subarray(0, 4)));
    t.parser.pause();
    expect(t.parser.isPaused).toBe(true);
    t.push(Buffer.from(input.subarray(4, 100)));
    t.push(Buffer.from(input.subarray(100)));
    expect(t.events).toEqual([]);
    expect(t.parser.pendingBytes).toBe(input.length - 4);
    t.parser.resume();
    expect(t.parser.isPaused).toBe(false);
    expect(t.parser.pendingBytes).toBe(0);
    expect(t.events).toEqual(all);
  });

  it('pause from inside a callback stops after the current event; the rest of the chunk is pending', () => {
    const t = parserTarget(SERVER, (parser, sink) => {
      sink.hook = (e) => {
        if (e.type === 'end' && sink.events.length === 2) parser.pause();
      };
    })();
    t.push(Buffer.from(input));
    expect(t.events).toEqual(all.slice(0, 2));
    expect(t.parser.pendingBytes).toBe(input.length - 9);
    t.parser.resume();
    expect(t.events).toEqual(all);
  });

  it('regression: a pause and resume nested in a callback while resuming does not parse later chunks early', () => {
    // Chunks A (frames 1-2) and B (frames 3-4) arrive while paused. On resume, frame 1's end
    // pauses and resumes synchronously (as a synchronous extension transform does); frame 2,
    // still in chunk A, must come before frames 3 and 4.
    const cut = 9 + 208;
    const t = parserTarget(SERVER, (parser, sink) => {
      sink.hook = (e) => {
        if (e.type === 'end' && sink.events.length === 2) {
          parser.pause();
          parser.resume();
        }
      };
    })();
    t.parser.pause();
    t.push(Buffer.from(input.subarray(0, cut)));
    t.push(Buffer.from(input.subarray(cut)));
    t.parser.resume();
    expect(t.events).toEqual(all);
  });

  it('regression: input pushed from inside a callback is parsed after the current chunk', () => {
    const extra = frame({ opcode: 1, payload: 'five', mask: true });
    let pushed = false;
    const t = parserTarget(SERVER, (parser, sink) => {
      sink.hook = (e) => {
        if (e.type === 'end' && !pushed) {
          pushed = true;
          parser.push(Buffer.from(extra));
        }
      };
    })();
    t.push(Buffer.from(input));
    expect(t.events).toEqual([...all, start(1, 4), end('five')]);
  });

  it('stop() discards pending input and ignores later input', () => {
    const t = parserTarget(SERVER)();
    t.parser.pause();
    t.push(Buffer.from(input));
    t.parser.stop();
    expect(t.parser.stopped).toBe(true);
    expect(t.parser.pendingBytes).toBe(0);
    t.parser.resume();
    t.push(Buffer.from(input));
    expect(t.events).toEqual([]);
  });

  it('stop() from inside a callback ends parsing of the current chunk', () => {
    const t = parserTarget(SERVER, (parser, sink) => {
      sink.hook = (e) => {
        if (e.type === 'end' && e.payload === hx('p')) parser.stop();
      };
    })();
    t.push(Buffer.from(input));
    expect(t.events).toEqual(all.slice(0, 6));
  });

  it('masks with the right key phase when a masked payload is split at every offset', () => {
    const payload = pseudoRandomBytes(600, 11);
    const key = Uint8Array.of(1, 2, 0x80, 0xff);
    const input2 = frames(
      { opcode: 2, payload, mask: key, fin: false },
      { opcode: 0, payload: payload.subarray(0, 131), mask: RFC_KEY },
    );
    const { events } = feedAllWays(input2, parserTarget(SERVER));
    expect(events).toEqual([start(2, 600, false), end(payload), start(0, 131), end(payload.subarray(0, 131))]);
  });
});

describe('FrameParser: opcode constants', () => {
  it('uses the RFC 6455 §11.8 values', () => {
    expect(Opcode).toEqual({ Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 });
  });
});
