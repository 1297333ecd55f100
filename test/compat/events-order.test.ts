/**
 * Compatibility with `ws`: the order and arguments of `open`, `message`, `ping`, `pong`,
 * `close`, `error` and `upgrade` for every way a connection ends or fails to open, and what
 * `close()`, `terminate()`, `send()`, `ping()` and `pong()` do when called from every listener
 * and in every readyState (none may throw where `ws` does not).
 */
import type { Duplex } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { compare, compareInChild, type Ctx, delay, type Scenario, TEST_TIMEOUT, type WsLike } from './harness.js';
import { acceptKey, closeBody, serverFrame, write101 } from './wire.js';
import { expectSame, expectWs } from './expect-same.js';

vi.setConfig({ testTimeout: TEST_TIMEOUT });

/** Waits for the client's `close` and lets trailing events land. */
async function closed(ctx: Ctx, actor = 'client'): Promise<void> {
  await ctx.t.untilEvent(actor, 'close');
  await ctx.settle();
}

/** A port nothing listens on (a server was bound to it and closed). */
async function refusedPort(ctx: Ctx): Promise<number> {
  const h = await ctx.tcpServer(() => {});
  await new Promise<void>((resolve) => h.server.close(() => resolve()));
  return h.port;
}

describe('events order: connections that opened', () => {
  it('client close(code, reason)', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => ctx.t.call('client', 'close(1000, bye)', () => ws.close(1000, 'bye')));
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expectWs(r, [
      'client upgrade [{"IncomingMessage":101},"rs=0"]',
      'client open ["rs=1"]',
      'client call close(1000, bye) ["ok"]',
      'client close [1000,{"Buffer":"bye"},"rs=3"]',
      'server connection ["rs=1"]',
      'server close [1000,{"Buffer":"bye"},"rs=3"]',
    ]);
    expectSame(r);
  });

  it('client close() without a code: 1005 on both sides', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => ctx.t.call('client', 'close()', () => ws.close()));
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('client close [1005,{"Buffer":""},"rs=3"]');
    expectSame(r);
  });

  it('server close(code, reason)', async () => {
    const r = await compare(async (ctx) => {
      const { url, wss } = await ctx.ownServer();
      wss.on('connection', (ws: WsLike) => ctx.t.call('server', 'close(4000, srv)', () => ws.close(4000, 'srv')));
      ctx.client('client', url);
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('client close [4000,{"Buffer":"srv"},"rs=3"]');
    expectSame(r);
  });

  it('server close() without a code', async () => {
    const r = await compare(async (ctx) => {
      const { url, wss } = await ctx.ownServer();
      wss.on('connection', (ws: WsLike) => ctx.t.call('server', 'close()', () => ws.close()));
      ctx.client('client', url);
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('client close [1005,{"Buffer":""},"rs=3"]');
    expectSame(r);
  });

  it('client terminate(): 1006 on both sides', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => ctx.t.call('client', 'terminate()', () => ws.terminate()));
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('server close [1006,{"Buffer":""},"rs=3"]');
    expectSame(r);
  });

  it('server terminate(): 1006 on both sides', async () => {
    const r = await compare(async (ctx) => {
      const { url, wss } = await ctx.ownServer();
      wss.on('connection', (ws: WsLike) => ctx.t.call('server', 'terminate()', () => ws.terminate()));
      ctx.client('client', url);
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('client close [1006,{"Buffer":""},"rs=3"]');
    expectSame(r);
  });

  it('a peer close frame with code and reason is echoed and reported', async () => {
    const r = await compare(async (ctx) => {
      const peer = await ctx.rawPeer((socket) => socket.write(serverFrame(8, closeBody(4001, 'peer'))), { echoClose: false });
      ctx.client('client', peer.url);
      await closed(ctx);
      await ctx.t.untilEvent('peer', 'end');
    });
    expectWs(r, [
      'client upgrade [{"IncomingMessage":101},"rs=0"]',
      'client open ["rs=1"]',
      'client close [4001,{"Buffer":"peer"},"rs=3"]',
      'peer frame ["close",4001,"peer"]',
      'peer end',
    ]);
    expectSame(r);
  });

  it('a peer close frame without a body: 1005, answered with an empty close frame', async () => {
    const r = await compare(async (ctx) => {
      const peer = await ctx.rawPeer((socket) => socket.write(serverFrame(8)), { echoClose: false });
      ctx.client('client', peer.url);
      await closed(ctx);
      await ctx.t.untilEvent('peer', 'end');
    });
    expect(r.ws).toContain('client close [1005,{"Buffer":""},"rs=3"]');
    expect(r.ws).toContain('peer frame ["close"]');
    expectSame(r);
  });

  it('messages then a FIN without a close frame: every message, then 1006', async () => {
    const r = await compare(async (ctx) => {
      const peer = await ctx.rawPeer((socket) => {
        socket.write(Buffer.concat([serverFrame(1, 'one'), serverFrame(2, Buffer.from([1, 2, 3])), serverFrame(1, 'three')]));
        socket.end();
      });
      ctx.client('client', peer.url);
      await closed(ctx);
    });
    expectWs(r, [
      'client upgrade [{"IncomingMessage":101},"rs=0"]',
      'client open ["rs=1"]',
      'client message [{"Buffer":"one"},false,"rs=1"]',
      'client message [{"Buffer":"hex:010203"},true,"rs=1"]',
      'client message [{"Buffer":"three"},false,"rs=1"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
      'peer end',
    ]);
    expectSame(r);
  });

  it('messages, pings and pongs keep their order; pings are answered with pongs', async () => {
    const r = await compare(async (ctx) => {
      const peer = await ctx.rawPeer((socket) => {
        socket.write(
          Buffer.concat([
            serverFrame(1, 'a'),
            serverFrame(9, 'p1'),
            serverFrame(1, 'frag-', false),
            serverFrame(9, 'p2'),
            serverFrame(0, 'ment'),
            serverFrame(10, 'unsolicited'),
            serverFrame(2, Buffer.from([0xff])),
            serverFrame(8, closeBody(1000)),
          ]),
        );
      });
      ctx.client('client', peer.url);
      await closed(ctx);
      await ctx.t.untilEvent('peer', 'end');
    });
    expectWs(r, [
      'client upgrade [{"IncomingMessage":101},"rs=0"]',
      'client open ["rs=1"]',
      'client message [{"Buffer":"a"},false,"rs=1"]',
      'client ping [{"Buffer":"p1"},"rs=1"]',
      'client ping [{"Buffer":"p2"},"rs=1"]',
      'client message [{"Buffer":"frag-ment"},false,"rs=1"]',
      'client pong [{"Buffer":"unsolicited"},"rs=1"]',
      'client message [{"Buffer":"hex:ff"},true,"rs=1"]',
      'client close [1000,{"Buffer":""},"rs=3"]',
      'peer frame ["pong",{"Buffer":"p1"}]',
      'peer frame ["pong",{"Buffer":"p2"}]',
      'peer frame ["close",1000,""]',
      'peer end',
    ]);
    expectSame(r);
  });

  it('a protocol error from the peer: error, the 1002 close frame, then close 1006 (documented difference: ours names the local reason)', async () => {
    const r = await compare(async (ctx) => {
      const peer = await ctx.rawPeer((socket) => socket.write(serverFrame(3, 'reserved opcode')));
      ctx.socketEvents = ['open', 'close', 'upgrade'];
      const ws = ctx.client('client', peer.url);
      // The error's class and message are compared in errors.test.ts.
      ws.on('error', (err: { code?: unknown }) => ctx.t.add('client', 'error', String(err.code), `rs=${ws.readyState}`));
      await closed(ctx);
      await ctx.t.untilEvent('peer', 'end');
    });
    expectWs(r, [
      'client upgrade [{"IncomingMessage":101},"rs=0"]',
      'client open ["rs=1"]',
      'client error ["WS_ERR_INVALID_OPCODE","rs=2"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
      'peer frame ["close",1002,""]',
      'peer end',
    ]);
    // ws leaves the reason of a 1006 empty; ours names the policy that ended the connection.
    expect(r.ours).toEqual(r.ws.map((l) => l.replace('close [1006,{"Buffer":""}', 'close [1006,{"Buffer":"protocol error"}')));
  });

  it('client ping(data) and pong(data) reach the server as events', async () => {
    const r = await compare(async (ctx) => {
      const { url } = await ctx.ownServer();
      const ws = ctx.client('client', url);
      ws.on('open', () => {
        ws.ping('hi');
        ws.pong('there');
        ws.send('after');
        ws.close(1000);
      });
      await closed(ctx);
      await closed(ctx, 'server');
    });
    expect(r.ws).toContain('server ping [{"Buffer":"hi"},"rs=1"]');
    expect(r.ws).toContain('client pong [{"Buffer":"hi"},"rs=2"]');
    expectSame(r);
  });
});

describe('events order: failed handshakes', () => {
  it('ECONNREFUSED: error (Node code kept), then close 1006', async () => {
    const r = await compare(async (ctx) => {
      ctx.client('client', `ws://127.0.0.1:${await refusedPort(ctx)}`);
      await closed(ctx);
    });
    expectWs(r, [
      'client error [{"error":"Error","message":"connect ECONNREFUSED 127.0.0.1:<port>","code":"ECONNREFUSED"},"rs=2"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
    ]);
    expectSame(r);
  });

  it('404 without an unexpected-response listener: error, then close 1006', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({ request: (_req, res) => res.writeHead(404).end('nope') });
      ctx.client('client', `ws://127.0.0.1:${h.port}`);
      await closed(ctx);
    });
    expectWs(r, [
      'client error [{"error":"Error","message":"Unexpected server response: 404"},"rs=2"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
    ]);
    expectSame(r);
  });

  it('404 with an unexpected-response listener: nothing else until the application acts', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({ request: (_req, res) => res.writeHead(404).end('nope') });
      const ws = ctx.client('client', `ws://127.0.0.1:${h.port}`);
      ws.on('unexpected-response', (req: unknown, res: unknown) => ctx.t.add('client', 'unexpected-response', req, res, `rs=${ws.readyState}`));
      await ctx.t.untilEvent('client', 'unexpected-response');
      await delay(200);
      ctx.t.add('client', 'still', `rs=${ws.readyState}`);
      ctx.t.call('client', 'terminate()', () => ws.terminate());
      await closed(ctx);
    });
    expectWs(r, [
      'client unexpected-response [{"ClientRequest":"/"},{"IncomingMessage":404},"rs=0"]',
      'client still ["rs=0"]',
      'client call terminate() ["ok"]',
      'client error [{"error":"Error","message":"WebSocket was closed before the connection was established"},"rs=2"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
    ]);
    expectSame(r);
  });

  it('bad Sec-WebSocket-Accept: upgrade, error, close 1006', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({ upgrade: (req, socket: Duplex) => write101(req, socket, undefined, 'bm90IHRoZSByaWdodCBrZXk=') });
      ctx.client('client', `ws://127.0.0.1:${h.port}`);
      await closed(ctx);
    });
    expectWs(r, [
      'client upgrade [{"IncomingMessage":101},"rs=0"]',
      'client error [{"error":"Error","message":"Invalid Sec-WebSocket-Accept header"},"rs=2"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
    ]);
    expectSame(r);
  });

  it('101 with a wrong Upgrade header', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.tcpServer((socket) => {
        socket.once('data', () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'));
      });
      ctx.client('client', `ws://127.0.0.1:${h.port}`);
      await closed(ctx);
    });
    expectSame(r);
  });

  it('a subprotocol the client did not offer', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({
        upgrade: (req, socket: Duplex) => {
          const key = String(req.headers['sec-websocket-key']);
          socket.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Protocol: other\r\n\r\n`,
          );
        },
      });
      ctx.client('client', `ws://127.0.0.1:${h.port}`, ['chat']);
      await closed(ctx);
    });
    expect(r.ws).toContain('client error [{"error":"Error","message":"Server sent an invalid subprotocol"},"rs=2"]');
    expectSame(r);
  });

  it('an extension the client did not offer', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({
        upgrade: (req, socket: Duplex) => {
          const key = String(req.headers['sec-websocket-key']);
          socket.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
          );
        },
      });
      ctx.client('client', `ws://127.0.0.1:${h.port}`, { perMessageDeflate: false });
      await closed(ctx);
    });
    expectSame(r);
  });

  it('handshake timeout: error, then close 1006', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.tcpServer(() => {});
      ctx.client('client', `ws://127.0.0.1:${h.port}`, { handshakeTimeout: 150 });
      await closed(ctx);
    });
    expectWs(r, [
      'client error [{"error":"Error","message":"Opening handshake has timed out"},"rs=2"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
    ]);
    expectSame(r);
  });

  it('the server drops the connection during the handshake', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.tcpServer((socket) => socket.once('data', () => socket.destroy()));
      ctx.client('client', `ws://127.0.0.1:${h.port}`);
      await closed(ctx);
    });
    expectWs(r, [
      'client error [{"error":"Error","message":"socket hang up","code":"ECONNRESET"},"rs=2"]',
      'client close [1006,{"Buffer":""},"rs=3"]',
    ]);
    expectSame(r);
  });

  it('302 without followRedirects is an unexpected response', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({ request: (_req, res) => res.writeHead(302, { Location: 'ws://127.0.0.1:1/' }).end() });
      ctx.client('client', `ws://127.0.0.1:${h.port}`);
      await closed(ctx);
    });
    expect(r.ws).toContain('client error [{"error":"Error","message":"Unexpected server response: 302"},"rs=2"]');
    expectSame(r);
  });

  it('too many redirects', async () => {
    const r = await compare(async (ctx) => {
      const h = await ctx.httpServer({ request: (req, res) => res.writeHead(302, { Location: `${req.url === '/' ? '/a' : '/'}` }).end() });
      ctx.client('client', `ws://127.0.0.1:${h.port}/`, { followRedirects: true, maxRedirects: 2 });
      await closed(ctx);
    });
    expect(r.ws).toContain('client error [{"error":"Error","message":"Maximum redirects exceeded"},"rs=2"]');
    expectSame(r);
  });
});

// ---- methods called from every listener and in every readyState ------------------------------

type Method = 'close' | 'terminate' | 'send' | 'ping' | 'pong';
const METHODS: readonly Method[] = ['close', 'terminate', 'send', 'ping', 'pong'];

/** Calls `method` on `ws`, recording what it returned or threw and what its callback got. */
function act(ctx: Ctx, ws: WsLike, method: Method, where: string): void {
  const t = ctx.t;
  switch (method) {
    case 'close':
      t.call('client', `close(4000, bye) in ${where}`, () => ws.close(4000, 'bye'));
      break;
    case 'terminate':
      t.call('client', `terminate() in ${where}`, () => ws.terminate());
      break;
    case 'send':
      t.call('client', `send(x, cb) in ${where}`, () => ws.send('x', t.callback('client', 'send')));
      break;
    case 'ping':
      t.call('client', `ping(p, undefined, cb) in ${where}`, () => ws.ping('p', undefined, t.callback('client', 'ping')));
      break;
    case 'pong':
      t.call('client', `pong(p, undefined, cb) in ${where}`, () => ws.pong('p', undefined, t.callback('client', 'pong')));
      break;
  }
}

/** Ends the scenario: closes a client still open (or aborts one still connecting), bounded. */
async function end(ctx: Ctx, ws: WsLike): Promise<void> {
  if (ws.readyState === 1) ws.close(1000);
  else if (ws.readyState === 0) ws.terminate();
  await closed(ctx);
}

/** Where the method is called, and how the scenario gets there. */
const CONTEXTS: Record<string, (ctx: Ctx, method: Method) => Promise<void>> = {
  async 'right after the constructor (CONNECTING)'(ctx, method) {
    const { url } = await ctx.ownServer();
    const ws = ctx.client('client', url);
    act(ctx, ws, method, 'CONNECTING');
    await ctx.t.until(() => ws.readyState !== 0, 'leaves CONNECTING');
    await end(ctx, ws);
  },
  async 'the open listener'(ctx, method) {
    const { url } = await ctx.ownServer();
    const ws = ctx.client('client', url);
    ws.on('open', () => act(ctx, ws, method, 'open'));
    await ctx.t.untilEvent('client', 'open');
    await end(ctx, ws);
    await ctx.t.untilEvent('server', 'close');
  },
  async 'the message listener'(ctx, method) {
    const { url, wss } = await ctx.ownServer();
    wss.on('connection', (server: WsLike) => server.send('hello'));
    const ws = ctx.client('client', url);
    ws.once('message', () => act(ctx, ws, method, 'message'));
    await ctx.t.untilEvent('client', 'message');
    await end(ctx, ws);
    await ctx.t.untilEvent('server', 'close');
  },
  async 'the upgrade listener'(ctx, method) {
    const { url } = await ctx.ownServer();
    const ws = ctx.client('client', url);
    ws.on('upgrade', () => act(ctx, ws, method, 'upgrade'));
    await ctx.t.until(() => ws.readyState > 0, 'leaves CONNECTING');
    await end(ctx, ws);
  },
  async 'the redirect listener'(ctx, method) {
    const target = await ctx.rawPeer();
    const h = await ctx.httpServer({ request: (_req, res) => res.writeHead(302, { Location: target.url }).end() });
    const ws = ctx.client('client', `ws://127.0.0.1:${h.port}/`, { followRedirects: true });
    ws.on('redirect', (url: string) => {
      ctx.t.add('client', 'redirect', url, `rs=${ws.readyState}`);
      act(ctx, ws, method, 'redirect');
    });
    await ctx.t.until(() => ws.readyState > 0, 'leaves CONNECTING');
    await end(ctx, ws);
  },
  async 'the unexpected-response listener'(ctx, method) {
    const h = await ctx.httpServer({ request: (_req, res) => res.writeHead(404).end('nope') });
    const ws = ctx.client('client', `ws://127.0.0.1:${h.port}/`);
    ws.on('unexpected-response', () => {
      ctx.t.add('client', 'unexpected-response', `rs=${ws.readyState}`);
      act(ctx, ws, method, 'unexpected-response');
    });
    await ctx.t.untilEvent('client', 'unexpected-response');
    // `ws` leaves the handshake to the application: give a close() or terminate() the time to
    // be reported, then end it (bounded).
    await delay(100);
    await end(ctx, ws);
  },
  async 'the error listener of a failed handshake (ECONNREFUSED)'(ctx, method) {
    const ws = ctx.client('client', `ws://127.0.0.1:${await refusedPort(ctx)}`);
    ws.on('error', () => act(ctx, ws, method, 'error'));
    await closed(ctx);
  },
  async 'the error listener of an open connection (protocol error)'(ctx, method) {
    const peer = await ctx.rawPeer((socket) => socket.write(serverFrame(3, 'reserved opcode')));
    // The error's class and message and the close reason are compared in errors.test.ts; here
    // only what the method call changes: the error code and the close code.
    ctx.socketEvents = ['open', 'message', 'upgrade'];
    const ws = ctx.client('client', peer.url);
    ws.on('error', (err: { code?: string }) => ctx.t.add('client', 'error', { code: err.code ?? null }, `rs=${ws.readyState}`));
    ws.on('close', (code: number) => ctx.t.add('client', 'close', code, `rs=${ws.readyState}`));
    ws.on('error', () => act(ctx, ws, method, 'error'));
    await closed(ctx);
    await ctx.t.untilEvent('peer', 'end');
  },
  async 'the close listener after a close handshake'(ctx, method) {
    const { url } = await ctx.ownServer();
    const ws = ctx.client('client', url);
    ws.on('open', () => ws.close(1000));
    ws.on('close', () => act(ctx, ws, method, 'close'));
    await closed(ctx);
    await ctx.t.untilEvent('server', 'close');
  },
  async 'the close listener after a failed handshake'(ctx, method) {
    const ws = ctx.client('client', `ws://127.0.0.1:${await refusedPort(ctx)}`);
    ws.on('close', () => act(ctx, ws, method, 'close'));
    await closed(ctx);
  },
  async 'CLOSING (right after close())'(ctx, method) {
    const { url } = await ctx.ownServer();
    const ws = ctx.client('client', url);
    ws.on('open', () => {
      ws.close(1000);
      act(ctx, ws, method, 'CLOSING');
    });
    await closed(ctx);
    await ctx.t.untilEvent('server', 'close');
  },
  async 'CLOSED (a turn after close)'(ctx, method) {
    const { url } = await ctx.ownServer();
    const ws = ctx.client('client', url);
    ws.on('open', () => ws.close(1000));
    ws.on('close', () => setImmediate(() => act(ctx, ws, method, 'CLOSED')));
    await closed(ctx);
    await ctx.t.until(() => ctx.t.entries.some((e) => e.event.startsWith('call ')), 'method called');
    await ctx.settle();
  },
};

describe('events order: methods called from every listener and in every readyState', () => {
  for (const [where, setup] of Object.entries(CONTEXTS)) {
    describe(where, () => {
      for (const method of METHODS) {
        it(`${method}()`, async () => {
          const scenario: Scenario = (ctx) => setup(ctx, method);
          const r = await compare(scenario);
          // The method was really called against ws.
          expect(r.ws.some((l) => l.includes(' call '))).toBe(true);
          expectSame(r);
        });
      }
    });
  }
});

describe('documented difference: error is emitted only when listened to', () => {
  it('ws throws an unheard error (uncaught); ws6455 closes with 1006 and the process lives', async () => {
    const r = await compareInChild('unheard-error');
    expect(r.ws).toEqual([
      'process uncaughtException [{"error":"Error","message":"connect ECONNREFUSED 127.0.0.1:<port>","code":"ECONNREFUSED"}]',
      'process exit [70]',
    ]);
    expect(r.ours).toEqual(['client close [1006,{"Buffer":""},"rs=3"]', 'process exit [0]']);
  });
});
