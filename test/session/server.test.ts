/**
 * The server state machine, message in, messages and events out. The client's side is written
 * by hand, one WebSocket message at a time.
 */
import { describe, expect, it } from 'vitest';
import { SessionError } from '../../src/session/errors.js';
import { offerProtocols, parseOffer, RESUME_PREFIX, SESSION_PROTOCOL } from '../../src/session/handshake.js';
import { MemorySessionStore } from '../../src/session/memory-store.js';
import { SessionServer, type SessionServerOptions } from '../../src/session/server.js';
import type { ServerSession } from '../../src/session/server-session.js';
import type { SessionStore } from '../../src/session/store.js';
import { DeferredStore, FakeClock, RecordingLink, seededRandom, text } from './helpers.js';

function harness(options: Partial<SessionServerOptions> = {}) {
  const clock = new FakeClock();
  const store = (options.store as MemorySessionStore | undefined) ?? new MemorySessionStore();
  const events: string[] = [];
  const timers: number[] = [];
  const sessions: ServerSession[] = [];
  const server = new SessionServer({
    clock: clock.read,
    random: seededRandom(5),
    ...options,
    store,
    handler: {
      open: (s, info) => {
        sessions.push(s);
        events.push(`open${info.refused ? ` refused ${info.refused.code}` : ''}`);
      },
      resumed: (_s, info) => events.push(`resumed${info.restored ? ' restored' : ''}${info.replaced ? ' replaced' : ''}`),
      message: (_s, m) => events.push(`message ${m.seq} ${m.binary ? 'bin' : 'text'} ${text(m.data)}${m.redelivered ? ' redelivered' : ''}`),
      away: () => events.push('away'),
      expired: (_s, info) => events.push(`expired ${info.unacknowledged}`),
      ended: (_s, err) => events.push(`ended ${err.code}`),
      overflow: (_s, err) => events.push(`overflow ${err.code}`),
      error: (err, s) => events.push(`error ${err.code} ${err.closeCode}${s === null ? ' (no session)' : ''}`),
      timer: (at) => timers.push(at - clock.now),
    },
  });
  const done: string[] = [];
  const open = (protocols: string[]) => {
    const link = new RecordingLink();
    const offer = parseOffer(protocols);
    if (offer === null) throw new Error('not a session offer');
    const conn = server.connect(offer, link);
    return { link, conn, receive: (m: string | Uint8Array, binary = false) => conn.receive(m, binary) };
  };
  /** The token of the welcome a link got. */
  const tokenOf = (link: RecordingLink): string => {
    const first = text(link.sent[0]!.data).split(' ');
    return first[1]!;
  };
  const send = (s: ServerSession, data: string) => s.send(data, { done: (err) => done.push(`${data}:${err === null ? 'ok' : err.code}`) });
  return { clock, store, events, timers, sessions, server, open, tokenOf, done, send };
}

function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SessionError) return err.code;
    throw err;
  }
  return 'none';
}

const resume = (token: string, received: number, sent: number) => offerProtocols({ token, received, sent });

describe('SessionServer', () => {
  it('a new session: welcome with a fresh token, then messages both ways once the client confirmed', () => {
    const h = harness();
    const c = h.open([SESSION_PROTOCOL]);
    const token = h.tokenOf(c.link);
    expect(token).toMatch(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}$/);
    expect(c.link.texts()).toEqual([`!new ${token}`]);
    expect(h.events).toEqual(['open']);
    const s = h.sessions[0]!;
    expect(s.id).toBe(token.split('.')[0]);
    expect(h.server.get(s.id)).toBe(s);
    expect(s.connected).toBe(false); // not before the confirmation
    h.send(s, 'hi'); // written at once: the server may speak right after its welcome
    c.receive('!ok');
    expect(s.connected).toBe(true);
    c.receive('Ahello'); // acknowledges 'hi'
    expect(h.done).toEqual(['hi:ok']);
    expect(h.events).toContain('message 1 text hello');
    h.send(s, 'there');
    expect(c.link.texts()).toEqual([`!new ${token}`, '@hi', 'Athere']);
    expect(h.store.peek(s.id)?.pendingSecret).toBeNull(); // confirmed
  });

  it('resumes with a rotated token, states its point and resends the rest right after the welcome', () => {
    const h = harness();
    const c1 = h.open([SESSION_PROTOCOL]);
    const t0 = h.tokenOf(c1.link);
    const s = h.sessions[0]!;
    c1.receive('!ok');
    for (const m of ['s1', 's2', 's3']) h.send(s, m);
    c1.receive('@c1');
    c1.receive('@c2');
    c1.receive('#1'); // s1 acknowledged
    c1.conn.closed();
    expect(h.events.at(-1)).toBe('away');
    h.send(s, 's4'); // while away
    const c2 = h.open(resume(t0, 2, 3)); // the client got s1, s2; sent c1..c3
    const t1 = h.tokenOf(c2.link);
    expect(t1).not.toBe(t0);
    expect(t1.split('.')[0]).toBe(t0.split('.')[0]); // same session id
    expect(c2.link.texts()).toEqual([`!resumed ${t1} 2 3`, '@s3', '@s4']);
    expect(h.done).toEqual(['s1:ok', 's2:ok']);
    expect(h.events.at(-1)).toBe('resumed');
    c2.receive('!ok');
    c2.receive('Bc3'); // acknowledges s3, s4
    expect(h.done).toEqual(['s1:ok', 's2:ok', 's3:ok', 's4:ok']);
    expect(h.events.filter((e) => e.startsWith('message'))).toEqual(['message 1 text c1', 'message 2 text c2', 'message 3 text c3']);
  });

  it('rotates the token on every resumption: an old token works only until its successor is confirmed', () => {
    const h = harness();
    const c1 = h.open([SESSION_PROTOCOL]);
    const t0 = h.tokenOf(c1.link);
    c1.receive('!ok');
    c1.conn.closed();
    // Resumed with t0, but the welcome (t1) is lost with the connection.
    const c2 = h.open(resume(t0, 0, 0));
    const t1 = h.tokenOf(c2.link);
    c2.conn.closed();
    // The client still only has t0: it works once more, and t1 is dropped for t2.
    const c3 = h.open(resume(t0, 0, 0));
    const t2 = h.tokenOf(c3.link);
    expect(new Set([t0, t1, t2]).size).toBe(3);
    expect(text(c3.link.sent[0]!.data).startsWith('!resumed')).toBe(true);
    c3.receive('!ok'); // t2 confirmed: t0 and t1 are dead
    c3.conn.closed();
    for (const old of [t0, t1]) {
      const replay = h.open(resume(old, 0, 0));
      expect(text(replay.link.sent[0]!.data)).toMatch(/^!new \S+ stale$/);
      expect(h.events.at(-1)).toBe('open refused WS_SESSION_STALE_TOKEN');
    }
    // The holder of t2 still resumes, and may use t2 twice when the welcome for t3 is lost.
    const c4 = h.open(resume(t2, 0, 0));
    const t3 = h.tokenOf(c4.link);
    c4.conn.closed();
    const c5 = h.open(resume(t3, 0, 0)); // t3 did arrive after all: it becomes current, t2 dies
    expect(text(c5.link.sent[0]!.data).startsWith('!resumed')).toBe(true);
    c5.conn.closed();
    expect(text(h.open(resume(t2, 0, 0)).link.sent[0]!.data)).toMatch(/ stale$/);
  });

  it('an unknown session gets a new one, with the reason', () => {
    const h = harness();
    const c = h.open(resume('AAAAAAAAAAAAAAAA.bbbbbbbbbbbbbbbbbbbbbb', 0, 0));
    expect(text(c.link.sent[0]!.data)).toMatch(/^!new \S+ unknown$/);
    expect(h.events).toEqual(['open refused WS_SESSION_UNKNOWN']);
  });

  it('a second resumption replaces the connection still attached: it is told and closed with 4001', () => {
    const h = harness();
    const c1 = h.open([SESSION_PROTOCOL]);
    const t0 = h.tokenOf(c1.link);
    c1.receive('!ok');
    // The client gave up on c1 (half-open) and resumes while the server still holds it.
    const c2 = h.open(resume(t0, 0, 0));
    expect(c1.link.texts().slice(-1)).toEqual(['!end replaced']);
    expect(c1.link.closeCode).toBe(4001);
    expect(h.events.at(-1)).toBe('resumed replaced');
    c1.receive('@late'); // input on the replaced connection is ignored
    c1.conn.closed(); // and its close does not make the session away
    expect(h.events.filter((e) => e.startsWith('message') || e === 'away')).toEqual([]);
    c2.receive('!ok');
    c2.receive('@now');
    expect(h.events.at(-1)).toBe('message 1 text now');
    expect(c1.link.afterClose).toBe(0);
  });

  it('expires a session away longer than resumeWindow; its pending messages fail with WS_SESSION_EXPIRED', () => {
    const h = harness({ resumeWindow: 1000 });
    const c = h.open([SESSION_PROTOCOL]);
    const t0 = h.tokenOf(c.link);
    const s = h.sessions[0]!;
    c.receive('!ok');
    h.send(s, 'a');
    c.conn.closed();
    h.send(s, 'b');
    expect(h.server.deadline()).toBe(h.clock.now + 1000);
    h.clock.advance(999);
    h.server.tick();
    expect(s.ended).toBe(false);
    h.clock.advance(1);
    h.server.tick();
    expect(h.events.at(-1)).toBe('expired 2');
    expect(h.done).toEqual(['a:WS_SESSION_EXPIRED', 'b:WS_SESSION_EXPIRED']);
    expect(s.ended).toBe(true);
    expect(h.server.size).toBe(0);
    expect(h.store.size).toBe(0);
    expect(thrownCode(() => s.send('c'))).toBe('WS_SESSION_EXPIRED');
    expect(text(h.open(resume(t0, 0, 1)).link.sent[0]!.data)).toMatch(/ unknown$/);
  });

  it('refuses a resumption after the window even before the expiry ran (expired)', () => {
    const h = harness({ resumeWindow: 1000 });
    const c = h.open([SESSION_PROTOCOL]);
    const t0 = h.tokenOf(c.link);
    c.receive('!ok');
    c.conn.closed();
    h.clock.advance(1000);
    expect(text(h.open(resume(t0, 0, 0)).link.sent[0]!.data)).toMatch(/ expired$/);
    expect(h.events.at(-1)).toBe('open refused WS_SESSION_EXPIRED');
  });

  it('overflow: reject refuses the message, the session goes on', () => {
    const h = harness({ maxMessages: 2 });
    h.open([SESSION_PROTOCOL]);
    const s = h.sessions[0]!;
    h.send(s, 'a');
    h.send(s, 'b');
    expect(thrownCode(() => h.send(s, 'c'))).toBe('WS_SESSION_BUFFER_FULL');
    expect(h.events.at(-1)).toBe('overflow WS_SESSION_BUFFER_FULL');
    expect(s.ended).toBe(false);
    expect(s.unacknowledged).toBe(2);
    expect(thrownCode(() => s.send('x'.repeat(2 * 1024 * 1024)))).toBe('WS_SESSION_TOO_LARGE');
  });

  it("overflow: 'end' ends the session and tells the client (close 4002)", () => {
    const h = harness({ maxMessages: 2, overflow: 'end' });
    const c = h.open([SESSION_PROTOCOL]);
    const t0 = h.tokenOf(c.link);
    const s = h.sessions[0]!;
    c.receive('!ok');
    h.send(s, 'a');
    h.send(s, 'b');
    expect(thrownCode(() => h.send(s, 'c'))).toBe('WS_SESSION_OVERFLOW');
    expect(h.events.slice(-2)).toEqual(['overflow WS_SESSION_BUFFER_FULL', 'ended WS_SESSION_OVERFLOW']);
    expect(c.link.texts().at(-1)).toBe('!end overflow');
    expect(c.link.closeCode).toBe(4002);
    expect(h.done).toEqual(['a:WS_SESSION_OVERFLOW', 'b:WS_SESSION_OVERFLOW']);
    expect(text(h.open(resume(t0, 0, 0)).link.sent[0]!.data)).toMatch(/ unknown$/);
  });

  it('bounds memory when the client never acknowledges', () => {
    const h = harness({ maxMessages: 100, maxBytes: 1000 });
    const c = h.open([SESSION_PROTOCOL]);
    c.receive('!ok');
    const s = h.sessions[0]!;
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      try {
        s.send(`message ${i}`);
        accepted += 1;
      } catch (err) {
        expect((err as SessionError).code).toBe('WS_SESSION_BUFFER_FULL');
      }
    }
    expect(accepted).toBe(100);
    expect(s.bufferedBytes).toBeLessThanOrEqual(1000);
    // The client flooding data without acknowledging anything costs the server nothing kept.
    for (let i = 0; i < 10_000; i++) c.receive(`@${i}`);
    expect(s.received).toBe(10_000);
    expect(s.unacknowledged).toBe(100);
  });

  describe('protocol errors from the client: a close code, the session ended, nothing kept', () => {
    type Setup = ReturnType<typeof harness>;
    const cases: Array<{ name: string; code: string; close: number; run: (h: Setup) => { link: RecordingLink; receive: (m: string) => void } }> = [
      {
        name: 'data before the confirmation',
        code: 'WS_SESSION_UNEXPECTED',
        close: 1002,
        run: (h) => {
          const c = h.open([SESSION_PROTOCOL]);
          c.receive('@x');
          return c;
        },
      },
      {
        name: 'an acknowledgement before the confirmation',
        code: 'WS_SESSION_UNEXPECTED',
        close: 1002,
        run: (h) => {
          const c = h.open([SESSION_PROTOCOL]);
          c.receive('#0');
          return c;
        },
      },
      {
        name: 'a second confirmation',
        code: 'WS_SESSION_UNEXPECTED',
        close: 1002,
        run: (h) => {
          const c = h.open([SESSION_PROTOCOL]);
          c.receive('!ok');
          c.receive('!ok');
          return c;
        },
      },
      {
        name: 'a welcome from the client',
        code: 'WS_SESSION_UNEXPECTED',
        close: 1002,
        run: (h) => {
          const c = h.open([SESSION_PROTOCOL]);
          c.receive('!ok');
          c.receive(`!new ${h.tokenOf(c.link)}`);
          return c;
        },
      },
      {
        name: 'garbage framing',
        code: 'WS_SESSION_BAD_FRAME',
        close: 1002,
        run: (h) => {
          const c = h.open([SESSION_PROTOCOL]);
          c.receive('!ok');
          c.receive('#');
          return c;
        },
      },
      {
        name: 'an acknowledgement of messages never sent',
        code: 'WS_SESSION_BAD_ACK',
        close: 1002,
        run: (h) => {
          const c = h.open([SESSION_PROTOCOL]);
          c.receive('!ok');
          h.sessions[0]!.send('one');
          c.receive('#2');
          return c;
        },
      },
      {
        name: 'an acknowledgement of a message not yet written (stored but away)',
        code: 'WS_SESSION_BAD_ACK',
        close: 1002,
        run: (h) => {
          const c = h.open([SESSION_PROTOCOL]);
          c.receive('!ok');
          c.receive('1_x'); // data acknowledging 63
          return c;
        },
      },
      {
        name: 'a malformed resume offer',
        code: 'WS_SESSION_BAD_HANDSHAKE',
        close: 1002,
        run: (h) => h.open([SESSION_PROTOCOL, `${RESUME_PREFIX}not-a-token.1.2`]),
      },
    ];
    for (const t of cases) {
      it(t.name, () => {
        const h = harness();
        const c = t.run(h);
        expect(c.link.closeCode).toBe(t.close);
        expect(h.events.some((e) => e.startsWith(`error ${t.code} ${t.close}`))).toBe(true);
        if (h.sessions.length > 0) {
          expect(h.events.at(-1)).toBe(`ended ${t.code}`);
          expect(h.sessions[0]!.ended).toBe(true);
        }
        expect(h.server.size).toBe(0);
        expect(h.store.size).toBe(0);
        const written = c.link.sent.length;
        c.receive('@ignored');
        expect(c.link.sent.length).toBe(written);
        expect(c.link.afterClose).toBe(0);
      });
    }

    // A session where the server sent 3 (the client acknowledged 1) and received 2.
    const established = (h: Setup): string => {
      const c = h.open([SESSION_PROTOCOL]);
      const token = h.tokenOf(c.link);
      c.receive('!ok');
      for (const m of ['a', 'b', 'c']) h.sessions[0]!.send(m);
      c.receive('A1');
      c.receive('@2');
      c.conn.closed();
      return token;
    };
    const resumes: Array<{ name: string; code: string; close: number; received: number; sent: number }> = [
      { name: 'resume point beyond what the server sent', code: 'WS_SESSION_BAD_SEQUENCE', close: 1002, received: 4, sent: 2 },
      { name: 'resume point behind what the client acknowledged', code: 'WS_SESSION_BAD_SEQUENCE', close: 1002, received: 0, sent: 2 },
      { name: 'the client states it sent fewer than the server received', code: 'WS_SESSION_BAD_SEQUENCE', close: 1002, received: 1, sent: 1 },
      { name: 'an oversized resend', code: 'WS_SESSION_RESEND_TOO_LARGE', close: 1008, received: 1, sent: 10_003 },
    ];
    for (const t of resumes) {
      it(t.name, () => {
        const h = harness();
        const token = established(h);
        const c = h.open(resume(token, t.received, t.sent));
        expect(c.link.closeCode).toBe(t.close);
        expect(c.link.sent).toEqual([]); // no welcome, no token
        expect(h.events.slice(-2)).toEqual([`error ${t.code} ${t.close}`, `ended ${t.code}`]);
        expect(h.server.size).toBe(0);
        expect(h.store.size).toBe(0);
        expect(text(h.open(resume(token, 1, 2)).link.sent[0]!.data)).toMatch(/ unknown$/);
      });
    }

    it('a message before the welcome, while the store is answering', () => {
      const store = new DeferredStore();
      const h = harness({ store: store.view('s') as unknown as MemorySessionStore });
      const c = h.open([SESSION_PROTOCOL]);
      c.receive('!ok');
      expect(c.link.closeCode).toBe(1002);
      expect(h.events).toEqual(['error WS_SESSION_UNEXPECTED 1002 (no session)']);
      store.flush();
      // The session was created meanwhile and is simply away.
      expect(h.events.slice(1)).toEqual(['open', 'away']);
      expect(c.link.sent).toEqual([]);
    });
  });

  it('the client ending the session removes it', () => {
    const h = harness();
    const c = h.open([SESSION_PROTOCOL]);
    c.receive('!ok');
    h.send(h.sessions[0]!, 'a');
    c.receive('!end closed');
    expect(h.events.at(-1)).toBe('ended WS_SESSION_ENDED');
    expect(c.link.closeCode).toBe(1000);
    expect(h.done).toEqual(['a:WS_SESSION_ENDED']);
    expect(h.store.size).toBe(0);
  });

  it('end() tells the client and removes the session', () => {
    const h = harness();
    const c = h.open([SESSION_PROTOCOL]);
    c.receive('!ok');
    const s = h.sessions[0]!;
    s.end();
    expect(c.link.texts().at(-1)).toBe('!end closed');
    expect(c.link.closeCode).toBe(4002);
    expect(thrownCode(() => s.send('x'))).toBe('WS_SESSION_CLOSED');
    expect(h.store.size).toBe(0);
  });

  it('refuses new sessions beyond maxSessions with 1013, still resumes', () => {
    const h = harness({ maxSessions: 2 });
    const a = h.open([SESSION_PROTOCOL]);
    h.open([SESSION_PROTOCOL]);
    const c = h.open([SESSION_PROTOCOL]);
    expect(c.link.closeCode).toBe(1013);
    expect(h.events.at(-1)).toBe('error WS_SESSION_LIMIT 1013 (no session)');
    a.receive('!ok');
    a.conn.closed();
    expect(text(h.open(resume(h.tokenOf(a.link), 0, 0)).link.sent[0]!.data).startsWith('!resumed')).toBe(true);
  });

  it('a failing store ends the session with 1011', () => {
    const inner = new MemorySessionStore();
    const store: SessionStore = Object.assign(Object.create(inner) as MemorySessionStore, {
      append: () => {
        throw new Error('disk on fire');
      },
    });
    const h = harness({ store: store as MemorySessionStore });
    const c = h.open([SESSION_PROTOCOL]);
    c.receive('!ok');
    expect(thrownCode(() => h.sessions[0]!.send('x'))).toBe('none'); // accepted, then the store fails
    expect(h.events.slice(-2)).toEqual(['error WS_SESSION_STORE_FAILED 1011', 'ended WS_SESSION_STORE_FAILED']);
    expect(c.link.closeCode).toBe(1011);
  });

  it('release() lets a session go without touching the store (another server took it)', () => {
    const h = harness();
    const c = h.open([SESSION_PROTOCOL]);
    c.receive('!ok');
    const s = h.sessions[0]!;
    expect(h.server.release(s.id)).toBe(true);
    expect(c.link.texts().at(-1)).toBe('!end replaced');
    expect(c.link.closeCode).toBe(4001);
    expect(h.events.at(-1)).toBe('ended WS_SESSION_REPLACED');
    expect(h.store.size).toBe(1);
    expect(h.server.release(s.id)).toBe(false);
  });

  it('schedules standalone acknowledgements through one deadline for all sessions', () => {
    const h = harness({ ackDelay: 50, ackEvery: 10 });
    const a = h.open([SESSION_PROTOCOL]);
    const b = h.open([SESSION_PROTOCOL]);
    a.receive('!ok');
    b.receive('!ok');
    a.receive('@1');
    expect(h.timers).toEqual([50]);
    h.clock.advance(20);
    b.receive('@1');
    expect(h.server.deadline()).toBe(h.clock.now + 30);
    h.clock.advance(30);
    h.server.tick();
    expect(a.link.texts().at(-1)).toBe('#1');
    expect(b.link.texts().at(-1)).toBe('!new ' + h.tokenOf(b.link)); // not yet
    h.clock.advance(20);
    h.server.tick();
    expect(b.link.texts().at(-1)).toBe('#1');
    expect(h.server.deadline()).toBe(Infinity);
  });

  it('a session restored from the store flags what the client resends as possible redeliveries', () => {
    const store = new MemorySessionStore();
    const a = harness({ store, serverId: 'A' });
    const c1 = a.open([SESSION_PROTOCOL]);
    const t0 = a.tokenOf(c1.link);
    c1.receive('!ok');
    c1.receive('@m1');
    c1.receive('@m2');
    // Server A dies before recording m2 (the memory store records at each acknowledgement:
    // roll the record back as a remote store that lost the write would have it).
    (store.peek(a.sessions[0]!.id) as { received: number }).received = 1;
    const b = harness({ store, serverId: 'B' });
    const c2 = b.open(resume(t0, 0, 2));
    expect(text(c2.link.sent[0]!.data)).toMatch(/^!resumed \S+ 1 0$/);
    expect(b.events).toEqual(['resumed restored']);
    c2.receive('!ok');
    c2.receive('@m2');
    c2.receive('@m3');
    expect(b.events.slice(1)).toEqual(['message 2 text m2 redelivered', 'message 3 text m3']);
    // A's copy is fenced off: its next write is refused and it lets the session go.
    expect(thrownCode(() => a.sessions[0]!.send('late'))).toBe('none');
    expect(a.events.at(-1)).toBe('ended WS_SESSION_REPLACED');
  });
});
