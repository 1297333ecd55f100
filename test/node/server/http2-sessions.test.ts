/**
 * Resumable sessions (the `sessions` option) over HTTP/2 streams (RFC 8441): a session client
 * dialling with `http2: true` gets its session on a stream, the resumption token never reaches
 * the request the application sees (an IncomingMessage built from the stream's headers), and a
 * session survives both a stream reset (one connection lost, the HTTP/2 session kept: the
 * resumption is a new stream of the same session) and the loss of the whole HTTP/2 session
 * (the resumption opens a new one). Plain clients on the same HTTP/2 server are served as before.
 * What was sent while the client was away is counted on arrival: none lost, none duplicated.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_PROTOCOL, type Session, WebSocket } from '../../../src/index.js';
import { runCleanups } from '../helpers.js';
import { startH2, tlsMaterial } from '../http2-helpers.js';
import { SessionTestClient as Client, until } from './session-client.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
  await runCleanups();
});

/** What the application could read of a handshake request. */
function viewOf(req: IncomingMessage): string {
  return `${req.method} ${req.url} ${req.httpVersion} ${String(req.headers['sec-websocket-protocol'])} ${req.rawHeaders.join(' ')}`;
}

describe('resumable sessions over HTTP/2', () => {
  it('h2c: a session on a stream resumes on a new stream of the same HTTP/2 session after a reset, then on a new HTTP/2 session after the old one is destroyed', async () => {
    const seen: string[] = [];
    const h2 = await startH2({
      wss: {
        path: '/live',
        sessions: { ackDelay: 5 },
        verifyClient: (info: { req: IncomingMessage }) => {
          seen.push(viewOf(info.req));
          return true;
        },
      },
    });
    const sessions: Session[] = [];
    const requests: string[] = [];
    const log: string[] = [];
    const fromClient: string[] = [];
    h2.wss.on('session', (s: Session, req: IncomingMessage) => {
      sessions.push(s);
      requests.push(viewOf(req));
      s.on('away', () => log.push('away'));
      s.on('resumed', (info) => log.push(`resumed ${info.restored} ${info.replaced}`));
      s.on('message', (d) => fromClient.push(String(d)));
    });

    const client = new Client(`${h2.url}/live`, cleanups, { http2: true });
    const ws = await client.connect();
    expect(ws.protocol).toBe(SESSION_PROTOCOL);
    await until(() => sessions.length === 1 && client.ready.length === 1, 'the session');
    expect(h2.sessions).toHaveLength(1);
    const session = sessions[0] as Session;
    await session.send('s1');
    client.session.send('c1');
    await until(() => fromClient.length === 1, 'c1');

    // 1. The stream is reset (terminate() over HTTP/2: RST_STREAM with CANCEL); the HTTP/2
    //    session stays. What both sides send while apart arrives after the resumption.
    await client.cut();
    await until(() => log.includes('away'), 'away after the reset');
    const whileReset = [session.send('s2'), session.send(Buffer.from('s3'))];
    client.session.send('c2');
    await client.connect();
    await Promise.all(whileReset);
    await until(() => fromClient.length === 2, 'c2');
    expect(h2.sessions).toHaveLength(1); // the same HTTP/2 connection carried the resumption
    expect(log).toEqual(['away', 'resumed false false']);

    // 2. The whole HTTP/2 session is destroyed (as when its TCP connection is lost).
    const lost = new Promise<number>((resolve) => client.socket?.once('close', (code: number) => resolve(code)));
    h2.sessions[0]?.destroy();
    expect(await lost).toBe(1006);
    await until(() => log.length === 3, 'away after the session loss');
    const whileLost = [session.send('s4')];
    client.session.send('c3');
    await client.connect();
    await Promise.all(whileLost);
    await until(() => fromClient.length === 3, 'c3');
    expect(h2.sessions).toHaveLength(2);
    expect(log).toEqual(['away', 'resumed false false', 'away', 'resumed false false']);

    // Once each, in order, in both directions; one logical session throughout.
    expect(client.received).toEqual(['s1', 's2', 's3', 's4']);
    expect(fromClient).toEqual(['c1', 'c2', 'c3']);
    expect(sessions).toHaveLength(1);
    expect(client.ready).toEqual([
      { id: session.id, resumed: false },
      { id: session.id, resumed: true },
      { id: session.id, resumed: true },
    ]);
    expect(session.unacknowledged).toBe(0);
    // Every handshake was an extended CONNECT; verifyClient and the session event never saw a token.
    expect(seen).toHaveLength(3);
    for (const view of [...seen, ...requests]) {
      expect(view.startsWith(`CONNECT /live 2.0 ${SESSION_PROTOCOL} `)).toBe(true);
      expect(view).not.toContain('.resume.');
    }
  });

  it('h2 over TLS: session clients and plain clients share one HTTP/2 server; only the session client gets a session', async () => {
    const h2 = await startH2({ secure: true, wss: { sessions: true } });
    const events: string[] = [];
    h2.wss.on('connection', (plain: WebSocket, req: IncomingMessage) => events.push(`connection ${req.httpVersion} ${plain.protocol}`));
    h2.wss.on('session', (s: Session, req: IncomingMessage) => {
      events.push(`session ${req.httpVersion}`);
      s.on('message', (d) => void s.send(`got ${String(d)}`));
    });
    const ca = tlsMaterial().cert;
    const client = new Client(h2.url, cleanups, { http2: true, ca });
    await client.connect();
    client.session.send('hello');
    await until(() => client.received.length === 1, 'the reply');
    expect(client.received).toEqual(['got hello']);

    const plain = await WebSocket.connect(h2.url, { http2: true, ca, protocols: ['chat'] });
    cleanups.push(() => plain.terminate());
    await until(() => events.length === 2, 'the plain connection');
    expect(events).toEqual(['session 2.0', 'connection 2.0 chat']);
    expect(h2.sessions).toHaveLength(1);
    expect(h2.sessions[0]?.alpnProtocol).toBe('h2');
  });
});
