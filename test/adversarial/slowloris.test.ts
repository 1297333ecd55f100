/**
 * Slowloris: many connections that never finish their request head, half of them sending
 * nothing at all, half dripping a header byte at a time (each byte would reset an idle timer,
 * not a deadline). With `port`, `handshakeTimeout` bounds the head from the connection on: each
 * gets a 408 and is closed. With `server`, node:http reads the head and its `headersTimeout`
 * (checked every `connectionsCheckingInterval`) bounds it; the fixture sets them as the README
 * advises.
 *
 * Sizes: 100 connections, `handshakeTimeout` 1 s (and `headersTimeout` 1 s checked every
 * 250 ms); full: 1,000 connections with the default `handshakeTimeout` (10 s) and the README's
 * settings for node:http (10 s, checked every 1 s). `ws` in `port` mode runs its own node:http
 * server with Node's defaults (60 s, checked every 30 s): its slow heads are recorded as still
 * open when ours are all gone.
 */
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../node/helpers.js';
import { connectRaw } from './attacker.js';
import {
  Child,
  COMPARE_WS,
  count,
  expectGrowthBelow,
  expectServing,
  MiB,
  MODES,
  pick,
  pollUntil,
  record,
  serverState,
  sleep,
  type Impl,
  type Mode,
} from './harness.js';
import type { ServerConfig } from './fixture/server.js';

afterEach(runCleanups);

const CONNECTIONS = pick(100, 1000);
const HEAD_TIMEOUT = pick(1000, 10_000);
const OPTIONS = pick<Record<string, unknown>>({ handshakeTimeout: 1000 }, {});
const HTTP = pick({ headersTimeout: 1000, requestTimeout: 1000, connectionsCheckingInterval: 250 }, { headersTimeout: 10_000, requestTimeout: 10_000, connectionsCheckingInterval: 1000 });
/** How long the attack waits for every connection to be closed: the deadline, its check period, and a loaded machine's delays. */
const WAIT = HEAD_TIMEOUT + pick(9000, 15_000);
const DRIP_EVERY = pick(100, 1000);
const BOUND = 24 * MiB;
const TIMEOUT = WAIT + 60_000;

const FIRST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ';

interface Slow {
  socket: net.Socket;
  drip: boolean;
  status: number | null;
  closed: boolean;
}

/** Opens `n` slow connections and waits (at most `WAIT`) until the server closed them all. */
async function slowHeads(port: number, n: number): Promise<Slow[]> {
  const slow: Slow[] = [];
  for (let i = 0; i < n; i++) {
    const socket = await connectRaw(port);
    const s: Slow = { socket, drip: i % 2 === 1, status: null, closed: false };
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(received);
      if (m) s.status = Number(m[1]);
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => (s.closed = true));
    if (s.drip) socket.write(FIRST);
    slow.push(s);
  }
  const drip = setInterval(() => {
    for (const s of slow) if (s.drip && !s.closed) s.socket.write('a');
  }, DRIP_EVERY);
  try {
    const deadline = Date.now() + WAIT;
    while (Date.now() < deadline && slow.some((s) => !s.closed)) await sleep(50);
  } finally {
    clearInterval(drip);
  }
  return slow;
}

function summary(slow: Slow[]): string {
  const counts: Record<string, number> = {};
  for (const s of slow) {
    const key = s.closed ? `${s.status ?? 'closed, no answer'}` : 'still open';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.entries(counts)
    .map(([k, n]) => `${n} x ${k}`)
    .join(', ');
}

async function attack(impl: Impl, mode: Mode) {
  const config: ServerConfig = { impl, mode, handler: 'sink', options: impl === 'ours' ? OPTIONS : {}, http: HTTP };
  const server = await Child.server(config);
  const base = await server.baseline();
  const slow = await slowHeads(server.port, CONNECTIONS);
  const { growth } = await server.growth(base);
  return { server, base, slow, growth };
}

describe.each(MODES)('slowloris (%s)', (mode) => {
  it(`${CONNECTIONS} slow heads: each answered with 408 and closed`, async () => {
    const { server, base, slow, growth } = await attack('ours', mode);
    expect(summary(slow)).toBe(`${CONNECTIONS} x 408`);
    if (mode === 'port') expect((await serverState(server)).stats?.httpRefusedByStatus).toEqual({ 408: CONNECTIONS });
    // Every descriptor the attack took is given back.
    await pollUntil(() => server.probe(), (p) => p.fds <= base.fds, 10_000, 'descriptors back to the baseline');
    expectGrowthBelow({ attack: 'slowloris', impl: 'ours', mode, size: `${count(CONNECTIONS)} connections, head deadline ${HEAD_TIMEOUT / 1000} s`, growth, bound: BOUND, outcome: summary(slow) });
    await expectServing(server);
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    const { slow, growth } = await attack('ws', mode);
    const settings = mode === 'port' ? "Node's defaults" : `headersTimeout ${HTTP.headersTimeout / 1000} s`;
    record({ attack: 'slowloris', impl: 'ws', mode, size: `${count(CONNECTIONS)} connections, ${settings}`, growth, outcome: `after ${WAIT / 1000} s: ${summary(slow)}` });
  }, TIMEOUT);
});
