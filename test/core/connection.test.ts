import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { Connection, ConnectionState, type ConnectionOptions, type Role, type SendFlags } from '../../src/core/connection.js';
import { Opcode } from '../../src/core/constants.js';
import { ProtocolError, WebSocketError } from '../../src/core/errors.js';
import type { MessageExtension, TransformCallback } from '../../src/core/extension.js';
import {
  type ConnEvent,
  type FrameSpec,
  RecordingHandler,
  closePayload,
  connectionTarget,
  decodeFrames,
  err,
  feedAllWays,
  frame,
  frames,
  hex,
  hx,
  makeConnection,
  msg,
  pseudoRandomBytes,
  sent,
  tick,
} from './helpers.js';

const TEXT: SendFlags = { binary: false, fin: true, compress: false };
const BINARY: SendFlags = { binary: true, fin: true, compress: false };

/** Frames as the peer of `role` sends them: a client's are masked, a server's are not. */
function peer(role: Role, ...specs: FrameSpec[]): Buffer {
  const masked = role === 'server';
  return Buffer.concat(specs.map((s) => frame({ ...s, mask: s.mask ?? (masked ? pseudoRandomBytes(4, s.opcode + 17) : false) })));
}

/** Output is masked by clients only. */
const out = (role: Role, opcode: number, payload: string | Uint8Array, fin = true, rsv = 0): ConnEvent =>
  sent(opcode, payload, role === 'client', fin, rsv);

const ended = (role: Role): ConnEvent => (role === 'server' ? { type: 'endTransport' } : { type: 'awaitClose' });

/** What failing the connection produces: one close frame with the error's code, the error, the end. */
const failed = (role: Role, code: string, closeCode: number): ConnEvent[] => [
  out(role, Opcode.Close, closePayload(closeCode)),
  err(code, closeCode),
  { type: 'endTransport' },
];

function feed(input: Buffer, options: ConnectionOptions) {
  return feedAllWays(input, connectionTarget(options));
}

const ROLES: Role[] = ['server', 'client'];

describe('Connection: receiving', () => {
  it('delivers the RFC 6455 §5.7 "Hello" messages (masked to a server, unmasked to a client)', () => {
    expect(feed(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), { role: 'server' }).events).toEqual([msg('Hello')]);
    expect(feed(hex('81 05 48 65 6c 6c 6f'), { role: 'client' }).events).toEqual([msg('Hello')]);
    expect(feed(hex('01 03 48 65 6c 80 02 6c 6f'), { role: 'client' }).events).toEqual([msg('Hello')]);
  });

  it('delivers 256-byte and 64 KiB binary messages', () => {
    for (const role of ROLES) {
      const a = pseudoRandomBytes(256, 1);
      const b = pseudoRandomBytes(65536, 2);
      const input = peer(role, { opcode: 2, payload: a }, { opcode: 2, payload: b });
      expect(feedAllWays(input, connectionTarget({ role }), { maxSplits: 200 }).events).toEqual([msg(a, true), msg(b, true)]);
    }
  });

  it('answers pings between fragments at once and delivers everything in order', () => {
    for (const role of ROLES) {
      const input = peer(
        role,
        { opcode: 1, fin: false, payload: 'Hel' },
        { opcode: 9, payload: 'Hello' },
        { opcode: 0, fin: false, payload: 'l' },
        { opcode: 10, payload: 'pong!' },
        { opcode: 0, payload: 'o' },
        { opcode: 2, payload: 'after' },
      );
      expect(feed(input, { role }).events, role).toEqual([
        out(role, Opcode.Pong, 'Hello'),
        { type: 'ping', data: hx('Hello') },
        { type: 'pong', data: hx('pong!') },
        msg('Hello'),
        msg('after', true),
      ]);
    }
  });

  it('accepts a 4 MiB message in 65,536 fragments of 64 bytes with maxPayload 16 MiB', () => {
    const payload = pseudoRandomBytes(4 * 1024 * 1024, 3);
    const specs: FrameSpec[] = [];
    for (let i = 0; i < 65536; i++) {
      specs.push({ opcode: i === 0 ? 2 : 0, fin: i === 65535, payload: payload.subarray(i * 64, i * 64 + 64) });
    }
    const input = peer('server', ...specs);
    const started = performance.now();
    const { conn, handler } = makeConnection({ role: 'server', maxPayload: 16 * 1024 * 1024 });
    conn.receive(Buffer.from(input)); // a copy: the parser unmasks in place
    expect(performance.now() - started).toBeLessThan(2000);
    expect(handler.events).toEqual([msg(payload, true)]);
    const all = feedAllWays(input, connectionTarget({ role: 'server', maxPayload: 16 * 1024 * 1024 }), {
      maxSplits: 4,
      checkTiming: false,
    });
    expect(all.events).toEqual([msg(payload, true)]);
  }, 60_000);
});

describe('Connection: protocol errors fail the connection with one close frame', () => {
  type Case = [name: string, role: Role, input: Buffer, code: string, closeCode: number, options?: Partial<ConnectionOptions>];
  const cases: Case[] = [
    ['RSV1 without an extension', 'server', peer('server', { opcode: 1, payload: 'x', rsv: 0x40 }), 'WS_ERR_UNEXPECTED_RSV_1', 1002],
    ['RSV2', 'client', peer('client', { opcode: 1, payload: 'x', rsv: 0x20 }), 'WS_ERR_UNEXPECTED_RSV_2_3', 1002],
    ['RSV3', 'server', peer('server', { opcode: 2, payload: 'x', rsv: 0x10 }), 'WS_ERR_UNEXPECTED_RSV_2_3', 1002],
    ['opcode 3', 'server', peer('server', { opcode: 3, payload: 'x' }), 'WS_ERR_INVALID_OPCODE', 1002],
    ['opcode 0xB', 'client', peer('client', { opcode: 0xb }), 'WS_ERR_INVALID_OPCODE', 1002],
    ['fragmented ping', 'server', peer('server', { opcode: 9, fin: false, payload: 'x' }), 'WS_ERR_EXPECTED_FIN', 1002],
    [
      '126-byte ping',
      'client',
      peer('client', { opcode: 9, payload: Buffer.alloc(126) }),
      'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
      1002,
    ],
    ['unmasked frame to a server', 'server', frame({ opcode: 1, payload: 'Hello' }), 'WS_ERR_EXPECTED_MASK', 1002],
    ['masked frame to a client', 'client', frame({ opcode: 1, payload: 'Hello', mask: true }), 'WS_ERR_UNEXPECTED_MASK', 1002],
    [
      '64-bit length with the top bit set',
      'client',
      frame({ opcode: 2, declaredLength: 0x8000000000000001n, headerOnly: true }),
      'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
      1002,
    ],
    [
      'declared length above maxPayload (header only)',
      'server',
      frame({ opcode: 2, declaredLength: 1025, headerOnly: true, mask: true }),
      'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      1009,
      { maxPayload: 1024 },
    ],
    ['continuation without a message', 'server', peer('server', { opcode: 0, payload: 'x' }), 'WS_ERR_UNEXPECTED_CONTINUATION', 1002],
    [
      'text frame during a fragmented message',
      'client',
      peer('client', { opcode: 1, fin: false, payload: 'a' }, { opcode: 1, payload: 'b' }),
      'WS_ERR_EXPECTED_CONTINUATION',
      1002,
    ],
    [
      'message larger than maxPayload across fragments',
      'server',
      peer('server', { opcode: 2, fin: false, payload: Buffer.alloc(600) }, { opcode: 0, payload: Buffer.alloc(425) }),
      'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      1009,
      { maxPayload: 1024 },
    ],
    [
      'too many fragments',
      'server',
      peer('server', { opcode: 2, fin: false }, { opcode: 0, fin: false }, { opcode: 0, fin: false }),
      'WS_ERR_TOO_MANY_FRAGMENTS',
      1009,
      { maxFragments: 2 },
    ],
    [
      'invalid UTF-8 in the 2nd of 3 fragments',
      'server',
      peer('server', { opcode: 1, fin: false, payload: 'ok' }, { opcode: 0, fin: false, payload: hex('c0 af') }),
      'WS_ERR_INVALID_UTF8',
      1007,
    ],
    ['close frame with a 1-byte payload', 'server', peer('server', { opcode: 8, payload: hex('03') }), 'WS_ERR_INVALID_CLOSE_PAYLOAD', 1002],
    ['close frame with a 1-byte payload', 'client', peer('client', { opcode: 8, payload: hex('03') }), 'WS_ERR_INVALID_CLOSE_PAYLOAD', 1002],
    [
      'close reason that is not UTF-8',
      'client',
      peer('client', { opcode: 8, payload: closePayload(1000, hex('ce ba e1 bd')) }),
      'WS_ERR_INVALID_UTF8',
      1007,
    ],
  ];
  for (const [name, role, input, code, closeCode, options] of cases) {
    it(`${name} (${role}) → ${closeCode} ${code}`, () => {
      // Valid frames after the bad input are ignored.
      const trailing = peer(role, { opcode: 1, payload: 'ignored' }, { opcode: 9, payload: 'p' });
      const target = connectionTarget({ role, ...options });
      const { events, positions } = feedAllWays(input, target);
      expect(events).toEqual(failed(role, code, closeCode));
      expect(new Set(positions).size).toBe(1);
      const t = target();
      t.push(Buffer.from(input));
      t.push(trailing);
      expect(t.events).toEqual(failed(role, code, closeCode));
      expect(t.conn.state).toBe(ConnectionState.Closing);
      expect(t.conn.closeSent).toBe(true);
      expect(t.conn.closeReceived).toBe(false);
    });
  }

  it('fails when the header that declares a too-long length arrives, before any payload byte', () => {
    const header = frame({ opcode: 2, declaredLength: 70000, headerOnly: true, mask: true });
    const { events, positions } = feedAllWays(header, connectionTarget({ role: 'server', maxPayload: 65536 }));
    expect(events).toEqual(failed('server', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009));
    expect(positions).toEqual([14, 14, 14]);
  });

  it('fails a fragmented text message when its 2nd fragment holds invalid UTF-8, before the 3rd arrives', () => {
    const f1 = peer('server', { opcode: 1, fin: false, payload: 'abc' });
    const f2 = peer('server', { opcode: 0, fin: false, payload: hex('61 f5 62') });
    const f3 = peer('server', { opcode: 0, payload: 'z' });
    const { events, positions } = feed(Buffer.concat([f1, f2, f3]), { role: 'server' });
    expect(events).toEqual(failed('server', 'WS_ERR_INVALID_UTF8', 1007));
    expect(positions[0]).toBe(f1.length + 6 + 2);
  });

  it('rejects every close code that may not be sent with 1002', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
      const input = peer('server', { opcode: 8, payload: closePayload(code, 'x') });
      expect(feed(input, { role: 'server' }).events, `code ${code}`).toEqual(failed('server', 'WS_ERR_INVALID_CLOSE_CODE', 1002));
    }
  });
});

describe('Connection: the close handshake (RFC 6455 §5.5.1, §7)', () => {
  it('reports an empty close frame as 1005 and answers with an empty close frame', () => {
    for (const role of ROLES) {
      const { events } = feed(peer(role, { opcode: 8 }), { role });
      expect(events, role).toEqual([{ type: 'closeFrame', code: 1005, reason: '' }, out(role, Opcode.Close, ''), ended(role)]);
    }
  });

  it('answers close 1000 "bye" with 1000 (echoing the reason); server ends the transport, client awaits the server', () => {
    for (const role of ROLES) {
      const { events } = feed(peer(role, { opcode: 8, payload: closePayload(1000, 'bye') }), { role });
      expect(events, role).toEqual([
        { type: 'closeFrame', code: 1000, reason: hx('bye') },
        out(role, Opcode.Close, hex('03e8 627965')),
        ended(role),
      ]);
      const { conn } = makeConnection({ role });
      conn.receive(peer(role, { opcode: 8, payload: closePayload(1000, 'bye') }));
      expect(conn.state).toBe(ConnectionState.Closing);
      expect(conn.closeReceived).toBe(true);
      expect(conn.closeSent).toBe(true);
      expect(conn.closeCode).toBe(1000);
      expect(conn.closeReason.toString()).toBe('bye');
    }
  });

  it('echoes every valid close code', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      const { events } = feed(peer('client', { opcode: 8, payload: closePayload(code, 'é') }), { role: 'client' });
      expect(events, `code ${code}`).toEqual([
        { type: 'closeFrame', code, reason: hx('é') },
        out('client', Opcode.Close, closePayload(code, 'é')),
        { type: 'awaitClose' },
      ]);
    }
  });

  it('accepts a close frame with a 123-byte reason, delivered in pieces', () => {
    const reason = 'r'.repeat(120) + '€';
    const { events } = feed(peer('server', { opcode: 8, payload: closePayload(4000, reason) }), { role: 'server' });
    expect(events).toEqual([
      { type: 'closeFrame', code: 4000, reason: hx(reason) },
      out('server', Opcode.Close, closePayload(4000, reason)),
      { type: 'endTransport' },
    ]);
  });

  it('ignores every frame after the close frame, in the same chunk and later', () => {
    for (const role of ROLES) {
      const input = peer(
        role,
        { opcode: 1, payload: 'before' },
        { opcode: 8, payload: closePayload(1001) },
        { opcode: 1, payload: 'after' },
        { opcode: 9, payload: 'ping' },
        { opcode: 3 }, // would be a protocol error
      );
      const target = connectionTarget({ role });
      const expected: ConnEvent[] = [
        msg('before'),
        { type: 'closeFrame', code: 1001, reason: '' },
        out(role, Opcode.Close, closePayload(1001)),
        ended(role),
      ];
      expect(feedAllWays(input, target).events, role).toEqual(expected);
      const t = target();
      t.push(Buffer.from(input));
      t.push(peer(role, { opcode: 1, payload: 'later' }));
      expect(t.events).toEqual(expected);
    }
  });

  it('drops a fragmented message cut short by a close frame', () => {
    const input = peer('server', { opcode: 1, fin: false, payload: 'part' }, { opcode: 8 }, { opcode: 0, payload: 'rest' });
    expect(feed(input, { role: 'server' }).events).toEqual([
      { type: 'closeFrame', code: 1005, reason: '' },
      out('server', Opcode.Close, ''),
      { type: 'endTransport' },
    ]);
  });

  it('server-initiated: close() sends once and awaits; the answer ends the transport without a second close frame', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.close(1000, 'done');
    expect(conn.state).toBe(ConnectionState.Closing);
    expect(handler.events).toEqual([out('server', Opcode.Close, closePayload(1000, 'done')), { type: 'awaitClose' }]);
    expect(handler.written()).toEqual(hex('88 06 03 e8 64 6f 6e 65'));
    const input = peer('server', { opcode: 1, payload: 'still delivered' }, { opcode: 8, payload: closePayload(1000) });
    const target = connectionTarget({ role: 'server' }, undefined, undefined, (c) => {
      c.close(1000, 'done');
      c.close(1001);
    });
    expect(feedAllWays(input, target).events).toEqual([
      out('server', Opcode.Close, closePayload(1000, 'done')),
      { type: 'awaitClose' },
      msg('still delivered'),
      { type: 'closeFrame', code: 1000, reason: '' },
      { type: 'endTransport' },
    ]);
  });

  it('client-initiated: close() sends a masked close frame; the answer leaves closing TCP to the server', () => {
    const target = connectionTarget({ role: 'client' }, undefined, undefined, (c) => c.close(4321, 'bye'));
    const { events } = feedAllWays(peer('client', { opcode: 8, payload: closePayload(4321) }), target);
    expect(events).toEqual([
      out('client', Opcode.Close, closePayload(4321, 'bye')),
      { type: 'awaitClose' },
      { type: 'closeFrame', code: 4321, reason: '' },
      { type: 'awaitClose' },
    ]);
  });

  it('close() without a code sends an empty close frame', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.close();
    expect(handler.written()).toEqual(hex('88 00'));
  });

  it('close() with an invalid code throws TypeError and writes nothing', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, -1, Number.NaN]) {
      const { conn, handler } = makeConnection({ role: 'server' });
      expect(() => conn.close(code), `code ${code}`).toThrow(TypeError);
      expect(handler.writes).toEqual([]);
      expect(handler.events).toEqual([]);
      expect(conn.state).toBe(ConnectionState.Open);
      expect(conn.closeSent).toBe(false);
    }
  });

  it('close(undefined, reason) sends an empty close frame: the reason needs a code (as in ws)', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.close(undefined, 'reason without a code');
    expect(handler.written()).toEqual(hex('88 00'));
  });

  it('close() with a 124-byte reason throws RangeError and writes nothing; 123 bytes is fine', () => {
    for (const reason of ['x'.repeat(124), 'é'.repeat(62), Buffer.alloc(124, 0x61)]) {
      const { conn, handler } = makeConnection({ role: 'client' });
      expect(() => conn.close(1000, reason)).toThrow(RangeError);
      expect(handler.writes).toEqual([]);
      expect(conn.state).toBe(ConnectionState.Open);
      conn.send(Buffer.from('still open'), TEXT);
      expect(handler.sentFrames()).toHaveLength(1);
    }
    const { conn, handler } = makeConnection({ role: 'client' });
    conn.close(1000, 'x'.repeat(123));
    expect(handler.sentFrames()).toEqual([
      { fin: true, rsv: 0, opcode: 8, masked: true, payload: closePayload(1000, 'x'.repeat(123)) },
    ]);
  });

  it('close() after a close was received and answered does nothing more', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.receive(peer('server', { opcode: 8 }));
    const before = handler.events.length;
    conn.close(1000);
    expect(handler.events.length).toBe(before);
  });

  it('receiveEnd() closes the connection for good', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.receiveEnd();
    expect(conn.state).toBe(ConnectionState.Closed);
    conn.receive(peer('server', { opcode: 1, payload: 'x' }));
    conn.close(1000);
    conn.fail(new ProtocolError('WS_ERR_INVALID_UTF8', 1007, 'x'));
    expect(handler.events).toEqual([]);
  });
});

describe('Connection: fail()', () => {
  it('sends exactly one close frame with the error\'s close code', () => {
    for (const role of ROLES) {
      const { conn, handler } = makeConnection({ role });
      conn.fail(new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, 'too big'));
      conn.fail(new ProtocolError('WS_ERR_INVALID_UTF8', 1007, 'again'));
      conn.close(1000);
      conn.receive(peer(role, { opcode: 1, payload: 'x' }));
      const closes = handler.sentFrames().filter((f) => f.opcode === Opcode.Close);
      expect(closes).toHaveLength(1);
      expect(closes[0]!.payload).toEqual(closePayload(1009));
      expect(handler.events.slice(0, 3)).toEqual(failed(role, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009));
      expect(handler.events.filter((e) => e.type === 'message')).toEqual([]);
      expect(conn.state).toBe(ConnectionState.Closing);
    }
  });

  it('uses 1011 for an error without a close code', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.fail(new WebSocketError('WS_ERR_EXTENSION_FAILED', 'timeout'));
    expect(handler.events).toEqual([out('server', Opcode.Close, closePayload(1011)), err('WS_ERR_EXTENSION_FAILED', null), { type: 'endTransport' }]);
  });

  it('sends no second close frame when one was sent already', () => {
    const target = connectionTarget({ role: 'client' }, undefined, undefined, (c) => c.close(1000));
    const { events } = feedAllWays(frame({ opcode: 1, payload: hex('ff') }), target);
    expect(events).toEqual([
      out('client', Opcode.Close, closePayload(1000)),
      { type: 'awaitClose' },
      err('WS_ERR_INVALID_UTF8', 1007),
      { type: 'endTransport' },
    ]);
  });
});

describe('Connection: limits shared by connections', () => {
  it('limits passed apart from the options apply to each connection that shares them', () => {
    const limits = { maxPayload: 4, skipUTF8Validation: true };
    const events = ROLES.map((role) => {
      const handler = new RecordingHandler();
      const conn = new Connection(handler, { role, maxPayload: 1024 }, limits);
      // Not valid UTF-8, but skipUTF8Validation comes from the shared limits.
      conn.receive(peer(role, { opcode: 1, payload: hex('ff') }, { opcode: 2, payload: 'abcde' }));
      return handler.events;
    });
    for (const [i, role] of ROLES.entries()) {
      expect(events[i]).toEqual([{ type: 'message', data: 'ff', binary: false }, ...failed(role, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009)]);
    }
  });

  it('a connection that received nothing reads the limits when its first frame arrives', () => {
    const handler = new RecordingHandler();
    const conn = new Connection(handler, { role: 'server' }, { maxPayload: 1024 });
    expect(conn.bufferedInbound).toBe(0);
    conn.receive(peer('server', { opcode: 2, payload: pseudoRandomBytes(2048) }));
    expect(handler.events).toEqual(failed('server', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009));
  });
});

describe('Connection: ping and pong (RFC 6455 §5.5.2, §5.5.3)', () => {
  it('answers the §5.7 ping with a pong carrying the same payload (server: unmasked)', () => {
    const { events } = feed(frame({ opcode: 9, payload: 'Hello', mask: true }), { role: 'server' });
    expect(events).toEqual([sent(Opcode.Pong, 'Hello', false), { type: 'ping', data: hx('Hello') }]);
    const t = connectionTarget({ role: 'server' })();
    t.push(frame({ opcode: 9, payload: 'Hello', mask: true }));
    expect(t.handler.written()).toEqual(hex('8a 05 48 65 6c 6c 6f'));
  });

  it('answers with a masked pong as a client (the §5.7 masked pong)', () => {
    const t = connectionTarget({ role: 'client' })();
    t.push(hex('89 05 48 65 6c 6c 6f'));
    const bytes = t.handler.written();
    expect(bytes.subarray(0, 2)).toEqual(hex('8a 85'));
    expect(decodeFrames(bytes).frames).toEqual([{ fin: true, rsv: 0, opcode: 10, masked: true, payload: Buffer.from('Hello') }]);
  });

  it('answers empty and 125-byte pings, including ones delivered in pieces', () => {
    for (const role of ROLES) {
      const big = pseudoRandomBytes(125, 9);
      const { events } = feed(peer(role, { opcode: 9 }, { opcode: 9, payload: big }), { role });
      expect(events).toEqual([out(role, Opcode.Pong, ''), { type: 'ping', data: '' }, out(role, Opcode.Pong, big), { type: 'ping', data: hx(big) }]);
    }
  });

  it('does not answer when autoPong is false, but reports the ping', () => {
    const { events } = feed(peer('server', { opcode: 9, payload: 'x' }), { role: 'server', autoPong: false });
    expect(events).toEqual([{ type: 'ping', data: hx('x') }]);
    const target = connectionTarget({ role: 'server' }, undefined, undefined, (c) => (c.autoPong = false));
    expect(feedAllWays(peer('server', { opcode: 9, payload: 'x' }), target).events).toEqual([{ type: 'ping', data: hx('x') }]);
  });

  it('does not answer a ping after a close frame was sent', () => {
    for (const role of ROLES) {
      const target = connectionTarget({ role }, undefined, undefined, (c) => c.close(1000));
      const { events } = feedAllWays(peer(role, { opcode: 9, payload: 'late' }), target);
      expect(events).toEqual([out(role, Opcode.Close, closePayload(1000)), { type: 'awaitClose' }, { type: 'ping', data: hx('late') }]);
    }
  });

  it('reports pongs and does not answer them', () => {
    expect(feed(peer('client', { opcode: 10, payload: 'p' }), { role: 'client' }).events).toEqual([{ type: 'pong', data: hx('p') }]);
  });

  it('ping() and pong() write control frames', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.ping(Buffer.from('a'));
    conn.pong(Buffer.from('b'));
    expect(handler.written()).toEqual(hex('89 01 61 8a 01 62'));
  });
});

describe('Connection: sending', () => {
  it('writes server frames unmasked, byte for byte', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.send(Buffer.from('Hello'), TEXT);
    conn.send(pseudoRandomBytes(256, 1), BINARY);
    expect(handler.written()).toEqual(Buffer.concat([hex('81 05 48 65 6c 6c 6f'), hex('82 7e 01 00'), pseudoRandomBytes(256, 1)]));
  });

  it('sends fragments with continuation opcodes and starts the next message afresh', () => {
    for (const role of ROLES) {
      const { conn, handler } = makeConnection({ role });
      conn.send(Buffer.from('Hel'), { binary: false, fin: false, compress: false });
      conn.ping(Buffer.from('between'));
      conn.send(Buffer.from('l'), { binary: true, fin: false, compress: false }); // binary ignored mid-message
      conn.send(Buffer.from('o'), { binary: false, fin: true, compress: false });
      conn.send(Buffer.from('next'), BINARY);
      expect(handler.events, role).toEqual([
        out(role, Opcode.Text, 'Hel', false),
        out(role, Opcode.Ping, 'between'),
        out(role, Opcode.Continuation, 'l', false),
        out(role, Opcode.Continuation, 'o', true),
        out(role, Opcode.Binary, 'next'),
      ]);
    }
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.send(Buffer.from('Hel'), { binary: false, fin: false, compress: false });
    conn.send(Buffer.from('lo'), TEXT);
    expect(handler.written()).toEqual(hex('01 03 48 65 6c 80 02 6c 6f'));
  });

  it('masks client frames with the key in each header and never modifies the caller\'s buffer', () => {
    const { conn, handler } = makeConnection({ role: 'client' });
    const lengths = [0, 1, 5, 125, 126, 127, 128, 129, 4096, 4097, 65535, 65536, 70000];
    const payloads = lengths.map((n) => pseudoRandomBytes(n, n + 1));
    const copies = payloads.map((p) => hx(p));
    for (const p of payloads) conn.send(p, BINARY);
    payloads.forEach((p, i) => expect(hx(p), `length ${lengths[i]}`).toBe(copies[i]));
    const decoded = handler.sentFrames();
    expect(decoded.map((f) => [f.opcode, f.masked, hx(f.payload)])).toEqual(payloads.map((p) => [2, true, hx(p)]));
    // The key travels in the header; the bytes on the wire are not the plain payload.
    const first = handler.writes[2]!;
    expect(first.subarray(0, 2)).toEqual(hex('82 85'));
    expect(first.subarray(6).equals(payloads[2]!)).toBe(false);
  });

  it('calls back once the frame was handed to the transport', async () => {
    const { conn } = makeConnection({ role: 'server' });
    const calls: unknown[] = [];
    conn.send(Buffer.from('x'), TEXT, (e) => calls.push(e ?? null));
    conn.send(Buffer.alloc(10000), BINARY, (e) => calls.push(e ?? null));
    await tick();
    expect(calls).toEqual([null, null]);
  });

  it('calls back with WS_ERR_NOT_OPEN and writes nothing after close() / a close frame / fail / the end', async () => {
    const setups: [string, (c: Connection) => void][] = [
      ['close()', (c) => c.close(1000)],
      ['close frame received', (c) => c.receive(peer('server', { opcode: 8 }))],
      ['fail()', (c) => c.fail(new ProtocolError('WS_ERR_INVALID_UTF8', 1007, 'x'))],
      ['receiveEnd()', (c) => c.receiveEnd()],
    ];
    for (const [name, setup] of setups) {
      const { conn, handler } = makeConnection({ role: 'server' });
      setup(conn);
      const writes = handler.writes.length;
      const errors: unknown[] = [];
      conn.send(Buffer.from('late'), TEXT, (e) => errors.push(e));
      expect(errors, `${name}: called back asynchronously`).toEqual([]);
      await tick();
      expect(handler.writes.length, name).toBe(writes);
      expect(errors, name).toHaveLength(1);
      expect(errors[0], name).toBeInstanceOf(WebSocketError);
      expect((errors[0] as WebSocketError).code, name).toBe('WS_ERR_NOT_OPEN');
      // No callback: no throw either.
      expect(() => conn.send(Buffer.from('late'), TEXT)).not.toThrow();
    }
  });
});

describe('Connection: pause() and resume()', () => {
  const input = peer(
    'server',
    { opcode: 1, payload: 'one' },
    { opcode: 2, fin: false, payload: 'tw' },
    { opcode: 0, payload: 'o' },
    { opcode: 9, payload: 'p' },
    { opcode: 1, payload: 'three' },
    { opcode: 8, payload: closePayload(1000) },
  );
  const all: ConnEvent[] = [
    msg('one'),
    msg('two', true),
    sent(Opcode.Pong, 'p', false),
    { type: 'ping', data: hx('p') },
    msg('three'),
    { type: 'closeFrame', code: 1000, reason: '' },
    sent(Opcode.Close, hex('03e8'), false),
    { type: 'endTransport' },
  ];

  it('pausing in each message handler holds the rest (same chunk included); resume delivers it in order', () => {
    const { events } = feedAllWays(
      input,
      connectionTarget(
        { role: 'server' },
        (conn) => ({ onMessage: () => conn.pause(), onPing: () => conn.pause() }),
        (conn) => {
          while (conn.isPaused) conn.resume();
        },
      ),
      { checkTiming: false },
    );
    expect(events).toEqual(all);
  });

  it('holds everything while paused and reports the held bytes', () => {
    const { conn, handler } = makeConnection({ role: 'server' }, (c) => ({ onMessage: (d) => (d.toString() === 'one' ? c.pause() : undefined) }));
    conn.receive(Buffer.from(input));
    expect(handler.events).toEqual([msg('one')]);
    expect(conn.isPaused).toBe(true);
    expect(conn.bufferedInbound).toBe(input.length - 9);
    conn.resume();
    expect(conn.isPaused).toBe(false);
    expect(handler.events).toEqual(all);
    expect(conn.bufferedInbound).toBe(0);
  });

  it('holds input that arrives while paused, byte by byte, until resume', () => {
    const { conn, handler } = makeConnection({ role: 'server' });
    conn.pause();
    const copy = Buffer.from(input);
    for (let i = 0; i < copy.length; i++) conn.receive(copy.subarray(i, i + 1));
    expect(handler.events).toEqual([]);
    expect(conn.bufferedInbound).toBe(input.length);
    conn.resume();
    expect(handler.events).toEqual(all);
  });

  it('regression: pause()+resume() inside a handler while held chunks are delivered keeps wire order', () => {
    let first = true;
    const { conn, handler } = makeConnection({ role: 'server' }, (c) => ({
      onMessage: () => {
        if (!first) return;
        first = false;
        c.pause();
        c.resume();
      },
    }));
    conn.pause();
    conn.receive(Buffer.from(input.subarray(0, 20))); // "one" and part of "tw"
    conn.receive(Buffer.from(input.subarray(20)));
    conn.resume();
    expect(handler.events).toEqual(all);
  });
});

/** A stand-in extension on RSV1: decodes by reversing the bytes, encodes likewise. */
class ReverseExtension implements MessageExtension {
  readonly name = 'x-reverse';
  readonly rsv = 0x40;
  mode: 'async' | 'sync' | 'manual' = 'async';
  decodeError: Error | null = null;
  /** Decoded output override (e.g. invalid UTF-8). */
  decodeOutput: Buffer | null = null;
  encodeError: Error | null = null;
  pendingDecodes: (() => void)[] = [];
  pendingEncodes: (() => void)[] = [];
  disposed = 0;

  decode(data: Buffer, callback: TransformCallback): void {
    const result = this.decodeOutput ?? Buffer.from(data).reverse();
    const done = (): void => (this.decodeError ? callback(this.decodeError) : callback(null, result));
    this.schedule(done, this.pendingDecodes);
  }

  shouldEncode(length: number): boolean {
    return length >= 2;
  }

  encode(data: Buffer, _fin: boolean, callback: TransformCallback): void {
    const result = Buffer.from(data).reverse();
    this.schedule(() => (this.encodeError ? callback(this.encodeError) : callback(null, result)), this.pendingEncodes);
  }

  dispose(): void {
    this.disposed++;
  }

  private schedule(fn: () => void, manual: (() => void)[]): void {
    if (this.mode === 'sync') fn();
    else if (this.mode === 'manual') manual.push(fn);
    else setImmediate(fn);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
}

/** Feeds chunks with a pause for async work between them; returns the events once all is settled. */
async function feedAsync(input: Buffer, cuts: number[], make: () => { conn: Connection; handler: RecordingHandler }, awaitBetween: boolean) {
  const { conn, handler } = make();
  const copy = Buffer.from(input);
  let start = 0;
  for (const end of [...cuts, copy.length]) {
    if (end > start) conn.receive(Buffer.from(copy.subarray(start, end)));
    start = end;
    if (awaitBetween) await tick();
  }
  await settle();
  return handler.events;
}

/** Like feedAllWays, for inputs whose handling completes asynchronously. */
async function feedAllWaysAsync(input: Buffer, make: () => { conn: Connection; handler: RecordingHandler }): Promise<ConnEvent[]> {
  const whole = await feedAsync(input, [], make, false);
  const bytes = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
  expect(await feedAsync(input, bytes, make, false), 'one byte at a time').toEqual(whole);
  expect(await feedAsync(input, bytes, make, true), 'one byte at a time, settling in between').toEqual(whole);
  for (const k of bytes) expect(await feedAsync(input, [k], make, true), `split at ${k}`).toEqual(whole);
  return whole;
}

describe('Connection: with an extension (RSV1, asynchronous decode)', () => {
  const make = (setup?: (ext: ReverseExtension) => void, role: Role = 'server') => () => {
    const ext = new ReverseExtension();
    setup?.(ext);
    return makeConnection({ role, extension: ext });
  };

  it('keeps message order: decoded messages, later uncompressed messages and control frames', async () => {
    const input = peer(
      'server',
      { opcode: 2, rsv: 0x40, payload: 'cba' },
      { opcode: 1, payload: 'plain' },
      { opcode: 1, rsv: 0x40, fin: false, payload: 'ol' },
      { opcode: 0, payload: 'leh' },
      { opcode: 9, payload: 'p' },
      { opcode: 2, payload: 'last' },
    );
    const events = await feedAllWaysAsync(input, make());
    expect(events).toEqual([
      { type: 'setReading', reading: false },
      msg('abc', true),
      { type: 'setReading', reading: true },
      msg('plain'),
      { type: 'setReading', reading: false },
      msg('hello'),
      { type: 'setReading', reading: true },
      sent(Opcode.Pong, 'p', false),
      { type: 'ping', data: hx('p') },
      msg('last', true),
    ]);
  });

  it('holds later frames while a message is decoded', async () => {
    const { conn, handler } = make((e) => (e.mode = 'manual'))();
    const ext = (conn as unknown as { extension: ReverseExtension }).extension;
    conn.receive(peer('server', { opcode: 2, rsv: 0x40, payload: 'ab' }, { opcode: 1, payload: 'x' }, { opcode: 9, payload: 'p' }));
    expect(handler.events).toEqual([{ type: 'setReading', reading: false }]);
    expect(conn.bufferedInbound).toBeGreaterThan(0);
    ext.pendingDecodes.shift()!();
    expect(handler.events).toEqual([
      { type: 'setReading', reading: false },
      msg('ba', true),
      { type: 'setReading', reading: true },
      msg('x'),
      sent(Opcode.Pong, 'p', false),
      { type: 'ping', data: hx('p') },
    ]);
  });

  it('fails with the decode error\'s close code and delivers nothing after it', async () => {
    const input = peer('server', { opcode: 2, rsv: 0x40, payload: 'zz' }, { opcode: 1, payload: 'after' });
    const events = await feedAllWaysAsync(
      input,
      make((e) => (e.decodeError = new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', 1007, 'bad data'))),
    );
    expect(events).toEqual([{ type: 'setReading', reading: false }, ...failed('server', 'WS_ERR_INVALID_COMPRESSED_DATA', 1007)]);
    const tooBig = await feedAllWaysAsync(input, make((e) => (e.decodeError = new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, 'big'))));
    expect(tooBig).toEqual([{ type: 'setReading', reading: false }, ...failed('server', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009)]);
  });

  it('fails with 1007 when a decoded text message is not UTF-8', async () => {
    const input = peer('server', { opcode: 1, rsv: 0x40, payload: 'zz' });
    const events = await feedAllWaysAsync(input, make((e) => (e.decodeOutput = hex('61 ff'))));
    expect(events).toEqual([{ type: 'setReading', reading: false }, ...failed('server', 'WS_ERR_INVALID_UTF8', 1007)]);
  });

  it('a decode error that is not a WebSocketError fails with 1011 instead of throwing', () => {
    const { conn, handler } = make((e) => {
      e.mode = 'manual';
      e.decodeError = new Error('zlib exploded');
    })();
    const ext = (conn as unknown as { extension: ReverseExtension }).extension;
    conn.receive(peer('server', { opcode: 2, rsv: 0x40, payload: 'zz' }));
    expect(() => ext.pendingDecodes.shift()!()).not.toThrow();
    expect(handler.sentFrames().map((f) => [f.opcode, hx(f.payload)])).toEqual([[Opcode.Close, hx(closePayload(1011))]]);
    expect(handler.events.filter((e) => e.type === 'error')).toHaveLength(1);
    expect(handler.events.at(-1)).toEqual({ type: 'endTransport' });
  });

  it('with a synchronous decode, held chunks are still delivered in wire order', () => {
    const { conn, handler } = make((e) => (e.mode = 'sync'))();
    const input = peer('server', { opcode: 2, rsv: 0x40, payload: 'cba' }, { opcode: 1, payload: 'two' }, { opcode: 1, payload: 'three' });
    conn.pause();
    conn.receive(Buffer.from(input.subarray(0, 12))); // all of frame 1 (9 bytes) and part of frame 2
    conn.receive(Buffer.from(input.subarray(12)));
    conn.resume();
    expect(handler.events.filter((e) => e.type === 'message')).toEqual([msg('abc', true), msg('two'), msg('three')]);
  });

  it('rejects RSV1 on continuation and control frames, and RSV2, with 1002', () => {
    const cases: [Buffer, string][] = [
      [peer('server', { opcode: 1, rsv: 0x40, fin: false, payload: 'a' }, { opcode: 0, rsv: 0x40, payload: 'b' }), 'WS_ERR_UNEXPECTED_RSV_1'],
      [peer('server', { opcode: 9, rsv: 0x40, payload: 'a' }), 'WS_ERR_UNEXPECTED_RSV_1'],
      [peer('server', { opcode: 1, rsv: 0x20, payload: 'a' }), 'WS_ERR_UNEXPECTED_RSV_2_3'],
    ];
    for (const [input, code] of cases) {
      const { events } = feedAllWays(input, () => {
        const { conn, handler } = make()();
        return { events: handler.events, push: (c: Buffer) => conn.receive(c) };
      });
      expect(events, code).toEqual(failed('server', code, 1002));
    }
  });

  it('regression: a message still being decoded when the transport ends is delivered, with the frames held behind it, before the end', async () => {
    // The compressed message and the peer's close frame arrive in one read, followed by the end
    // of the input: once lost (the end stopped the parser and dropped the decode).
    const { conn, handler } = make()();
    const ext = (conn as unknown as { extension: ReverseExtension }).extension;
    conn.receive(peer('server', { opcode: 2, rsv: 0x40, payload: 'ab' }, { opcode: 8, payload: closePayload(1000) }));
    expect(conn.receiveEnd()).toBe(false);
    expect(conn.receiveEnd()).toBe(false);
    expect(ext.disposed).toBe(0);
    await settle();
    const events = handler.events.filter((e) => e.type !== 'frame');
    expect(events).toEqual([
      { type: 'setReading', reading: false },
      msg('ba', true),
      { type: 'setReading', reading: true },
      { type: 'closeFrame', code: 1000, reason: '' },
      { type: 'endTransport' },
      { type: 'inputFinished' },
    ]);
    expect(conn.state).toBe(ConnectionState.Closed);
    expect(conn.receiveEnd()).toBe(true);
    expect(ext.disposed).toBe(1);
  });

  it('delivers every message received before the end at every split point, even while paused, then finishes once', async () => {
    const input = peer(
      'server',
      { opcode: 2, rsv: 0x40, payload: 'cba' },
      { opcode: 1, payload: 'plain' },
      { opcode: 2, rsv: 0x40, payload: 'fed' },
      { opcode: 8, payload: closePayload(1001) },
    );
    const expected = [msg('abc', true), msg('plain'), msg('def', true), { type: 'closeFrame', code: 1001, reason: '' }];
    for (const paused of [false, true]) {
      for (let cut = 0; cut <= input.length; cut++) {
        const { conn, handler } = make()();
        if (paused) conn.pause();
        conn.receive(Buffer.from(input.subarray(0, cut)));
        await tick();
        conn.receive(Buffer.from(input.subarray(cut)));
        const finished = conn.receiveEnd();
        await settle();
        const delivered = handler.events.filter((e) => e.type === 'message' || e.type === 'closeFrame');
        expect(delivered, `paused ${paused}, cut ${cut}`).toEqual(expected);
        expect(handler.events.filter((e) => e.type === 'inputFinished'), `cut ${cut}`).toHaveLength(finished ? 0 : 1);
        expect(conn.state).toBe(ConnectionState.Closed);
      }
    }
  });

  it('fails sends waiting for the encoder at the end, and accepts none while held input is delivered', async () => {
    const { conn, handler } = make()();
    const calls: unknown[] = [];
    conn.receive(peer('server', { opcode: 2, rsv: 0x40, payload: 'ab' }));
    conn.send(Buffer.from('queued'), { binary: true, fin: true, compress: true }, (e) => calls.push(e));
    expect(conn.receiveEnd()).toBe(false);
    conn.send(Buffer.from('late'), { binary: true, fin: true, compress: false }, (e) => calls.push(e));
    conn.ping(Buffer.from('p'), (e) => calls.push(e));
    await settle();
    expect(calls).toHaveLength(3);
    for (const e of calls) expect((e as WebSocketError).code).toBe('WS_ERR_NOT_OPEN');
    expect(handler.sentFrames()).toEqual([]);
    expect(handler.events.filter((e) => e.type === 'message')).toEqual([msg('ba', true)]);
  });

});

describe('Connection: with an extension (sending)', () => {
  const COMPRESS: SendFlags = { binary: true, fin: true, compress: true };

  it('encodes with RSV1 on the first frame only and keeps send order with later sends and close()', async () => {
    for (const role of ROLES) {
      const ext = new ReverseExtension();
      const { conn, handler } = makeConnection({ role, extension: ext });
      const calls: string[] = [];
      conn.send(Buffer.from('abc'), COMPRESS, () => calls.push('abc'));
      conn.send(Buffer.from('plain'), { ...COMPRESS, compress: false }, () => calls.push('plain'));
      conn.send(Buffer.from('x'), COMPRESS, () => calls.push('x')); // below the threshold
      conn.send(Buffer.from('fr'), { binary: false, fin: false, compress: true }, () => calls.push('fr'));
      conn.send(Buffer.from('ag'), { binary: false, fin: true, compress: false }, () => calls.push('ag'));
      conn.close(1000);
      expect(handler.sentFrames()).toEqual([]);
      await settle();
      expect(handler.events, role).toEqual([
        { type: 'awaitClose' },
        out(role, Opcode.Binary, 'cba', true, 0x40),
        out(role, Opcode.Binary, 'plain'),
        out(role, Opcode.Binary, 'x'),
        out(role, Opcode.Text, 'rf', false, 0x40),
        out(role, Opcode.Continuation, 'ga', true, 0),
        out(role, Opcode.Close, closePayload(1000)),
      ]);
      expect(calls).toEqual(['abc', 'plain', 'x', 'fr', 'ag']);
    }
  });

  it('an encode failure fails the connection with 1011 and calls back with the error', async () => {
    const ext = new ReverseExtension();
    ext.encodeError = new Error('deflate broke');
    const { conn, handler } = makeConnection({ role: 'server', extension: ext });
    const calls: unknown[] = [];
    conn.send(Buffer.from('abc'), COMPRESS, (e) => calls.push(e));
    await settle();
    expect(calls).toEqual([ext.encodeError]);
    expect(handler.events).toEqual([
      sent(Opcode.Close, closePayload(1011), false),
      err('WS_ERR_EXTENSION_FAILED', null),
      { type: 'endTransport' },
    ]);
  });

  it('an encode failure after close() still writes a close frame', async () => {
    const ext = new ReverseExtension();
    ext.encodeError = new Error('deflate broke');
    const { conn, handler } = makeConnection({ role: 'server', extension: ext });
    conn.send(Buffer.from('abc'), COMPRESS);
    conn.close(1000);
    await settle();
    const closes = handler.sentFrames().filter((f) => f.opcode === Opcode.Close);
    expect(closes).toHaveLength(1);
  });

  it('calls back every queued send when the transport ends, including the one being encoded', async () => {
    const ext = new ReverseExtension();
    const { conn, handler } = makeConnection({ role: 'server', extension: ext });
    const calls: [string, unknown][] = [];
    conn.send(Buffer.from('abc'), COMPRESS, (e) => calls.push(['abc', e]));
    conn.send(Buffer.from('def'), COMPRESS, (e) => calls.push(['def', e]));
    conn.receiveEnd();
    await settle();
    expect(handler.writes).toEqual([]);
    expect(calls.map(([name]) => name).sort()).toEqual(['abc', 'def']);
    for (const [, e] of calls) expect((e as WebSocketError).code).toBe('WS_ERR_NOT_OPEN');
    expect(ext.disposed).toBe(1);
  });
});

describe('Connection: ending the transport waits for queued frames', () => {
  const COMPRESS: SendFlags = { binary: true, fin: true, compress: true };

  /** Index of the first event matching `pred`, or -1. */
  const indexOf = (events: ConnEvent[], pred: (e: ConnEvent) => boolean): number => events.findIndex(pred);
  const isClose = (e: ConnEvent): boolean => e.type === 'frame' && e.opcode === Opcode.Close;

  it('a peer close that arrives while our close waits behind an encode ends the transport only after our close is written', () => {
    const ext = new ReverseExtension();
    ext.mode = 'manual';
    const { conn, handler } = makeConnection({ role: 'server', extension: ext });
    conn.send(Buffer.from('abc'), COMPRESS);
    conn.close(1000);
    conn.receive(peer('server', { opcode: 8, payload: closePayload(1000) }));
    while (ext.pendingEncodes.length > 0) ext.pendingEncodes.shift()!();
    const events = handler.events;
    const closeAt = indexOf(events, isClose);
    const endAt = indexOf(events, (e) => e.type === 'endTransport');
    expect(closeAt).toBeGreaterThanOrEqual(0);
    expect(endAt).toBeGreaterThanOrEqual(0);
    expect(closeAt, 'our close frame is written before the transport is ended').toBeLessThan(endAt);
  });

  it('failing the connection while a send is being encoded ends the transport only after the close frame is written', () => {
    const ext = new ReverseExtension();
    ext.mode = 'manual';
    const { conn, handler } = makeConnection({ role: 'server', extension: ext });
    conn.send(Buffer.from('abc'), COMPRESS);
    conn.receive(frame({ opcode: 3, mask: true }));
    while (ext.pendingEncodes.length > 0) ext.pendingEncodes.shift()!();
    const events = handler.events;
    const closeAt = indexOf(events, isClose);
    const endAt = indexOf(events, (e) => e.type === 'endTransport');
    expect(closeAt).toBeGreaterThanOrEqual(0);
    expect(endAt).toBeGreaterThanOrEqual(0);
    expect(closeAt, 'the close frame is written before the transport is ended').toBeLessThan(endAt);
  });
});
