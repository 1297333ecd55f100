/**
 * Close-handshake abuse (RFC 6455 §5.5.1, §7), each on many connections at once: a close frame
 * without FIN, half-closes with and without a close frame, resets in the middle of a frame,
 * invalid close payloads, peers that send data after their close or answer ours with data, and
 * silent peers that never answer our close (reading or not). Every connection must end with
 * the right code on the wire, and be gone from the server (its descriptor given back) within
 * `closeTimeout` at most.
 *
 * Sizes: 20 connections per abuse, `closeTimeout` 500 ms; full: 500 per abuse with the default
 * `closeTimeout` (30 s).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, closePayload, Op, RawClient, runCleanups } from '../node/helpers.js';
import {
  bounded,
  Child,
  COMPARE_WS,
  count,
  expectGrowthBelow,
  expectServing,
  killFileChildren,
  MiB,
  MODES,
  pick,
  pollUntil,
  record,
  serverState,
  sleep,
  type Impl,
  type Mode,
  type ServerChild,
  type ServerState,
} from './harness.js';

afterEach(runCleanups);
afterAll(killFileChildren);

const PER_ABUSE = pick(20, 500);
const CLOSE_TIMEOUT = pick(500, 30_000);
const OPTIONS = pick<Record<string, unknown>>({ closeTimeout: 500 }, {});
/** How long connections may take to be gone: `closeTimeout`, the 1 s grace of a failed connection, a busy machine. */
const GONE_WITHIN = CLOSE_TIMEOUT + pick(10_000, 20_000);
const BOUND = 24 * MiB;
const TIMEOUT = GONE_WITHIN + pick(30_000, 120_000);

/** What one abuse does on one upgraded connection; resolves with the close code read from the server (null: none read). */
type Abuse = (raw: RawClient, server: ServerChild) => Promise<number | null>;

/** Reads the server's close frame (bounded); null when the connection ended without one. */
async function serverClose(raw: RawClient, ms = 10_000): Promise<number | null> {
  return raw.readUntilClose(ms).then(
    (c) => c.code,
    () => null,
  );
}

/** Waits until the server's FIN or the end of the connection, then ends ours. */
async function endAfterServer(raw: RawClient): Promise<void> {
  await raw.waitEnd(GONE_WITHIN).catch(() => undefined);
  raw.end();
}

const ABUSES: Array<[name: string, expectedCode: number | null, abuse: Abuse]> = [
  [
    'a close frame without FIN',
    1002,
    async (raw) => {
      raw.sendFrame({ opcode: Op.Close, fin: false, payload: closePayload(1000) });
      const code = await serverClose(raw);
      raw.end();
      return code;
    },
  ],
  [
    'a close frame, then FIN at once (half-close), still reading',
    1000,
    async (raw) => {
      raw.sendFrame({ opcode: Op.Close, payload: closePayload(1000) });
      raw.end();
      return serverClose(raw);
    },
  ],
  [
    'FIN without a close frame, still reading',
    null,
    async (raw) => {
      raw.end();
      await raw.waitEnd(GONE_WITHIN).catch(() => undefined);
      return serverClose(raw, 100);
    },
  ],
  [
    'a reset in the middle of a frame',
    null,
    async (raw) => {
      raw.write(buildFrame({ opcode: Op.Binary, payload: Buffer.alloc(1000, 1) }).subarray(0, 300));
      await sleep(10);
      raw.socket.resetAndDestroy();
      return null;
    },
  ],
  [
    'a close frame with a 1-byte payload',
    1002,
    async (raw) => {
      raw.sendFrame({ opcode: Op.Close, payload: Buffer.from([0x03]) });
      const code = await serverClose(raw);
      raw.end();
      return code;
    },
  ],
  [
    'a close frame with code 1005 (never sent on the wire)',
    1002,
    async (raw) => {
      raw.sendFrame({ opcode: Op.Close, payload: closePayload(1005) });
      const code = await serverClose(raw);
      raw.end();
      return code;
    },
  ],
  [
    'a close reason that is not UTF-8',
    1007,
    async (raw) => {
      raw.sendFrame({ opcode: Op.Close, payload: Buffer.concat([closePayload(1000), Buffer.from([0xc0, 0xaf])]) });
      const code = await serverClose(raw);
      raw.end();
      return code;
    },
  ],
  [
    'two close frames, then data, then FIN',
    1000,
    async (raw) => {
      raw.sendFrame({ opcode: Op.Close, payload: closePayload(1000) });
      raw.sendFrame({ opcode: Op.Close, payload: closePayload(1001) });
      raw.sendFrame({ opcode: Op.Text, payload: 'after close' });
      const code = await serverClose(raw);
      await endAfterServer(raw);
      return code;
    },
  ],
];

/** Abuses of the server's own close: it closes every connection (`closeAll`), the peers misbehave. */
const SILENT: Array<[name: string, abuse: (raw: RawClient) => Promise<void>]> = [
  ['never reads and never answers our close', async () => {}],
  [
    'reads our close and never answers',
    async (raw) => {
      await serverClose(raw);
    },
  ],
  [
    'answers our close with data, never with a close',
    async (raw) => {
      await serverClose(raw);
      for (let i = 0; i < 5 && !raw.closed; i++) {
        raw.sendFrame({ opcode: Op.Text, payload: `data ${i}` });
        await sleep(CLOSE_TIMEOUT / 5);
      }
    },
  ],
];

describe.each(MODES)('close-handshake abuse (%s)', (mode: Mode) => {
  const servers: Partial<Record<Impl, ServerChild>> = {};
  beforeAll(async () => {
    servers.ours = await Child.server({ impl: 'ours', mode, handler: 'echo', options: OPTIONS }, 'file');
    if (COMPARE_WS) servers.ws = await Child.server({ impl: 'ws', mode, handler: 'echo' }, 'file');
  }, 60_000);

  /** Opens PER_ABUSE connections and runs `abuse` on each at once; resolves when all are gone from the server. */
  async function run(impl: Impl, abuse: (raw: RawClient) => Promise<number | null | void>, closeAll = false, goneWithin = GONE_WITHIN) {
    const server = servers[impl] as ServerChild;
    // The previous test's fresh client first.
    await pollUntil(() => serverState(server), (s) => s.open === 0, goneWithin, 'the previous connections gone');
    await server.request('clear');
    const base = await server.baseline();
    const raws = await Promise.all(Array.from({ length: PER_ABUSE }, () => RawClient.open(server.port)));
    await pollUntil(() => serverState(server), (s) => s.open === PER_ABUSE, 10_000, 'all connections open');
    if (closeAll) await server.request('closeAll', { code: 1000 });
    const started = Date.now();
    const codes = await Promise.all(raws.map((raw) => abuse(raw)));
    const state = await pollUntil(() => serverState(server), (s) => s.open === 0, goneWithin, 'every connection gone');
    const goneAfter = Date.now() - started;
    for (const raw of raws) raw.destroy();
    const fds = await pollUntil(() => server.probe(), (p) => p.fds <= base.fds, 10_000, 'descriptors back to the baseline');
    const { growth } = await server.growth(base);
    return { server, codes, state, goneAfter, fds: fds.fds - base.fds, growth };
  }

  function closes(state: ServerState): string {
    return Object.entries(state.closeCodes)
      .map(([code, n]) => `${n} x ${code}`)
      .join(', ');
  }

  it.each(ABUSES)('%s: %s on the wire, every connection gone', async (name, expected, abuse) => {
    const { server, codes, state, growth } = await run('ours', (raw) => abuse(raw, servers.ours as ServerChild));
    expect(codes).toEqual(codes.map(() => expected));
    expect(state.open).toBe(0);
    expectGrowthBelow({ attack: `close abuse, ${name}`, impl: 'ours', mode, size: `${count(PER_ABUSE)} connections`, growth, bound: BOUND, outcome: `wire ${expected ?? 'none'}; close events ${closes(state)}` });
    await expectServing(server);
  }, TIMEOUT);

  it.each(SILENT)('our close to a peer that %s: destroyed after closeTimeout (1006)', async (name, abuse) => {
    const { server, state, growth } = await run('ours', abuse, true);
    expect(state.closeCodes).toEqual({ 1006: PER_ABUSE });
    expectGrowthBelow({ attack: `close abuse, silent peer: ${name}`, impl: 'ours', mode, size: `${count(PER_ABUSE)} connections`, growth, bound: BOUND, outcome: `close events ${closes(state)}` });
    await expectServing(server);
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    for (const [name, , abuse] of ABUSES) {
      const r = await run('ws', (raw) => abuse(raw, servers.ws as ServerChild));
      const wire: Record<string, number> = {};
      for (const c of r.codes) wire[String(c)] = (wire[String(c)] ?? 0) + 1;
      record({ attack: `close abuse, ${name}`, impl: 'ws', mode, size: `${count(PER_ABUSE)} connections`, growth: r.growth, outcome: `wire ${JSON.stringify(wire)}; close events ${closes(r.state)}` });
    }
    for (const [name, abuse] of SILENT) {
      // ws waits 30 s for the peer's close (not configurable).
      const r = await bounded(run('ws', abuse, true, 45_000), 120_000, 'ws').catch((err: Error) => err);
      if (r instanceof Error) record({ attack: `close abuse, silent peer: ${name}`, impl: 'ws', mode, size: `${count(PER_ABUSE)} connections`, growth: 0, outcome: r.message.slice(0, 80) });
      else record({ attack: `close abuse, silent peer: ${name}`, impl: 'ws', mode, size: `${count(PER_ABUSE)} connections`, growth: r.growth, outcome: `close events ${closes(r.state)} after ${(r.goneAfter / 1000).toFixed(1)} s` });
    }
  }, 10 * TIMEOUT);
});
