/**
 * Fragment floods (RFC 6455 §5.4): a message that never ends, sent as 1-byte or as empty
 * continuation frames. Memory is bounded by bytes, not by a count: the 1-byte flood is stopped
 * by `maxPayload` (1009, `WS_ERR_UNSUPPORTED_MESSAGE_LENGTH`), the empty one by
 * `maxFragments` (1009, `WS_ERR_TOO_MANY_FRAGMENTS`), and a legitimate message of 1-byte
 * fragments under both limits is delivered whole. After the flood the attacker reads our close
 * frame and ends TCP; the connection must then be gone without waiting for `closeTimeout`.
 *
 * Sizes: `maxPayload` 32 KiB and `maxFragments` 65,536, floods of twice that; full: the
 * defaults (1 MiB and 1,048,576), floods of twice that (about 2,100,000 frames each). With the
 * defaults, 1-byte fragments reach both limits with the same frame; `maxFragments` is checked
 * first, so that flood ends with `WS_ERR_TOO_MANY_FRAGMENTS` (1009 too). With `port`; at full
 * size with `server` too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, closePayload, Op, RawClient, runCleanups } from '../node/helpers.js';
import { flood, repeat } from './attacker.js';
import {
  bounded,
  Child,
  COMPARE_WS,
  count,
  expectGrowthBelow,
  expectServing,
  killFileChildren,
  MiB,
  AFTER_HANDSHAKE_MODES,
  pick,
  pollUntil,
  record,
  serverState,
  type Impl,
  type Mode,
  type ServerChild,
} from './harness.js';

afterEach(runCleanups);
afterAll(killFileChildren);

const MAX_PAYLOAD = pick(32 * 1024, 1024 * 1024);
const MAX_FRAGMENTS = pick(65_536, 1_048_576);
const OPTIONS = pick<Record<string, unknown>>({ maxPayload: MAX_PAYLOAD, maxFragments: MAX_FRAGMENTS }, {});
/** A message of 1-byte fragments below both limits. */
const LEGIT = pick(16 * 1024, 512 * 1024);
/** Which limit a 1-byte flood reaches first. */
const ONE_BYTE_ERROR = MAX_PAYLOAD < MAX_FRAGMENTS ? 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' : 'WS_ERR_TOO_MANY_FRAGMENTS';
/**
 * What is held is one message under maxPayload; the rest is read buffers waiting for the
 * collector (measured: up to +9.1 MiB for 12 MB of frames). A few dozen bytes kept per
 * fragment would pass it at full size.
 */
const BOUND = 24 * MiB;
const TIMEOUT = pick(60_000, 300_000);
const BATCH = 4096;
const KEY = Buffer.from([3, 1, 4, 1]);

interface FloodResult {
  frames: number;
  /** The close code we read from the server, or null when none came. */
  code: number | null;
  growth: number;
}

/**
 * Sends a binary message's first frame and then up to `frames` continuations of `size` bytes
 * (`fin` on the last one only when `finish`), reading what the server sends. Then ends TCP.
 */
async function fragments(server: ServerChild, size: number, frames: number, finish: boolean, closeWait: number): Promise<FloodResult> {
  await server.request('clear');
  const base = await server.baseline();
  const raw = await RawClient.open(server.port);
  const payload = Buffer.alloc(size, 0x42);
  raw.write(buildFrame({ opcode: Op.Binary, fin: false, payload, mask: KEY }));
  const chunk = repeat(buildFrame({ opcode: Op.Cont, fin: false, payload, mask: KEY }), BATCH);
  const answered = (): boolean => raw.buffer.length > 0 || raw.closed;
  // `frames` in all: the first, the continuations, and the final one when finishing.
  const continuations = frames - (finish ? 2 : 1);
  let sent = 1 + BATCH * (await flood(raw.socket, chunk, Math.floor(continuations / BATCH), answered));
  if (sent === 1 + continuations - (continuations % BATCH) && !answered()) {
    raw.write(repeat(buildFrame({ opcode: Op.Cont, fin: false, payload, mask: KEY }), continuations % BATCH));
    sent += continuations % BATCH;
  }
  if (finish) raw.write(buildFrame({ opcode: Op.Cont, fin: true, payload, mask: KEY }));
  let code: number | null = null;
  if (!finish) {
    code = await bounded(raw.readUntilClose(closeWait), closeWait + 1000, 'close frame').then(
      (close) => close.code,
      () => null,
    );
  }
  if (finish || code === null) raw.sendFrame({ opcode: Op.Close, payload: closePayload(1000), mask: KEY });
  raw.end();
  await pollUntil(() => serverState(server), (s) => s.open === 0, 10_000, 'connection gone after our FIN');
  const { growth } = await server.growth(base);
  return { frames: sent + (finish ? 1 : 0), code, growth };
}

describe.each(AFTER_HANDSHAKE_MODES)('fragment floods (%s)', (mode: Mode) => {
  const servers: Partial<Record<Impl, ServerChild>> = {};
  beforeAll(async () => {
    servers.ours = await Child.server({ impl: 'ours', mode, handler: 'sink', options: OPTIONS }, 'file');
    if (COMPARE_WS) servers.ws = await Child.server({ impl: 'ws', mode, handler: 'sink' }, 'file');
  }, 60_000);
  const ours = (): ServerChild => servers.ours as ServerChild;

  it('1-byte fragments: closed with 1009 once maxPayload (or maxFragments) is reached', async () => {
    const r = await fragments(ours(), 1, 2 * MAX_PAYLOAD, false, 10_000);
    expect(r.code).toBe(1009);
    const state = await serverState(ours());
    expect(state.errors).toEqual({ [ONE_BYTE_ERROR]: 1 });
    expect(state.messages).toBe(0);
    expectGrowthBelow({ attack: 'fragment flood, 1-byte', impl: 'ours', mode, size: `${count(r.frames)} frames sent`, growth: r.growth, bound: BOUND, outcome: `close ${r.code}` });
    await expectServing(ours());
  }, TIMEOUT);

  it('empty fragments: closed with 1009 once maxFragments is reached', async () => {
    const r = await fragments(ours(), 0, 2 * MAX_FRAGMENTS, false, 10_000);
    expect(r.code).toBe(1009);
    expect((await serverState(ours())).errors).toEqual({ WS_ERR_TOO_MANY_FRAGMENTS: 1 });
    expectGrowthBelow({ attack: 'fragment flood, 0-byte', impl: 'ours', mode, size: `${count(r.frames)} frames sent`, growth: r.growth, bound: BOUND, outcome: `close ${r.code}` });
    await expectServing(ours());
  }, TIMEOUT);

  it('a message of 1-byte fragments under both limits is delivered whole', async () => {
    const r = await fragments(ours(), 1, LEGIT, true, 0);
    const state = await serverState(ours());
    expect([state.messages, state.messageBytes]).toEqual([1, LEGIT]);
    expect(state.errors).toEqual({});
    expectGrowthBelow({ attack: 'fragmented message, 1-byte', impl: 'ours', mode, size: `${count(r.frames)} frames`, growth: r.growth, bound: BOUND, outcome: 'delivered' });
  }, TIMEOUT);

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    const ws = servers.ws as ServerChild;
    const one = await fragments(ws, 1, 2 * MAX_PAYLOAD, false, 3000);
    record({ attack: 'fragment flood, 1-byte', impl: 'ws', mode, size: `${count(one.frames)} frames sent`, growth: one.growth, outcome: `close ${one.code ?? 'none'}` });
    const zero = await fragments(ws, 0, 2 * MAX_FRAGMENTS, false, 3000);
    record({ attack: 'fragment flood, 0-byte', impl: 'ws', mode, size: `${count(zero.frames)} frames sent`, growth: zero.growth, outcome: `close ${zero.code ?? 'none'}` });
    const legit = await fragments(ws, 1, LEGIT, true, 0);
    const state = await serverState(ws);
    record({ attack: 'fragmented message, 1-byte', impl: 'ws', mode, size: `${count(legit.frames)} frames`, growth: legit.growth, outcome: state.messages === 1 ? 'delivered' : `not delivered ${JSON.stringify(state.errors)}` });
  }, TIMEOUT);
});
