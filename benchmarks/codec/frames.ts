/**
 * Frame codec throughput without any socket: frames parsed per second (the receive path of a
 * server: masked binary frames through the parser, unmasking and message assembly) and frames
 * encoded per second (server frames unmasked, client frames masked), for 16 B and 64 KiB
 * payloads, ws6455's codec beside `ws`'s Receiver and Sender in the same process.
 *
 * Parsing is fed in 64 KiB pieces, the size Node hands a socket's reads over, so large frames
 * straddle pieces as they do on a real connection. The payloads are binary: unmasking happens in
 * place (both libraries do it), and XORing the same bytes again on the next round keeps them
 * valid, so one prepared stream is replayed.
 *
 * Run: `npx tsx benchmarks/codec/frames.ts [--json FILE]`. Each measurement runs ~0.5 s.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { Assembler, type MessageSink } from '../../src/core/assembler.js';
import { Opcode } from '../../src/core/constants.js';
import { encodeFrame, type FrameOutput } from '../../src/core/frame-encoder.js';
import { FrameParser } from '../../src/core/frame-parser.js';
import { writeJsonReport } from './json-report.js';

const MEASURE_MS = 500;
const WARMUP_MS = 100;
const SIZES = [16, 64 * 1024] as const;
/** Bytes of frames in one prepared stream (whole frames; at least one frame). */
const STREAM_BYTES = 4 * 1024 * 1024;
/** The size of one socket read in Node. */
const PIECE = 64 * 1024;

/** The part of ws's Receiver used here. */
interface WsReceiver {
  on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  write(chunk: Buffer): boolean;
}
/** The part of ws's Sender used here. */
interface WsSender {
  frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[];
}

const require = createRequire(import.meta.url);
// ws exports its codec classes as properties of the main export (not as subpaths).
const wsModule = require('ws') as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => WsReceiver;
  Sender: WsSender;
};
const WsReceiverCtor = wsModule.Receiver;
const WsSenderClass = wsModule.Sender;

/** One result row. */
interface Result {
  op: string;
  impl: string;
  size: number;
  framesPerSec: number;
}

/** A stream of masked binary frames of `size` bytes each, as a client sends them. */
function clientStream(size: number): { pieces: Buffer[]; frames: number } {
  const header = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const frameBytes = header + 4 + size;
  const frames = Math.max(1, Math.floor(STREAM_BYTES / frameBytes));
  const stream = Buffer.allocUnsafe(frames * frameBytes);
  randomFillSync(stream);
  for (let f = 0, p = 0; f < frames; f++, p += frameBytes) {
    stream[p] = 0x82; // FIN + binary
    if (header === 2) stream[p + 1] = 0x80 | size;
    else if (header === 4) {
      stream[p + 1] = 0x80 | 126;
      stream.writeUInt16BE(size, p + 2);
    } else {
      stream[p + 1] = 0x80 | 127;
      stream.writeUInt32BE(0, p + 2);
      stream.writeUInt32BE(size, p + 6);
    }
  }
  const pieces: Buffer[] = [];
  for (let p = 0; p < stream.length; p += PIECE) pieces.push(stream.subarray(p, Math.min(p + PIECE, stream.length)));
  return { pieces, frames };
}

/** Runs `round` (which handles `framesPerRound` frames) for about `ms`; returns frames per second. */
function rate(round: () => void, framesPerRound: number, ms: number): number {
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  do {
    round();
    rounds++;
    elapsed = process.hrtime.bigint() - t0;
  } while (elapsed < limit);
  return (rounds * framesPerRound * 1e9) / Number(elapsed);
}

function measure(round: () => void, framesPerRound: number): number {
  rate(round, framesPerRound, WARMUP_MS);
  return rate(round, framesPerRound, MEASURE_MS);
}

const results: Result[] = [];
let received = 0;
let sink = 0;

for (const size of SIZES) {
  const { pieces, frames } = clientStream(size);

  // ---- parse: ws6455 (parser + assembler, as a server connection uses them) ----
  const messages: MessageSink = {
    message(data) {
      received++;
      sink ^= data.length;
    },
    control() {},
  };
  const assembler = new Assembler(messages, { maxPayload: 64 * 1024 * 1024, maxFragments: 1024 });
  const parser = new FrameParser(assembler, { expectMasked: true, maxFrameLength: 64 * 1024 * 1024, allowedRsv: 0 });
  received = 0;
  const oursParse = measure(() => {
    for (const piece of pieces) parser.push(piece);
  }, frames);
  if (received === 0) throw new Error('ws6455 parser delivered no message');
  results.push({ op: 'parse (masked)', impl: 'ws6455', size, framesPerSec: oursParse });

  // ---- parse: ws Receiver ----
  const receiver = new WsReceiverCtor({ isServer: true, maxPayload: 64 * 1024 * 1024 });
  receiver.on('message', (data) => {
    received++;
    sink ^= data.length;
  });
  receiver.on('error', (err) => {
    throw err;
  });
  received = 0;
  const wsParse = measure(() => {
    for (const piece of pieces) receiver.write(piece);
  }, frames);
  if (received === 0) throw new Error('ws Receiver delivered no message');
  results.push({ op: 'parse (masked)', impl: 'ws', size, framesPerSec: wsParse });

  // ---- encode ----
  const payload = randomFillSync(Buffer.allocUnsafe(size));
  const batch = Math.max(1, Math.floor(STREAM_BYTES / (size + 14)));
  const discard: FrameOutput = {
    writeFrame(_first, payloadLength, _buffer, start, end) {
      sink ^= end - start + payloadLength;
    },
  };
  for (const masked of [false, true]) {
    const op = masked ? 'encode (client, masked)' : 'encode (server)';
    const ours = measure(() => {
      for (let i = 0; i < batch; i++) encodeFrame(discard, Opcode.Binary, payload, true, 0, masked);
    }, batch);
    results.push({ op, impl: 'ws6455', size, framesPerSec: ours });
    const options = { fin: true, rsv1: false, opcode: 2, mask: masked, readOnly: true };
    const ws = measure(() => {
      for (let i = 0; i < batch; i++) sink ^= WsSenderClass.frame(payload, options).length;
    }, batch);
    results.push({ op, impl: 'ws', size, framesPerSec: ws });
  }
}

printTable(results);
if (sink === 0.5) console.log(sink); // keeps the results observable, so nothing is optimised away

writeJsonReport('frames', results);

function sizeLabel(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

function printTable(rows: readonly Result[]): void {
  const header = ['frames/s', 'size', 'ws6455', 'ws', 'ratio'];
  const lines: string[][] = [header];
  for (const op of [...new Set(rows.map((r) => r.op))]) {
    for (const size of SIZES) {
      const ours = rows.find((r) => r.op === op && r.size === size && r.impl === 'ws6455');
      const ws = rows.find((r) => r.op === op && r.size === size && r.impl === 'ws');
      if (ours === undefined || ws === undefined) continue;
      lines.push([op, sizeLabel(size), fmt(ours.framesPerSec), fmt(ws.framesPerSec), `x${(ours.framesPerSec / ws.framesPerSec).toFixed(2)}`]);
    }
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  for (const l of lines) console.log(l.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}
