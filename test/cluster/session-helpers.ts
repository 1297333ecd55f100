/**
 * Helpers of the session failover tests: session server processes (session-fixture.ts), a
 * session client driven by hand (the sans-I/O SessionClient on plain WebSockets, dialled by
 * the test), and the reading and counting of what each side recorded. Every wait is bounded.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WebSocket } from '../../src/index.js';
import type { SessionConnection } from '../../src/session/channel.js';
import { SessionClient } from '../../src/session/client.js';
import { ServerProcess } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./session-fixture.ts', import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SessionFixtureConfig {
  name: string;
  log: string;
  redisUrl: string;
  client: 'redis' | 'ioredis';
  store: 'redis' | 'memory';
  cluster: boolean;
  resumeWindow: number;
  maxSends: number;
}

/** One session server process (session-fixture.ts). */
export class SessionFixture extends ServerProcess {
  private constructor(
    proc: ChildProcess,
    readonly config: SessionFixtureConfig,
  ) {
    super(proc);
  }

  static async start(config: SessionFixtureConfig): Promise<SessionFixture> {
    const wrap = (proc: ChildProcess): SessionFixture => new SessionFixture(proc, config);
    return (await ServerProcess.launch(FIXTURE, config, wrap, 30_000)).server;
  }

  get name(): string {
    return this.config.name;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }
}

/**
 * A session client on plain WebSockets, dialled by the test: message `i` is `c:<i>`, binary
 * when `i` is a multiple of 3. Records what arrives, the acknowledgements of what it sent,
 * resets and the close codes of its connections.
 */
export class SessionPeer {
  readonly session: SessionClient;
  readonly received: Array<{ text: string; seq: number }> = [];
  readonly resets: string[] = [];
  readonly ready: Array<{ id: string; resumed: boolean }> = [];
  readonly closeCodes: number[] = [];
  /** Codes of the sends that failed. */
  readonly failed: string[] = [];
  /** Numbers of the messages acknowledged. */
  readonly ackedIds = new Set<number>();
  sent = 0;
  acked = 0;
  socket: WebSocket | null = null;
  private conn: SessionConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  constructor() {
    this.session = new SessionClient({
      ackDelay: 5,
      handler: {
        message: (m) => this.received.push({ text: typeof m.data === 'string' ? m.data : Buffer.from(m.data).toString(), seq: m.seq }),
        ready: (info) => this.ready.push(info),
        reset: (err) => this.resets.push(err.code),
        timer: (at) => this.arm(at),
      },
    });
  }

  /**
   * One timer for the session's deadlines, armed again after each tick while one is pending: a
   * timer may fire a millisecond before `Date.now()` reaches its deadline, and the session
   * announces a deadline only once (without the re-arm, a last acknowledgement could wait forever).
   */
  private arm(at: number): void {
    if (this.timer !== null && at >= this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.session.tick();
      const next = this.session.deadline();
      if (next !== Infinity) this.arm(next);
    }, Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  /** Whether the session is established on the current connection. */
  get open(): boolean {
    return this.session.state === 'open';
  }

  /** Sends the next message. */
  sendNext(): void {
    const i = ++this.sent;
    const text = `c:${i}`;
    this.session.send(i % 3 === 0 ? Buffer.from(text) : text, {
      done: (err) => {
        if (err === null) {
          this.acked += 1;
          this.ackedIds.add(i);
        } else this.failed.push(err.code);
      },
    });
  }

  /** Opens a connection offering the session; resolves once open (rejects when it closes first). */
  async connect(url: string): Promise<WebSocket> {
    const ws = new WebSocket(url, this.session.offer(), { handshakeTimeout: 5000 });
    this.socket = ws;
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (this.socket === ws) this.conn?.receive(data as Buffer, isBinary);
    });
    ws.on('close', (code) => {
      this.closeCodes.push(code);
      if (this.socket !== ws) return;
      this.conn?.closed();
      this.conn = null;
      this.socket = null;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        // At once: the server's welcome may come in the same tick as `open`.
        this.conn = this.session.connect({ send: (d, b) => ws.send(d, { binary: b }), close: (c, r) => ws.close(c, r) });
        resolve();
      });
      ws.once('close', (code) => reject(new Error(`closed ${code} before open`)));
    });
    return ws;
  }

  /** Forgets the connection on this side only (as after a network switch the server has not noticed). */
  drop(): WebSocket | null {
    const ws = this.socket;
    this.conn?.closed();
    this.conn = null;
    this.socket = null;
    return ws;
  }

  /** Terminates the connection and waits until it is closed here. */
  async cut(): Promise<void> {
    const ws = this.socket;
    if (ws === null) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.terminate();
    await closed;
  }
}

/** One line of a fixture's log. */
export interface ServerLog {
  name: string;
  /** Messages received: time, seq, flagged as a possible redelivery, binary, payload. */
  received: Array<{ time: number; seq: number; redelivered: boolean; binary: boolean; text: string }>;
  sent: Set<number>;
  acked: Set<number>;
  failed: Map<number, string>;
  opened: Array<{ time: number; how: string }>;
  closes: string[];
}

/** Reads a fixture's log (written with writeSync: complete even after SIGKILL, but for a torn last line). */
export function readServerLog(name: string, path: string): ServerLog {
  const log: ServerLog = { name, received: [], sent: new Set(), acked: new Set(), failed: new Map(), opened: [], closes: [] };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return log;
  }
  for (const line of text.split('\n')) {
    const p = line.split(' ');
    if (p[0] === 'R' && p.length >= 6) {
      log.received.push({ time: Number(p[1]), seq: Number(p[2]), redelivered: p[3] === '1', binary: p[4] === '1', text: p.slice(5).join(' ') });
    } else if (p[0] === 'S') log.sent.add(Number(p[1]));
    else if (p[0] === 'A') log.acked.add(Number(p[1]));
    else if (p[0] === 'F') log.failed.set(Number(p[1]), String(p[2]));
    else if (p[0] === 'O') log.opened.push({ time: Number(p[1]), how: String(p[3]) });
    else if (p[0] === 'C') log.closes.push(String(p[2]));
  }
  return log;
}

/** Counts of the client → server direction. */
export interface UpCount {
  sent: number;
  acked: number;
  deliveries: number;
  lost: number;
  /** Deliveries beyond the first of a message. */
  duplicated: number;
  /** Deliveries flagged `redelivered`. */
  flagged: number;
  /**
   * Messages delivered unflagged more than once: the promise broken (every delivery but one is
   * flagged, so an application that keeps the seqs it processed can drop the others).
   */
  unflaggedRepeat: number;
  /** A delivery whose seq is not the message's number. */
  wrongSeq: number;
  /**
   * Deliveries out of order: on one server while one copy of the session holds it, or, across
   * servers, first deliveries (in time, every server's log merged) not in increasing order.
   */
  outOfOrder: number;
  /** Payloads that did not match their seq (text/binary as sent). */
  corrupt: number;
}

/** Counts of the server → client direction. */
export interface DownCount {
  sent: number;
  acked: number;
  received: number;
  /** Acknowledged to a server application and never received by the client. */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /**
   * Sends of a server that the client did not get although it got a later one of that server:
   * a hole, where only a loss at the end of a killed server's sends (in flight to the store
   * when it died) is allowed.
   */
  holes: number;
  /** Sends whose promise never settled (made by a server that was killed), and of those the ones the client received. */
  unconfirmed: number;
  unconfirmedReceived: number;
  /** Sends whose promise was rejected, and of those the ones the client received (from the server that took the session). */
  failed: number;
  failedReceived: number;
}

/** Client → server: what the client sent and got acknowledged, against every server's record. */
export function countUp(peer: SessionPeer, logs: ServerLog[]): UpCount {
  const seen = new Map<number, number>();
  const unflagged = new Map<number, number>();
  let deliveries = 0;
  let flagged = 0;
  let wrongSeq = 0;
  let outOfOrder = 0;
  let corrupt = 0;
  // On each server, seqs increase while one copy holds the session (a new copy starts over
  // from what the store recorded).
  for (const log of logs) {
    let lastHere = 0;
    let opened = 0;
    for (const r of log.received) {
      while (opened < log.opened.length && (log.opened[opened]?.time ?? Infinity) <= r.time) {
        opened += 1;
        lastHere = 0;
      }
      if (r.seq <= lastHere) outOfOrder += 1;
      lastHere = r.seq;
    }
  }
  // Servers may hold the session one after the other, or for a moment together (a move): every
  // delivery in time order (each process logs wall-clock time).
  const all = logs.flatMap((l) => l.received).sort((x, y) => x.time - y.time);
  let last = 0;
  for (const r of all) {
    deliveries += 1;
    const i = Number(r.text.split(':')[1]);
    if (r.text !== `c:${i}` || r.binary !== (i % 3 === 0)) corrupt += 1;
    if (r.seq !== i) wrongSeq += 1;
    if (r.redelivered) flagged += 1;
    else unflagged.set(i, (unflagged.get(i) ?? 0) + 1);
    const times = (seen.get(i) ?? 0) + 1;
    seen.set(i, times);
    if (times > 1) continue;
    if (r.seq <= last) outOfOrder += 1;
    last = r.seq;
  }
  let unflaggedRepeat = 0;
  for (const n of unflagged.values()) if (n > 1) unflaggedRepeat += 1;
  let lost = 0;
  for (const i of peer.ackedIds) if (!seen.has(i)) lost += 1;
  return { sent: peer.sent, acked: peer.acked, deliveries, lost, duplicated: deliveries - seen.size, flagged, unflaggedRepeat, wrongSeq, outOfOrder, corrupt };
}

/** Server → client: what each server application sent and saw acknowledged, against the client's record. */
export function countDown(peer: SessionPeer, logs: ServerLog[]): DownCount {
  const got = new Set<string>();
  let duplicated = 0;
  let outOfOrder = 0;
  let lastSeq = 0;
  const lastBy = new Map<string, number>();
  for (const m of peer.received) {
    if (got.has(m.text)) duplicated += 1;
    got.add(m.text);
    if (m.seq <= lastSeq) outOfOrder += 1;
    lastSeq = m.seq;
    const [, name, n] = m.text.split(':');
    if (Number(n) <= (lastBy.get(name as string) ?? 0)) outOfOrder += 1;
    lastBy.set(name as string, Number(n));
  }
  let sent = 0;
  let acked = 0;
  let lost = 0;
  let unconfirmed = 0;
  let unconfirmedReceived = 0;
  let failed = 0;
  let failedReceived = 0;
  let holes = 0;
  for (const log of logs) {
    sent += log.sent.size;
    acked += log.acked.size;
    let lastReceived = 0;
    for (const n of log.sent) if (got.has(`s:${log.name}:${n}`) && n > lastReceived) lastReceived = n;
    for (const n of log.sent) if (n < lastReceived && !got.has(`s:${log.name}:${n}`) && !log.failed.has(n)) holes += 1;
    for (const n of log.sent) {
      const received = got.has(`s:${log.name}:${n}`);
      if (log.acked.has(n)) {
        if (!received) lost += 1;
      } else if (log.failed.has(n)) {
        failed += 1;
        if (received) failedReceived += 1;
      } else {
        unconfirmed += 1;
        if (received) unconfirmedReceived += 1;
      }
    }
  }
  return { sent, acked, received: peer.received.length, lost, duplicated, outOfOrder, holes, unconfirmed, unconfirmedReceived, failed, failedReceived };
}
