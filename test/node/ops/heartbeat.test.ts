import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from '../../../src/index.js';
import { Sweeper, sweepPeriod } from '../../../src/node/ops/heartbeat.js';
import { delay, Op, openPair, RawClient, runCleanups, startServer, trackClient, until, waitFor } from '../helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  return runCleanups();
});

describe('server heartbeat', () => {
  it('terminates a peer that never answers the ping: close 1006, reason "heartbeat timeout"', async () => {
    const { wss, port } = await startServer({ heartbeat: { interval: 100, timeout: 100 } });
    const accepted = waitFor<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    const [server] = await accepted;
    const closed = waitFor<[number, Buffer]>(server, 'close', 3000);
    // The raw client never sends anything back (not even a pong).
    const ping = await raw.readFrame(2000);
    expect(ping.opcode).toBe(Op.Ping);
    const [code, reason] = await closed;
    expect(code).toBe(1006);
    expect(reason.toString()).toBe('heartbeat timeout');
    await raw.waitClosed();
    expect(wss.stats().localCloses.heartbeat).toBe(1);
    expect(wss.stats().closeCodes).toEqual({ '1006': 1 });
  });

  it('keeps a peer that answers pings (ours, with autoPong) for many intervals', async () => {
    const { client, server } = await openPair({ heartbeat: { interval: 50, timeout: 50 } });
    let pongs = 0;
    server.on('pong', () => pongs++);
    await delay(600);
    expect(server.readyState).toBe(WebSocket.OPEN);
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(pongs).toBeGreaterThanOrEqual(3);
  });

  it('does not ping a peer that keeps sending, and counts its data as a sign of life', async () => {
    const { client, server } = await openPair({ heartbeat: { interval: 80, timeout: 80 } }, { autoPong: false });
    let pings = 0;
    client.on('ping', () => pings++);
    const timer = setInterval(() => client.send('busy'), 20);
    await delay(500);
    clearInterval(timer);
    expect(server.readyState).toBe(WebSocket.OPEN);
    expect(pings).toBe(0);
    // Silent and not answering pings: terminated.
    const [code, reason] = await waitFor<[number, Buffer]>(server, 'close', 2000);
    expect([code, reason.toString()]).toEqual([1006, 'heartbeat timeout']);
  });

  it('uses one interval timer for all the connections of a server', async () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    const { wss, url } = await startServer({ heartbeat: { interval: 1000, timeout: 1000 } });
    let accepted = 0;
    wss.on('connection', () => accepted++);
    for (let i = 0; i < 20; i++) {
      const c = trackClient(new WebSocket(url));
      c.on('error', () => {});
      await waitFor(c, 'open');
    }
    await until(() => accepted === 20);
    const sweeps = spy.mock.calls.filter(([, ms]) => ms === sweepPeriod(1000, 1000));
    expect(sweeps).toHaveLength(1);
  });
});

describe('client heartbeat', () => {
  it('terminates a server that does not answer pings, reporting 1006 and the heartbeat reason', async () => {
    const { url } = await startServer({ autoPong: false });
    const client = trackClient(new WebSocket(url, [], { heartbeat: { interval: 60, timeout: 60 } }));
    client.on('error', () => {});
    await waitFor(client, 'open');
    const [code, reason] = await waitFor<[number, Buffer]>(client, 'close', 3000);
    expect([code, reason.toString()]).toEqual([1006, 'heartbeat timeout']);
  });

  it('rejects invalid settings when constructed', () => {
    expect(() => new WebSocket('ws://127.0.0.1:1', [], { heartbeat: { interval: -1 } })).toThrow(RangeError);
    expect(() => new WebSocket('ws://127.0.0.1:1', [], { idleTimeout: Number.NaN })).toThrow(RangeError);
  });
});

describe('idle timeout', () => {
  it('closes a connection without messages with 1001 "idle timeout"; pings do not count', async () => {
    const { client, server, wss } = await openPair({ idleTimeout: 150, heartbeat: { interval: 30, timeout: 1000 } });
    const [code, reason] = await waitFor<[number, Buffer]>(client, 'close', 3000);
    expect([code, reason.toString()]).toEqual([1001, 'idle timeout']);
    await waitFor(server, 'close');
    expect(wss.stats().localCloses.idleTimeout).toBe(1);
  });

  it('keeps a connection that exchanges messages', async () => {
    const { client, server } = await openPair({ idleTimeout: 150 });
    server.on('message', (data: Buffer) => server.send(data));
    const timer = setInterval(() => client.send('tick'), 40);
    await delay(500);
    clearInterval(timer);
    expect(server.readyState).toBe(WebSocket.OPEN);
  });

  it('works on the client too', async () => {
    const { url } = await startServer();
    const client = trackClient(new WebSocket(url, [], { idleTimeout: 100 }));
    client.on('error', () => {});
    const [code] = await waitFor<[number, Buffer]>(client, 'close', 3000);
    expect(code).toBe(1001);
  });
});

describe('Sweeper', () => {
  it('visits every entry each tick, keeps indexes right on removal, stops when empty', () => {
    const sweeper = new Sweeper(1000);
    const seen: number[] = [];
    const entries = [0, 1, 2, 3].map((id) => ({ sweepIndex: -1, sweep: () => seen.push(id) }));
    for (const e of entries) sweeper.add(e);
    sweeper.remove(entries[1]!);
    sweeper.tick(0);
    expect(seen.sort()).toEqual([0, 2, 3]);
    for (const e of entries) sweeper.remove(e);
    expect(sweeper.size).toBe(0);
    expect(sweepPeriod(30_000, 10_000)).toBe(1000);
    expect(sweepPeriod(100, 100)).toBe(25);
    expect(sweepPeriod(1)).toBe(10);
  });
});
