/**
 * Malformed upgrade heads and request smuggling. Each head is a complete WebSocket handshake
 * (valid key and version) with one fault, so that only the fault decides:
 *
 * - every single-fault shape of test/core/request-head-cases.ts (bad methods, targets such as
 *   `echo` and `*`, versions, bodies: `Content-Length: abc`, `5, 6`, two lines, CL with TE,
 *   `Transfer-Encoding` spelt every way, obs-fold, NUL/CR/DEL in values, a second `Host`, bare
 *   LF or CR line ends);
 * - smuggling with a body that carries a second request: CL.TE, TE.CL, CL alone, TE alone;
 * - a second request pipelined behind a valid upgrade (it is WebSocket data, never a request),
 *   and an upgrade pipelined behind a plain request (never reached).
 *
 * `port` (the own front): every faulty head gets 400 (505 for a version), one answer, no
 * connection, and each refusal is counted in `stats().httpRefusedByStatus`. `server`
 * (node:http reads the head): node:http refuses what it refuses with 400; what it upgrades is
 * refused by our handshake with 400 when it carries a body (RFC 9110 §9.3.1: a GET's content
 * has no meaning; here it would be read as WebSocket frames). In every mode, a smuggled request
 * is never answered and never reaches the application.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, closePayload, Op, runCleanups } from '../node/helpers.js';
import { singleFaultHeads } from '../core/request-head-cases.js';
import { connectRaw } from './attacker.js';
import { bounded, Child, COMPARE_WS, expectServing, killFileChildren, MODES, record, serverState, type Impl, type Mode, type ServerChild } from './harness.js';

afterEach(runCleanups);
afterAll(killFileChildren);

const KEY_LINES = 'Sec-WebSocket-Version: 13$1Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==$1';
const BASE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** The single-fault heads, each made a complete handshake. */
const FAULTS: Array<[string, string]> = singleFaultHeads().map(({ head }) => [JSON.stringify(head), head.replace(/Connection: Upgrade(\r?\n|\r)/, `Connection: Upgrade$1${KEY_LINES}`)]);

/** Heads whose body is a second request. */
const SMUGGLING: Array<[string, string]> = [
  ['CL.TE', `${BASE}Content-Length: ${5 + SMUGGLED.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.CL', `${BASE}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['CL alone', `${BASE}Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['TE alone', `${BASE}Transfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['TE with a space before the colon', `${BASE}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE: chunked, identity', `${BASE}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
];

/** Heads pipelined with a second request. */
const PIPELINED: Array<[string, string]> = [
  ['a request behind a valid upgrade', `${BASE}\r\n${SMUGGLED}`],
  ['an upgrade behind a plain request', `GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${SMUGGLED}`],
];

/** Whether a head carries a body: a `Transfer-Encoding` line or a `Content-Length` other than 0 (RFC 9112 §6). */
function hasBody(head: string): boolean {
  const end = head.search(/\r?\n\r?\n/);
  const fields = head.slice(0, end < 0 ? head.length : end);
  return /(^|\n)transfer-encoding\s*:/i.test(fields) || /(^|\n)content-length\s*:(?!\s*0\s*(\r|\n|$))/i.test(fields);
}

interface Outcome {
  /** Status lines received, in order. */
  statuses: number[];
  /** After a 101: the code of the server's close frame (or null: the connection ended without one). */
  close: number | null;
}

/**
 * Sends `bytes` on a fresh connection; after a 101, sends a close frame unless the server's own
 * close frame came with it, and reads the server's. Resolves once the server closed.
 */
async function exchange(port: number, bytes: string): Promise<Outcome> {
  const socket = await connectRaw(port);
  let all = Buffer.alloc(0);
  let closeSent = false;
  const closeFrame = (): { code: number | null } | null => {
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const after = all.subarray(end + 4);
    if (after.length < 2) return null;
    if (((after[0] as number) & 0x0f) !== 8) return { code: null };
    return after.length >= 4 ? { code: after.readUInt16BE(2) } : null;
  };
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      all = Buffer.concat([all, chunk]);
      if (!closeSent && all.toString('latin1').startsWith('HTTP/1.1 101 ') && all.includes('\r\n\r\n')) {
        // Give the server's own close frame (for garbage after the head) a chance to be first.
        setImmediate(() => {
          if (closeFrame() === null) socket.write(buildFrame({ opcode: Op.Close, payload: closePayload(1000) }));
        });
        closeSent = true;
      }
      if (closeFrame() !== null) socket.end();
    });
    socket.once('end', () => {
      socket.end();
      resolve();
    });
    socket.once('close', () => resolve());
  });
  socket.write(Buffer.from(bytes, 'latin1'));
  await bounded(done, 10_000, `the server closes after ${JSON.stringify(bytes.slice(0, 60))}`);
  const text = all.toString('latin1');
  const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  return { statuses, close: statuses[0] === 101 ? (closeFrame()?.code ?? null) : null };
}

function describeOutcome(o: Outcome): string {
  const statuses = o.statuses.join(' + ') || 'no answer';
  return o.statuses.includes(101) ? `${statuses}, then close ${o.close ?? 'none'}` : statuses;
}

function tally(outcomes: string[]): string {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return Object.entries(counts)
    .map(([o, n]) => `${n} x ${o}`)
    .join(', ');
}

describe.each(MODES)('malformed upgrade heads (%s)', (mode: Mode) => {
  const servers: Partial<Record<Impl, ServerChild>> = {};
  beforeAll(async () => {
    servers.ours = await Child.server({ impl: 'ours', mode, handler: 'sink' }, 'file');
    if (COMPARE_WS) servers.ws = await Child.server({ impl: 'ws', mode, handler: 'sink' }, 'file');
  }, 60_000);

  /** Sends every head to `impl`; resolves with the outcome of each and what the server saw. */
  async function attack(impl: Impl, heads: Array<[string, string]>) {
    const server = servers[impl] as ServerChild;
    await server.request('clear');
    const base = await server.baseline();
    const outcomes: Array<[string, string, Outcome]> = [];
    for (const [name, head] of heads) outcomes.push([name, head, await exchange(server.port, head)]);
    const state = await serverState(server);
    const { growth } = await server.growth(base);
    return { server, outcomes, state, growth };
  }

  it(`single faults (${FAULTS.length} heads): ${mode === 'port' ? 'each refused with 400 or 505' : 'refused, or upgraded only where node:http is lenient and no body comes'}`, async () => {
    const { server, outcomes, state, growth } = await attack('ours', FAULTS);
    for (const [name, head, o] of outcomes) {
      expect(o.statuses.length, name).toBe(1);
      if (mode === 'port' || hasBody(head)) expect([400, 505], name).toContain(o.statuses[0]);
      else expect([400, 505, 101], name).toContain(o.statuses[0]);
    }
    if (mode === 'port') {
      expect(state.connections).toBe(0);
      expect(state.stats?.httpRefused).toBe(FAULTS.length);
    }
    record({ attack: 'malformed heads, single faults', impl: 'ours', mode, size: `${FAULTS.length} heads`, growth, outcome: tally(outcomes.map(([, , o]) => describeOutcome(o))) });
    await expectServing(server);
  }, 60_000);

  it.each(SMUGGLING)('smuggling, %s: 400, one answer, the second request never seen', async (name, head) => {
    const { server, outcomes, state, growth } = await attack('ours', [[name, head]]);
    const [[, , o]] = outcomes as [[string, string, Outcome]];
    expect(o.statuses).toEqual([400]);
    expect(state.connections).toBe(0);
    record({ attack: `malformed heads, smuggling: ${name}`, impl: 'ours', mode, size: '1 connection', growth, outcome: describeOutcome(o) });
    await expectServing(server);
  });

  it('a request pipelined behind a valid upgrade is WebSocket data: 101, then 1002', async () => {
    const { outcomes, state, growth } = await attack('ours', PIPELINED.slice(0, 1));
    const [[name, , o]] = outcomes as [[string, string, Outcome]];
    record({ attack: `malformed heads, pipelined: ${name}`, impl: 'ours', mode, size: '1 connection', growth, outcome: describeOutcome(o) });
    expect([o.statuses, o.close]).toEqual([[101], 1002]);
    expect(state.urls).toEqual({ '/': 1 });
    // 'G' (0x47) is read as a frame header with RSV1 set and the reserved opcode 7.
    expect(Object.values(state.errors)).toEqual([1]);
  });

  // With `server`, node:http parses the pipelined upgrade and emits `upgrade` for it even though
  // the application's answer to the plain request said `Connection: close`: both ws and ws6455
  // then answer 101 after the 426 (recorded, not asserted: node:http's and the application's
  // matter). The own front reads one request per connection.
  it('an upgrade pipelined behind a plain request: never reached with port', async () => {
    const { outcomes, state, growth } = await attack('ours', PIPELINED.slice(1));
    const [[name, , o]] = outcomes as [[string, string, Outcome]];
    record({ attack: `malformed heads, pipelined: ${name}`, impl: 'ours', mode, size: '1 connection', growth, outcome: describeOutcome(o) });
    if (mode === 'port') {
      expect(o.statuses).toEqual([426]);
      expect(state.connections).toBe(0);
    }
  });

  it.runIf(COMPARE_WS)('ws, for comparison (not asserted)', async () => {
    const faults = await attack('ws', FAULTS);
    record({ attack: 'malformed heads, single faults', impl: 'ws', mode, size: `${FAULTS.length} heads`, growth: faults.growth, outcome: tally(faults.outcomes.map(([, , o]) => describeOutcome(o))) });
    for (const [kind, heads] of [['smuggling', SMUGGLING], ['pipelined', PIPELINED]] as const) {
      for (const head of heads) {
        const { outcomes, growth } = await attack('ws', [head]);
        const [[name, , o]] = outcomes as [[string, string, Outcome]];
        record({ attack: `malformed heads, ${kind}: ${name}`, impl: 'ws', mode, size: '1 connection', growth, outcome: describeOutcome(o) });
      }
    }
  }, 60_000);
});
