/**
 * Test helpers for the sans-I/O core: a frame builder, an independent frame decoder for what a
 * connection writes, recording sinks/handlers, and {@link feedAllWays}, which feeds the same
 * input whole, one byte at a time and at every 2-way split and checks the results agree.
 */
import { Buffer } from 'node:buffer';
import { expect } from 'vitest';
import { Assembler, type AssemblerOptions, type MessageSink } from '../../src/core/assembler.js';
import { Connection, type ConnectionHandler, type ConnectionOptions, type SendCallback } from '../../src/core/connection.js';
import { ProtocolError, WebSocketError } from '../../src/core/errors.js';
import { FrameParser, type FrameParserOptions, type FrameSink } from '../../src/core/frame-parser.js';

// ---- bytes -----------------------------------------------------------------------------------

/** Bytes from hex text; whitespace is ignored. */
export function hex(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex: ${text}`);
  return Buffer.from(clean, 'hex');
}

/**
 * Events carry payloads as hex strings: exact, cheap to compare, and readable in a diff.
 * A string argument is taken as UTF-8 text.
 */
export function hx(data: string | Uint8Array): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString('hex');
}

/** A deterministic generator of 32-bit unsigned integers (mulberry32), so failures are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Deterministic numbers in [0, 1) from {@link mulberry32}. */
export function prng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** Deterministic pseudo-random bytes (mulberry32), so failures are reproducible. */
export function pseudoRandomBytes(n: number, seed = 1): Buffer {
  const next = mulberry32(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

/** The masking key of the RFC 6455 §5.7 examples. */
export const RFC_KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

export interface FrameSpec {
  /** Raw opcode nibble (reserved values allowed). */
  opcode: number;
  payload?: Uint8Array | string;
  /** Default true. */
  fin?: boolean;
  /** RSV bits as on the wire (0x40, 0x20, 0x10). */
  rsv?: number;
  /** A masking key, `true` for {@link RFC_KEY}, or false/omitted for an unmasked frame. */
  mask?: Uint8Array | boolean;
  /** Force the length encoding (7-bit, 16-bit or 64-bit), even when not minimal. */
  lengthBits?: 7 | 16 | 64;
  /** Declared length when it should differ from the payload's (e.g. a header for a huge frame). */
  declaredLength?: number | bigint;
  /** Emit the header only. */
  headerOnly?: boolean;
}

/** Builds one frame byte by byte, written from RFC 6455 §5.2 independently of the encoder. */
export function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'utf8') : Buffer.from(spec.payload ?? []);
  const declared = BigInt(spec.declaredLength ?? payload.length);
  const bits = spec.lengthBits ?? (declared < 126n ? 7 : declared < 65536n ? 16 : 64);
  const key = spec.mask === true ? RFC_KEY : spec.mask === false || spec.mask === undefined ? null : spec.mask;
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv ?? 0) | (spec.opcode & 0x0f)];
  const maskBit = key ? 0x80 : 0;
  if (bits === 7) {
    head.push(maskBit | Number(declared));
  } else if (bits === 16) {
    head.push(maskBit | 126, Number(declared >> 8n) & 0xff, Number(declared) & 0xff);
  } else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((declared >> shift) & 0xffn));
  }
  if (key) head.push(...key);
  if (spec.headerOnly) return Buffer.from(head);
  const body = Buffer.from(payload);
  if (key) for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), body]);
}

/** Several frames back to back. */
export function frames(...specs: FrameSpec[]): Buffer {
  return Buffer.concat(specs.map(frame));
}

/** A close frame payload: code in network byte order, then the reason. */
export function closePayload(code: number, reason: string | Uint8Array = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason) : Buffer.from(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

export interface DecodedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
}

/**
 * Decodes complete frames from `bytes` (independently of FrameParser); returns them and the
 * bytes of an incomplete trailing frame.
 */
export function decodeFrames(bytes: Buffer): { frames: DecodedFrame[]; rest: Buffer } {
  const out: DecodedFrame[] = [];
  let p = 0;
  for (;;) {
    if (bytes.length - p < 2) break;
    const b0 = bytes[p]!;
    const b1 = bytes[p + 1]!;
    let q = p + 2;
    let len = b1 & 0x7f;
    if (len === 126) {
      if (bytes.length - q < 2) break;
      len = bytes.readUInt16BE(q);
      q += 2;
    } else if (len === 127) {
      if (bytes.length - q < 8) break;
      len = Number(bytes.readBigUInt64BE(q));
      q += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | null = null;
    if (masked) {
      if (bytes.length - q < 4) break;
      key = bytes.subarray(q, q + 4);
      q += 4;
    }
    if (bytes.length - q < len) break;
    const payload = Buffer.from(bytes.subarray(q, q + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
    out.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload });
    p = q + len;
  }
  return { frames: out, rest: bytes.subarray(p) };
}

// ---- errors ---------------------------------------------------------------------------------

export interface ErrorEvent {
  type: 'error';
  code: string;
  closeCode: number | null;
}

/** Records an error thrown or reported by the core; anything else is rethrown. */
export function errorEvent(err: unknown): ErrorEvent {
  if (err instanceof ProtocolError) return { type: 'error', code: err.code, closeCode: err.closeCode };
  if (err instanceof WebSocketError) return { type: 'error', code: err.code, closeCode: null };
  throw err;
}

// ---- feeding --------------------------------------------------------------------------------

/** Something that takes input chunks and records events. */
export interface Feedable<E> {
  push(chunk: Buffer): void;
  readonly events: E[];
  /** Runs after all input was fed (e.g. resume a paused connection). */
  finish?(): void;
}

export interface FeedOptions {
  /**
   * Every 2-way split is tried when the input is at most this long; longer inputs get about
   * this many split points spread over the input (default 4096).
   */
  maxSplits?: number;
  /** Skip the byte-at-a-time run (only for inputs too large for it). */
  skipBytewise?: boolean;
  /**
   * Check that each event appears in the chunk holding the byte that decides it: in a 2-way
   * split at k, an event seen after byte n (n ≤ k) in the byte-at-a-time run must appear
   * during the first push, otherwise during the second. Default true.
   */
  checkTiming?: boolean;
}

export interface FeedResult<E> {
  /** Events of the run that fed the input whole (identical in every run). */
  events: E[];
  /**
   * For each event of the byte-at-a-time run, how many input bytes had been fed when it was
   * recorded (so an event caused by byte index i has position i + 1; after `finish`: length).
   */
  positions: number[];
}

function run<E>(input: Uint8Array, create: () => Feedable<E>, cuts: readonly number[]): { events: E[]; positions: number[] } {
  // A fresh copy per run: the parser unmasks in place.
  const copy = Buffer.from(input);
  const target = create();
  const positions: number[] = [];
  let start = 0;
  for (const end of [...cuts, copy.length]) {
    if (end > start) {
      // Separate buffers, as a socket would deliver them.
      target.push(Buffer.from(copy.subarray(start, end)));
      while (positions.length < target.events.length) positions.push(end);
    }
    start = end;
  }
  target.finish?.();
  while (positions.length < target.events.length) positions.push(copy.length);
  return { events: target.events, positions };
}

function runBytewise<E>(input: Uint8Array, create: () => Feedable<E>): { events: E[]; positions: number[] } {
  const copy = Buffer.from(input);
  const target = create();
  const positions: number[] = [];
  for (let i = 0; i < copy.length; i++) {
    target.push(copy.subarray(i, i + 1));
    while (positions.length < target.events.length) positions.push(i + 1);
  }
  target.finish?.();
  while (positions.length < target.events.length) positions.push(copy.length);
  return { events: target.events, positions };
}

/**
 * Feeds `input` whole, one byte at a time, and split in two at every point (or a spread of
 * points for long inputs), each into a fresh target from `create`, and asserts that every run
 * records the same events (and, unless disabled, at the same moment: see
 * {@link FeedOptions.checkTiming}). Returns the events and the byte-at-a-time positions.
 */
export function feedAllWays<E>(input: Uint8Array, create: () => Feedable<E>, options: FeedOptions = {}): FeedResult<E> {
  const whole = run(input, create, []);
  const n = input.length;
  let positions: number[] = [];
  if (!options.skipBytewise) {
    const bytewise = runBytewise(input, create);
    expect(bytewise.events, 'fed one byte at a time').toEqual(whole.events);
    positions = bytewise.positions;
  }
  const maxSplits = options.maxSplits ?? 4096;
  const splits: number[] = [];
  if (n - 1 <= maxSplits) {
    for (let k = 1; k < n; k++) splits.push(k);
  } else {
    const step = (n - 1) / maxSplits;
    for (let i = 0; i < maxSplits; i++) splits.push(1 + Math.floor(i * step));
  }
  const checkTiming = (options.checkTiming ?? true) && !options.skipBytewise;
  for (const k of splits) {
    const split = run(input, create, [k]);
    expect(split.events, `split at byte ${k} of ${n}`).toEqual(whole.events);
    if (checkTiming) {
      const expected = positions.map((p) => (p <= k ? k : n));
      expect(split.positions, `timing of events when split at byte ${k} of ${n}`).toEqual(expected);
    }
  }
  return { events: whole.events, positions };
}

/** Feeds `input` in chunks of `size` bytes into one fresh target; returns its events. */
export function feedInChunks<E>(input: Uint8Array, create: () => Feedable<E>, size: number): E[] {
  const cuts: number[] = [];
  for (let k = size; k < input.length; k += size) cuts.push(k);
  return run(input, create, cuts).events;
}

// ---- frame parser ---------------------------------------------------------------------------

export type FrameEvent =
  | { type: 'start'; fin: boolean; opcode: number; rsv: number; length: number }
  | { type: 'end'; payload: string }
  | { type: 'empty-payload-call' }
  | ErrorEvent;

/** A FrameSink that records frames, joining each frame's payload pieces. */
export class RecordingFrameSink implements FrameSink {
  readonly events: FrameEvent[] = [];
  /** Every payload view handed out, as given (not copied). */
  readonly views: Buffer[] = [];
  private pieces: Buffer[] = [];
  /** Runs after each event is recorded (e.g. to pause the parser). */
  hook: ((event: FrameEvent) => void) | null = null;

  frameStart(fin: boolean, opcode: number, rsv: number, length: number): void {
    this.pieces = [];
    this.record({ type: 'start', fin, opcode, rsv, length });
  }

  framePayload(data: Buffer): void {
    if (data.length === 0) this.record({ type: 'empty-payload-call' });
    this.views.push(data);
    this.pieces.push(Buffer.from(data));
  }

  frameEnd(): void {
    this.record({ type: 'end', payload: hx(Buffer.concat(this.pieces)) });
  }

  private record(event: FrameEvent): void {
    this.events.push(event);
    this.hook?.(event);
  }
}

/** A fresh parser with a recording sink, as a {@link Feedable}. */
export function parserTarget(
  options: FrameParserOptions,
  setup?: (parser: FrameParser, sink: RecordingFrameSink) => void,
): () => Feedable<FrameEvent> & { parser: FrameParser; sink: RecordingFrameSink } {
  return () => {
    const sink = new RecordingFrameSink();
    const parser = new FrameParser(sink, options);
    setup?.(parser, sink);
    return {
      parser,
      sink,
      events: sink.events,
      push(chunk: Buffer): void {
        try {
          parser.push(chunk);
        } catch (err) {
          sink.events.push(errorEvent(err));
        }
      },
    };
  };
}

// ---- assembler ------------------------------------------------------------------------------

export type MessageEvent =
  | { type: 'message'; data: string; binary: boolean; compressed: boolean }
  | { type: 'control'; opcode: number; payload: string }
  | ErrorEvent;

/** A MessageSink that records copies of what it receives. */
export class RecordingMessageSink implements MessageSink {
  readonly events: MessageEvent[] = [];
  /** The buffers as delivered (not copied). */
  readonly delivered: Buffer[] = [];

  message(data: Buffer, isBinary: boolean, compressed: boolean): void {
    this.delivered.push(data);
    this.events.push({ type: 'message', data: hx(data), binary: isBinary, compressed });
  }

  control(opcode: number, payload: Buffer): void {
    this.delivered.push(payload);
    this.events.push({ type: 'control', opcode, payload: hx(payload) });
  }
}

/** Parser + assembler with a recording sink, as a {@link Feedable}. */
export function assemblerTarget(
  options: Partial<AssemblerOptions> & { expectMasked?: boolean; allowedRsv?: number } = {},
): () => Feedable<MessageEvent> & { parser: FrameParser; assembler: Assembler; sink: RecordingMessageSink } {
  return () => {
    const sink = new RecordingMessageSink();
    const assembler = new Assembler(sink, {
      maxPayload: options.maxPayload ?? 1024 * 1024,
      maxFragments: options.maxFragments ?? 1 << 20,
    });
    const parser = new FrameParser(assembler, {
      expectMasked: options.expectMasked ?? false,
      maxFrameLength: options.maxPayload ?? 1024 * 1024,
      allowedRsv: options.allowedRsv ?? 0,
    });
    return {
      parser,
      assembler,
      sink,
      events: sink.events,
      push(chunk: Buffer): void {
        try {
          parser.push(chunk);
        } catch (err) {
          sink.events.push(errorEvent(err));
        }
      },
    };
  };
}

// ---- connection -----------------------------------------------------------------------------

export type ConnEvent =
  | { type: 'frame'; opcode: number; fin: boolean; rsv: number; masked: boolean; payload: string }
  | { type: 'message'; data: string; binary: boolean }
  | { type: 'ping'; data: string }
  | { type: 'pong'; data: string }
  | { type: 'closeFrame'; code: number; reason: string }
  | { type: 'endTransport' }
  | { type: 'awaitClose' }
  | { type: 'setReading'; reading: boolean }
  | { type: 'inputFinished' }
  | ErrorEvent;

/** Hooks run after the matching event was recorded. */
export interface HandlerHooks {
  onMessage?(data: Buffer, isBinary: boolean): void;
  onPing?(data: Buffer): void;
  onPong?(data: Buffer): void;
  onCloseFrame?(code: number, reason: Buffer): void;
  onProtocolError?(err: WebSocketError): void;
}

/**
 * A `writeFrame` for handlers that take bytes: the frame as one write, or two (header, then the
 * payload that was not copied behind it) with the callback on the last.
 */
export function frameWriter(
  write: (data: Buffer, cb?: SendCallback) => void,
): (first: number, payloadLength: number, buffer: Buffer, start: number, end: number, payload: Buffer | null, cb?: SendCallback) => void {
  return (_first, _payloadLength, buffer, start, end, payload, cb) => {
    const head = start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end);
    if (payload === null) {
      write(head, cb);
      return;
    }
    write(head);
    write(payload, cb);
  };
}

/**
 * A ConnectionHandler that records everything in one ordered list. Written bytes are decoded
 * (and unmasked) into `frame` events as soon as a frame is complete, so client output with
 * random masking keys still compares equal across runs.
 */
export class RecordingHandler implements ConnectionHandler {
  readonly events: ConnEvent[] = [];
  /** Every buffer passed to write(), as given. */
  readonly writes: Buffer[] = [];
  hooks: HandlerHooks;
  private unparsed: Buffer = Buffer.alloc(0);

  constructor(hooks: HandlerHooks = {}) {
    this.hooks = hooks;
  }

  readonly writeFrame = frameWriter((data, cb) => this.write(data, cb));

  write(data: Buffer, cb?: SendCallback): void {
    this.writes.push(data);
    this.unparsed = Buffer.concat([this.unparsed, data]);
    const { frames: decoded, rest } = decodeFrames(this.unparsed);
    this.unparsed = Buffer.from(rest);
    for (const f of decoded) this.events.push({ type: 'frame', ...f, payload: hx(f.payload) });
    if (cb) queueMicrotask(() => cb(null));
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.events.push({ type: 'message', data: hx(data), binary: isBinary });
    this.hooks.onMessage?.(data, isBinary);
  }

  onPing(data: Buffer): void {
    this.events.push({ type: 'ping', data: hx(data) });
    this.hooks.onPing?.(data);
  }

  onPong(data: Buffer): void {
    this.events.push({ type: 'pong', data: hx(data) });
    this.hooks.onPong?.(data);
  }

  onCloseFrame(code: number, reason: Buffer): void {
    this.events.push({ type: 'closeFrame', code, reason: hx(reason) });
    this.hooks.onCloseFrame?.(code, reason);
  }

  onProtocolError(err: WebSocketError): void {
    this.events.push(errorEvent(err));
    this.hooks.onProtocolError?.(err);
  }

  endTransport(): void {
    this.events.push({ type: 'endTransport' });
  }

  awaitClose(): void {
    this.events.push({ type: 'awaitClose' });
  }

  setReading(reading: boolean): void {
    this.events.push({ type: 'setReading', reading });
  }

  inputFinished(): void {
    this.events.push({ type: 'inputFinished' });
  }

  /** All bytes written so far. */
  written(): Buffer {
    return Buffer.concat(this.writes);
  }

  /** Written frames (decoded). */
  sentFrames(): DecodedFrame[] {
    return decodeFrames(this.written()).frames;
  }
}

/** A connection with a recording handler. */
export function makeConnection(
  options: ConnectionOptions,
  hooks: (conn: Connection) => HandlerHooks = () => ({}),
): { conn: Connection; handler: RecordingHandler } {
  const handler = new RecordingHandler();
  const conn = new Connection(handler, options);
  handler.hooks = hooks(conn);
  return { conn, handler };
}

/**
 * A fresh connection as a {@link Feedable}. `setup` runs before any input (e.g. send a close
 * frame first), `finish` after all of it (e.g. resume).
 */
export function connectionTarget(
  options: ConnectionOptions,
  hooks?: (conn: Connection) => HandlerHooks,
  finish?: (conn: Connection, handler: RecordingHandler) => void,
  setup?: (conn: Connection, handler: RecordingHandler) => void,
): () => Feedable<ConnEvent> & { conn: Connection; handler: RecordingHandler } {
  return () => {
    const { conn, handler } = makeConnection(options, hooks);
    setup?.(conn, handler);
    return {
      conn,
      handler,
      events: handler.events,
      push: (chunk: Buffer) => conn.receive(chunk),
      ...(finish ? { finish: () => finish(conn, handler) } : {}),
    };
  };
}

// ---- event shorthands -------------------------------------------------------------------------

export const msg = (data: string | Uint8Array, binary = false): ConnEvent => ({ type: 'message', data: hx(data), binary });

export const sent = (opcode: number, payload: string | Uint8Array, masked: boolean, fin = true, rsv = 0): ConnEvent => ({
  type: 'frame',
  opcode,
  fin,
  rsv,
  masked,
  payload: hx(payload),
});

export const err = (code: string, closeCode: number | null): ErrorEvent => ({ type: 'error', code, closeCode });

/** Waits for queued setImmediate callbacks (and microtasks) to run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
