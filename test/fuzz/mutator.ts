/**
 * The fuzzer's mutator: damages a generated frame sequence at the byte level, the way a broken or hostile peer
 * (or a bug in one) would: flipped bits, bytes set to values that mean something in a header (0x00, 0x7e, 0x7f,
 * 0x80, 0xff, opcodes with and without FIN), inserted, deleted, duplicated or swapped ranges, and a cut tail. The
 * result no longer follows the generator's plan; only the oracle (oracle.ts) knows what it means.
 */
import type { Rng } from './random.js';

// Values that change the meaning of a header byte: FIN/opcode combinations, length markers, the mask bit.
const INTERESTING = [0x00, 0x01, 0x02, 0x08, 0x09, 0x0a, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x88, 0x89, 0x8a, 0xc1, 0xfe, 0xff];

/** The damaged bytes and a description of each operation. */
export interface Mutation {
  readonly bytes: Buffer;
  readonly ops: string[];
}

/** Applies 1-4 random operations to a copy of `input`. */
export function mutate(r: Rng, input: Buffer): Mutation {
  let bytes = Buffer.from(input);
  const ops: string[] = [];
  const count = r.range(1, 4);
  for (let i = 0; i < count; i++) {
    const n = bytes.length;
    // Header bytes are where most rules live: aim at the first bytes more often than the rest.
    const at = n === 0 ? 0 : r.chance(0.4) ? r.int(Math.min(n, 16)) : r.int(n);
    switch (r.weighted([25, 25, 12, 12, 10, 8, 8])) {
      case 0:
        if (n === 0) break;
        bytes[at] = (bytes[at] as number) ^ (1 << r.int(8));
        ops.push(`flip bit at ${at}`);
        break;
      case 1:
        if (n === 0) break;
        bytes[at] = r.pick(INTERESTING);
        ops.push(`set ${at} to ${(bytes[at] as number).toString(16)}`);
        break;
      case 2: {
        const ins = r.chance(0.5) ? r.bytes(r.range(1, 8)) : Buffer.from([r.pick(INTERESTING)]);
        bytes = Buffer.concat([bytes.subarray(0, at), ins, bytes.subarray(at)]);
        ops.push(`insert ${ins.length} at ${at}`);
        break;
      }
      case 3: {
        if (n === 0) break;
        const len = Math.min(n - at, r.range(1, 8));
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + len)]);
        ops.push(`delete ${len} at ${at}`);
        break;
      }
      case 4: {
        if (n === 0) break;
        const len = Math.min(n - at, r.range(1, 64));
        const to = r.int(n + 1);
        bytes = Buffer.concat([bytes.subarray(0, to), bytes.subarray(at, at + len), bytes.subarray(to)]);
        ops.push(`copy ${len} from ${at} to ${to}`);
        break;
      }
      case 5: {
        if (n < 2) break;
        const len = Math.min(Math.floor(n / 2), r.range(1, 16));
        const a = r.int(n - len + 1);
        const b = r.int(n - len + 1);
        const first = Buffer.from(bytes.subarray(a, a + len));
        bytes.copy(bytes, a, b, b + len);
        first.copy(bytes, b);
        ops.push(`swap ${len} at ${a} and ${b}`);
        break;
      }
      default: {
        if (n === 0) break;
        bytes = bytes.subarray(0, at);
        ops.push(`cut at ${at}`);
      }
    }
  }
  return { bytes, ops };
}
