/**
 * Receiving side of benchmarks/cluster/run.ts: opens connections by hand over `net` (no
 * library, so the receiver costs the same whatever the servers), spread evenly over the
 * servers, and reads only what it needs of each frame: the first 16 bytes of binary payloads
 * (send time, publishing server, sequence) for the latency across servers. Speaks plain
 * WebSocket, or socket.io's Engine.IO v4 over WebSocket (open packet, namespace connect,
 * ping/pong; a binary event arrives as a text header frame and one binary frame, the binary
 * frame is the delivery).
 *
 *   node receiver.ts --ports p0,p1,… --conns N --first K --proto ws|sio
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const ports = arg('ports', '').split(',').map(Number);
const conns = Number(arg('conns', '100'));
/** Global index of this receiver's first connection (connection g goes to server g % servers). */
const first = Number(arg('first', '0'));
const sio = arg('proto', 'ws') === 'sio';
const now = (): number => performance.timeOrigin + performance.now();
const send = (m: object): void => {
  process.send?.(m);
};

let opened = 0;
let delivered = 0;
let target = Infinity;
let lastAt = 0;
const LAT_CAPACITY = 2_000_000;
const latencies = new Float64Array(LAT_CAPACITY);
let latCount = 0;

/** A client frame (RFC 6455 §5.3: masked; the all-zero key leaves the payload as it is). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

function open(global: number): void {
  const server = global % ports.length;
  const port = ports[server] as number;
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  let head = true;
  let ready = false;
  let pending: Buffer = Buffer.alloc(0);
  // Frame state: bytes of payload left, what we keep of it, the frame's opcode.
  let left = 0;
  let opcode = 0;
  let keep: Buffer = Buffer.alloc(0);
  const path = sio ? '/socket.io/?EIO=4&transport=websocket' : '/';
  socket.on('connect', () => {
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  const becameReady = (): void => {
    if (ready) return;
    ready = true;
    if (++opened === conns) send({ type: 'ready' });
    else if (opened % 100 === 0) next(100);
  };
  const frameDone = (): void => {
    if (opcode === 2) {
      delivered++;
      if (keep.length >= 16) {
        const origin = keep.readUInt32LE(8);
        if (origin !== server && latCount < LAT_CAPACITY) latencies[latCount++] = now() - keep.readDoubleLE(0);
      }
      if (delivered >= target) {
        lastAt = now();
        send({ type: 'done', t: lastAt, delivered });
        target = Infinity;
      }
    } else if (opcode === 1 && sio) {
      const text = keep.toString('latin1');
      if (text.startsWith('0')) socket.write(textFrame('40'));
      else if (text.startsWith('40')) becameReady();
      else if (text === '2') socket.write(textFrame('3'));
    }
  };
  socket.on('data', (chunk: Buffer) => {
    let data: Buffer = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    if (head) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        pending = data;
        return;
      }
      const status = data.subarray(0, end).toString('latin1').split('\r\n')[0] ?? '';
      if (!status.startsWith('HTTP/1.1 101')) throw new Error(`handshake refused: ${status}`);
      head = false;
      data = data.subarray(end + 4);
      if (!sio) becameReady();
    }
    let p = 0;
    while (p < data.length) {
      if (left > 0) {
        const n = Math.min(left, data.length - p);
        const want = (opcode === 2 ? 16 : 64) - keep.length;
        if (want > 0) keep = Buffer.concat([keep, data.subarray(p, p + Math.min(want, n))]);
        left -= n;
        p += n;
        if (left === 0) frameDone();
        continue;
      }
      // Header (RFC 6455 §5.2), server frames are unmasked.
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
      p += h;
      opcode = b0 & 0x0f;
      keep = Buffer.alloc(0);
      left = len;
      if (len === 0) frameDone();
    }
    if (p < data.length) pending = Buffer.from(data.subarray(p));
  });
  socket.on('error', (err) => {
    console.error('receiver socket error', err.message);
    process.exit(1);
  });
  socket.on('close', () => {
    if (target !== Infinity || opened < conns) console.error(`receiver: connection to ${port} closed`);
  });
}

let started = 0;
function next(n: number): void {
  for (let i = 0; i < n && started < conns; i++, started++) open(first + started);
}
next(100);

process.on('message', (raw) => {
  const m = raw as { type: string; expect?: number };
  if (m.type === 'expect') {
    // The next `expect` deliveries in all (counted from now); latencies start afresh.
    target = delivered + (m.expect ?? 0);
    latCount = 0;
    send({ type: 'expecting' });
  } else if (m.type === 'report') {
    // At most 50,000 samples (evenly spread) go back: enough for p50 and p99.
    const step = Math.max(1, Math.ceil(latCount / 50_000));
    const lat: number[] = [];
    for (let i = 0; i < latCount; i += step) lat.push(latencies[i] as number);
    const cpu = process.cpuUsage();
    send({ type: 'report', delivered, latencies: lat, lastAt, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
});
