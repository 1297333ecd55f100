/**
 * The CI slice of `npm run fuzz` (a few seconds): the first sequences of the seeded run in both lanes, with every
 * check of the full run (see harness.ts). Also: the generator is deterministic, the oracle gets the cases right
 * that it once got wrong, and the harness sees a deliberately broken core.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/core/connection.js';
import { generateCase, literalCase, type FuzzCase } from './generator.js';
import { runCase, runCaseAsync, type Finding } from './harness.js';
import { judge } from './oracle.js';
import { frame, frames } from '../core/helpers.js';

const SEED = 6455;
// Sizes of the slice: about a second each on a quiet machine; the time guard keeps a busy one within bounds.
const PLAIN = 4000;
const DEFLATE = 300;
const GUARD_MS = 8000;

function report(c: FuzzCase, findings: Finding[]): string {
  return `${c.lane} sequence ${c.index} (replay: npm run fuzz -- --lane ${c.lane} --seed ${c.seed} --only ${c.index}):\n${findings.map((f) => `  [${f.check}] ${f.detail}`).join('\n')}`;
}

describe('fuzz slice', () => {
  it(`plain lane: the first ${PLAIN} sequences of seed ${SEED} agree with the oracle and keep every guarantee`, () => {
    const started = Date.now();
    let ran = 0;
    let rejected = 0;
    // Rejected sequences build an Error each; stack capture would be a tenth of the time (as in npm run fuzz).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < PLAIN && Date.now() - started < GUARD_MS; i++) {
        const c = generateCase('plain', SEED, i);
        const r = runCase(c);
        if (r.findings.length > 0) {
          Error.stackTraceLimit = limit;
          expect(runCase(c).findings, report(c, r.findings)).toEqual([]);
        }
        ran++;
        if (r.verdict !== 0) rejected++;
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
    // Both kinds of input are exercised: accepted sequences and sequences that break a rule.
    expect(ran).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(ran / 5);
    expect(rejected).toBeLessThan(ran);
  });

  it(`deflate lane: the first ${DEFLATE} sequences of seed ${SEED} agree with the oracle (inflate is asynchronous)`, async () => {
    const started = Date.now();
    let ran = 0;
    for (let i = 0; i < DEFLATE && Date.now() - started < GUARD_MS; i++) {
      const c = generateCase('deflate', SEED, i);
      const r = await runCaseAsync(c);
      expect(r.findings, report(c, r.findings)).toEqual([]);
      ran++;
    }
    expect(ran).toBeGreaterThan(50);
  });

  it('generates the same sequence for the same seed and index, and different ones otherwise', () => {
    const a = generateCase('plain', SEED, 42);
    const b = generateCase('plain', SEED, 42);
    expect(a.input.equals(b.input)).toBe(true);
    expect(a.cuts).toEqual(b.cuts);
    expect(generateCase('plain', SEED, 43).input.equals(a.input)).toBe(false);
    expect(generateCase('plain', SEED + 1, 42).input.equals(a.input)).toBe(false);
  });
});

describe('harness', () => {
  it('reports a core that answers a close frame with the wrong payload', () => {
    // A client connection whose close echo drops the reason: the output check must catch it.
    const c = literalCase({ role: 'client', input: frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]) }) });
    expect(runCase(c).findings).toEqual([]);
    // Close frames from a client are masked: keep the header, the key and the (masked) code, drop the reason.
    const cut = (data: Buffer): Buffer =>
      data[0] === 0x88 && ((data[1] as number) & 0x7f) > 2 ? Buffer.concat([Buffer.from([0x88, 0x82]), data.subarray(2, 8)]) : data;
    const { writeFrame } = Connection.prototype;
    Connection.prototype.writeFrame = function (this: Connection, first, length, buffer, start, end, payload, cb): void {
      const whole = cut(buffer.subarray(start, end));
      writeFrame.call(this, first, length, whole, 0, whole.length, payload, cb);
    };
    try {
      const findings = runCase(c).findings;
      expect(findings.map((f) => f.check)).toContain('output: close');
    } finally {
      Connection.prototype.writeFrame = writeFrame;
    }
  });
});

describe('oracle regressions (disagreements the fuzzer found in the oracle, not the core)', () => {
  it('a 64-bit length with its top bit set is 1002 even on a frame that also breaks fragmentation state', () => {
    // A continuation frame without a message, declaring 2^63 + 5 bytes (fuzz plain 6455#1874).
    const input = frame({ opcode: 0, payload: Buffer.alloc(0), declaredLength: 2n ** 63n + 5n, headerOnly: true });
    const c = literalCase({ role: 'client', input });
    expect(judge(c).frameLevel.verdict).toMatchObject({ code: 1002, frame: 0, certain: true });
    expect(runCase(c).findings).toEqual([]);
  });

  it('a data frame longer than maxPayload is 1009 even when it also breaks fragmentation state', () => {
    const input = frame({ opcode: 0, payload: Buffer.alloc(3), declaredLength: 2000, headerOnly: true, mask: true });
    const c = literalCase({ role: 'server', input, maxPayload: 1000 });
    expect(judge(c).frameLevel.verdict).toMatchObject({ code: 1009, frame: 0 });
    expect(runCase(c).findings).toEqual([]);
  });

  it('fragmentation state is decided once the header is complete: a truncated header may get no verdict yet', () => {
    // Two bytes of a continuation header that announces a 16-bit length: the peer decides at once, we wait.
    const input = Buffer.from([0x80, 0x7e, 0x01]);
    const c = literalCase({ role: 'client', input });
    expect(judge(c).frameLevel.verdict).toMatchObject({ code: 1002, certain: false });
    expect(runCase(c).findings).toEqual([]);
  });

  it('a length that is not minimal is accepted (RFC 6455 §5.2 binds senders), by both judges', () => {
    const input = frames({ opcode: 1, payload: 'hi', lengthBits: 64 }, { opcode: 2, payload: 'x', lengthBits: 16 });
    const c = literalCase({ role: 'client', input });
    expect(judge(c).frameLevel.verdict).toBeNull();
    expect(runCase(c).findings).toEqual([]);
  });

  const params = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const compressed = (payload: Buffer, opcode = 1): Buffer => frame({ opcode, rsv: 0x40, payload });

  it('octets after a final DEFLATE block are refused with 1007, as we do (the suite ignores them)', async () => {
    // Fuzz deflate 6455#186. RFC 7692 §7.2.3.4: a final block may be followed by one 0x00 octet, nothing else.
    const final = deflateRawSync(Buffer.from('Hello'), { finishFlush: constants.Z_FINISH });
    const ok = literalCase({ role: 'client', deflate: params, input: compressed(Buffer.concat([final, Buffer.from([0])])) });
    expect(judge(ok).connection).toMatchObject({ verdict: null, events: [{ kind: 'message', data: Buffer.from('Hello') }] });
    expect((await runCaseAsync(ok)).findings).toEqual([]);
    const junk = literalCase({ role: 'client', deflate: params, input: compressed(Buffer.concat([final, Buffer.from([0, 0x61, 0x62])])) });
    expect(judge(junk).connection.verdict).toMatchObject({ code: 1007, afterDecode: true });
    expect((await runCaseAsync(junk)).findings).toEqual([]);
  });

  it('a message whose DEFLATE data does not end on a block boundary makes what follows uncertain', async () => {
    // Fuzz deflate 6455#47708. The data gives the sync flush's stored block a length of 5, which the 4-octet tail
    // does not fill: one zlib stream per connection (ours) reads the next message's first octet as the fifth, the
    // peer starts each message afresh.
    const hi = deflateRawSync(Buffer.from('Hi'), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const first = Buffer.concat([hi, Buffer.from([0x05, 0x00, 0xfa, 0xff])]);
    const second = deflateRawSync(Buffer.from('there'), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const c = literalCase({ role: 'client', deflate: params, input: Buffer.concat([compressed(first, 2), compressed(second)]) });
    const j = judge(c);
    expect(j.connection.loose).toMatchObject({ after: 1 });
    expect((j.connection.events[0] as { data: Buffer }).data).toEqual(Buffer.from('Hi\x00\x00\xff\xff', 'latin1'));
    expect((await runCaseAsync(c)).findings).toEqual([]);
  });

  it('a frame that breaks RSV1 placement and masking is 1002 from its second byte, even past maxPayload', () => {
    // Fuzz deflate 6455#172198: the peer names RSV1 on a continuation (RFC 7692 §6.1) first, which we judge after
    // the length; but the frame is also unmasked to a server (RFC 6455 §5.1), which we judge at once.
    const input = frame({ opcode: 0, rsv: 0x40, payload: Buffer.alloc(4), declaredLength: 2000, headerOnly: true });
    const c = literalCase({ role: 'server', deflate: params, input, maxPayload: 1000 });
    expect(judge(c).frameLevel.verdict).toMatchObject({ code: 1002, frame: 0, certain: true });
    expect(runCase(c).findings).toEqual([]);
  });

  it('a message that inflates past maxPayload and is broken right after may fail with 1009 or 1007', async () => {
    // Fuzz deflate 6455#114911. zlib hands out its output in 16 KiB steps and none of a failing step: after a
    // 2-byte message our stream's steps end 2 bytes earlier than a fresh one's, so 49,150 bytes are out when the
    // broken block is met (1007), where a fresh inflater is at 49,152 > maxPayload already (1009).
    const hi = deflateRawSync(Buffer.from('Hi'), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const zeros = deflateRawSync(Buffer.alloc(50_000), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    // The flush's empty stored block, now with LEN 16 and NLEN 0: "invalid stored block lengths".
    const broken = Buffer.concat([zeros, Buffer.from([0x10, 0x00, 0x00, 0x00])]);
    const c = literalCase({ role: 'client', deflate: params, maxPayload: 49_151, input: Buffer.concat([compressed(hi), compressed(broken, 2)]) });
    expect(judge(c).connection.verdict).toMatchObject({ code: 1009, alternatives: [1007] });
    expect((await runCaseAsync(c)).findings).toEqual([]);
  });

  it('after a final DEFLATE block, a message that refers back to the old window makes what follows uncertain', async () => {
    // Fuzz deflate 6455#177721. RFC 7692 §7.2.2 keeps the window across messages; zlib cannot continue a stream
    // after a final block, and we start the next one with an empty window.
    const first = deflateRawSync(Buffer.from('abcdefgh'), { finishFlush: constants.Z_FINISH });
    const second = deflateRawSync(Buffer.from('abcdefgh'), { finishFlush: constants.Z_SYNC_FLUSH, dictionary: Buffer.from('abcdefgh') }).subarray(0, -4);
    const c = literalCase({ role: 'client', deflate: params, input: Buffer.concat([compressed(first), compressed(second)]) });
    const j = judge(c);
    expect(j.connection.loose).toMatchObject({ after: 1 });
    expect((await runCaseAsync(c)).findings).toEqual([]);
  });
});
