/**
 * Drives our core with one generated case and checks it against the oracle. Two runs per case:
 *
 * 1. Frame level: FrameParser + Assembler fed the whole input, with a sink that counts frames, so the frame a
 *    violation is reported on is known exactly. Messages (still compressed), pings, pongs, the close frame and the
 *    first violation (close code and frame index) must equal the oracle's.
 * 2. Connection level: a Connection in the case's role, fed in the case's chunks (down to one byte), with our own
 *    sends, pings and close in between, and (for some cases) an application that pauses from its event handlers
 *    and resumes later or right there. Its events must equal the oracle's connection-level events (compressed
 *    messages inflated); a violation must carry the oracle's close code and be reported while the chunk holding
 *    the offending frame is fed; and the bytes it writes must parse (with the peer's reader, minimal lengths required): our sends in
 *    order, pongs that echo received pings, at most one close frame, last: ours, the failure's code, or the echo
 *    of the peer's close payload; endTransport and awaitClose as the role and the close handshake require.
 *
 * Throughout: nothing but a ProtocolError with 1002, 1007, 1009 or 1011 (a WebSocketError from the extension) may
 * come out of the core; the assembler never holds more than maxPayload (checked on its buffer's capacity, a
 * white-box look at a private field); the parser holds input only while the application paused or the core has
 * asked the transport to stop reading; no message delivered is larger than maxPayload.
 *
 * The plain lane runs synchronously. The deflate lane decodes through node:zlib, so a connection is driven
 * asynchronously: chunks are pushed while a message is being inflated (the parser holds them) or, at random, only
 * once the inflate finished, and the run ends when the connection is quiet again (bounded wait).
 */
import { Assembler, type MessageSink } from '../../src/core/assembler.js';
import { parseClosePayload } from '../../src/core/close.js';
import { Connection, type ConnectionHandler, type SendCallback } from '../../src/core/connection.js';
import { ProtocolError, WebSocketError } from '../../src/core/errors.js';
import { FrameParser, type FrameSink } from '../../src/core/frame-parser.js';
import { PerMessageDeflate } from '../../src/deflate/codec.js';
import { PeerDeflate } from '../../autobahn/peer/deflate-codec.js';
import { FrameReader, type ReaderSink } from '../../autobahn/peer/frame-reader.js';
import type { FuzzCase, PlannedSend } from './generator.js';
import { judge, type Expectation, type Judgement, type OracleEvent } from './oracle.js';
import { Rng, caseSeed } from './random.js';
import { frameWriter } from '../core/helpers.js';

/** A disagreement or a broken guarantee. */
export interface Finding {
  readonly check: string;
  readonly detail: string;
}

/** The result of one case. */
export interface CaseReport {
  readonly findings: Finding[];
  /** Frame headers the oracle read (a measure of work done). */
  readonly frames: number;
  readonly bytes: number;
  /** The oracle's connection-level verdict (close code), or 0 when the input breaks no rule. */
  readonly verdict: number;
  /** The oracle could not be sure of everything (a message that did not end a DEFLATE block). */
  readonly loose: boolean;
}

const VALID_FAIL_CODES = new Set([1002, 1007, 1009, 1011]);

interface OurError {
  readonly code: string;
  readonly closeCode: number;
  /** Bytes fed before and after the push during which it was reported; -1 when reported outside a push. */
  readonly from: number;
  readonly to: number;
  readonly frame: number;
}

function describeEvent(e: OracleEvent): string {
  switch (e.kind) {
    case 'message':
      return `message(${e.binary ? 'binary' : 'text'}, ${e.data.length} bytes${e.compressed ? ', compressed' : ''}, ${e.data.subarray(0, 12).toString('hex')})`;
    case 'close':
      return `close(${e.code}, ${e.reason.length} bytes of reason)`;
    default:
      return `${e.kind}(${e.data.toString('hex')})`;
  }
}

function sameEvent(a: OracleEvent, b: OracleEvent): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'message': {
      const o = b as typeof a;
      return a.binary === o.binary && a.compressed === o.compressed && a.data.equals(o.data);
    }
    case 'close': {
      const o = b as typeof a;
      return a.code === o.code && a.reason.equals(o.reason);
    }
    default:
      return a.data.equals((b as typeof a).data);
  }
}

/** Compares event lists (only the first `exact` when the oracle is not sure of the rest); returns a finding or null. */
function compareEvents(level: string, ours: readonly OracleEvent[], expected: readonly OracleEvent[], exact = Infinity): Finding | null {
  const n = Math.min(exact, Math.max(ours.length, expected.length));
  for (let i = 0; i < n; i++) {
    const a = ours[i];
    const b = expected[i];
    if (a !== undefined && b !== undefined && sameEvent(a, b)) continue;
    return {
      check: `${level}: events`,
      detail: `event ${i}: ours ${a ? describeEvent(a) : 'none'}, oracle ${b ? describeEvent(b) : 'none'} (ours ${ours.length} events, oracle ${expected.length})`,
    };
  }
  return null;
}

/** Checks an error that came out of the core: a ProtocolError with a valid close code, or an extension failure. */
function checkError(err: unknown, findings: Finding[], where: string): { code: string; closeCode: number } | null {
  if (err instanceof ProtocolError) {
    if (!VALID_FAIL_CODES.has(err.closeCode)) findings.push({ check: `${where}: close code`, detail: `${err.code} with close code ${err.closeCode}` });
    return { code: err.code, closeCode: err.closeCode };
  }
  if (err instanceof WebSocketError) {
    // A failure of the extension itself (not the peer's fault): the connection closes with 1011.
    return { code: err.code, closeCode: 1011 };
  }
  findings.push({ check: `${where}: threw`, detail: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err) });
  return null;
}

/** Compares our verdict with the oracle's. */
function compareVerdict(level: string, ours: OurError | null, expected: Expectation, exactFrame: boolean): Finding | null {
  // Past a message that did not end a DEFLATE block, any failure code of a receiver (or none) is acceptable.
  if (expected.loose !== undefined) return null;
  const v = expected.verdict;
  if (v === null) {
    return ours === null ? null : { check: `${level}: verdict`, detail: `ours ${ours.code} (${ours.closeCode}), oracle accepts the input` };
  }
  if (ours === null) {
    return v.certain ? { check: `${level}: verdict`, detail: `ours none, oracle ${v.code} on frame ${v.frame} (${v.reason})` } : null;
  }
  if (ours.closeCode !== v.code && !(v.alternatives ?? []).includes(ours.closeCode)) {
    return { check: `${level}: verdict`, detail: `ours ${ours.code} (${ours.closeCode}), oracle ${v.code} on frame ${v.frame} (${v.reason})` };
  }
  if (exactFrame && ours.frame !== v.frame) {
    return { check: `${level}: frame`, detail: `ours ${ours.code} on frame ${ours.frame}, oracle on frame ${v.frame} (${v.reason})` };
  }
  if (!exactFrame && !v.afterDecode && ours.from >= 0 && !(ours.from < v.frameEnd && ours.to > v.frameStart)) {
    return {
      check: `${level}: where`,
      detail: `ours ${ours.code} while bytes ${ours.from}-${ours.to} were fed, oracle on frame ${v.frame} at bytes ${v.frameStart}-${v.frameEnd} (${v.reason})`,
    };
  }
  return null;
}

// ---- frame level ---------------------------------------------------------------------------

/** Counts frames on their way from the parser to the assembler. */
class CountingSink implements FrameSink {
  started = 0;
  inFrame = false;

  constructor(private readonly inner: Assembler) {}

  frameStart(fin: boolean, opcode: number, rsv: number, length: number): void {
    this.started++;
    this.inFrame = true;
    this.inner.frameStart(fin, opcode, rsv, length);
  }

  framePayload(data: Buffer): void {
    this.inner.framePayload(data);
  }

  framePayloadMasked(data: Buffer, key: Uint8Array, keyIndex: number): void {
    this.inner.framePayloadMasked(data, key, keyIndex);
  }

  frameEnd(): void {
    this.inner.frameEnd();
    this.inFrame = false;
  }
}

/** Records what the assembler delivers; a close frame is parsed and stops the parser, as Connection does. */
class RecordingSink implements MessageSink {
  readonly events: OracleEvent[] = [];
  parser: FrameParser | null = null;
  largest = 0;

  message(data: Buffer, isBinary: boolean, compressed: boolean): void {
    this.largest = Math.max(this.largest, data.length);
    this.events.push({ kind: 'message', data: Buffer.from(data), binary: isBinary, compressed });
  }

  control(opcode: number, payload: Buffer): void {
    if (opcode === 0x9) this.events.push({ kind: 'ping', data: Buffer.from(payload) });
    else if (opcode === 0xa) this.events.push({ kind: 'pong', data: Buffer.from(payload) });
    else {
      const { code, reason } = parseClosePayload(payload);
      this.events.push({ kind: 'close', code, reason, payload: Buffer.from(payload) });
      // RFC 6455 §5.5.1: nothing after a close frame is data.
      this.parser?.stop();
    }
  }
}

/** The frame-level run: parser + assembler, whole input. */
function runFrameLevel(c: FuzzCase, expected: Expectation, findings: Finding[]): void {
  const sink = new RecordingSink();
  const assembler = new Assembler(sink, { maxPayload: c.maxPayload, maxFragments: c.maxFragments });
  const counter = new CountingSink(assembler);
  const parser = new FrameParser(counter, { expectMasked: c.role === 'server', maxFrameLength: c.maxPayload, allowedRsv: c.deflate ? 0x40 : 0 });
  sink.parser = parser;
  let ours: OurError | null = null;
  try {
    // A copy: the parser unmasks in place, and the connection run needs the original bytes.
    parser.push(Buffer.from(c.input));
  } catch (err) {
    const e = checkError(err, findings, 'frame level');
    if (e) ours = { ...e, from: 0, to: c.input.length, frame: counter.inFrame ? counter.started - 1 : counter.started };
  }
  if (assembler.bufferedBytes > c.maxPayload) findings.push({ check: 'frame level: limit', detail: `assembler holds ${assembler.bufferedBytes} > maxPayload ${c.maxPayload}` });
  if (sink.largest > c.maxPayload) findings.push({ check: 'frame level: limit', detail: `message of ${sink.largest} bytes > maxPayload ${c.maxPayload}` });
  const eventsFinding = compareEvents('frame level', sink.events, expected.events);
  if (eventsFinding) findings.push(eventsFinding);
  const verdictFinding = compareVerdict('frame level', ours, expected, true);
  if (verdictFinding) findings.push(verdictFinding);
}

// ---- connection level ------------------------------------------------------------------------

/** A transport that records everything the connection does. */
class Transport implements ConnectionHandler {
  readonly out: Buffer[] = [];
  readonly events: OracleEvent[] = [];
  readonly callbacks: Array<{ cb: SendCallback }> = [];
  error: OurError | null = null;
  errors = 0;
  ends = 0;
  awaits = 0;
  reading = true;
  largest = 0;
  /** Bytes fed before and after the current push (-1 outside a push). */
  from = -1;
  to = -1;
  /** Set when the application pauses from its handlers (see {@link maybePause}). */
  conn: Connection | null = null;
  pauser: Rng | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly findings: Finding[],
    private readonly maxPayload: number,
  ) {}

  readonly writeFrame = frameWriter((data, cb) => this.write(data, cb));

  write(data: Buffer, cb?: SendCallback): void {
    // The encoder may reuse its slab after the call: keep a copy.
    this.out.push(Buffer.from(data));
    if (cb) this.callbacks.push({ cb });
  }

  /** Reports every write done so far as flushed. */
  flush(): void {
    const pending = this.callbacks.splice(0);
    for (const { cb } of pending) cb(null);
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.largest = Math.max(this.largest, data.length);
    this.events.push({ kind: 'message', data: Buffer.from(data), binary: isBinary, compressed: false });
    this.maybePause();
    this.signal();
  }

  onPing(data: Buffer): void {
    this.events.push({ kind: 'ping', data: Buffer.from(data) });
    this.maybePause();
  }

  onPong(data: Buffer): void {
    this.events.push({ kind: 'pong', data: Buffer.from(data) });
    this.maybePause();
  }

  /** An application that pauses in its handlers (backpressure) and now and then resumes right there. */
  private maybePause(): void {
    const r = this.pauser;
    const conn = this.conn;
    if (r === null || conn === null) return;
    if (r.chance(0.25)) conn.pause();
    else if (conn.isPaused && r.chance(0.15)) conn.resume();
  }

  /** Resumes a paused connection (at random unless `all`); returns false when the core threw. */
  resumeSome(all: boolean): boolean {
    const conn = this.conn;
    if (conn === null || this.pauser === null) return true;
    try {
      if (!all) {
        if (conn.isPaused && this.pauser.chance(0.5)) conn.resume();
        return true;
      }
      // Handlers may pause again while held input is delivered: bounded, then stop pausing.
      for (let i = 0; i < 64 && conn.isPaused; i++) conn.resume();
      this.pauser = null;
      if (conn.isPaused) conn.resume();
    } catch (err) {
      this.findings.push({ check: 'connection: threw', detail: err instanceof Error ? `resume: ${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err) });
      return false;
    }
    return true;
  }

  onCloseFrame(code: number, reason: Buffer): void {
    this.events.push({ kind: 'close', code, reason: Buffer.from(reason), payload: Buffer.alloc(0) });
  }

  onProtocolError(err: WebSocketError): void {
    this.errors++;
    const e = checkError(err, this.findings, 'connection');
    if (e && this.error === null) this.error = { ...e, from: this.from, to: this.to, frame: -1 };
    this.signal();
  }

  endTransport(): void {
    this.ends++;
    this.signal();
  }

  awaitClose(): void {
    this.awaits++;
  }

  setReading(reading: boolean): void {
    this.reading = reading;
    this.signal();
  }

  /** Resolves at the next event that may end a wait (a message, a failure, reading resumed), or after `ms`. */
  next(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve(true);
      };
    });
  }

  private signal(): void {
    this.wake?.();
  }
}

/** What our sends should put on the wire. */
interface SendLog {
  /** Complete data messages accepted while open, in order (a fragmented send joined). */
  readonly messages: Array<{ data: Buffer; binary: boolean; settled: 'ok' | 'error' | null }>;
  readonly pings: Buffer[];
  /** Send and ping calls whose callback has not run yet (every callback must run exactly once). */
  pending: number;
  /** The payload of the close frame we started the close handshake with, if we did. */
  ourClose: Buffer | null;
}

function doSend(conn: Connection, s: PlannedSend, log: SendLog, open: { data: Buffer[]; binary: boolean } | null): { data: Buffer[]; binary: boolean } | null {
  const accepted = conn.state === 1 && !conn.closeSent;
  if (s.kind === 'close') {
    if (accepted) log.ourClose = Buffer.concat([Buffer.from([0x03, 0xe8]), s.data]);
    conn.close(1000, s.data);
    return open;
  }
  log.pending++;
  let called = false;
  const done = (): void => {
    if (called) throw new Error('a send callback ran twice');
    called = true;
    log.pending--;
  };
  if (s.kind === 'ping') {
    if (accepted) log.pings.push(s.data);
    conn.ping(s.data, done);
    return open;
  }
  const current = open ?? { data: [], binary: s.kind === 'binary' };
  if (accepted) current.data.push(s.data);
  let entry: SendLog['messages'][number] | null = null;
  if (accepted && s.fin) {
    entry = { data: Buffer.concat(current.data), binary: current.binary, settled: null };
    log.messages.push(entry);
  }
  conn.send(s.data, { binary: s.kind === 'binary', fin: s.fin, compress: s.compress }, (err) => {
    done();
    if (entry) entry.settled = err ? 'error' : 'ok';
  });
  return s.fin || !accepted ? null : current;
}

/** Parses what the connection wrote and checks it. */
function checkOutput(c: FuzzCase, t: Transport, sends: SendLog, findings: Finding[]): void {
  const bytes = Buffer.concat(t.out);
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  const messages: Array<{ data: Buffer; binary: boolean; compressed: boolean }> = [];
  let violation: string | null = null;
  const sink: ReaderSink = {
    alive: () => violation === null,
    protocolViolation: (reason) => {
      violation = reason;
    },
    invalidPayload: (reason) => {
      violation = reason;
    },
    frame: (info) => {
      if (info.opcode >= 8) frames.push({ opcode: info.opcode, payload: info.payload });
      else frames.push({ opcode: info.opcode, payload: Buffer.alloc(0) });
    },
    message: (payload, binary, compressed) => messages.push({ data: payload, binary, compressed }),
    ping: () => {},
    pong: () => {},
    close: () => {},
  };
  // Our frames are masked when we are the client; lengths must use the minimal encoding (RFC 6455 §5.2).
  const reader = new FrameReader(sink, c.role === 'client', c.deflate !== null);
  reader.push(bytes);
  if (violation !== null) {
    findings.push({ check: 'output: frames', detail: `what we wrote does not parse: ${violation as string}` });
    return;
  }
  if (reader.position !== bytes.length) findings.push({ check: 'output: frames', detail: `we wrote ${bytes.length - reader.position} bytes of an incomplete frame` });

  // Data: our sends, in order (with the extension: a prefix, since a failure drops what waits for zlib).
  const inflater = c.deflate ? new PeerDeflate(c.deflate, c.role !== 'server') : null;
  const got = messages.map((m) => {
    if (!m.compressed) return m;
    try {
      return { data: (inflater as PeerDeflate).decompress(m.data), binary: m.binary, compressed: false };
    } catch (err) {
      findings.push({ check: 'output: deflate', detail: `a message we compressed does not inflate: ${(err as Error).message}` });
      return m;
    }
  });
  const wanted = sends.messages;
  if (got.length > wanted.length || (c.deflate === null && got.length !== wanted.length)) {
    findings.push({ check: 'output: data', detail: `we wrote ${got.length} data messages, the application sent ${wanted.length} while open` });
  }
  for (let i = 0; i < Math.min(got.length, wanted.length); i++) {
    const g = got[i] as { data: Buffer; binary: boolean };
    const w = wanted[i] as { data: Buffer; binary: boolean };
    if (!g.data.equals(w.data) || g.binary !== w.binary) {
      findings.push({ check: 'output: data', detail: `message ${i} differs from what the application sent (${g.data.length} vs ${w.data.length} bytes)` });
      break;
    }
  }
  for (let i = 0; i < wanted.length; i++) {
    const w = wanted[i] as { settled: 'ok' | 'error' | null };
    if (w.settled === 'ok' && i >= got.length) findings.push({ check: 'output: data', detail: `send ${i} reported success but was not written` });
    if (w.settled === 'error' && i < got.length) findings.push({ check: 'output: data', detail: `send ${i} reported an error but was written` });
  }

  // Control frames: our pings, pongs echoing received pings (RFC 6455 §5.5.3), one close frame, last.
  const ourPings = frames.filter((f) => f.opcode === 0x9).map((f) => f.payload);
  const pongs = frames.filter((f) => f.opcode === 0xa).map((f) => f.payload);
  if (ourPings.length !== sends.pings.length || ourPings.some((p, i) => !p.equals(sends.pings[i] as Buffer))) {
    findings.push({ check: 'output: pings', detail: `we wrote ${ourPings.length} pings, the application sent ${sends.pings.length}` });
  }
  const received = t.events.filter((e) => e.kind === 'ping').map((e) => (e as { data: Buffer }).data);
  if (!c.autoPong) {
    if (pongs.length > 0) findings.push({ check: 'output: pongs', detail: `${pongs.length} pongs written with autoPong off` });
  } else {
    // Every pong echoes a ping, in order; several pings may be answered by one pong for the latest (§5.5.3).
    let p = 0;
    for (const pong of pongs) {
      while (p < received.length && !(received[p] as Buffer).equals(pong)) p++;
      if (p === received.length) {
        findings.push({ check: 'output: pongs', detail: `pong ${pong.toString('hex')} answers no ping received (in order)` });
        break;
      }
      p++;
    }
    const last = received.at(-1);
    const closeIndex = frames.findIndex((f) => f.opcode === 0x8);
    const lastPong = pongs.at(-1);
    if (last !== undefined && closeIndex < 0 && (lastPong === undefined || !lastPong.equals(last))) {
      findings.push({ check: 'output: pongs', detail: `the latest ping (${last.toString('hex')}) was not answered` });
    }
  }
  const closes = frames.map((f, i) => ({ f, i })).filter(({ f }) => f.opcode === 0x8);
  if (closes.length > 1) findings.push({ check: 'output: close', detail: `${closes.length} close frames written` });
  const close = closes[0];
  if (close !== undefined && close.i !== frames.length - 1) findings.push({ check: 'output: close', detail: `${frames.length - 1 - close.i} frames written after our close frame` });
  const peerClose = t.events.find((e) => e.kind === 'close');
  const failed = t.error !== null;
  const wantEnds = failed || (peerClose !== undefined && c.role === 'server') ? 1 : 0;
  const wantAwaits = (sends.ourClose ? 1 : 0) + (!failed && peerClose !== undefined && c.role === 'client' ? 1 : 0);
  if (t.ends !== wantEnds || t.awaits !== wantAwaits) {
    findings.push({ check: 'output: end', detail: `endTransport ${t.ends} (want ${wantEnds}), awaitClose ${t.awaits} (want ${wantAwaits})` });
  }
  if (sends.ourClose !== null) {
    // We closed first: our close frame is the one written, whatever happened after.
    if (close === undefined || !close.f.payload.equals(sends.ourClose)) {
      findings.push({ check: 'output: close', detail: `we closed with ${sends.ourClose.toString('hex')}, wrote ${close ? `close ${close.f.payload.toString('hex')}` : 'no close frame'}` });
    }
  } else if (t.error !== null) {
    const want = Buffer.from([t.error.closeCode >> 8, t.error.closeCode & 0xff]);
    if (close === undefined || !close.f.payload.equals(want)) {
      findings.push({ check: 'output: close', detail: `failed with ${t.error.closeCode}, wrote ${close ? `close ${close.f.payload.toString('hex')}` : 'no close frame'}` });
    }
  } else if (peerClose !== undefined) {
    // RFC 6455 §5.5.1: the answer echoes the status code received; we echo the reason too.
    const { code, reason } = peerClose as { code: number; reason: Buffer };
    const echo = code === 1005 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]);
    if (close === undefined || !close.f.payload.equals(echo)) {
      findings.push({ check: 'output: close', detail: `close received, wrote ${close ? `close ${close.f.payload.toString('hex')}` : 'no close frame'}` });
    }
  } else if (close !== undefined) {
    findings.push({ check: 'output: close', detail: `close frame ${close.f.payload.toString('hex')} written without a failure or a close received` });
  }
  if (t.errors > 1) findings.push({ check: 'connection: errors', detail: `${t.errors} errors reported` });
}

/** White-box limit checks after a push. */
function checkHeld(conn: Connection, t: Transport, c: FuzzCase, findings: Finding[]): void {
  const assembler = (conn as unknown as { assembler: Assembler }).assembler;
  const held = assembler.bufferedBytes;
  const capacity = (assembler as unknown as { buffer: Buffer | null }).buffer?.length ?? 0;
  if (held > c.maxPayload || capacity > Math.max(c.maxPayload, 0)) {
    findings.push({ check: 'connection: limit', detail: `assembler holds ${held} bytes in a buffer of ${capacity}, maxPayload ${c.maxPayload}` });
  }
  const pending = conn.bufferedInbound - held;
  if (pending > 0 && t.reading && !conn.isPaused) {
    findings.push({ check: 'connection: limit', detail: `parser holds ${pending} bytes while neither paused nor told to stop reading` });
  }
}

function makeConnection(c: FuzzCase, t: Transport): Connection {
  const extension = c.deflate ? new PerMessageDeflate({ ...c.deflate }, c.role, { threshold: (c.index % 4) * 40 }, c.maxPayload) : null;
  const conn = new Connection(t, { role: c.role, maxPayload: c.maxPayload, maxFragments: c.maxFragments, autoPong: c.autoPong, extension });
  if (c.pauses) {
    t.conn = conn;
    t.pauser = new Rng(caseSeed(c.seed ^ 0x7e57, c.index));
  }
  return conn;
}

function chunksOf(c: FuzzCase): Buffer[] {
  // One copy (the parser unmasks in place), handed out as views, as a socket hands out views of its reads.
  const copy = Buffer.from(c.input);
  const chunks: Buffer[] = [];
  let at = 0;
  for (let i = 0; i <= c.cuts.length; i++) {
    const cut = i < c.cuts.length ? (c.cuts[i] as number) : copy.length;
    if (cut > at) chunks.push(copy.subarray(at, cut));
    at = cut;
  }
  return chunks;
}

function finishConnection(c: FuzzCase, t: Transport, j: Judgement, sends: SendLog, findings: Finding[]): void {
  if (t.largest > c.maxPayload) findings.push({ check: 'connection: limit', detail: `message of ${t.largest} bytes > maxPayload ${c.maxPayload}` });
  const eventsFinding = compareEvents('connection', t.events, j.connection.events, j.connection.loose?.after);
  if (eventsFinding) findings.push(eventsFinding);
  const verdictFinding = compareVerdict('connection', t.error, j.connection, false);
  if (verdictFinding) findings.push(verdictFinding);
  checkOutput(c, t, sends, findings);
}

/** Runs a plain-lane case (synchronous). */
export function runCase(c: FuzzCase): CaseReport {
  const findings: Finding[] = [];
  const j = judge(c);
  runFrameLevel(c, j.frameLevel, findings);
  const t = new Transport(findings, c.maxPayload);
  const conn = makeConnection(c, t);
  const sends: SendLog = { messages: [], pings: [], pending: 0, ourClose: null };
  let open: { data: Buffer[]; binary: boolean } | null = null;
  let s = 0;
  const chunks = chunksOf(c);
  let fed = 0;
  for (let k = 0; k <= chunks.length; k++) {
    while (s < c.sends.length && (c.sends[s] as PlannedSend).afterChunk === k) open = doSend(conn, c.sends[s++] as PlannedSend, sends, open);
    const chunk = chunks[k];
    if (chunk === undefined) break;
    t.from = fed;
    t.to = fed + chunk.length;
    try {
      conn.receive(chunk);
    } catch (err) {
      findings.push({ check: 'connection: threw', detail: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err) });
      break;
    }
    t.from = t.to = -1;
    fed += chunk.length;
    t.flush();
    checkHeld(conn, t, c, findings);
    if (!t.resumeSome(false)) break;
  }
  t.resumeSome(true);
  t.flush();
  finishConnection(c, t, j, sends, findings);
  conn.receiveEnd();
  return { findings, frames: j.framesRead, bytes: c.input.length, verdict: j.connection.verdict?.code ?? 0, loose: j.connection.loose !== undefined };
}

/** Longest wait for the connection to become quiet (inflate jobs running) before the run counts as hung. */
const QUIET_TIMEOUT_MS = 5000;

/** Runs a deflate-lane case: inflation is asynchronous, so the run is too. */
export async function runCaseAsync(c: FuzzCase): Promise<CaseReport> {
  const findings: Finding[] = [];
  const j = judge(c);
  runFrameLevel(c, j.frameLevel, findings);
  const t = new Transport(findings, c.maxPayload);
  const conn = makeConnection(c, t);
  const r = new Rng(caseSeed(c.seed ^ 0x1234567, c.index));
  const sends: SendLog = { messages: [], pings: [], pending: 0, ourClose: null };
  let open: { data: Buffer[]; binary: boolean } | null = null;
  let s = 0;
  const chunks = chunksOf(c);
  const waitQuiet = async (): Promise<boolean> => {
    for (let i = 0; i < 10_000 && !t.reading && t.error === null && t.ends === 0; i++) {
      t.flush();
      if (!(await t.next(QUIET_TIMEOUT_MS))) return false;
    }
    return true;
  };
  let fed = 0;
  let hung = false;
  for (let k = 0; k <= chunks.length; k++) {
    while (s < c.sends.length && (c.sends[s] as PlannedSend).afterChunk === k) open = doSend(conn, c.sends[s++] as PlannedSend, sends, open);
    const chunk = chunks[k];
    if (chunk === undefined) break;
    t.from = fed;
    t.to = fed + chunk.length;
    try {
      conn.receive(chunk);
    } catch (err) {
      findings.push({ check: 'connection: threw', detail: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err) });
      break;
    }
    t.from = t.to = -1;
    fed += chunk.length;
    t.flush();
    checkHeld(conn, t, c, findings);
    if (!t.resumeSome(false)) break;
    // Sometimes let the inflate finish before the next chunk, sometimes feed on while it runs.
    if (!t.reading && r.chance(0.3) && !(await waitQuiet())) {
      hung = true;
      break;
    }
  }
  t.resumeSome(true);
  if (!hung && !(await waitQuiet())) hung = true;
  if (hung) findings.push({ check: 'connection: hang', detail: `no progress for ${QUIET_TIMEOUT_MS} ms while a message was being inflated` });
  // Let queued compressions of our sends finish, so their frames (and a close frame queued behind them) are written.
  const deadline = Date.now() + QUIET_TIMEOUT_MS;
  while (!hung && sends.pending > 0 && Date.now() < deadline) {
    t.flush();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  t.flush();
  if (sends.pending > 0) findings.push({ check: 'connection: hang', detail: `${sends.pending} send callbacks not called within ${QUIET_TIMEOUT_MS} ms` });
  finishConnection(c, t, j, sends, findings);
  conn.receiveEnd();
  return { findings, frames: j.framesRead, bytes: c.input.length, verdict: j.connection.verdict?.code ?? 0, loose: j.connection.loose !== undefined };
}
