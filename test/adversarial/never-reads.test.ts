/**
 * A peer that sends and never reads, against a naive echo server (it sends every message back
 * and ignores `send()`'s return value, as most examples do). What waits for the peer is bounded
 * by `maxBufferedAmount`: past it the connection is closed with 1008 (local reason
 * `backpressure`), its queued output dropped and its socket destroyed 1 s later (the peer never
 * reads the close frame, so the server's `close` event reports 1006, "too slow to receive").
 * `ws` has no such bound: it holds everything.
 *
 * Sizes: up to 128 MiB sent in 64 KiB messages with `maxBufferedAmount` 8 MiB, with `port`;
 * full: up to 512 MiB with the default (64 MiB), with `port` and `server`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildFrame, Op, RawClient, runCleanups } from '../node/helpers.js';
import { flood } from './attacker.js';
import { Child, COMPARE_WS, count, expectGrowthBelow, expectServing, MiB, AFTER_HANDSHAKE_MODES, pick, pollUntil, record, serverState, type Impl, type Mode } from './harness.js';

afterEach(runCleanups);

const MESSAGE = 64 * 1024;
/** Enough that holding it all (as `ws` does) would pass the bound by far. */
const TOTAL = pick(128, 512) * MiB;
/** `maxBufferedAmount`: 8 MiB reduced, the default (64 MiB) at full size. */
const LIMIT = pick(8 * MiB, 64 * MiB);
const OPTIONS = pick<Record<string, unknown>>({ maxBufferedAmount: 8 * MiB }, {});
/**
 * The limit, what is read but not yet echoed, and read buffers waiting for the collector, which
 * lets them grow by tens of MiB between two collections (measured: +20 to +24 MiB with the
 * 8 MiB limit, +73 to +87 MiB with 64 MiB).
 */
const BOUND = LIMIT + 64 * MiB;
const TIMEOUT = pick(60_000, 300_000);

async function attack(impl: Impl, mode: Mode) {
  const server = await Child.server({ impl, mode, handler: 'echo', options: impl === 'ours' ? OPTIONS : {} });
  const base = await server.baseline();
  const raw = await RawClient.open(server.port);
  raw.pauseReading();
  const frame = buildFrame({ opcode: Op.Binary, payload: Buffer.alloc(MESSAGE, 0x5a), mask: Buffer.from([7, 7, 7, 7]) });
  const sent = await flood(raw.socket, frame, TOTAL / MESSAGE, () => raw.closed);
  const state = await pollUntil(() => serverState(server), (s) => s.messages >= sent || s.open === 0, TIMEOUT, 'messages read');
  const { growth } = await server.growth(base);
  return { server, sent, state, growth };
}

describe.each(AFTER_HANDSHAKE_MODES)('a peer that never reads, against a naive echo (%s)', (mode) => {
  it('is closed past maxBufferedAmount (backpressure); memory stays bounded', async () => {
    const { server, sent, state, growth } = await attack('ours', mode);
    expect(state.stats?.localCloses.backpressure).toBe(1);
    expect(state.closeCodes).toEqual({ 1006: 1 });
    expect(state.closeReasons).toEqual({ 'too slow to receive': 1 });
    expectGrowthBelow({
      attack: 'never-reading peer, naive echo',
      impl: 'ours',
      mode,
      size: `${count(sent)} x 64 KiB sent (maxBufferedAmount ${LIMIT / MiB} MiB)`,
      growth,
      bound: BOUND,
      outcome: '1008 backpressure',
    });
    await expectServing(server);
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    const { sent, state, growth } = await attack('ws', mode);
    record({ attack: 'never-reading peer, naive echo', impl: 'ws', mode, size: `${count(sent)} x 64 KiB sent`, growth, outcome: `open ${state.open}` });
  }, TIMEOUT);
});
