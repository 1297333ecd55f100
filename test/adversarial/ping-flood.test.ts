/**
 * Ping floods from a peer that never reads, against the server (raw attacker in the runner,
 * server in a child) and against the client (our client in a child, a hostile raw server in
 * the runner). Each pong waits until the socket wrote it; RFC 6455 §5.5.3 lets an endpoint
 * answer only the latest of several pings, so at most 256 pongs wait, and past
 * `maxPendingAutoPongs` (60) coalesced pings the peer is failed with 1008 (local reason
 * `pingFlood`; the peer never reads it, so the `close` event reports 1006, "too many pings").
 * With `maxPendingAutoPongs: 0` the connection stays open whatever the number of pings, and
 * still holds no more.
 *
 * Sizes: 500,000 pings of 125 bytes (65 MB on the wire), full: 4,000,000 (524 MB; one pong
 * held per ping would be +524 MiB). The server is attacked with `port`; at full size with
 * `server` too (the same connection code runs after the handshake).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildFrame, Op, RawClient, runCleanups } from '../node/helpers.js';
import { echoServer, flood, hostileServer, repeat } from './attacker.js';
import {
  Child,
  COMPARE_WS,
  count,
  expectGrowthBelow,
  expectServing,
  MiB,
  AFTER_HANDSHAKE_MODES,
  pick,
  pollUntil,
  record,
  serverState,
  type ClientState,
  type Impl,
  type Mode,
} from './harness.js';

afterEach(runCleanups);

const PINGS = pick(500_000, 4_000_000);
const BATCH = 500;
/**
 * Peak RSS growth allowed while flooded. The pongs held are at most 33 KiB; the rest is read
 * buffers not yet collected. One pong held per ping would be +65 MiB at the reduced size.
 */
const BOUND = 24 * MiB;
/**
 * With the default, the flooding peer is failed and its socket no longer read: what it keeps
 * sending stays in the kernel until the socket is destroyed 1 s later (measured +0.0 to +0.2
 * MiB; `ws` destroys the socket at once: +0.2 to +0.5 MiB). When the failed socket was still
 * read, the flood's read buffers made +37 to +77 MiB of garbage in that second.
 */
const FAILED_BOUND = 8 * MiB;
const TIMEOUT = pick(60_000, 300_000);
const PAYLOAD = Buffer.alloc(125, 0x61);

async function floodServer(impl: Impl, mode: Mode, options: Record<string, unknown>) {
  const server = await Child.server({ impl, mode, handler: 'sink', options });
  const base = await server.baseline();
  const raw = await RawClient.open(server.port);
  raw.pauseReading();
  const chunk = repeat(buildFrame({ opcode: Op.Ping, payload: PAYLOAD, mask: Buffer.from([1, 2, 3, 4]) }), BATCH);
  const sent = BATCH * (await flood(raw.socket, chunk, PINGS / BATCH, () => raw.closed));
  // Until every ping was read, or the connection is gone.
  const state = await pollUntil(() => serverState(server), (s) => s.pings >= sent || s.open === 0, TIMEOUT, 'pings read');
  const { growth } = await server.growth(base);
  return { server, sent, state, growth };
}

describe.each(AFTER_HANDSHAKE_MODES)('ping flood against the server (%s)', (mode) => {
  it('default: the peer is failed (1008, pingFlood) and memory stays bounded', async () => {
    const { server, sent, state, growth } = await floodServer('ours', mode, {});
    expect(state.errors).toEqual({ WS_ERR_TOO_MANY_PENDING_PONGS: 1 });
    expect(state.closeCodes).toEqual({ 1006: 1 });
    expect(state.closeReasons).toEqual({ 'too many pings': 1 });
    expect(state.stats?.localCloses.pingFlood).toBe(1);
    expectGrowthBelow({ attack: 'ping flood, default', impl: 'ours', mode, size: `${count(sent)} pings sent`, growth, bound: FAILED_BOUND, outcome: 'closed: 1008 sent, pingFlood' });
    await expectServing(server);
  }, TIMEOUT);

  it('maxPendingAutoPongs: 0: stays open through every ping, memory bounded', async () => {
    const { server, sent, state, growth } = await floodServer('ours', mode, { maxPendingAutoPongs: 0 });
    expect(sent).toBe(PINGS);
    expect(state.pings).toBe(PINGS);
    expect(state.open).toBe(1);
    expect(state.errors).toEqual({});
    expectGrowthBelow({ attack: 'ping flood, maxPendingAutoPongs 0', impl: 'ours', mode, size: `${count(sent)} pings`, growth, bound: BOUND, outcome: 'open' });
    await expectServing(server);
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    const { sent, state, growth } = await floodServer('ws', mode, {});
    record({ attack: 'ping flood, default', impl: 'ws', mode, size: `${count(sent)} pings sent`, growth, outcome: `open ${state.open}, close ${JSON.stringify(state.closeCodes)}` });
  }, TIMEOUT);
});

async function floodClient(impl: Impl, options: Record<string, unknown>) {
  let sent: Promise<number> = Promise.resolve(0);
  const chunk = repeat(buildFrame({ opcode: Op.Ping, payload: PAYLOAD, mask: false }), BATCH);
  const hostile = await hostileServer((socket) => {
    sent = flood(socket, chunk, PINGS / BATCH).then((n) => n * BATCH);
  });
  const client = await Child.client({ impl, options: { perMessageDeflate: false, ...options } });
  const base = await client.baseline();
  expect(await client.request<boolean>('connect', { url: hostile.url })).toBe(true);
  await pollUntil(() => hostile.sockets.length, (n) => n === 1, 10_000, 'upgraded');
  const total = await sent;
  const state = await pollUntil(() => client.request<ClientState>('state'), (s) => s.pings >= total || s.closed, TIMEOUT, 'pings read');
  const { growth } = await client.growth(base);
  return { client, total, state, growth };
}

describe('ping flood against the client', () => {
  it('default: the server is failed (1008, pingFlood) and memory stays bounded', async () => {
    const { client, total, state, growth } = await floodClient('ours', {});
    expect(state.errors).toEqual({ WS_ERR_TOO_MANY_PENDING_PONGS: 1 });
    expect([state.closeCode, state.closeReason]).toEqual([1006, 'too many pings']);
    expectGrowthBelow({ attack: 'ping flood, default', impl: 'ours', mode: 'client', size: `${count(total)} pings sent`, growth, bound: FAILED_BOUND, outcome: 'closed: 1008 sent, pingFlood' });
    await client.expectAlive();
    expect(await client.request('check', { url: await echoServer() })).toBe('ok');
  }, TIMEOUT);

  it('maxPendingAutoPongs: 0: stays open through every ping, memory bounded', async () => {
    const { client, total, state, growth } = await floodClient('ours', { maxPendingAutoPongs: 0 });
    expect(total).toBe(PINGS);
    expect(state.pings).toBe(PINGS);
    expect(state.closed).toBe(false);
    expectGrowthBelow({ attack: 'ping flood, maxPendingAutoPongs 0', impl: 'ours', mode: 'client', size: `${count(total)} pings`, growth, bound: BOUND, outcome: 'open' });
    await client.expectAlive();
    expect(await client.request('check', { url: await echoServer() })).toBe('ok');
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    const { total, state, growth } = await floodClient('ws', {});
    record({ attack: 'ping flood, default', impl: 'ws', mode: 'client', size: `${count(total)} pings sent`, growth, outcome: `closed ${state.closed} ${state.closeCode ?? ''}` });
  }, TIMEOUT);
});
