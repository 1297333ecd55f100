/**
 * Compatibility with `ws`: the shape of errors, thrown and emitted. `ws` users catch
 * `SyntaxError` for a bad URL or subprotocol, `RangeError`/`TypeError` for bad arguments, match
 * `err.code` on protocol errors, and see a plain `Error` from `send()` before `open`. Our stable
 * `code`s may be added to `ws`'s shapes (the harness ignores a `code` where `ws` has none).
 */
import { describe, expect, it, vi } from 'vitest';
import { compare, type Ctx, OURS, TEST_TIMEOUT, WS, type WsLike } from './harness.js';
import { errorShape, type Plain } from './plain.js';
import { closeBody, serverFrame } from './wire.js';
import { expectSame } from './expect-same.js';

vi.setConfig({ testTimeout: TEST_TIMEOUT });

/** The error `fn` throws (or a note that it did not). */
function thrown(fn: () => unknown): unknown {
  try {
    const value = fn();
    // A WebSocket that was created must not keep dialling.
    if (value && typeof value === 'object' && 'terminate' in value) (value as WsLike).on('error', () => {}).terminate();
    return 'did not throw';
  } catch (err) {
    return err;
  }
}

function shapeOf(value: unknown): Plain {
  return value === 'did not throw' ? value : errorShape(value);
}

function kindOf(value: unknown): Plain {
  const shape = shapeOf(value);
  return typeof shape === 'object' && shape !== null && !Array.isArray(shape) ? (shape.error ?? null) : shape;
}

async function closed(ctx: Ctx, actor = 'client'): Promise<void> {
  await ctx.t.untilEvent(actor, 'close');
  await ctx.settle();
}

describe('errors: invalid URLs throw a SyntaxError', () => {
  const CASES: Array<[string, () => unknown]> = [
    ['not a URL', () => 'not a url'],
    ['an empty string', () => ''],
    ['an unsupported scheme', () => 'ftp://127.0.0.1/'],
    ['a URL object with an unsupported scheme', () => new URL('ftp://127.0.0.1/')],
    ['a fragment identifier', () => 'ws://127.0.0.1/#fragment'],
    ['ws+unix: without a socket path', () => 'ws+unix:'],
  ];
  for (const [label, address] of CASES) {
    it(label, () => {
      const ofWs = thrown(() => new WS.WebSocket(address()));
      const ofOurs = thrown(() => new OURS.WebSocket(address()));
      expect(kindOf(ofWs)).toBe('SyntaxError');
      expect(kindOf(ofOurs)).toBe('SyntaxError');
      // Our stable code stays.
      expect((ofOurs as { code?: unknown }).code).toBe('WS_ERR_INVALID_URL');
    });
  }

  it('a redirect to an unusable URL is reported as a SyntaxError (error event), then close 1006', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({ request: (_req, res) => res.writeHead(302, { Location: 'ftp://127.0.0.1/' }).end() });
      ctx.socketEvents = ['open', 'close', 'upgrade'];
      const ws = ctx.client('client', `ws://127.0.0.1:${h.port}/`, { followRedirects: true });
      ws.on('error', (err: unknown) => ctx.t.add('client', 'error', kindOf(err), `rs=${ws.readyState}`));
      await closed(ctx);
    });
    expect(r.ws).toEqual(['client error ["SyntaxError","rs=2"]', 'client close [1006,{"Buffer":""},"rs=3"]']);
    expectSame(r);
  });
});

describe('errors: send(), ping() and pong() while CONNECTING', () => {
  for (const method of ['send', 'ping', 'pong'] as const) {
    it(`${method}() throws a plain Error with ws's message`, async () => {
      const r = await compare(async (ctx) => {
        const { url } = await ctx.ownServer({}, null);
        const ws = ctx.client('client', url);
        try {
          ws[method]('x');
          ctx.t.add('client', `${method} returned`);
        } catch (err) {
          const proto = Object.getPrototypeOf(err) as unknown;
          ctx.t.add('client', `${method} threw`, { ...(errorShape(err) as object), plainError: proto === Error.prototype });
        }
        ws.terminate();
        await closed(ctx);
      });
      expect(r.ws).toContain(
        `client ${method} threw [{"error":"Error","message":"WebSocket is not open: readyState 0 (CONNECTING)","plainError":true}]`,
      );
      expectSame(r);
    });
  }
});

describe('errors: close() arguments', () => {
  // The wording of argument errors is not compared (ws users catch the class, not the text).
  it('invalid close codes throw a TypeError and send nothing', async () => {
    const codes: unknown[] = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65536, -1, '1000', null];
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => {
        for (const code of codes) ctx.t.call('client', `close(${JSON.stringify(code)})`, () => ws.close(code as number), true);
        ws.close(1000, 'valid');
      });
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('client call close(999) ["threw",{"error":"TypeError"}]');
    expect(r.ws).toContain('server close [1000,{"Buffer":"valid"},"rs=3"]');
    expectSame(r, codes.length + 4);
  });

  for (const code of [1000, 1001, 1003, 1007, 1008, 1011, 1012, 1013, 1014, 3000, 4999]) {
    it(`close(${code}) is accepted and reaches the peer`, async () => {
      const r = await compare(async (ctx) => {
        const { url } = await ctx.ownServer();
        const ws = ctx.client('client', url);
        ws.on('open', () => ctx.t.call('client', `close(${code}, r)`, () => ws.close(code, 'r')));
        await closed(ctx);
        await closed(ctx, 'server');
      });
      expect(r.ws).toContain(`server close [${code},{"Buffer":"r"},"rs=3"]`);
      expectSame(r);
    });
  }

  it('close(undefined, reason) sends a close frame without a code (the reason is dropped)', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => {
        ctx.t.call('client', 'close(undefined, r)', () => ws.close(undefined, 'r'), true);
        if (ws.readyState === 1) ws.close(1000);
      });
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('server close [1005,{"Buffer":""},"rs=3"]');
    expectSame(r);
  });

  it('a reason over 123 bytes throws a RangeError; 123 bytes pass', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => {
        ctx.t.call('client', 'close(1000, 124 ASCII bytes)', () => ws.close(1000, 'x'.repeat(124)), true);
        ctx.t.call('client', 'close(1000, 62 two-byte characters)', () => ws.close(1000, 'é'.repeat(62)), true);
        ctx.t.call('client', 'close(1000, 123 bytes)', () => ws.close(1000, 'y'.repeat(123)), true);
      });
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('client call close(1000, 124 ASCII bytes) ["threw",{"error":"RangeError"}]');
    expectSame(r);
  });

  it('a ping or pong payload over 125 bytes throws a RangeError', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => {
        ctx.t.call('client', 'ping(126 bytes)', () => ws.ping(Buffer.alloc(126)), true);
        ctx.t.call('client', 'pong(126 bytes)', () => ws.pong('z'.repeat(126)), true);
        ctx.t.call('client', 'ping(125 bytes)', () => ws.ping(Buffer.alloc(125, 1)), true);
        ws.close(1000);
      });
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('client call ping(126 bytes) ["threw",{"error":"RangeError"}]');
    expectSame(r);
  });
});

describe('errors: constructor arguments', () => {
  const PROTOCOLS: Array<[string, unknown]> = [
    ['null', null],
    ['a number', 123],
    ['an empty string', ''],
    ['a string with a space', 'a b'],
    ['a duplicate', ['chat', 'chat']],
    ['null inside the list', [null]],
  ];
  for (const [label, protocols] of PROTOCOLS) {
    it(`new WebSocket(url, ${label}) throws a SyntaxError`, () => {
      const url = 'ws://127.0.0.1:1/';
      const ofWs = thrown(() => new WS.WebSocket(url, protocols));
      const ofOurs = thrown(() => new OURS.WebSocket(url, protocols));
      expect(shapeOf(ofWs)).toEqual({ error: 'SyntaxError', message: 'An invalid or duplicated subprotocol was specified' });
      expect(shapeOf(ofOurs)).toEqual(shapeOf(ofWs));
    });
  }

  it('protocolVersion other than 8 and 13 throws a RangeError', () => {
    const ofWs = thrown(() => new WS.WebSocket('ws://127.0.0.1:1/', { protocolVersion: 7 }));
    const ofOurs = thrown(() => new OURS.WebSocket('ws://127.0.0.1:1/', { protocolVersion: 7 }));
    expect(kindOf(ofWs)).toBe('RangeError');
    expect(kindOf(ofOurs)).toBe('RangeError');
  });

  it('documented difference: protocolVersion 8 is accepted by ws, refused (RangeError) by ws6455', () => {
    expect(thrown(() => new WS.WebSocket('ws://127.0.0.1:1/', { protocolVersion: 8 }))).toBe('did not throw');
    expect(kindOf(thrown(() => new OURS.WebSocket('ws://127.0.0.1:1/', { protocolVersion: 8 })))).toBe('RangeError');
  });
});

// ---- protocol errors: what the client reports and sends when the server breaks RFC 6455 ------

/** A masked frame, as a server must never send (RFC 6455 §5.1). */
function maskedServerFrame(): Buffer {
  const key = Buffer.from([1, 2, 3, 4]);
  const payload = Buffer.from('hi').map((b, i) => b ^ (key[i & 3] as number));
  return Buffer.concat([Buffer.from([0x81, 0x80 | 2]), key, payload]);
}

interface BadFrame {
  label: string;
  frame: () => Buffer;
  options?: Record<string, unknown>;
  /**
   * A difference kept on purpose: what `ws`'s and our transcripts contain instead of each
   * other's line (see the README's error table).
   */
  differs?: { why: string; ws: string; ours: string };
}

const BAD_FRAMES: BadFrame[] = [
  { label: 'a reserved data opcode (3)', frame: () => serverFrame(3, 'x') },
  { label: 'a reserved control opcode (0xB)', frame: () => serverFrame(0xb, 'x') },
  { label: 'RSV1 without an extension', frame: () => serverFrame(1, 'x', true, 0x40) },
  { label: 'RSV2', frame: () => serverFrame(1, 'x', true, 0x20) },
  { label: 'a fragmented ping', frame: () => serverFrame(9, 'p', false) },
  { label: 'a ping of 126 bytes', frame: () => serverFrame(9, Buffer.alloc(126)) },
  { label: 'a masked frame from the server', frame: maskedServerFrame },
  {
    label: 'a continuation without a message',
    frame: () => serverFrame(0, 'x'),
    differs: {
      why: 'ws6455 keeps its own, more precise stable code',
      ws: 'client error [{"code":"WS_ERR_INVALID_OPCODE"},"rs=2"]',
      ours: 'client error [{"code":"WS_ERR_UNEXPECTED_CONTINUATION"},"rs=2"]',
    },
  },
  {
    label: 'a new message inside a fragmented one',
    frame: () => Buffer.concat([serverFrame(1, 'a', false), serverFrame(1, 'b')]),
    differs: {
      why: 'ws6455 keeps its own, more precise stable code',
      ws: 'client error [{"code":"WS_ERR_INVALID_OPCODE"},"rs=2"]',
      ours: 'client error [{"code":"WS_ERR_EXPECTED_CONTINUATION"},"rs=2"]',
    },
  },
  { label: 'invalid UTF-8 in a text message', frame: () => serverFrame(1, Buffer.from([0x61, 0xff])) },
  {
    label: 'a 1-byte close payload',
    frame: () => serverFrame(8, Buffer.from([0x03])),
    differs: {
      why: 'ws6455 keeps its own, more precise stable code',
      ws: 'client error [{"code":"WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH"},"rs=2"]',
      ours: 'client error [{"code":"WS_ERR_INVALID_CLOSE_PAYLOAD"},"rs=2"]',
    },
  },
  { label: 'close code 999', frame: () => serverFrame(8, closeBody(999)) },
  { label: 'close code 1005 on the wire', frame: () => serverFrame(8, closeBody(1005)) },
  { label: 'invalid UTF-8 in a close reason', frame: () => serverFrame(8, Buffer.concat([closeBody(1000), Buffer.from([0xff])])) },
  {
    label: 'a 64-bit length with the top bit set',
    frame: () => Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    differs: {
      why: 'RFC 6455 §5.2: the most significant bit MUST be 0, so the frame is malformed (1002), not too big (1009)',
      ws: 'peer frame ["close",1009,""]',
      ours: 'peer frame ["close",1002,""]',
    },
  },
  { label: 'a message over maxPayload (both set to 10)', frame: () => serverFrame(2, Buffer.alloc(11)), options: { maxPayload: 10 } },
];

/** The bad frame scenario, recording only what a user matches on: codes. */
function badFrameScenario(frame: () => Buffer, options: Record<string, unknown> | undefined, full: boolean) {
  return async (ctx: Ctx): Promise<void> => {
    const peer = await ctx.rawPeer((socket) => socket.write(frame()));
    if (!full) ctx.socketEvents = ['open', 'message', 'ping', 'pong', 'upgrade'];
    const ws = ctx.client('client', peer.url, options ?? {});
    if (!full) {
      ws.on('error', (err: { code?: unknown; constructor: unknown }) => ctx.t.add('client', 'error', { code: String(err.code) }, `rs=${ws.readyState}`));
      ws.on('close', (code: number) => ctx.t.add('client', 'close', code, `rs=${ws.readyState}`));
    }
    await closed(ctx);
    await ctx.t.untilEvent('peer', 'end');
  };
}

describe('errors: protocol violations by the server (error code, close code sent, close event)', () => {
  for (const { label, frame, options, differs } of BAD_FRAMES) {
    const name = differs ? `${label} (difference kept: ${differs.why})` : label;
    it(name, async () => {
      const r = await compare(badFrameScenario(frame, options, false));
      expect(r.ws.some((l) => l.startsWith('client error'))).toBe(true);
      if (differs === undefined) {
        expectSame(r);
        return;
      }
      expect(r.ws).toContain(differs.ws);
      expect(r.ours).toContain(differs.ours);
      // Everything else is the same.
      expect(r.ours.filter((l) => l !== differs.ours)).toEqual(r.ws.filter((l) => l !== differs.ws));
    });
  }
});

describe('errors: protocol errors (documented difference: the class and message are ours, the code is the same)', () => {
  for (const { label, frame, options } of BAD_FRAMES.slice(0, 4)) {
    it(label, async () => {
      const r = await compare(badFrameScenario(frame, options, true));
      const shape = (rs: string[]): Record<string, unknown> => {
        const line = rs.find((l) => l.startsWith('client error'));
        expect(line, 'an error event').toBeDefined();
        return (JSON.parse((line as string).slice('client error '.length)) as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
      };
      const ws = shape(r.ws);
      const ours = shape(r.ours);
      expect(['RangeError', 'Error']).toContain(ws.error);
      expect(ws.code).toMatch(/^WS_ERR_/);
      // ProtocolError extends Error; the stable code is what both share.
      expect(ours.error).toBe('Error');
      expect(ours.code).toBe(ws.code);
    });
  }
});

