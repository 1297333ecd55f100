import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../../src/index.js';
import { delay, rawHttp, runCleanups, startServer, trackClient, until, upgradeRequest, waitFor } from '../helpers.js';

afterEach(runCleanups);

async function clients(url: string, n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i++) {
    const ws = trackClient(new WebSocket(url));
    ws.on('error', () => {});
    await waitFor(ws, 'open');
    out.push(ws);
  }
  return out;
}

describe('server.drain()', () => {
  it('closes at the rate asked, refuses newcomers with 503, and resolves when all are gone', async () => {
    const { wss, port, url } = await startServer();
    const all = await clients(url, 30);
    await until(() => wss.stats().connections === 30);
    const closedAt: number[] = [];
    const codes: number[] = [];
    for (const ws of all) {
      ws.on('close', (code: number) => {
        closedAt.push(Date.now());
        codes.push(code);
      });
    }
    const start = Date.now();
    const done = wss.drain({ code: 1012, ratePerSecond: 20, deadline: 20_000 });
    // 20 per second: ~11 after half a second (one at once, then one every 50 ms). Generous bounds.
    await delay(500);
    const early = closedAt.length;
    expect(early).toBeGreaterThanOrEqual(4);
    expect(early).toBeLessThanOrEqual(18);
    expect((await rawHttp(port, upgradeRequest(port))).status).toBe(503);
    const result = await done;
    const elapsed = Date.now() - start;
    expect(result).toEqual({ closed: 30, terminated: 0 });
    // 30 at 20/s cannot take much less than 1.45 s.
    expect(elapsed).toBeGreaterThanOrEqual(1200);
    expect(codes.every((c) => c === 1012)).toBe(true);
    // No window of 250 ms saw more than the rate allows (5), give or take timer jitter.
    for (const t of closedAt) {
      const inWindow = closedAt.filter((u) => u >= t && u < t + 250).length;
      expect(inWindow).toBeLessThanOrEqual(9);
    }
    expect(wss.stats().localCloses.shutdown).toBe(30);
  }, 15_000);

  it('terminates what is left at the deadline', async () => {
    const { wss, url } = await startServer();
    await clients(url, 6);
    await until(() => wss.stats().connections === 6);
    const result = await wss.drain({ ratePerSecond: 2, deadline: 300 });
    expect(result.closed).toBeGreaterThanOrEqual(1);
    expect(result.closed).toBeLessThanOrEqual(2);
    expect(result.terminated).toBe(6 - result.closed);
    expect(wss.stats().connections).toBe(0);
  });

  it('closes everyone at once without a rate, and a second call joins the first', async () => {
    const { wss, url } = await startServer();
    await clients(url, 3);
    await until(() => wss.stats().connections === 3);
    const first = wss.drain();
    const second = wss.drain({ ratePerSecond: 1 });
    expect(await first).toEqual({ closed: 3, terminated: 0 });
    expect(await second).toEqual({ closed: 3, terminated: 0 });
  });

  it('validates its options', async () => {
    const { wss } = await startServer();
    expect(() => wss.drain({ code: 1000 as 1001 })).toThrow(RangeError);
  });
});
