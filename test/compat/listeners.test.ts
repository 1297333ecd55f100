/**
 * Compatibility with `ws`: WHATWG-style listeners (`on<type>` handlers, `addEventListener`,
 * `removeEventListener`, `{ once }`, `handleEvent` objects), the event objects they receive,
 * and `binaryType` (invalid values ignored; `nodebuffer`, `arraybuffer`, `fragments`, `blob`).
 */
import { describe, expect, it, vi } from 'vitest';
import { compare, type Ctx, TEST_TIMEOUT, type WsLike } from './harness.js';
import { closeBody, serverFrame } from './wire.js';
import { expectSame, expectWs } from './expect-same.js';

vi.setConfig({ testTimeout: TEST_TIMEOUT });

async function closed(ctx: Ctx, actor = 'client'): Promise<void> {
  await ctx.t.untilEvent(actor, 'close');
  await ctx.settle();
}

/** A peer (recorded as `actor`) that sends `frames` once open, then a close frame (1000). */
async function peerSending(ctx: Ctx, ...frames: Buffer[]): Promise<string> {
  return peerAs(ctx, 'peer', ...frames);
}

async function peerAs(ctx: Ctx, actor: string, ...frames: Buffer[]): Promise<string> {
  const peer = await ctx.rawPeer((socket) => socket.write(Buffer.concat([...frames, serverFrame(8, closeBody(1000))])), {
    echoClose: false,
    actor,
  });
  return peer.url;
}

/** Opens a client that records only `close` and `error` (the test registers its listeners). */
function bareClient(ctx: Ctx, url: string, ...rest: unknown[]): WsLike {
  ctx.socketEvents = ['close', 'error'];
  return ctx.client('client', url, ...rest);
}

describe('listeners: on<type> handlers belong to the socket', () => {
  it('onclose set on one socket does not touch another socket that added the same function', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer({}, null);
      ctx.socketEvents = [];
      const a = ctx.client('a', url);
      const b = ctx.client('b', url);
      const names = new Map<unknown, string>([
        [a, 'a'],
        [b, 'b'],
      ]);
      const fn = (event: { target: unknown }): void => ctx.t.add('fn', 'called', names.get(event.target) ?? '?');
      a.addEventListener('close', fn);
      b.onclose = fn;
      ctx.t.add('a', 'onclose is', a.onclose === null ? null : a.onclose === fn ? 'fn' : 'other');
      ctx.t.add('b', 'onclose is', b.onclose === fn ? 'fn' : b.onclose);
      b.onclose = null;
      ctx.t.add('a', 'onclose is', a.onclose === null ? null : 'set');
      ctx.t.add('b', 'onclose is', b.onclose === null ? null : 'set');
      a.on('close', () => ctx.t.add('a', 'close'));
      b.on('close', () => ctx.t.add('b', 'close'));
      a.on('open', () => a.close(1000));
      b.on('open', () => b.close(1000));
      await ctx.t.until(() => ctx.t.has('a', 'close') && ctx.t.has('b', 'close'), 'both closed');
      await ctx.settle();
    });
    expectWs(r, [
      'a onclose is [null]',
      'a onclose is [null]',
      'a close',
      'b onclose is ["fn"]',
      'b onclose is [null]',
      'b close',
      'fn called ["a"]',
    ]);
    expectSame(r);
  });

  it('the same function as onmessage and through addEventListener is called twice (both orders)', async () => {
    const r = await compare(async (ctx) => {
      const url = await peerAs(ctx, 'peer1', serverFrame(1, 'one'));
      const ws = bareClient(ctx, url);
      const fn = (event: { data: unknown }): void => ctx.t.add('fn', 'message', event.data);
      ws.onmessage = fn;
      ws.addEventListener('message', fn);
      const ws2 = bareClient(ctx, await peerAs(ctx, 'peer2', serverFrame(1, 'one')));
      const fn2 = (event: { data: unknown }): void => ctx.t.add('fn2', 'message', event.data);
      ws2.addEventListener('message', fn2);
      ws2.onmessage = fn2;
      await ctx.t.until(() => ctx.t.count('client', 'close') === 2, 'both closed');
      await ctx.settle();
    });
    expect(r.ws.filter((l) => l === 'fn message ["one"]')).toHaveLength(2);
    expect(r.ws.filter((l) => l === 'fn2 message ["one"]')).toHaveLength(2);
    expectSame(r);
  });

  it('onX getters return the handler; a non-function value removes it', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer({}, null);
      const ws = bareClient(ctx, url);
      const fn = (): void => {};
      for (const type of ['open', 'message', 'close', 'error'] as const) {
        const key = `on${type}` as const;
        ctx.t.add('client', `${key} initially`, ws[key]);
        ws[key] = fn;
        ctx.t.add('client', `${key} after setting fn`, ws[key] === fn);
        ws[key] = 'not a function';
        ctx.t.add('client', `${key} after a string`, ws[key]);
      }
      ws.terminate();
      await closed(ctx);
    });
    expect(r.ws).toContain('client onmessage after setting fn [true]');
    expect(r.ws).toContain('client onmessage after a string [null]');
    expectSame(r, 12);
  });
});

describe('listeners: addEventListener and removeEventListener', () => {
  it('adding the same listener twice registers it once', async () => {
    const r = await compare(async (ctx) => {
      const url = await peerSending(ctx, serverFrame(1, 'one'));
      const ws = bareClient(ctx, url);
      const fn = (event: { data: unknown }): void => ctx.t.add('fn', 'message', event.data);
      ws.addEventListener('message', fn);
      ws.addEventListener('message', fn);
      await closed(ctx);
    });
    expect(r.ws.filter((l) => l.startsWith('fn message'))).toHaveLength(1);
    expectSame(r);
  });

  it('removeEventListener removes the addEventListener registration, not the onmessage handler', async () => {
    const r = await compare(async (ctx) => {
      const url = await peerSending(ctx, serverFrame(1, 'one'));
      const ws = bareClient(ctx, url);
      const fn = (event: { data: unknown }): void => ctx.t.add('fn', 'message', event.data);
      ws.onmessage = fn;
      ws.addEventListener('message', fn);
      ws.removeEventListener('message', fn);
      ctx.t.add('client', 'onmessage after remove', ws.onmessage === fn);
      await closed(ctx);
    });
    expectWs(r, [
      'client onmessage after remove [true]',
      'client close [1000,{"Buffer":""},"rs=3"]',
      'fn message ["one"]',
      'peer frame ["close",1000,""]',
      'peer end',
    ]);
    expectSame(r);
  });

  it('{ once: true } is called once, and can be added again afterwards', async () => {
    const r = await compare(async (ctx) => {
      const url = await peerSending(ctx, serverFrame(1, 'one'), serverFrame(1, 'two'), serverFrame(1, 'three'));
      const ws = bareClient(ctx, url);
      const fn = (event: { data: unknown }): void => {
        ctx.t.add('fn', 'message', event.data);
        if (event.data === 'two') ws.addEventListener('message', fn, { once: true });
      };
      ws.addEventListener('message', fn, { once: true });
      ws.on('message', (data: Buffer) => {
        if (data.toString() === 'one') ws.addEventListener('message', fn, { once: true });
      });
      await closed(ctx);
    });
    expectSame(r);
  });

  it('handleEvent objects and `this`', async () => {
    const r = await compare(async (ctx) => {
      const url = await peerSending(ctx, serverFrame(1, 'one'));
      const ws = bareClient(ctx, url);
      const listener = {
        handleEvent(this: unknown, event: { type: string }): void {
          ctx.t.add('object', event.type, this === listener ? 'this=listener' : this === ws ? 'this=socket' : 'this=other');
        },
      };
      ws.addEventListener('message', listener);
      ws.addEventListener('open', function (this: unknown) {
        ctx.t.add('function', 'open', this === ws ? 'this=socket' : 'this=other');
      });
      ws.onclose = function (this: unknown) {
        ctx.t.add('function', 'onclose', this === ws ? 'this=socket' : 'this=other');
      };
      await closed(ctx);
    });
    expect(r.ws).toContain('object message ["this=listener"]');
    expectSame(r);
  });

  it('EventEmitter listeners and WHATWG listeners run in registration order', async () => {
    const r = await compare(async (ctx) => {
      const url = await peerSending(ctx, serverFrame(1, 'one'));
      const ws = bareClient(ctx, url);
      ws.on('message', () => ctx.t.add('order', 'on'));
      ws.addEventListener('message', () => ctx.t.add('order', 'addEventListener'));
      ws.onmessage = () => ctx.t.add('order', 'onmessage');
      ws.once('message', () => ctx.t.add('order', 'once'));
      await closed(ctx);
    });
    expectSame(r);
  });
});

describe('listeners: event objects', () => {
  it('open, message (text and binary), close and error events carry what ws gives', async () => {
    const r = await compare(async (ctx) => {
      const url = await peerSending(ctx, serverFrame(1, 'text'), serverFrame(2, Buffer.from([1, 2])));
      const ws = bareClient(ctx, url);
      for (const type of ['open', 'message', 'close', 'error']) {
        ws.addEventListener(type, (event: { target: unknown }) => ctx.t.add('event', type, event, event.target === ws));
      }
      await closed(ctx);
      // An error event: a handshake refused with 404.
      const h = await ctx.httpServer({ request: (_req, res) => res.writeHead(404).end() });
      const failing = new ctx.impl.WebSocket(`ws://127.0.0.1:${h.port}`);
      failing.onerror = (event: unknown) => ctx.t.add('failing', 'onerror', event);
      failing.onclose = (event: unknown) => ctx.t.add('failing', 'onclose', event);
      await ctx.t.untilEvent('failing', 'onclose');
      await ctx.settle();
    });
    expect(r.ws).toContain('event message [{"type":"message","data":"text"},true]');
    expect(r.ws).toContain('event close [{"type":"close","code":1000,"reason":"","wasClean":true},true]');
    expectSame(r);
  });

  it('wasClean is false when the connection drops without a close handshake', async () => {
    const r = await compare(async (ctx) => {
      const peer = await ctx.rawPeer((socket) => socket.end());
      const ws = bareClient(ctx, peer.url);
      ws.onclose = (event: unknown) => ctx.t.add('event', 'close', event);
      await closed(ctx);
    });
    expect(r.ws).toContain('event close [{"type":"close","code":1006,"reason":"","wasClean":false}]');
    expectSame(r);
  });
});

describe('listeners: binaryType', () => {
  it('invalid values are ignored', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer({}, null);
      const ws = bareClient(ctx, url);
      ctx.t.add('client', 'binaryType', ws.binaryType);
      for (const value of ['arraybuffer', 'foo', '', 'fragments', 'Blob', 'nodebuffer', 'blob', 42]) {
        ws.binaryType = value as string;
        ctx.t.add('client', `binaryType = ${JSON.stringify(value)}`, ws.binaryType);
      }
      ws.terminate();
      await closed(ctx);
    });
    expect(r.ws).toContain('client binaryType = "foo" ["arraybuffer"]');
    expectSame(r, 9);
  });

  for (const binaryType of ['nodebuffer', 'arraybuffer', 'fragments', 'blob']) {
    it(`'${binaryType}' delivers binary messages (whole and fragmented) as ws does; text stays a Buffer`, async () => {
      const r = await compare(async (ctx) => {
        const url = await peerSending(
          ctx,
          serverFrame(2, Buffer.from([1, 2, 3])),
          serverFrame(2, Buffer.from([4]), false),
          serverFrame(0, Buffer.from([5, 6])),
          serverFrame(1, 'text'),
        );
        const ws = bareClient(ctx, url);
        ws.binaryType = binaryType;
        ws.on('message', (data: unknown, isBinary: boolean) => {
          ctx.t.add('client', 'message', data, isBinary);
          if (typeof Blob !== 'undefined' && data instanceof Blob) {
            void data.arrayBuffer().then((ab) => ctx.t.add('blob', 'bytes', Buffer.from(ab)));
          }
        });
        ws.onmessage = (event: unknown) => ctx.t.add('onmessage', 'event', event);
        await closed(ctx);
        if (binaryType === 'blob') await ctx.t.until(() => ctx.t.count('blob', 'bytes') >= 2, 'blob bytes');
      });
      expect(r.ws.filter((l) => l.startsWith('client message'))).toHaveLength(3);
      expectSame(r);
    });
  }
});
