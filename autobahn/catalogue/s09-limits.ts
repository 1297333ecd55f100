/**
 * Section 9 — Limits/performance. Each case is OK when the echo arrives with the right type and length before the
 * case's time limit. Sizes marked `{ ci, full }` shrink in the CI profile; the full profile is the suite's sizes.
 * The CI profile keeps 9.3/9.4 at full size on purpose: 65,536 frames of 64 bytes is exactly the load that a
 * per-message fragment-count cap refuses (see ARCHITECTURE.md, "bound bytes, not counts").
 */
import { utf8, hex } from '../peer/bytes.js';
import type { Scaled, Size } from '../peer/bytes.js';
import { closeAfter } from './build.js';
import type { Action, CaseDef } from './types.js';
import { NORMAL_CLOSE } from './build.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const TEXT_PATTERN = utf8('BAsd7&jh23');
const BINARY_PATTERN = hex('00fe23faf0');
const STAR = utf8('*');

const human = (n: number) => (n >= MiB ? `${n / MiB}M` : n >= KiB ? `${n / KiB}k` : `${n}`);
const full = (s: Size) => (typeof s === 'number' ? s : s.full);

function echoCase(id: string, binary: boolean, length: Size, waitSecs: number, description: string, send: Action): CaseDef {
  const kind = binary ? 'binary' : 'text';
  return {
    id,
    description,
    expectation: `Receive echo'ed ${kind} message (with payload as sent).`,
    expected: {},
    expectedClose: NORMAL_CLOSE,
    actions: [send, closeAfter(waitSecs)],
    flow: { kind: 'echo-length', binary, length, waitSecs },
    reportTime: true,
  };
}

// 9.1 / 9.2: one unfragmented message of increasing size.
const SINGLE: ReadonlyArray<readonly [Scaled, number]> = [
  [{ ci: 64 * KiB, full: 64 * KiB }, 10],
  [{ ci: 256 * KiB, full: 256 * KiB }, 10],
  [{ ci: 1 * MiB, full: 1 * MiB }, 100],
  [{ ci: 1 * MiB, full: 4 * MiB }, 100],
  [{ ci: 2 * MiB, full: 8 * MiB }, 100],
  [{ ci: 4 * MiB, full: 16 * MiB }, 100],
];

// 9.3 / 9.4: a 4 MiB message in frames of increasing size.
const FRAGMENT_SIZES = [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB];
const FRAGMENTED_LENGTH: Scaled = { ci: 4 * MiB, full: 4 * MiB };

// 9.5 / 9.6: one 1 MiB frame written to TCP in chops of increasing size.
const CHOP_SIZES = [64, 128, 256, 512, 1024, 2048];
const CHOPPED_LENGTH: Scaled = { ci: 256 * KiB, full: 1 * MiB };

// 9.7 / 9.8: [payload length, time limit] for 1000 round trips each.
const ROUND_TRIPS: ReadonlyArray<readonly [number, number]> = [
  [0, 60],
  [16, 60],
  [64, 60],
  [256, 120],
  [1024, 240],
  [4096, 480],
];
const ROUND_TRIP_COUNT: Scaled = { ci: 1000, full: 1000 };

function section(binary: boolean): { single: CaseDef[]; fragmented: CaseDef[]; chopped: CaseDef[]; trips: CaseDef[] } {
  const kind = binary ? 'binary' : 'text';
  const opcode = binary ? 2 : 1;
  const sub = (text: number, bin: number) => (binary ? bin : text);
  const single = SINGLE.map(([length, wait], i) =>
    echoCase(`9.${sub(1, 2)}.${i + 1}`, binary, length, wait, `Send ${kind} message message with payload of length ${human(full(length))}.`, {
      do: 'frame',
      opcode,
      payload: { pattern: binary ? BINARY_PATTERN : TEXT_PATTERN, length },
    }),
  );
  const fragmented = FRAGMENT_SIZES.map((fragmentSize, i) =>
    echoCase(
      `9.${sub(3, 4)}.${i + 1}`,
      binary,
      FRAGMENTED_LENGTH,
      100,
      `Send fragmented ${kind} message message with message payload of length 4M. Sent out in fragments of ${human(fragmentSize)}.`,
      { do: 'message', binary, payload: { pattern: STAR, length: FRAGMENTED_LENGTH }, fragmentSize },
    ),
  );
  const chopped = CHOP_SIZES.map((chop, i) =>
    echoCase(
      `9.${sub(5, 6)}.${i + 1}`,
      binary,
      CHOPPED_LENGTH,
      100,
      `Send ${kind} message message with payload of length 1M. Sent out data in chops of ${chop} octets.`,
      { do: 'frame', opcode, payload: { pattern: binary ? BINARY_PATTERN : TEXT_PATTERN, length: CHOPPED_LENGTH }, chop },
    ),
  );
  const trips = ROUND_TRIPS.map(
    ([length, waitSecs], i): CaseDef => ({
      id: `9.${sub(7, 8)}.${i + 1}`,
      description: `Send 1000 ${kind} messages of payload size ${length} to measure implementation/network RTT (round trip time) / latency.`,
      expectation: `Receive echo'ed ${kind} messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
      expected: {},
      expectedClose: NORMAL_CLOSE,
      actions: [closeAfter(waitSecs)],
      flow: { kind: 'round-trips', binary, length, count: ROUND_TRIP_COUNT, waitSecs },
      reportTime: true,
    }),
  );
  return { single, fragmented, chopped, trips };
}

const text = section(false);
const binary = section(true);

/** Cases 9.1.1 – 9.8.6, in suite order. */
export const SECTION_9: readonly CaseDef[] = [
  ...text.single,
  ...binary.single,
  ...text.fragmented,
  ...binary.fragmented,
  ...text.chopped,
  ...binary.chopped,
  ...text.trips,
  ...binary.trips,
];
