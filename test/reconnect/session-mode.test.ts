/**
 * ReconnectingWebSocket in session mode against a WebSocketServer with `sessions`, over real
 * sockets on 127.0.0.1: sends settle on acknowledgement, messages carry their sequence number,
 * a cut connection resumes the session, a server that lost it makes the client start a new one
 * (a `reset` with the code and the sends it rejected), a server without sessions stops the
 * client with WS_SESSION_UNSUPPORTED, and `close()` ends the session on the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SessionError, type Session, type WebSocket } from '../../src/index.js';
import { ReconnectingWebSocket, type MessageInfo, type ReconnectOptions, type RejectedSend } from '../../src/reconnect/index.js';
import { onCleanup, runCleanups, until, waitFor } from '../node/helpers.js';
import { RestartableServer } from './helpers.js';

afterEach(runCleanups);

const FAST: ReconnectOptions = { minDelay: 5, maxDelay: 40, perMessageDeflate: false, session: { ackDelay: 5 } };

function client(url: string, options: ReconnectOptions = {}): ReconnectingWebSocket {
  const rws = new ReconnectingWebSocket(url, { ...FAST, ...options });
  rws.on('error', () => {});
  onCleanup(() => rws.close());
  return rws;
}

/** A restartable server with sessions, recording what its sessions receive. */
function sessionServer(): { server: RestartableServer; sessions: Session[]; received: string[] } {
  const server = new RestartableServer({ sessions: { ackDelay: 5 } });
  const sessions: Session[] = [];
  const received: string[] = [];
  const start = server.start.bind(server);
  server.start = async () => {
    await start();
    server.wss?.on('session', (s: Session) => {
      sessions.push(s);
      s.on('message', (data) => received.push(data.toString()));
    });
  };
  return { server, sessions, received };
}

describe('ReconnectingWebSocket session mode', () => {
  it('send() resolves on acknowledgement; messages arrive with their sequence numbers; session and open events', async () => {
    const { server, sessions, received } = sessionServer();
    await server.start();
    const rws = client(server.url);
    const events: string[] = [];
    rws.on('session', (info) => events.push(`session ${info.resumed}`));
    rws.on('open', () => events.push('open'));
    const got: Array<[string, boolean, MessageInfo | undefined]> = [];
    rws.on('message', (data, isBinary, info) => got.push([String(data), isBinary, info]));
    // Sent before any connection: held by the session until it is established.
    const first = rws.send('one');
    expect(rws.unacknowledged).toBe(1);
    await first;
    expect(received).toEqual(['one']);
    expect(events).toEqual(['session false', 'open']);
    expect(rws.resumable).toBe(true);
    expect(rws.sessionId).toBe(sessions[0]?.id);
    await rws.send(new Uint8Array([1, 2, 3]));
    expect(rws.unacknowledged).toBe(0);
    await sessions[0]!.send('hello');
    await sessions[0]!.send(Buffer.from([9]));
    await until(() => got.length === 2, 3000, 'two messages');
    expect(got).toEqual([
      ['hello', false, { seq: 1, redelivered: false }],
      ['\t', true, { seq: 2, redelivered: false }],
    ]);
  });

  it('resumes after the server cuts the connection: what was sent meanwhile arrives once, in order, both ways', async () => {
    const { server, sessions, received } = sessionServer();
    await server.start();
    const rws = client(server.url);
    const got: string[] = [];
    const resets: string[] = [];
    rws.on('message', (data) => got.push(String(data)));
    rws.on('reset', (err) => resets.push(err.code));
    const resumed: boolean[] = [];
    rws.on('session', (info) => resumed.push(info.resumed));
    await rws.send('a');
    const session = sessions[0]!;
    for (const ws of server.wss!.clients) (ws as WebSocket).terminate();
    const sends = [rws.send('b'), rws.send('c')];
    const serverSends = [session.send('x'), session.send('y')];
    await Promise.all([...sends, ...serverSends]);
    await until(() => got.length === 2, 3000, 'server messages');
    expect(received).toEqual(['a', 'b', 'c']);
    expect(got).toEqual(['x', 'y']);
    expect(sessions.length).toBe(1);
    expect(resumed).toEqual([false, true]);
    expect(resets).toEqual([]);
  });

  it('a server that lost the session (restarted, memory store): reset with WS_SESSION_UNKNOWN and the rejected sends, then a new session', async () => {
    const { server, sessions, received } = sessionServer();
    await server.start();
    const rws = client(server.url);
    await rws.send('before');
    const firstId = rws.sessionId;
    await server.kill();
    // Not acknowledged by anyone: the server is down.
    const lost = [rws.send('lost 1'), rws.send(Buffer.from('lost 2'))];
    const outcomes = lost.map((p) => p.then(() => 'resolved', (err: SessionError) => err.code));
    const resets: Array<[SessionError, readonly RejectedSend[]]> = [];
    rws.on('reset', (err, rejected) => {
      resets.push([err, rejected]);
      // Sent from the handler: the first message of the new session.
      void rws.send('after reset');
    });
    await server.start();
    await until(() => received.includes('after reset'), 5000, 'the new session');
    expect(await Promise.all(outcomes)).toEqual(['WS_SESSION_UNKNOWN', 'WS_SESSION_UNKNOWN']);
    expect(resets.length).toBe(1);
    const [err, rejected] = resets[0]!;
    expect(err).toBeInstanceOf(SessionError);
    expect(err.code).toBe('WS_SESSION_UNKNOWN');
    expect(rejected.map((r) => [r.seq, String(Buffer.from(r.data)), r.binary])).toEqual([
      [2, 'lost 1', false],
      [3, 'lost 2', true],
    ]);
    expect(received).toEqual(['before', 'after reset']);
    expect(sessions.length).toBe(2);
    expect(rws.sessionId).not.toBe(firstId);
    expect(rws.sessionId).toBe(sessions[1]?.id);
  });

  it('a server without sessions: error WS_SESSION_UNSUPPORTED, the client stops, pending sends are rejected with it', async () => {
    const server = new RestartableServer();
    let plain = 0;
    server.onConnection = () => void (plain += 1);
    await server.start();
    const rws = new ReconnectingWebSocket(server.url, FAST);
    onCleanup(() => rws.close());
    const errors: Error[] = [];
    rws.on('error', (err) => errors.push(err));
    const pending = rws.send('never').then(() => 'resolved', (err: SessionError) => err.code);
    const [code, , willReconnect] = await waitFor<[number, string, boolean]>(rws, 'close');
    expect(await pending).toBe('WS_SESSION_UNSUPPORTED');
    expect(errors.map((e) => (e as SessionError).code)).toEqual(['WS_SESSION_UNSUPPORTED']);
    expect(code).toBe(1002);
    expect(willReconnect).toBe(false);
    expect(rws.readyState).toBe(3);
    expect(plain).toBe(1);
    await expect(rws.send('later')).rejects.toMatchObject({ code: 'WS_SESSION_CLOSED' });
  });

  it('close() ends the session on the server and rejects what was not acknowledged (WS_SESSION_CLOSED)', async () => {
    const { server, sessions } = sessionServer();
    await server.start();
    const rws = client(server.url);
    await rws.send('hi');
    const ended = waitFor<[SessionError]>(sessions[0]!, 'close');
    // The server reads after close(): this one is written, never acknowledged.
    const pending = rws.send('unacknowledged').then(() => 'resolved', (err: SessionError) => err.code);
    rws.close(4321, 'bye');
    expect(await pending).toBe('WS_SESSION_CLOSED');
    const [err] = await ended;
    expect(err.code).toBe('WS_SESSION_ENDED');
    const [code, reason, again] = await waitFor<[number, string, boolean]>(rws, 'close');
    expect([code, reason, again]).toEqual([4321, 'bye', false]);
  });

  it('a full resend buffer refuses sends (WS_SESSION_BUFFER_FULL, WS_SESSION_TOO_LARGE) without losing the others', async () => {
    const { server, received } = sessionServer();
    await server.start();
    const rws = client(server.url, { session: { maxMessages: 2, maxBytes: 10, ackDelay: 5 } });
    const a = rws.send('12345');
    const b = rws.send('12345');
    await expect(rws.send('x')).rejects.toMatchObject({ code: 'WS_SESSION_BUFFER_FULL' });
    await expect(rws.send('x'.repeat(11))).rejects.toMatchObject({ code: 'WS_SESSION_TOO_LARGE' });
    await Promise.all([a, b]);
    await rws.send('x');
    expect(received).toEqual(['12345', '12345', 'x']);
  });

  it('refuses options that session mode excludes', () => {
    const url = 'ws://127.0.0.1:9';
    expect(() => new ReconnectingWebSocket(url, { session: true, onConnect: () => {} })).toThrow(RangeError);
    expect(() => new ReconnectingWebSocket(url, { session: true, queue: { maxMessages: 1 } })).toThrow(RangeError);
    expect(() => new ReconnectingWebSocket(url, { session: true, protocols: ['chat'] })).toThrow(RangeError);
    expect(() => new ReconnectingWebSocket(url, { session: { maxMessages: 0 } })).toThrow(RangeError);
  });
});
