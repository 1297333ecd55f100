/**
 * The `sessions` option of WebSocketServer over real sockets on 127.0.0.1: session clients get
 * a `session` event instead of `connection`, plain clients are served as before on the same
 * server, the resumption token never reaches the application's view of the request, a resuming
 * handshake still passes `verifyClient`, and messages sent while the client is away arrive once
 * it is back. The client side here is the sans-I/O SessionClient on a plain WebSocket.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_PROTOCOL, Session, SessionError, WebSocket, WebSocketServer, type ServerOptions } from '../../../src/index.js';
import { SessionTestClient as Client, until } from './session-client.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function serve(options: Omit<ServerOptions, 'port'>): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}


describe('WebSocketServer sessions option', () => {
  it('emits session (not connection) for a session client and keeps serving plain clients', async () => {
    const { wss, url } = await serve({ sessions: true });
    const events: string[] = [];
    wss.on('connection', (ws: WebSocket) => {
      events.push(`connection ${ws.protocol}`);
      ws.on('message', (d) => ws.send(`echo ${String(d)}`));
    });
    let session: Session | null = null;
    wss.on('session', (s: Session, req: IncomingMessage) => {
      events.push(`session ${req.url}`);
      session = s;
      s.on('message', (data, isBinary, info) => {
        events.push(`message ${String(data)} ${isBinary} ${info.seq} ${info.redelivered}`);
        void s.send(`got ${String(data)}`);
      });
    });

    const client = new Client(`${url}/room`, cleanups);
    const ws = await client.connect();
    expect(ws.protocol).toBe(SESSION_PROTOCOL);
    client.session.send('hello');
    await until(() => client.received.length === 1, 'the reply');
    expect(client.received).toEqual(['got hello']);
    expect(session).toBeInstanceOf(Session);
    expect((session as unknown as Session).socket).not.toBeNull();
    expect(wss.sessions?.size).toBe(1);

    // A plain client on the same server, offering another subprotocol and the session's own
    // name: it is not a session client unless it asks to be one, which it does here... so
    // offer only other names.
    const plain = new WebSocket(url, ['chat', 'superchat']);
    cleanups.push(() => plain.terminate());
    await new Promise<void>((resolve) => plain.once('open', () => resolve()));
    expect(plain.protocol).toBe('chat');
    const reply = new Promise<string>((resolve) => plain.once('message', (d) => resolve(String(d))));
    plain.send('plain');
    expect(await reply).toBe('echo plain');
    expect(events).toEqual(['session /room', 'message hello false 1 false', 'connection chat']);
  });

  it('a server without the option never selects the session protocol by default', async () => {
    const { wss, url } = await serve({});
    wss.on('connection', () => {});
    const ws = new WebSocket(url, [SESSION_PROTOCOL, 'chat']);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    expect(ws.protocol).toBe('chat');
    const only = new WebSocket(url, [SESSION_PROTOCOL]);
    cleanups.push(() => only.terminate());
    await new Promise<void>((resolve) => only.once('open', () => resolve()));
    expect(only.protocol).toBe('');
  });

  it('delivers what was sent while the client was away once it resumes; the token is not in the request the application sees', async () => {
    const seen: Array<{ header: string; raw: string }> = [];
    const headerOf = (req: IncomingMessage): { header: string; raw: string } => ({
      header: String(req.headers['sec-websocket-protocol']),
      raw: req.rawHeaders.join('\n'),
    });
    const { wss, url } = await serve({
      sessions: { ackDelay: 5 },
      verifyClient: (info: { req: IncomingMessage }) => {
        seen.push(headerOf(info.req));
        return true;
      },
    });
    const sessions: Session[] = [];
    const log: string[] = [];
    wss.on('session', (s: Session) => {
      sessions.push(s);
      s.on('away', () => log.push('away'));
      s.on('resumed', (info) => log.push(`resumed ${info.restored} ${info.replaced}`));
      s.on('message', (d) => log.push(`message ${String(d)}`));
    });
    const client = new Client(url, cleanups);
    await client.connect();
    await until(() => sessions.length === 1 && client.ready.length === 1, 'the session');
    const session = sessions[0] as Session;
    const first = session.send('one');
    await first; // acknowledged by the client
    expect(session.unacknowledged).toBe(0);

    await client.cut();
    await until(() => log.includes('away'), 'away');
    expect(session.connected).toBe(false);
    const whileAway = [session.send('two'), session.send(Buffer.from('three'))];
    client.session.send('four');
    expect(session.unacknowledged).toBe(2);

    await client.connect();
    await Promise.all(whileAway);
    await until(() => log.includes('message four'), 'the client message sent while away');
    expect(client.received).toEqual(['one', 'two', 'three']);
    expect(client.ready).toEqual([
      { id: session.id, resumed: false },
      { id: session.id, resumed: true },
    ]);
    expect(log).toEqual(['away', 'resumed false false', 'message four']);
    expect(sessions).toHaveLength(1);
    // verifyClient ran for both handshakes and never saw a token.
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.header).toBe(SESSION_PROTOCOL);
      expect(s.raw).not.toContain('.resume.');
    }
  });

  it('a resuming handshake that verifyClient refuses does not resume the session', async () => {
    let allow = true;
    const { wss, url } = await serve({ sessions: true, verifyClient: () => allow });
    const sessions: Session[] = [];
    wss.on('session', (s: Session) => sessions.push(s));
    const client = new Client(url, cleanups);
    await client.connect();
    await until(() => client.ready.length === 1, 'the session');
    await client.cut();
    allow = false;
    await expect(client.connect()).rejects.toThrow(/before open/);
    expect(sessions[0]?.connected).toBe(false);
    allow = true;
    await client.connect();
    await until(() => client.ready.length === 2, 'the resumption');
    expect(client.ready[1]).toEqual({ id: sessions[0]?.id, resumed: true });
    expect(sessions).toHaveLength(1);
  });

  it('a second connection resuming the session closes the first (4001) and takes over', async () => {
    const { wss, url } = await serve({ sessions: true });
    const sessions: Session[] = [];
    const resumed: Array<{ restored: boolean; replaced: boolean }> = [];
    wss.on('session', (s: Session) => {
      sessions.push(s);
      s.on('resumed', (info) => resumed.push(info));
    });
    const client = new Client(url, cleanups);
    const first = await client.connect();
    await until(() => client.ready.length === 1, 'the session');
    const firstClosed = new Promise<number>((resolve) => first.once('close', (code) => resolve(code)));
    // The client moved to another network: it dials again while the server still holds its
    // first connection.
    client.drop();
    await client.connect();
    expect(await firstClosed).toBe(4001);
    await until(() => resumed.length === 1, 'the resumption');
    expect(resumed[0]).toEqual({ restored: false, replaced: true });
    expect(sessions[0]?.socket).not.toBe(null);
  });

  it('an old token cannot resume twice: the client is told and gets a new session', async () => {
    const { wss, url } = await serve({ sessions: true });
    const sessions: Session[] = [];
    wss.on('session', (s: Session) => sessions.push(s));
    const client = new Client(url, cleanups);
    await client.connect();
    await until(() => client.ready.length === 1, 'the session');
    await client.cut();
    const stale = client.session.offer(); // the first token, as a resuming client offers it
    await client.connect();
    await until(() => client.ready.length === 2, 'the resumption');
    await client.cut();

    // A replay of the first token (say, taken from a log) starts nothing on the old session.
    const thief = new Client(url, cleanups);
    thief.session.offer(); // its own offer is a new session; the socket sends the stale one
    const ws = new WebSocket(url, stale);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve) => {
      ws.once('open', () => {
        const conn = thief.session.connect({ send: (d, b) => ws.send(d, { binary: b }), close: (c, r) => ws.close(c, r) });
        ws.on('message', (d, b) => conn.receive(d as Buffer, b));
        resolve();
      });
    });
    await until(() => sessions.length === 2 && thief.ready.length === 1, 'a new session for the replayed token');
    expect(thief.ready[0]?.resumed).toBe(false);
    expect(sessions[1]?.id).not.toBe(sessions[0]?.id);
    expect(sessions[0]?.connected).toBe(false);
  });

  it('Session.close() ends the session: the client is told (4002) and pending sends reject', async () => {
    const { wss, url } = await serve({ sessions: true });
    const sessions: Session[] = [];
    const closes: string[] = [];
    wss.on('session', (s: Session) => {
      sessions.push(s);
      s.on('close', (err) => closes.push(err.code));
    });
    const client = new Client(url, cleanups);
    const ws = await client.connect();
    await until(() => client.ready.length === 1, 'the session');
    await client.cut();
    const session = sessions[0] as Session;
    await until(() => !session.connected, 'away');
    const pending = session.send('never');
    session.close();
    await expect(pending).rejects.toBeInstanceOf(SessionError);
    expect(closes).toEqual(['WS_SESSION_CLOSED']);
    expect(wss.sessions?.size).toBe(0);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });
});
