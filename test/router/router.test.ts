import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { ReconnectingWebSocket } from '../../src/reconnect/index.js';
import { Router, RouterError, type Envelope, type RouterPeer } from '../../src/router/index.js';
import { delay, onCleanup, openPair, runCleanups, startServer, trackClient, until, waitFor } from '../node/helpers.js';

afterEach(runCleanups);

/** The protocol shared by both ends of these tests. */
type Chat = {
  join: { payload: { room: string }; result: { members: string[] } };
  say: { payload: { text: string } };
  said: { payload: { text: string; from: string } };
  slow: { payload: { ms: number }; result: string };
  fail: { payload: { kind: 'router' | 'plain' | 'async' } };
  whoami: { payload: null; result: string };
};

/** A server whose connections are all attached to `router`; resolves with the client's peer. */
async function setup(server: Router<Chat>, client: Router<Chat> = new Router<Chat>()) {
  const pair = await openPair();
  const serverPeer = server.attach(pair.server);
  const clientPeer = client.attach(pair.client);
  return { ...pair, serverPeer, clientPeer };
}

/** Raw envelopes the client receives. */
function envelopes(ws: WebSocket): Envelope[] {
  const out: Envelope[] = [];
  ws.on('message', (data: Buffer) => out.push(JSON.parse(data.toString()) as Envelope));
  return out;
}

describe('Router: requests and messages', () => {
  it('request/response: the handler result is the response payload', async () => {
    const router = new Router<Chat>().on('join', ({ room }) => ({ members: [`alice@${room}`, 'bob'] }));
    const { clientPeer } = await setup(router);
    const result = await clientPeer.request('join', { room: 'lobby' }, { timeout: 1000 });
    expect(result).toEqual({ members: ['alice@lobby', 'bob'] });
    expectTypeOf(result).toEqualTypeOf<{ members: string[] }>();
  });

  it('async handlers, and many concurrent requests correlated by id', async () => {
    const router = new Router<Chat>().on('slow', async ({ ms }) => {
      await delay(ms);
      return `slept ${ms}`;
    });
    const { clientPeer } = await setup(router);
    const results = await Promise.all([30, 5, 20, 0, 10].map((ms) => clientPeer.request('slow', { ms })));
    expect(results).toEqual(['slept 30', 'slept 5', 'slept 20', 'slept 0', 'slept 10']);
    expect(clientPeer.pendingRequests).toBe(0);
  });

  it('plain messages (no id) reach their handler, which can send back through ctx.peer', async () => {
    const router = new Router<Chat>().on('say', ({ text }, { peer, id }) => {
      expect(id).toBeUndefined();
      peer.send('said', { text: text.toUpperCase(), from: 'server' });
    });
    const client = new Router<Chat>();
    const heard: Array<{ text: string; from: string }> = [];
    client.on('said', (payload) => void heard.push(payload));
    const { clientPeer } = await setup(router, client);
    clientPeer.send('say', { text: 'hi' });
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ text: 'HI', from: 'server' }]);
  });

  it('requests work from the server to the client too', async () => {
    const client = new Router<Chat>().on('whoami', () => 'client-7');
    const { serverPeer } = await setup(new Router<Chat>(), client);
    expect(await serverPeer.request('whoami', null)).toBe('client-7');
  });

  it('one router serves many connections; ctx.peer is the sender', async () => {
    const router = new Router<Chat>().on('whoami', (_p, { peer }) => (peer === peers[0] ? 'first' : 'second'));
    const peers: Array<RouterPeer<Chat>> = [];
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => peers.push(router.attach(ws)));
    const a = new Router<Chat>().attach(trackClient(await WebSocket.connect(url)));
    await until(() => peers.length === 1);
    const b = new Router<Chat>().attach(trackClient(await WebSocket.connect(url)));
    await until(() => peers.length === 2);
    expect(await a.request('whoami', null)).toBe('first');
    expect(await b.request('whoami', null)).toBe('second');
  });
});

describe('Router: failures are answered, never thrown', () => {
  it('times out when no answer comes; a late answer is ignored', async () => {
    const router = new Router<Chat>().on('slow', async ({ ms }) => {
      await delay(ms);
      return 'late';
    });
    const { clientPeer } = await setup(router);
    await expect(clientPeer.request('slow', { ms: 100 }, { timeout: 20 })).rejects.toMatchObject({ name: 'RouterError', code: 'timeout' });
    expect(clientPeer.pendingRequests).toBe(0);
    await delay(120);
    expect(await clientPeer.request('slow', { ms: 0 })).toBe('late');
  });

  it('uses the router-wide requestTimeout by default', async () => {
    const { clientPeer } = await setup(new Router<Chat>().on('slow', () => new Promise<string>(() => {})), new Router<Chat>({ requestTimeout: 15 }));
    await expect(clientPeer.request('slow', { ms: 0 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('invalid JSON and invalid envelopes get an error envelope; the connection stays open', async () => {
    const router = new Router<Chat>().on('whoami', () => 'ok');
    const { client } = await setup(router);
    const got = envelopes(client);
    client.send('{not json');
    client.send('[1,2]');
    client.send(JSON.stringify({ id: 5, payload: {} }));
    client.send(JSON.stringify({ type: 'whoami', id: { bad: true } }));
    client.send(JSON.stringify({ type: 'whoami', id: 'abc' }));
    await until(() => got.length === 5);
    expect(got).toEqual([
      { type: 'error', payload: { code: 'invalid_json', message: expect.any(String) } },
      { type: 'error', payload: { code: 'invalid_envelope', message: expect.any(String) } },
      { type: 'error', id: 5, payload: { code: 'invalid_envelope', message: expect.any(String) } },
      { type: 'error', payload: { code: 'invalid_envelope', message: expect.any(String) } },
      { type: 'response', id: 'abc', payload: 'ok' },
    ]);
    expect(client.readyState).toBe(1);
  });

  it('unknown types: error envelope without a fallback, the fallback handler otherwise', async () => {
    const router = new Router<Chat>();
    const { client, clientPeer } = await setup(router);
    const got = envelopes(client);
    client.send(JSON.stringify({ type: 'nope', payload: 1 }));
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ type: 'error', payload: { code: 'unknown_type' } });
    await expect(clientPeer.request('join', { room: 'x' })).rejects.toMatchObject({ code: 'unknown_type' });

    const seen: Envelope[] = [];
    router.fallback((envelope) => {
      seen.push(envelope);
      return { echoed: envelope.type };
    });
    expect(await clientPeer.request('join', { room: 'x' })).toEqual({ echoed: 'join' });
    expect(seen[0]).toMatchObject({ type: 'join', payload: { room: 'x' } });
  });

  it('handler errors: RouterError codes travel, other errors are hidden and reported locally', async () => {
    const reported: Error[] = [];
    const router = new Router<Chat>({ onError: (err) => reported.push(err) }).on('fail', async ({ kind }) => {
      if (kind === 'router') throw new RouterError('forbidden', 'Not in this room');
      if (kind === 'async') await Promise.reject(new Error('db down: password=hunter2'));
      throw new Error('secret stack detail');
    });
    const { clientPeer, client } = await setup(router);
    await expect(clientPeer.request('fail', { kind: 'router' })).rejects.toMatchObject({ code: 'forbidden', message: 'Not in this room' });
    await expect(clientPeer.request('fail', { kind: 'plain' })).rejects.toMatchObject({ code: 'internal_error', message: 'Internal error' });
    await expect(clientPeer.request('fail', { kind: 'async' })).rejects.toMatchObject({ code: 'internal_error', message: 'Internal error' });
    expect(reported.map((e) => e.message)).toEqual(['secret stack detail', 'db down: password=hunter2']);
    // A plain message whose handler fails still gets an error envelope (without id).
    const got = envelopes(client);
    clientPeer.send('fail', { kind: 'router' });
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ type: 'error', payload: { code: 'forbidden', message: 'Not in this room' } });
  });

  it('exposeErrors sends the message of any error', async () => {
    const router = new Router<Chat>({ exposeErrors: true }).on('fail', () => {
      throw new Error('visible');
    });
    const { clientPeer } = await setup(router);
    await expect(clientPeer.request('fail', { kind: 'plain' })).rejects.toMatchObject({ code: 'internal_error', message: 'visible' });
  });

  it('a response that cannot be serialised becomes an error envelope', async () => {
    const router = new Router<Chat>().on('whoami', () => BigInt(1) as unknown as string);
    const { clientPeer } = await setup(router);
    await expect(clientPeer.request('whoami', null)).rejects.toMatchObject({ code: 'internal_error' });
  });

  it('error envelopes are never answered (no ping-pong between two routers)', async () => {
    const serverErrors: Error[] = [];
    const clientErrors: Error[] = [];
    const { client, server } = await setup(
      new Router<Chat>({ onError: (e) => serverErrors.push(e) }),
      new Router<Chat>({ onError: (e) => clientErrors.push(e) }),
    );
    let frames = 0;
    server.on('message', () => frames++);
    client.on('message', () => frames++);
    client.send('garbage');
    await delay(60);
    expect(frames).toBe(2);
    expect(clientErrors).toHaveLength(1);
    expect(clientErrors[0]).toMatchObject({ code: 'invalid_json' });
    expect(serverErrors).toHaveLength(0);
  });

  it('pending requests reject with "closed" when the connection closes; later ones at once', async () => {
    const { clientPeer, server, client } = await setup(new Router<Chat>().on('slow', () => new Promise<string>(() => {})));
    const pending = clientPeer.request('slow', { ms: 0 });
    server.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    await until(() => client.readyState === 3);
    await expect(clientPeer.request('slow', { ms: 0 })).rejects.toMatchObject({ code: 'closed' });
  });

  it('an AbortSignal cancels a request', async () => {
    const { clientPeer } = await setup(new Router<Chat>().on('slow', () => new Promise<string>(() => {})));
    const controller = new AbortController();
    const pending = clientPeer.request('slow', { ms: 0 }, { signal: controller.signal });
    controller.abort(new Error('user left'));
    await expect(pending).rejects.toThrow('user left');
    expect(clientPeer.pendingRequests).toBe(0);
  });

  it('detach() stops routing and rejects pending requests', async () => {
    const router = new Router<Chat>().on('slow', () => new Promise<string>(() => {}));
    const { clientPeer, serverPeer, client } = await setup(router);
    const pending = clientPeer.request('slow', { ms: 0 });
    clientPeer.detach();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    serverPeer.detach();
    const got = envelopes(client);
    client.send('{bad');
    await delay(40);
    expect(got).toEqual([]);
  });
});

describe('Router: over a ReconnectingWebSocket', () => {
  it('requests go through the reconnecting client, including ones queued before it opened', async () => {
    const router = new Router<Chat>().on('join', ({ room }) => ({ members: [room] }));
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => router.attach(ws));
    const rws = new ReconnectingWebSocket(url, { minDelay: 10, maxDelay: 50 });
    onCleanup(() => rws.close());
    const peer = new Router<Chat>().attach(rws);
    const early = peer.request('join', { room: 'queued' });
    await waitFor(rws, 'open');
    expect(await early).toEqual({ members: ['queued'] });
    expect(await peer.request('join', { room: 'live' })).toEqual({ members: ['live'] });
  });
});

describe('Router: types', () => {
  it('ties each type to its payload and result at compile time', () => {
    const router = new Router<Chat>();
    router.on('join', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ room: string }>();
      return { members: [] };
    });
    // @ts-expect-error the result of "join" must be { members: string[] }
    router.on('join', () => ({ members: 1 }));
    // @ts-expect-error unknown message type
    router.on('leave', () => {});
    expect(() => (router as unknown as Router).on('error', () => {})).toThrow(TypeError);
    const peer = null as unknown as RouterPeer<Chat>;
    const check = (): void => {
      // @ts-expect-error wrong payload for "say"
      peer.send('say', { txt: 'x' });
      expectTypeOf(peer.request('slow', { ms: 1 })).toEqualTypeOf<Promise<string>>();
      expectTypeOf(peer.request('say', { text: '' })).toEqualTypeOf<Promise<void>>();
    };
    expect(typeof check).toBe('function');
  });
});
