/**
 * What the session layer costs on the wire and in CPU, without sockets: a SessionClient and a
 * SessionServer joined by an in-process pipe that counts WebSocket frame bytes (header, masking
 * key for client frames, payload) exactly as RFC 6455 §5.2 lays them out.
 *
 * 1. Bytes per message for typical sizes, text and binary, both directions, plain against session.
 * 2. Acknowledgement traffic for three patterns: a one-way stream, request/response, and sparse
 *    messages (each arriving after the acknowledgement delay), with the default `ackEvery` (32)
 *    and `ackDelay` (100 ms).
 * 3. Handshake additions: the resume entry, the welcome, the confirmation.
 * 4. Messages per second through the pipe, both ends' session work included (in-process, noisy
 *    on a shared machine: a rough figure of the layer's CPU cost only).
 *
 * Run: `npx tsx benchmarks/session/overhead.ts`.
 *
 * @module
 */
import { headerSize } from '../../src/core/frame-encoder.js';
import type { SessionConnection, SessionLink } from '../../src/session/channel.js';
import { SessionClient } from '../../src/session/client.js';
import { offerProtocols, parseOffer } from '../../src/session/handshake.js';
import { SessionServer } from '../../src/session/server.js';
import type { ServerSession } from '../../src/session/server-session.js';

let now = 0;
const clock = (): number => now;

/** Wire bytes of one WebSocket message carrying `payloadBytes` (client frames are masked). */
function frameBytes(payloadBytes: number, fromClient: boolean): number {
  return headerSize(payloadBytes, fromClient) + payloadBytes;
}

function sizeOf(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

interface Counter {
  messages: number;
  wire: number;
  acksAlone: number;
  ackBytes: number;
}

const counter = (): Counter => ({ messages: 0, wire: 0, acksAlone: 0, ackBytes: 0 });

/** A client and a server session joined by queues that count what crosses. */
function pair() {
  const up = counter(); // client → server
  const down = counter(); // server → client
  const toServer: Array<[string | Uint8Array, boolean]> = [];
  const toClient: Array<[string | Uint8Array, boolean]> = [];
  let session: ServerSession | null = null;
  let echo = false;
  const server = new SessionServer({
    clock,
    random: (b) => b.fill(7),
    handler: {
      open: (s) => {
        session = s;
      },
      message: (s, m) => {
        if (echo) s.send(m.data, { binary: m.binary });
      },
    },
  });
  const client = new SessionClient({ clock, handler: { message: () => {} } });
  const count = (c: Counter, fromClient: boolean, data: string | Uint8Array): void => {
    const n = sizeOf(data);
    c.messages += 1;
    c.wire += frameBytes(n, fromClient);
    const tag = typeof data === 'string' ? data.charCodeAt(0) : data[0];
    if (tag === 0x23) {
      c.acksAlone += 1;
      c.ackBytes += frameBytes(n, fromClient);
    }
  };
  const clientLink: SessionLink = {
    send: (data, binary) => {
      count(up, true, data);
      toServer.push([data, binary]);
    },
    close: () => {},
  };
  const serverLink: SessionLink = {
    send: (data, binary) => {
      count(down, false, data);
      toClient.push([data, binary]);
    },
    close: () => {},
  };
  const offer = parseOffer(client.offer());
  if (offer === null) throw new Error('no offer');
  const serverConn: SessionConnection = server.connect(offer, serverLink);
  const clientConn: SessionConnection = client.connect(clientLink);
  const pump = (): void => {
    for (let guard = 0; guard < 1_000_000 && (toServer.length > 0 || toClient.length > 0); guard++) {
      const a = toServer.shift();
      if (a) serverConn.receive(a[0], a[1]);
      const b = toClient.shift();
      if (b) clientConn.receive(b[0], b[1]);
    }
  };
  pump();
  const reset = (): void => {
    Object.assign(up, counter());
    Object.assign(down, counter());
  };
  reset();
  return {
    client,
    session: () => session as unknown as ServerSession,
    server,
    up,
    down,
    pump,
    reset,
    setEcho: (on: boolean) => {
      echo = on;
    },
  };
}

function payload(size: number, binary: boolean): string | Uint8Array {
  return binary ? new Uint8Array(size).fill(0x61) : 'a'.repeat(size);
}

function table(rows: Array<Record<string, string | number>>): void {
  const keys = Object.keys(rows[0] ?? {});
  console.log(`| ${keys.join(' | ')} |`);
  console.log(`| ${keys.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(' | ')} |`);
  console.log();
}

// 1. Bytes per message: a one-way stream of 1,000 messages each way (acknowledgements counted apart).
console.log('## Bytes on the wire per message (header + payload; acknowledgements apart)\n');
const rows: Array<Record<string, string | number>> = [];
for (const binary of [false, true]) {
  for (const size of [16, 125, 1024, 16 * 1024, 65535]) {
    const p = pair();
    const n = 1000;
    for (let i = 0; i < n; i++) {
      p.client.send(payload(size, binary), { binary });
      if (i % 10 === 9) p.pump();
    }
    p.pump();
    const upData = (p.up.wire - p.up.ackBytes) / n;
    const q = pair();
    for (let i = 0; i < n; i++) {
      q.session().send(payload(size, binary), { binary });
      if (i % 10 === 9) q.pump();
    }
    q.pump();
    const downData = (q.down.wire - q.down.ackBytes) / n;
    rows.push({
      payload: `${size} B ${binary ? 'binary' : 'text'}`,
      'plain client→server': frameBytes(size, true),
      'session client→server': upData,
      'plain server→client': frameBytes(size, false),
      'session server→client': downData,
    });
  }
}
table(rows);

// 2. Acknowledgement traffic.
console.log('## Acknowledgement traffic (defaults: ackEvery 32, ackDelay 100 ms)\n');
const ackRows: Array<Record<string, string | number>> = [];
{
  const p = pair();
  const n = 10_000;
  for (let i = 0; i < n; i++) {
    p.session().send('{"price":101.25,"qty":3}');
    if (i % 10 === 9) p.pump();
  }
  p.pump();
  now += 200;
  p.client.tick(now);
  p.pump();
  ackRows.push({
    pattern: 'stream server→client, 10,000 × 24 B',
    'acks alone': p.up.acksAlone,
    'ack bytes': p.up.ackBytes,
    'ack bytes per message': (p.up.ackBytes / n).toFixed(2),
  });
}
{
  const p = pair();
  p.setEcho(true);
  const n = 10_000;
  for (let i = 0; i < n; i++) {
    p.client.send('{"type":"req","id":1}');
    p.pump();
  }
  now += 200;
  p.client.tick(now);
  p.server.tick(now);
  p.pump();
  ackRows.push({
    pattern: 'request/response, 10,000 round trips (server answers at once)',
    'acks alone': p.up.acksAlone + p.down.acksAlone,
    'ack bytes': p.up.ackBytes + p.down.ackBytes,
    'ack bytes per message': ((p.up.ackBytes + p.down.ackBytes) / (2 * n)).toFixed(2),
  });
}
{
  const p = pair();
  const n = 1000;
  for (let i = 0; i < n; i++) {
    p.session().send('{"notify":true}');
    p.pump();
    now += 150;
    p.client.tick(now);
    p.pump();
  }
  ackRows.push({
    pattern: 'sparse server→client, one message per 150 ms',
    'acks alone': p.up.acksAlone,
    'ack bytes': p.up.ackBytes,
    'ack bytes per message': (p.up.ackBytes / n).toFixed(2),
  });
}
table(ackRows);

// 3. Handshake.
console.log('## Handshake additions\n');
const token = 'AAAAAAAAAAAAAAAA.bbbbbbbbbbbbbbbbbbbbbb';
const resumeEntry = offerProtocols({ token, received: 123456, sent: 654321 })[1] as string;
table([
  { item: 'Sec-WebSocket-Protocol, new session (request and response)', bytes: 'ws6455.session.1'.length },
  { item: 'resume entry added to the request (counters 123456 / 654321)', bytes: `, ${resumeEntry}`.length },
  { item: 'welcome, new session (server frame)', bytes: frameBytes(`!new ${token}`.length, false) },
  { item: 'welcome, resumed (server frame, same counters)', bytes: frameBytes(`!resumed ${token} 654321 123456`.length, false) },
  { item: 'confirmation !ok (client frame)', bytes: frameBytes(3, true) },
]);

// 4. Rough CPU cost: messages per second through the pipe (framing, parsing, acknowledgements).
console.log('## In-process throughput (rough; shared machine)\n');
function rate(run: (n: number) => void): number {
  run(20_000); // warm-up
  const n = 200_000;
  const t = process.hrtime.bigint();
  run(n);
  return Math.round(n / (Number(process.hrtime.bigint() - t) / 1e9));
}
const thr: Array<Record<string, string | number>> = [];
for (const size of [16, 1024]) {
  for (const binary of [false, true]) {
    const data = payload(size, binary);
    const p = pair();
    const session = rate((n) => {
      for (let i = 0; i < n; i++) {
        p.session().send(data, { binary });
        if (i % 64 === 63) p.pump();
      }
      p.pump();
    });
    thr.push({ payload: `${size} B ${binary ? 'binary' : 'text'}`, 'messages/s (both ends: send, frame, parse, deliver, acknowledge)': session, 'µs per message': (1e6 / session).toFixed(2) });
  }
}
table(thr);
