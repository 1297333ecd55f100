import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { Hub, type BackpressurePolicy } from '../../src/hub/index.js';
import { delay, RawClient, runCleanups, startServer, trackClient, until, waitFor } from '../node/helpers.js';

afterEach(runCleanups);

const KiB = 1024;
const MiB = 1024 * KiB;
/** Messages of 32 KiB, 1,000 of them: 32 MiB, far more than the kernel buffers absorb. */
const SIZE = 32 * KiB;
const COUNT = 1000;

interface Setup {
  hub: Hub;
  /** The server side of the client that never reads. */
  slow: WebSocket;
  raw: RawClient;
  /** Our clients, reading normally, and how many messages each got. */
  fast: WebSocket[];
  received: number[];
  wss: import('../../src/index.js').WebSocketServer;
}

async function setup(policy: BackpressurePolicy): Promise<Setup> {
  const { wss, port, url } = await startServer();
  const hub = new Hub({ backpressure: policy });
  const accepted: WebSocket[] = [];
  wss.on('connection', (ws: WebSocket) => {
    accepted.push(ws);
    hub.join(ws, 'feed');
  });
  const raw = await RawClient.open(port);
  raw.pauseReading();
  await until(() => accepted.length === 1);
  const slow = accepted[0] as WebSocket;
  const fast: WebSocket[] = [];
  const received: number[] = [];
  for (let i = 0; i < 3; i++) {
    const client = trackClient(new WebSocket(url, [], { maxPayload: MiB }));
    client.on('error', () => {});
    received.push(0);
    client.on('message', () => received[i]!++);
    await waitFor(client, 'open');
    fast.push(client);
  }
  await until(() => accepted.length === 4);
  return { hub, slow, raw, fast, received, wss };
}

/**
 * Publishes COUNT messages, a few per turn of the event loop (as a feed would), and samples how
 * much waits for the slow client. Each message starts with its sequence number.
 */
async function publishAll(s: Setup, onSample: (buffered: number) => void): Promise<void> {
  for (let i = 0; i < COUNT; i++) {
    const payload = Buffer.alloc(SIZE, i & 0xff);
    payload.writeUInt32BE(i, 0);
    s.hub.publish('feed', payload);
    onSample(s.slow.bufferedAmount);
    if (i % 4 === 3) await new Promise((r) => setImmediate(r));
  }
}

describe('a client that never reads meets each broadcast policy', () => {
  it('drop: skips messages for it, memory stays under the high-water mark, the others get everything', async () => {
    const s = await setup({ policy: 'drop', highWaterMark: 512 * KiB });
    let peak = 0;
    const started = Date.now();
    await publishAll(s, (b) => (peak = Math.max(peak, b)));
    await until(() => s.received.every((n) => n === COUNT), 10_000, 'fast clients');
    const elapsed = Date.now() - started;
    expect(peak).toBeLessThanOrEqual(512 * KiB + SIZE + 64);
    expect(s.slow.readyState).toBe(WebSocket.OPEN);
    const stats = s.hub.stats();
    // The kernel took a few MiB for the slow client; everything after that was dropped.
    expect(stats.dropped).toBeGreaterThan(COUNT / 2);
    expect(stats.sent).toBe(3 * COUNT + (COUNT - stats.dropped));
    expect(s.wss.stats().broadcastDropped).toBe(stats.dropped);
    // Generous: 32 MiB to 3 local readers is far quicker than this when nobody waits on the slow one.
    expect(elapsed).toBeLessThan(8000);
  }, 20_000);

  it('close: closes it with 1013 and drops its queue, the others get everything', async () => {
    const s = await setup({ policy: 'close', highWaterMark: 512 * KiB });
    const closed = waitFor<[number, Buffer]>(s.slow, 'close', 10_000);
    let peak = 0;
    await publishAll(s, (b) => (peak = Math.max(peak, b)));
    // The slow client reads again right away: after what the kernel held, our close frame.
    expect(s.slow.readyState).toBe(WebSocket.CLOSING);
    s.raw.socket.resume();
    const frames = await s.raw.readUntilClose(5000);
    expect(frames.code).toBe(1013);
    expect(frames.before.length).toBeLessThan(COUNT / 2);
    await until(() => s.received.every((n) => n === COUNT), 10_000, 'fast clients');
    const [code, reason] = await closed;
    // The slow peer never answered our close frame: 1006 locally, with the reason of our policy.
    expect(code).toBe(1006);
    expect(reason.toString()).toBe('too slow to receive');
    expect(peak).toBeLessThanOrEqual(512 * KiB + SIZE + 64);
    expect(s.hub.stats()).toMatchObject({ closed: 1 });
    expect(s.hub.has(s.slow)).toBe(false);
    expect(s.wss.stats().localCloses.backpressure).toBe(1);
  }, 20_000);

  it('queue (dropOldest): holds at most maxQueuedBytes, then delivers the newest messages in order', async () => {
    const s = await setup({ policy: 'queue', highWaterMark: 256 * KiB, maxQueuedBytes: 1 * MiB });
    let peak = 0;
    let peakQueued = 0;
    await publishAll(s, (b) => {
      peak = Math.max(peak, b);
      peakQueued = Math.max(peakQueued, s.hub.stats().queued);
    });
    await until(() => s.received.every((n) => n === COUNT), 10_000, 'fast clients');
    expect(peak).toBeLessThanOrEqual(256 * KiB + SIZE + 64);
    // 1 MiB of 32 KiB messages (plus their headers): at most 31 wait.
    expect(peakQueued).toBeLessThanOrEqual(Math.floor(MiB / (SIZE + 4)));
    expect(peakQueued).toBeGreaterThan(10);
    const stats = s.hub.stats();
    expect(stats.dropped).toBeGreaterThan(COUNT / 2);
    // The slow client starts reading: it gets what the kernel held, then the queue, newest last.
    const sequence: number[] = [];
    let pending = Buffer.alloc(0);
    s.raw.socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (pending.length < 4) return;
        const len = pending[1]! & 0x7f;
        const header = len === 126 ? 4 : len === 127 ? 10 : 2;
        const size = len === 126 ? pending.readUInt16BE(2) : len === 127 ? Number(pending.readBigUInt64BE(2)) : len;
        if (pending.length < header + size) return;
        sequence.push(pending.readUInt32BE(header));
        pending = pending.subarray(header + size);
      }
    });
    const before = s.raw.buffer;
    s.raw.socket.off('data', s.raw.socket.listeners('data')[0] as (chunk: Buffer) => void);
    pending = Buffer.from(before);
    s.raw.socket.resume();
    await until(() => sequence.at(-1) === COUNT - 1, 10_000, 'slow client catches up');
    // In order, with one gap where the oldest queued messages were dropped.
    for (let i = 1; i < sequence.length; i++) expect(sequence[i]!).toBeGreaterThan(sequence[i - 1]!);
    expect(sequence.length).toBe(COUNT - stats.dropped);
    expect(s.hub.stats().queued).toBe(0);
  }, 20_000);

  it('queue (overflow close): closes it once its queue is full', async () => {
    const s = await setup({ policy: 'queue', highWaterMark: 256 * KiB, maxQueuedBytes: 512 * KiB, overflow: 'close' });
    const closed = waitFor<[number, Buffer]>(s.slow, 'close', 10_000);
    await publishAll(s, () => {});
    await until(() => s.received.every((n) => n === COUNT), 10_000, 'fast clients');
    await closed;
    expect(s.hub.stats()).toMatchObject({ closed: 1, queued: 0 });
    expect(s.wss.stats().localCloses.backpressure).toBe(1);
  }, 20_000);

  it('a queue-policy client that is merely slow catches up without losing anything', async () => {
    const s = await setup({ policy: 'queue', highWaterMark: 64 * KiB, maxQueuedBytes: 64 * MiB });
    // Reads in bursts: paused most of the time.
    let bursting = true;
    const timer = setInterval(() => {
      s.raw.socket.resume();
      setTimeout(() => bursting && s.raw.socket.pause(), 5);
    }, 20);
    const done = new Promise<void>((resolve) => {
      s.raw.socket.on('data', () => {
        if (s.raw.totalReceived >= COUNT * (SIZE + 4)) resolve();
      });
    });
    await publishAll(s, () => {});
    bursting = false;
    clearInterval(timer);
    s.raw.resumeDiscarding();
    s.raw.socket.resume();
    await done;
    expect(s.hub.stats()).toMatchObject({ dropped: 0, closed: 0 });
    await delay(10);
  }, 20_000);
});
