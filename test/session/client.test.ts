/**
 * The client state machine, message in, messages and events out: every server message is fed
 * on its own, and everything the client writes is checked in order.
 */
import { describe, expect, it } from 'vitest';
import { SessionClient, type SessionClientOptions } from '../../src/session/client.js';
import { SessionError } from '../../src/session/errors.js';
import { RESUME_PREFIX, SESSION_PROTOCOL } from '../../src/session/handshake.js';
import { ackMessage, frameText } from '../../src/session/wire.js';
import { FakeClock, RecordingLink, text } from './helpers.js';

const ID = 'AAAAAAAAAAAAAAAA';
const T0 = `${ID}.bbbbbbbbbbbbbbbbbbbbbb`;
const T1 = `${ID}.cccccccccccccccccccccc`;
const T2 = `${ID}.dddddddddddddddddddddd`;

type Event = string;

function harness(options: Partial<SessionClientOptions> = {}) {
  const clock = new FakeClock();
  const events: Event[] = [];
  const client = new SessionClient({
    clock: clock.read,
    ...options,
    handler: {
      message: (m) => events.push(`message ${m.seq} ${m.binary ? 'bin' : 'text'} ${m.binary ? Buffer.from(m.data as Uint8Array).toString('hex') : text(m.data)}${m.redelivered ? ' redelivered' : ''}`),
      ready: (info) => events.push(`ready ${info.id} ${info.resumed ? 'resumed' : 'new'}`),
      reset: (err) => events.push(`reset ${err.code}`),
      error: (err) => events.push(`error ${err.code} ${err.closeCode}`),
      timer: (at) => events.push(`timer +${at - clock.now}`),
    },
  });
  const done: string[] = [];
  const send = (data: string | Uint8Array, binary?: boolean): number =>
    client.send(data, { ...(binary === undefined ? {} : { binary }), done: (err) => done.push(`${typeof data === 'string' ? data : 'bin'}:${err === null ? 'ok' : err.code}`) });
  const connect = () => {
    const protocols = client.offer();
    const link = new RecordingLink();
    const conn = client.connect(link);
    return { protocols, link, conn };
  };
  return { clock, client, events, done, send, connect };
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

describe('SessionClient', () => {
  it('queues sends until the welcome, confirms first, then sends them in order', () => {
    const h = harness();
    expect(h.client.state).toBe('idle');
    expect(h.send('q1')).toBe(1);
    expect(h.send('q2')).toBe(2);
    expect(h.client.unacknowledged).toBe(2);
    const c = h.connect();
    expect(c.protocols).toEqual([SESSION_PROTOCOL]);
    expect(h.client.state).toBe('welcome');
    expect(c.link.sent).toEqual([]); // nothing before the welcome
    c.conn.receive(`!new ${T0}`, false);
    expect(c.link.texts()).toEqual(['!ok', '@q1', '@q2']);
    expect(h.events).toEqual([`ready ${ID} new`]);
    expect(h.client.state).toBe('open');
    expect(h.client.id).toBe(ID);
    c.conn.receive(ackMessage(1), false);
    expect(h.done).toEqual(['q1:ok']);
    c.conn.receive(frameText(1, 'hello'), false);
    expect(h.done).toEqual(['q1:ok', 'q2:ok']);
    expect(h.events.slice(1)).toEqual(['message 1 text hello', 'timer +100']);
  });

  it('acknowledges: piggybacked on the next message, alone after ackDelay or ackEvery messages', () => {
    const h = harness({ ackEvery: 4, ackDelay: 50 });
    const c = h.connect();
    c.conn.receive(`!new ${T0}`, false);
    c.link.take();
    c.conn.receive('@a', false);
    c.conn.receive('@b', false);
    expect(h.client.deadline()).toBe(h.clock.now + 50);
    h.send('x');
    expect(c.link.texts()).toEqual(['Bx']); // acknowledges 2 in its tag
    expect(h.client.deadline()).toBe(Infinity);
    c.conn.receive('@c', false);
    h.clock.advance(49);
    h.client.tick();
    expect(c.link.texts()).toEqual(['Bx']);
    h.clock.advance(1);
    h.client.tick();
    expect(c.link.texts()).toEqual(['Bx', '#1']);
    for (const m of ['@d', '@e', '@f']) c.conn.receive(m, false);
    expect(c.link.texts()).toEqual(['Bx', '#1']);
    c.conn.receive('@g', false);
    expect(c.link.texts()).toEqual(['Bx', '#1', '#4']);
  });

  it('acknowledges alone after ackBytes of payload, so large messages do not wait for ackDelay', () => {
    const h = harness({ ackBytes: 10 });
    const c = h.connect();
    c.conn.receive(`!new ${T0}`, false);
    c.link.take();
    c.conn.receive('@123456789', false); // 9 bytes
    expect(c.link.texts()).toEqual([]);
    c.conn.receive(Uint8Array.of(0x40, 1), true); // 10
    expect(c.link.texts()).toEqual(['#2']);
    c.conn.receive('@123456789', false); // counting starts over after an acknowledgement
    expect(c.link.texts()).toEqual(['#2']);
  });

  it('delivers text as received (string or UTF-8 bytes) and binary as bytes, numbered', () => {
    const h = harness();
    const c = h.connect();
    c.conn.receive(new TextEncoder().encode(`!new ${T0}`), false);
    c.conn.receive(new TextEncoder().encode('@héllo'), false);
    c.conn.receive(Uint8Array.of(0x40, 1, 2, 3), true);
    c.conn.receive('@', false);
    expect(h.events.filter((e) => e.startsWith('message'))).toEqual(['message 1 text héllo', 'message 2 bin 010203', 'message 3 text ']);
  });

  it('keeps a copy of binary data and sends strings given as binary as UTF-8 bytes', () => {
    const h = harness();
    const data = Uint8Array.of(1, 2, 3);
    h.send(data);
    data[0] = 99; // the caller reuses its buffer
    h.send('é', true);
    const c = h.connect();
    c.conn.receive(`!new ${T0}`, false);
    expect(c.link.texts()).toEqual(['!ok', '<bin:40010203>', '<bin:40c3a9>']);
  });

  it('resumes: offers its token and counters, resends exactly what the server lacks, in order', () => {
    const h = harness();
    let c = h.connect();
    c.conn.receive(`!new ${T0}`, false);
    for (const s of ['m1', 'm2', 'm3', 'm4']) h.send(s);
    c.conn.receive('#1', false); // m1 acknowledged
    c.conn.receive('@s1', false);
    c.conn.receive('@s2', false);
    c.conn.closed();
    expect(h.client.state).toBe('away');
    h.send('m5'); // while away
    c = h.connect();
    expect(c.protocols).toEqual([SESSION_PROTOCOL, `${RESUME_PREFIX}${T0}.2.4`]);
    c.conn.receive(`!resumed ${T1} 2 2`, false); // the server got m1, m2; sent s1, s2
    expect(c.link.texts()).toEqual(['!ok', '@m3', '@m4', '@m5']);
    expect(h.done).toEqual(['m1:ok', 'm2:ok']);
    expect(h.events).toContain(`ready ${ID} resumed`);
    c.conn.receive('@s3', false);
    expect(h.events.filter((e) => e.startsWith('message'))).toEqual(['message 1 text s1', 'message 2 text s2', 'message 3 text s3']);
    c.conn.closed();
    expect(h.connect().protocols[1]).toBe(`${RESUME_PREFIX}${T1}.3.5`); // the rotated token
  });

  it('a refused resumption rejects everything unacknowledged and starts a new session', () => {
    const h = harness();
    let c = h.connect();
    c.conn.receive(`!new ${T0}`, false);
    h.send('a');
    h.send('b');
    c.conn.closed();
    h.send('c');
    c = h.connect();
    c.conn.receive(`!new ${T1} expired`, false);
    expect(h.done).toEqual(['a:WS_SESSION_EXPIRED', 'b:WS_SESSION_EXPIRED', 'c:WS_SESSION_EXPIRED']);
    expect(h.events.slice(-2)).toEqual(['reset WS_SESSION_EXPIRED', `ready ${ID} new`]);
    expect(c.link.texts()).toEqual(['!ok']);
    expect(h.client.unacknowledged).toBe(0);
    expect(h.send('d')).toBe(1); // numbering starts over
    expect(c.link.texts()).toEqual(['!ok', '@d']);
    for (const [refusal, code] of [['unknown', 'WS_SESSION_UNKNOWN'], ['stale', 'WS_SESSION_STALE_TOKEN']]) {
      c.conn.closed();
      c = h.connect();
      c.conn.receive(`!new ${T2} ${refusal}`, false);
      expect(h.events).toContain(`reset ${code}`);
    }
  });

  it('the server ending the session (replaced, closed, overflow) resets it', () => {
    for (const [reason, code] of [['replaced', 'WS_SESSION_REPLACED'], ['closed', 'WS_SESSION_ENDED'], ['overflow', 'WS_SESSION_OVERFLOW']]) {
      const h = harness();
      const c = h.connect();
      c.conn.receive(`!new ${T0}`, false);
      h.send('a');
      c.conn.receive(`!end ${reason}`, false);
      expect(h.done).toEqual([`a:${code}`]);
      expect(h.events.at(-1)).toBe(`reset ${code}`);
      expect(h.client.state).toBe('idle');
      c.conn.receive('@late', false); // ignored: the session let go of this connection
      c.conn.closed();
      expect(h.connect().protocols).toEqual([SESSION_PROTOCOL]);
    }
  });

  describe('protocol errors from the server close with 1002/1008 and reset the session', () => {
    const cases: Array<{ name: string; code: string; close: number; run: (c: { receive: (m: string) => void }, h: ReturnType<typeof harness>) => void; resumed?: boolean }> = [
      { name: 'data before the welcome', code: 'WS_SESSION_UNEXPECTED', close: 1002, run: (c) => c.receive('@x') },
      { name: 'an acknowledgement before the welcome', code: 'WS_SESSION_UNEXPECTED', close: 1002, run: (c) => c.receive('#1') },
      { name: 'garbage framing', code: 'WS_SESSION_BAD_FRAME', close: 1002, run: (c) => c.receive('\u0000') },
      { name: 'a malformed welcome', code: 'WS_SESSION_BAD_HANDSHAKE', close: 1002, run: (c) => c.receive('!new nonsense') },
      { name: 'an unknown control message', code: 'WS_SESSION_UNEXPECTED', close: 1002, run: (c) => c.receive('!hello') },
      { name: 'resumed when a new session was asked for', code: 'WS_SESSION_UNEXPECTED', close: 1002, run: (c) => c.receive(`!resumed ${T1} 0 0`) },
      {
        name: 'a second welcome',
        code: 'WS_SESSION_UNEXPECTED',
        close: 1002,
        run: (c) => {
          c.receive(`!new ${T0}`);
          c.receive(`!new ${T1}`);
        },
      },
      {
        name: 'an acknowledgement of messages never sent',
        code: 'WS_SESSION_BAD_ACK',
        close: 1002,
        run: (c, h) => {
          c.receive(`!new ${T0}`);
          h.send('only'); // with the queued one, 2 sent
          c.receive('#3');
        },
      },
      {
        name: 'an acknowledgement piggybacked on data beyond what was sent',
        code: 'WS_SESSION_BAD_ACK',
        close: 1002,
        run: (c) => {
          c.receive(`!new ${T0}`);
          c.receive('Bx'); // acknowledges 2, and only the queued one was sent
        },
      },
      { name: 'resumed another session', code: 'WS_SESSION_BAD_HANDSHAKE', close: 1002, resumed: true, run: (c) => c.receive(`!resumed ZZZZZZZZZZZZZZZZ.cccccccccccccccccccccc 1 1`) },
      { name: 'a resumption point beyond what was sent', code: 'WS_SESSION_BAD_SEQUENCE', close: 1002, resumed: true, run: (c) => c.receive(`!resumed ${T1} 3 1`) },
      { name: 'a resumption point behind what was acknowledged', code: 'WS_SESSION_BAD_SEQUENCE', close: 1002, resumed: true, run: (c) => c.receive(`!resumed ${T1} 0 1`) },
      { name: 'the server sent fewer than the client received', code: 'WS_SESSION_BAD_SEQUENCE', close: 1002, resumed: true, run: (c) => c.receive(`!resumed ${T1} 1 0`) },
      { name: 'an oversized resend', code: 'WS_SESSION_RESEND_TOO_LARGE', close: 1008, resumed: true, run: (c) => c.receive(`!resumed ${T1} 1 10002`) },
    ];
    for (const t of cases) {
      it(t.name, () => {
        const h = harness();
        let c = h.connect();
        if (t.resumed) {
          // A session where the client sent 2 (1 acknowledged) and received 1.
          c.conn.receive(`!new ${T0}`, false);
          h.send('a');
          h.send('b');
          c.conn.receive('Ax', false);
          c.conn.closed();
          c = h.connect();
        } else {
          h.send('queued');
        }
        const before = h.done.length;
        t.run({ receive: (m) => c.conn.receive(m, false) }, h);
        expect(c.link.closeCode).toBe(t.close);
        expect(h.events).toContain(`error ${t.code} ${t.close}`);
        expect(h.events.at(-1)).toBe(`reset ${t.code}`);
        expect(h.done.slice(before).every((d) => d.endsWith(`:${t.code}`))).toBe(true);
        expect(h.client.unacknowledged).toBe(0);
        expect(h.client.state).toBe('idle');
        // Nothing more is written on the failed connection, and input on it is ignored.
        const written = c.link.sent.length;
        c.conn.receive('@more', false);
        expect(c.link.sent.length).toBe(written);
        expect(c.link.afterClose).toBe(0);
        c.conn.closed();
        expect(h.connect().protocols).toEqual([SESSION_PROTOCOL]);
      });
    }
  });

  it('bounds the resend buffer in messages and bytes', () => {
    const h = harness({ maxMessages: 3, maxBytes: 10 });
    h.send('aaaa');
    h.send('bbbb');
    expect(thrownCode(() => h.send('ccc'))).toBe('WS_SESSION_BUFFER_FULL'); // 11 bytes
    h.send('cc');
    expect(thrownCode(() => h.send(''))).toBe('WS_SESSION_BUFFER_FULL'); // 3 messages
    expect(thrownCode(() => h.send('x'.repeat(11)))).toBe('WS_SESSION_TOO_LARGE');
    expect(h.client.unacknowledged).toBe(3);
    expect(h.client.bufferedBytes).toBe(10);
    const c = h.connect();
    c.conn.receive(`!new ${T0}`, false);
    c.conn.receive('#2', false);
    expect(h.client.unacknowledged).toBe(1);
    h.send('ddd');
    expect(() => new SessionClient({ maxMessages: 0, handler: { message: () => {} } })).toThrow(RangeError);
    expect(() => new SessionClient({ ackEvery: 0, handler: { message: () => {} } })).toThrow(RangeError);
  });

  it('close() tells the server, rejects what is pending and refuses further use', () => {
    const h = harness();
    const c = h.connect();
    c.conn.receive(`!new ${T0}`, false);
    h.send('a');
    h.client.close();
    expect(c.link.texts()).toEqual(['!ok', '@a', '!end closed']);
    expect(c.link.closeCode).toBe(1000);
    expect(h.done).toEqual(['a:WS_SESSION_CLOSED']);
    expect(h.client.state).toBe('closed');
    expect(thrownCode(() => h.send('b'))).toBe('WS_SESSION_CLOSED');
    expect(thrownCode(() => h.client.offer())).toBe('WS_SESSION_INVALID_STATE');
  });

  it('refuses offer/connect out of order', () => {
    const h = harness();
    const link = new RecordingLink();
    expect(thrownCode(() => h.client.connect(link))).toBe('WS_SESSION_INVALID_STATE');
    h.connect();
    expect(thrownCode(() => h.client.offer())).toBe('WS_SESSION_INVALID_STATE');
  });
});
