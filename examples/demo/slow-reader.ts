/**
 * The slow reader: a client of this very server that stops reading, joined to the hub under a
 * backpressure policy, then sent 48 KiB every 10 ms for 3 s (about 14 MiB; less than the
 * high-water mark per tick, so that what fills up is the reader, not one tick's batch). What the policy did is reported to the
 * page: with `drop` the server keeps at most the high-water mark (plus one message) for it and
 * skips the rest, with `queue` a bounded queue drops its oldest, with `close` it is closed
 * (1013). Either way the chat and the other members are not slowed down.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket } from '../../src/index.js';
import type { Hub } from '../../src/hub/index.js';
import type { BackpressurePolicy } from '../../src/hub/index.js';

export type SlowPolicy = 'drop' | 'queue' | 'close';

/** What the page is told about the last run. */
export interface SlowReport {
  state: 'idle' | 'running' | 'done';
  policy: SlowPolicy | null;
  /** Messages offered to the slow reader (16 KiB each). */
  offered: number;
  /** Handed to its socket when offered. */
  sent: number;
  /** Put in its queue when offered (`queue`). */
  queued: number;
  /** Skipped by the policy, or dropped from its full queue (the hub's `dropped`). */
  dropped: number;
  /** 1 once the policy closed it. */
  closed: number;
  /** Most bytes the server held for it at once in its socket's buffer (`bufferedAmount`). */
  maxBuffered: number;
  /** Most messages waiting in its queue at once (`queue`). */
  maxQueued: number;
  /** Close code the slow reader saw, if it was closed. */
  closeCode: number | null;
}

const HIGH_WATER_MARK = 64 * 1024;
const MESSAGE = Buffer.alloc(16 * 1024, 0x2e);
const PER_TICK = 3;
const TICK_MS = 10;
const DURATION_MS = 3000;

function policyOf(policy: SlowPolicy): BackpressurePolicy {
  if (policy === 'queue') return { policy: 'queue', highWaterMark: HIGH_WATER_MARK, maxQueuedBytes: 256 * 1024, overflow: 'dropOldest' };
  if (policy === 'close') return { policy: 'close', highWaterMark: HIGH_WATER_MARK, code: 1013 };
  return { policy: 'drop', highWaterMark: HIGH_WATER_MARK };
}

export class SlowReader {
  private readonly token = randomBytes(12).toString('hex');
  private result: SlowReport = SlowReader.empty('idle', null);
  /** The hub's `dropped` when the run started. */
  private droppedBefore = 0;
  private client: WebSocket | null = null;
  private member: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private waiting: ((ws: WebSocket) => void) | null = null;

  constructor(private readonly hub: Hub) {}

  report(): SlowReport {
    return { ...this.result };
  }

  /** Starts a run with `policy` against the server at `base` (ws://host:port); `false` while one runs. */
  start(policy: SlowPolicy, base: string): boolean {
    if (this.result.state === 'running') return false;
    this.result = SlowReader.empty('running', policy);
    const adopted = new Promise<WebSocket>((resolve) => (this.waiting = resolve));
    WebSocket.connect(`${base}/chat?slow=${this.token}`)
      .then(async (client) => {
        this.client = client;
        client.on('error', () => {});
        client.on('close', (code: number) => (this.result.closeCode = code));
        // Reads nothing from now on: the kernel's buffers fill up, then the server's.
        client.pause();
        const member = await adopted;
        this.member = member;
        this.hub.add(member, { backpressure: policyOf(policy) });
        this.droppedBefore = this.hub.stats().dropped;
        const until = Date.now() + DURATION_MS;
        this.timer = setInterval(() => this.tick(until), TICK_MS);
      })
      .catch(() => this.finish());
    return true;
  }

  /** Takes the server side of the slow reader's connection; `false` for any other plain connection. */
  adopt(ws: WebSocket, req: IncomingMessage): boolean {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('slow');
    if (token !== this.token || this.waiting === null) return false;
    ws.on('error', () => {});
    this.waiting(ws);
    this.waiting = null;
    return true;
  }

  stop(): void {
    this.finish();
  }

  private tick(until: number): void {
    const member = this.member;
    if (member === null || Date.now() > until || member.readyState !== member.OPEN) {
      this.finish();
      return;
    }
    for (let i = 0; i < PER_TICK; i++) {
      const r = this.hub.sendTo([member], MESSAGE, { binary: true });
      this.result.offered += 1;
      this.result.sent += r.sent;
      this.result.queued += r.queued;
      this.result.closed += r.closed;
    }
    const stats = this.hub.stats();
    this.result.dropped = stats.dropped - this.droppedBefore;
    this.result.maxQueued = Math.max(this.result.maxQueued, stats.queued);
    this.result.maxBuffered = Math.max(this.result.maxBuffered, member.bufferedAmount);
  }

  private static empty(state: SlowReport['state'], policy: SlowPolicy | null): SlowReport {
    return { state, policy, offered: 0, sent: 0, queued: 0, dropped: 0, closed: 0, maxBuffered: 0, maxQueued: 0, closeCode: null };
  }

  private finish(): void {
    if (this.member !== null) this.result.dropped = this.hub.stats().dropped - this.droppedBefore;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.member !== null) this.hub.remove(this.member);
    this.member = null;
    this.client?.terminate();
    this.client = null;
    this.waiting = null;
    if (this.result.state === 'running') this.result.state = 'done';
  }
}
