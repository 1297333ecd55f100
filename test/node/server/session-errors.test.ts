/**
 * A hostile session client against `WebSocketServer({ sessions })` over real sockets: each
 * violation gets its close code and a clear reason, the session layer neither crashes nor keeps
 * what the peer sent, and the server goes on serving a well-behaved session client afterwards.
 * The peer here is a plain WebSocket writing session messages by hand (`!` control words,
 * `#` acknowledgements, `@` data).
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_PROTOCOL, WebSocket, WebSocketServer, type Session, type ServerSessionOptions } from '../../../src/index.js';
import { SessionTestClient, until } from './session-client.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

interface Setup {
  url: string;
  wss: WebSocketServer;
  sessions: Session[];
}

async function serve(sessions: ServerSessionOptions = {}): Promise<Setup> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', sessions });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const list: Session[] = [];
  wss.on('session', (s: Session) => list.push(s));
  return { wss, sessions: list, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

/** A raw peer: what the server sent, and how the connection closed. */
interface RawPeer {
  ws: WebSocket;
  received: string[];
  closed: Promise<{ code: number; reason: string }>;
}

async function raw(url: string, protocols: string[]): Promise<RawPeer> {
  const ws = new WebSocket(url, protocols);
  cleanups.push(() => ws.terminate());
  const received: string[] = [];
  ws.on('error', () => {});
  ws.on('message', (d) => received.push(String(d)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code) => reject(new Error(`closed ${code} before open`)));
  });
  return { ws, received, closed };
}

/** A raw peer that received its welcome (`!new <token>`), optionally confirmed with `!ok`. */
async function welcomed(url: string, confirm: boolean): Promise<RawPeer & { token: string }> {
  const peer = await raw(url, [SESSION_PROTOCOL]);
  await until(() => peer.received.length > 0, 'the welcome');
  const words = (peer.received[0] as string).split(' ');
  expect(words[0]).toBe('!new');
  if (confirm) peer.ws.send('!ok');
  return { ...peer, token: words[1] as string };
}

describe('session protocol errors from a client', () => {
  it('an acknowledgement of messages never sent: 1002 WS_SESSION_BAD_ACK', async () => {
    const { url, sessions } = await serve();
    const peer = await welcomed(url, true);
    await until(() => sessions[0]?.connected === true, 'the confirmation');
    const closes: string[] = [];
    sessions[0]?.on('close', (err) => closes.push(err.code));
    peer.ws.send('#5');
    const { code, reason } = await peer.closed;
    expect(code).toBe(1002);
    expect(reason).toMatch(/acknowledg/i);
    expect(closes).toEqual(['WS_SESSION_BAD_ACK']);
  });

  it('unparseable session messages: 1002 WS_SESSION_BAD_FRAME', async () => {
    for (const bad of ['', '#', '#x!', '\u0001abc', '!end nonsense']) {
      const { url, sessions } = await serve();
      const peer = await welcomed(url, true);
      await until(() => sessions[0]?.connected === true, 'the confirmation');
      const closes: string[] = [];
      sessions[0]?.on('close', (err) => closes.push(err.code));
      peer.ws.send(bad);
      const { code } = await peer.closed;
      expect([bad, code]).toEqual([bad, 1002]);
      expect([bad, closes]).toEqual([bad, ['WS_SESSION_BAD_FRAME']]);
    }
  });

  it('data before confirming the welcome: 1002 WS_SESSION_UNEXPECTED', async () => {
    const { url } = await serve();
    const peer = await welcomed(url, false);
    peer.ws.send('@hello');
    const { code, reason } = await peer.closed;
    expect(code).toBe(1002);
    expect(reason.length).toBeGreaterThan(0);
  });

  it('malformed resume entries: 1002 WS_SESSION_BAD_HANDSHAKE, no session made', async () => {
    const { url, wss } = await serve();
    const entries = [
      `${SESSION_PROTOCOL}.resume.nonsense`,
      `${SESSION_PROTOCOL}.resume.${'a'.repeat(130)}`,
    ];
    for (const entry of entries) {
      const peer = await raw(url, [SESSION_PROTOCOL, entry]);
      const { code } = await peer.closed;
      expect(code).toBe(1002);
    }
    // Two resume entries in one offer.
    const twice = await raw(url, [SESSION_PROTOCOL, `${SESSION_PROTOCOL}.resume.a.b.0.0`, `${SESSION_PROTOCOL}.resume.c.d.0.0`]);
    expect((await twice.closed).code).toBe(1002);
    expect(wss.sessions?.size).toBe(0);
  });

  it('an unknown token gets a new session and the reason, not an error', async () => {
    const { url, sessions } = await serve();
    const first = await welcomed(url, true);
    const [id] = first.token.split('.');
    first.ws.terminate();
    await until(() => sessions[0]?.connected === false, 'away');
    // Right id, invented secret; then an invented id.
    for (const token of [`${id}.${'A'.repeat(22)}`, `${'B'.repeat(16)}.${'A'.repeat(22)}`]) {
      const peer = await raw(url, [SESSION_PROTOCOL, `${SESSION_PROTOCOL}.resume.${token}.0.0`]);
      await until(() => peer.received.length > 0, 'the welcome');
      const words = (peer.received[0] as string).split(' ');
      expect(words[0]).toBe('!new');
      expect(words[2]).toMatch(/^(unknown|stale)$/);
      expect(words[1]).not.toContain(id as string);
      peer.ws.terminate();
    }
    expect(sessions).toHaveLength(3);
    expect(sessions[0]?.connected).toBe(false); // the real session was not touched
  });

  it('a resumption stating a number beyond what was sent, or more to resend than maxResend: 1002 / 1008', async () => {
    const { url, sessions } = await serve({ maxResend: 10 });
    const client = new SessionTestClient(url, cleanups);
    await client.connect();
    await until(() => sessions.length === 1 && client.ready.length === 1, 'the session');
    const session = sessions[0] as Session;
    await session.send('one');
    await client.cut();
    // The client's genuine offer, edited: it claims to have received 5 messages (1 was sent).
    const offer = client.session.offer();
    const entry = offer[1] as string;
    const parts = entry.split('.');
    const [received, sent] = [Number(parts.at(-2)), Number(parts.at(-1))];
    expect([received, sent]).toEqual([1, 0]);
    const beyond = await raw(url, [SESSION_PROTOCOL, [...parts.slice(0, -2), '5', '0'].join('.')]);
    expect((await beyond.closed).code).toBe(1002);
    await until(() => session.closed, 'the session ended by the violation');
    expect(session.closed).toBe(true);

    // A new session; the client claims 1,000 messages to resend (maxResend 10).
    const next = new SessionTestClient(url, cleanups);
    await next.connect();
    await until(() => sessions.length === 2 && next.ready.length === 1, 'a second session');
    await next.cut();
    const p = (next.session.offer()[1] as string).split('.');
    const flood = await raw(url, [SESSION_PROTOCOL, [...p.slice(0, -1), '1000'].join('.')]);
    expect((await flood.closed).code).toBe(1008);
  });

  it('keeps serving well-behaved session clients after every violation above', async () => {
    const { url, sessions } = await serve();
    for (const bad of ['#9', '']) {
      const peer = await welcomed(url, true);
      peer.ws.send(bad);
      await peer.closed;
    }
    const client = new SessionTestClient(url, cleanups);
    await client.connect();
    await until(() => client.ready.length === 1, 'the session');
    client.session.send('fine');
    await until(() => sessions.some((s) => s.connected), 'a connected session');
    const session = sessions.find((s) => s.connected) as Session;
    const got: string[] = [];
    session.on('message', (d) => got.push(String(d)));
    client.session.send('still fine');
    await until(() => got.length === 1, 'the message');
    expect(got).toEqual(['still fine']);
  });
});
