/**
 * Fallback load generator for machines without a C compiler. Same command line and the same JSON
 * lines as loadgen.c, built on raw `node:net` sockets. It is much slower than the C one and shares
 * Node's costs with the servers it measures, so the runner labels results produced with it: a
 * fast server may be measured as no faster than this generator.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

type Mode = 'echo' | 'idle' | 'handshake';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
}

const opt = {
  mode: flag('mode', 'echo') as Mode,
  host: flag('host', '127.0.0.1'),
  port: Number(flag('port', '0')),
  conns: Number(flag('conns', '1')),
  inflight: Number(flag('inflight', '1')),
  size: Number(flag('size', '16')),
  warmup: Number(flag('warmup', '1')),
  duration: Number(flag('duration', '3')),
  hold: Number(flag('hold', '60')),
  text: process.argv.includes('--text'),
  maxConnecting: Number(flag('max-connecting', '256')),
};
if (!opt.host.startsWith('127.')) throw new Error('host must be in 127.0.0.0/8');

/** One masked frame (RFC 6455 §5.2), built once and written again and again. */
function buildFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const ext = n < 126 ? 0 : n <= 0xffff ? 2 : 8;
  const f = Buffer.alloc(2 + ext + 4 + n);
  f[0] = 0x80 | opcode;
  f[1] = 0x80 | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) f.writeUInt16BE(n, 2);
  if (ext === 8) f.writeBigUInt64BE(BigInt(n), 2);
  const key = randomBytes(4);
  key.copy(f, 2 + ext);
  for (let i = 0; i < n; i++) f[2 + ext + 4 + i] = (payload[i] as number) ^ (key[i & 3] as number);
  return f;
}

const payload = opt.text ? Buffer.alloc(opt.size, 'abcdefghijklmnopqrstuvwxyz') : randomBytes(opt.size);
const frame = buildFrame(opt.text ? 1 : 2, payload);
const closeFrame = buildFrame(8, Buffer.from([0x03, 0xe8]));
const request =
  `GET / HTTP/1.1\r\nHost: ${opt.host}:${opt.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

let measuring = false;
let messages = 0;
let bytes = 0;
let cycles = 0;
let errors = 0;
let mismatch = 0;
let upgraded = 0;
let open = 0;
let firstError = '';

function fail(what: string): void {
  errors++;
  if (!firstError) firstError = what;
}

/** Counts frames in a byte stream; accepts masked and unmasked frames, any header size. */
class FrameCounter {
  private pending: Buffer = Buffer.alloc(0);
  private payloadLeft = 0;
  private frameLen = 0;
  private op = 0;
  private fin = false;
  private msgBytes = 0;
  constructor(private readonly onFrame: (op: number, fin: boolean, len: number) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, buf.length);
        this.payloadLeft -= take;
        buf = buf.subarray(take);
        if (this.payloadLeft === 0) this.done();
        continue;
      }
      if (buf.length < 2) break;
      const b1 = buf[1] as number;
      const l7 = b1 & 0x7f;
      const need = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (buf.length < need) break;
      this.op = (buf[0] as number) & 0x0f;
      this.fin = ((buf[0] as number) & 0x80) !== 0;
      this.frameLen = l7 === 126 ? buf.readUInt16BE(2) : l7 === 127 ? Number(buf.readBigUInt64BE(2)) : l7;
      buf = buf.subarray(need);
      this.payloadLeft = this.frameLen;
      if (this.frameLen === 0) this.done();
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }

  private done(): void {
    if (this.op >= 8) {
      this.onFrame(this.op, true, this.frameLen);
      return;
    }
    this.msgBytes += this.frameLen;
    if (!this.fin) return;
    const total = this.msgBytes;
    this.msgBytes = 0;
    this.onFrame(this.op, true, total);
  }
}

/** Connects and upgrades; calls `onOpen` with the socket and any bytes that followed the 101 head. */
function dial(onOpen: (s: Socket, rest: Buffer) => void, onGone: () => void): void {
  const s = connect({ host: opt.host, port: opt.port, noDelay: true });
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    s.off('data', onData);
    if (!head.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
      fail(`upgrade refused: ${head.subarray(0, 60).toString('latin1')}`);
      s.destroy();
      return;
    }
    upgraded++;
    open++;
    s.once('close', () => open--);
    onOpen(s, head.subarray(end + 4));
  };
  s.on('data', onData);
  s.on('error', (e) => fail(`socket: ${e.message}`));
  s.once('close', onGone);
  s.write(request);
}

function echoConn(): void {
  dial(
    (s, rest) => {
      const counter = new FrameCounter((op, _fin, len) => {
        if (op >= 8) {
          if (op === 8) fail('server sent Close');
          return;
        }
        if (len !== opt.size) mismatch++;
        if (measuring) {
          messages++;
          bytes += len;
        }
        s.write(frame);
      });
      s.on('data', (c: Buffer) => counter.push(c));
      for (let i = 0; i < opt.inflight; i++) s.write(frame);
      if (rest.length > 0) counter.push(rest);
    },
    () => undefined,
  );
}

function handshakeWorker(stopAt: () => boolean): void {
  if (stopAt()) return;
  dial(
    (s, rest) => {
      const counter = new FrameCounter((op) => {
        // RFC 6455 §7.1.1: the server closes TCP first; end it from here only if it has not in 1 s.
        if (op === 8) setTimeout(() => s.end(), 1000).unref();
      });
      s.on('data', (c: Buffer) => counter.push(c));
      s.once('end', () => {
        if (measuring) cycles++;
        s.resetAndDestroy(); // abortive close keeps client ports out of TIME_WAIT
      });
      s.write(closeFrame);
      if (rest.length > 0) counter.push(rest);
    },
    () => setImmediate(() => handshakeWorker(stopAt)),
  );
}

function result(seconds: number, cpu: NodeJS.CpuUsage, measured: boolean): void {
  console.log(
    JSON.stringify({
      event: 'result',
      generator: 'node',
      mode: opt.mode,
      conns: opt.conns,
      inflight: opt.inflight,
      size: opt.size,
      text: opt.text,
      measured,
      seconds,
      messages,
      bytes,
      msgsPerSec: seconds > 0 ? messages / seconds : 0,
      mibPerSec: seconds > 0 ? bytes / seconds / 1048576 : 0,
      handshakes: cycles,
      handshakesPerSec: seconds > 0 ? cycles / seconds : 0,
      upgraded,
      openAtEnd: open,
      cpuUser: cpu.user / 1e6,
      cpuSys: cpu.system / 1e6,
      cpuPct: seconds > 0 ? ((cpu.user + cpu.system) / 1e6 / seconds) * 100 : 0,
      errors,
      sizeMismatch: mismatch,
      serverClose: 0,
      firstError,
    }),
  );
  process.exit(0);
}

const t0 = performance.now();
let stopped = false;
// Every phase has a deadline, so this process always ends on its own.
const hard = setTimeout(() => {
  console.error('node-loadgen: hard deadline reached');
  result(0, process.cpuUsage(), false);
}, (10 + opt.warmup + opt.duration + (opt.mode === 'idle' ? opt.hold : 0) + 5) * 1000);
hard.unref();

if (opt.mode === 'handshake') {
  for (let i = 0; i < opt.conns; i++) handshakeWorker(() => stopped);
} else {
  // Bounded dialing so the server's listen backlog is not overrun.
  let started = 0;
  const pump = (): void => {
    while (started < opt.conns && started - upgraded - errors < opt.maxConnecting) {
      started++;
      if (opt.mode === 'echo') echoConn();
      else dial(() => undefined, () => undefined);
    }
    if (started < opt.conns) setTimeout(pump, 1);
  };
  pump();
}

const waitOpen = setInterval(() => {
  const elapsed = (performance.now() - t0) / 1000;
  const allOpen = opt.mode === 'handshake' || upgraded >= opt.conns;
  if (!allOpen && elapsed > 10) {
    console.error(`node-loadgen: only ${open} of ${opt.conns} connections open after 10 s`);
    clearInterval(waitOpen);
    result(0, process.cpuUsage(), false);
  }
  if (!allOpen || elapsed < (opt.mode === 'idle' ? 0 : opt.warmup)) return;
  clearInterval(waitOpen);
  if (opt.mode === 'idle') {
    console.log(JSON.stringify({ event: 'ready', connected: open, errors }));
    process.stdin.resume();
    process.stdin.once('end', () => result(0, process.cpuUsage(), false));
    setTimeout(() => result(0, process.cpuUsage(), false), opt.hold * 1000).unref();
    return;
  }
  const cpu0 = process.cpuUsage();
  const m0 = performance.now();
  measuring = true;
  console.log(JSON.stringify({ event: 'measure-start' }));
  setTimeout(() => {
    stopped = true;
    result((performance.now() - m0) / 1000, process.cpuUsage(cpu0), true);
  }, opt.duration * 1000);
}, 10);
