/**
 * Receiving side of benchmarks/broadcast.ts: opens many WebSocket connections by hand (no
 * library, so the receiver costs the same whatever the server) and counts the messages each one
 * gets, without decoding them. Reports over IPC each time every one of its connections has
 * received one more message.
 *
 *   node broadcast-receiver.ts --port P --conns N --offer none|shared|own [--stalled K]
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const port = Number(arg('port', '0'));
const conns = Number(arg('conns', '100'));
const offer = arg('offer', 'none');
/** This many of the connections stop reading once open: slow consumers that never catch up. */
const stalled = Number(arg('stalled', '0'));
const now = (): number => performance.timeOrigin + performance.now();
const send = (m: object): void => {
  process.send?.(m);
};

const extensions =
  offer === 'shared'
    ? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits\r\n'
    : offer === 'own'
      ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n'
      : '';

/** How many reading connections have received exactly `i` messages, and the smallest such `i`. */
const histogram: number[] = [conns - stalled];
let minimum = 0;
let bytes = 0;
let opened = 0;
let deflated = 0;

function received(count: number): void {
  histogram[count - 1]!--;
  histogram[count] = (histogram[count] ?? 0) + 1;
  while (histogram[minimum] === 0) {
    minimum++;
    send({ type: 'all', k: minimum, t: now() });
  }
}

function open(index: number): void {
  const reading = index >= stalled;
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  let head = true;
  let pending: Buffer = Buffer.alloc(0);
  let skip = 0;
  let count = 0;
  socket.on('connect', () => {
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extensions}\r\n`,
    );
  });
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    let data: Buffer = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    if (head) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        pending = data;
        return;
      }
      const text = data.subarray(0, end).toString('latin1');
      if (!text.startsWith('HTTP/1.1 101')) throw new Error(`handshake refused: ${text.split('\r\n')[0]}`);
      if (/permessage-deflate/i.test(text)) deflated++;
      head = false;
      data = data.subarray(end + 4);
      if (!reading) socket.pause();
      if (++opened === conns) send({ type: 'ready', deflated });
      else if (opened % 100 === 0) next(100);
    }
    // Frames (RFC 6455 §5.2): only headers are read; payloads are skipped unread.
    let p = 0;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, data.length - p);
        skip -= n;
        p += n;
        if (skip > 0) break;
      }
      if (data.length - p < 2) break;
      const b0 = data[p] as number;
      let len = (data[p + 1] as number) & 0x7f;
      let h = 2;
      if (len === 126) {
        if (data.length - p < 4) break;
        len = data.readUInt16BE(p + 2);
        h = 4;
      } else if (len === 127) {
        if (data.length - p < 10) break;
        len = Number(data.readBigUInt64BE(p + 2));
        h = 10;
      }
      if (data.length - p < h) break;
      p += h;
      skip = len;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x80) !== 0 && opcode < 8 && reading) received(++count);
    }
    pending = p < data.length ? Buffer.from(data.subarray(p)) : Buffer.alloc(0);
  });
  socket.on('error', (err) => {
    console.error('receiver socket error', err.message);
    process.exit(1);
  });
}

let started = 0;
function next(n: number): void {
  for (let i = 0; i < n && started < conns; i++, started++) open(started);
}
// Connections open 100 at a time (each batch after the previous one completed).
next(100);

process.on('message', (m: { type: string }) => {
  if (m.type === 'bytes') send({ type: 'bytes', bytes });
});
