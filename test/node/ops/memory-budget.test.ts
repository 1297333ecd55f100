import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBudget, WebSocket } from '../../../src/index.js';
import { buildFrame, Op, openPair, RawClient, rawHttp, runCleanups, startServer, until, upgradeRequest, waitFor } from '../helpers.js';

afterEach(runCleanups);

const KiB = 1024;
const MiB = 1024 * KiB;

/** Sends `total` bytes of one text message as fragments of `size` bytes, never the last one. */
function sendUnfinished(raw: RawClient, total: number, size: number): void {
  const frames: Buffer[] = [];
  for (let sent = 0; sent < total; sent += size) {
    frames.push(buildFrame({ opcode: sent === 0 ? Op.Binary : Op.Cont, fin: false, payload: Buffer.alloc(size, 0x61) }));
  }
  raw.write(Buffer.concat(frames));
}

async function serverWith(budget: MemoryBudget) {
  const started = await startServer({ memoryBudget: budget, maxPayload: 16 * MiB });
  const accepted: WebSocket[] = [];
  started.wss.on('connection', (ws: WebSocket) => accepted.push(ws));
  return { ...started, accepted };
}

describe('memory budget', () => {
  it('closes the largest holder of inbound data with 1013, and refuses handshakes with 503 meanwhile', async () => {
    const budget = new MemoryBudget({ maxBytes: 1 * MiB, checkInterval: 20 });
    const { wss, port, accepted } = await serverWith(budget);
    const big = await RawClient.open(port);
    const small = await RawClient.open(port);
    await until(() => accepted.length === 2);
    const [bigServer, smallServer] = accepted as [WebSocket, WebSocket];
    sendUnfinished(small, 64 * KiB, 16 * KiB);
    sendUnfinished(big, 2 * MiB, 64 * KiB);
    const closed = waitFor<[number, Buffer]>(bigServer, 'close', 5000);
    const close = await big.readUntilClose(3000);
    expect([close.code, close.reason]).toEqual([1013, 'memory budget exhausted']);
    // The closed connection still holds its bytes until its socket is gone: no newcomers.
    expect(budget.exhausted).toBe(true);
    const res = await rawHttp(port, upgradeRequest(port));
    expect(res.status).toBe(503);
    await closed;
    expect(smallServer.readyState).toBe(WebSocket.OPEN);
    await until(() => !budget.exhausted, 3000, 'budget recovers');
    expect((await RawClient.open(port)).response?.status).toBe(101);
    expect(wss.stats().localCloses.memoryBudget).toBe(1);
    expect(budget.closedConnections).toBe(1);
  });

  it('counts a flood of tiny fragments by their bytes', async () => {
    const budget = new MemoryBudget({ maxBytes: 1 * MiB, checkInterval: 20 });
    const { port, accepted } = await serverWith(budget);
    const raw = await RawClient.open(port);
    await until(() => accepted.length === 1);
    // 24,000 fragments of 64 bytes: 1.5 MiB of payload in one unfinished message.
    sendUnfinished(raw, 24_000 * 64, 64);
    const close = await raw.readUntilClose(5000);
    expect(close.code).toBe(1013);
  });

  it('counts data waiting to be sent, and is shared by every server given the same budget', async () => {
    const budget = new MemoryBudget({ maxBytes: 4 * MiB, checkInterval: 20 });
    const one = await openPair({ memoryBudget: budget }, { maxPayload: 64 * MiB });
    const two = await openPair({ memoryBudget: budget }, { maxPayload: 64 * MiB });
    one.client.pause();
    two.client.pause();
    expect(budget.connections).toBe(2);
    // Server one queues 16 MiB for a client that does not read; server two a little.
    for (let i = 0; i < 16; i++) one.server.send(Buffer.alloc(MiB, i));
    two.server.send(Buffer.alloc(64 * KiB));
    const [code] = await waitFor<[number, Buffer]>(one.server, 'close', 5000);
    expect(code).toBe(1006);
    expect(one.wss.stats().localCloses.memoryBudget).toBe(1);
    expect(two.server.readyState).toBe(WebSocket.OPEN);
    expect(two.wss.stats().localCloses.memoryBudget).toBe(0);
  });

  it('measures on demand and validates its options', () => {
    const budget = new MemoryBudget({ maxBytes: 10 });
    expect(budget.check()).toBe(0);
    expect(budget.exhausted).toBe(false);
    expect(() => new MemoryBudget({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => new MemoryBudget({ maxBytes: 1, checkInterval: -5 })).toThrow(RangeError);
  });
});
