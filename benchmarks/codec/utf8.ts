/**
 * UTF-8 validation throughput: node:buffer `isUtf8` (native), `TextDecoder({ fatal: true })`,
 * the pure-JS DFA alone, the incremental `Utf8Validator` (one write + end), and `isValidUtf8`
 * (the combination src/core/utf8.ts ships), on ASCII and mixed text (~30% multi-byte
 * characters) at 16 B, 1 KiB, 64 KiB and 1 MiB.
 *
 * Run: `npx tsx benchmarks/codec/utf8.ts [--json FILE]`. Each measurement runs ~0.5 s.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { Utf8Validator, isValidUtf8, isValidUtf8Js } from '../../src/core/utf8.js';
import { writeJsonReport } from './json-report.js';

const MEASURE_MS = 500;
const WARMUP_MS = 50;
const SIZES = [16, 1024, 64 * 1024, 1024 * 1024] as const;

/** One result row. */
interface Result {
  impl: string;
  text: 'ascii' | 'mixed';
  size: number;
  gbps: number;
}

/** Deterministic PRNG (mulberry32) so every run measures the same text. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();
const MULTI = ['é', 'ж', 'ß', '€', '中', 'ア', '😀', '𝄞'].map((c) => encoder.encode(c));

/** Valid UTF-8 of exactly `size` bytes; `mixed` makes ~30% of characters multi-byte (2, 3 and 4 bytes). */
function makeText(text: 'ascii' | 'mixed', size: number): Uint8Array {
  const out = new Uint8Array(size).fill(0x61);
  if (text === 'ascii') {
    for (let i = 0; i < size; i++) out[i] = 0x20 + (i % 95);
    return out;
  }
  const rand = prng(size);
  let pos = 0;
  while (pos < size) {
    if (rand() < 0.3) {
      const ch = MULTI[(rand() * MULTI.length) | 0]!;
      if (pos + ch.length > size) break; // the rest stays ASCII 'a'
      out.set(ch, pos);
      pos += ch.length;
    } else {
      out[pos++] = 0x61 + ((rand() * 26) | 0);
    }
  }
  return out;
}

/** Calls `fn` in batches for about `ms` milliseconds; returns bytes per nanosecond (= GB/s). */
function throughput(fn: () => boolean, bytesPerCall: number, ms: number): number {
  const batch = Math.max(1, Math.ceil(65536 / bytesPerCall));
  let calls = 0;
  let valid = 0;
  const limit = BigInt(ms) * 1_000_000n;
  const t0 = process.hrtime.bigint();
  let elapsed = 0n;
  do {
    for (let i = 0; i < batch; i++) if (fn()) valid++;
    calls += batch;
    elapsed = process.hrtime.bigint() - t0;
  } while (elapsed < limit);
  // Every input is valid: a mismatch means the implementation is wrong, not slow.
  if (valid !== calls) throw new Error('an implementation rejected valid input');
  return (calls * bytesPerCall) / Number(elapsed);
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const validator = new Utf8Validator();

const results: Result[] = [];
for (const text of ['ascii', 'mixed'] as const) {
  for (const size of SIZES) {
    const bytes = makeText(text, size);
    const impls: readonly (readonly [string, () => boolean])[] = [
      ['buffer.isUtf8', () => isUtf8(bytes)],
      [
        'TextDecoder fatal',
        () => {
          decoder.decode(bytes); // throws on invalid input
          return true;
        },
      ],
      ['DFA alone', () => isValidUtf8Js(bytes)],
      [
        'Utf8Validator',
        () => {
          validator.reset();
          return validator.write(bytes, 0, bytes.length) && validator.end();
        },
      ],
      ['isValidUtf8', () => isValidUtf8(bytes)],
    ];
    for (const [impl, fn] of impls) {
      throughput(fn, size, WARMUP_MS);
      results.push({ impl, text, size, gbps: throughput(fn, size, MEASURE_MS) });
    }
  }
}

printTable(results);
writeJsonReport('utf8', results);

function sizeLabel(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

function printTable(rows: readonly Result[]): void {
  const header = ['GB/s', ...SIZES.map(sizeLabel)];
  const lines = [header];
  for (const text of ['ascii', 'mixed'] as const) {
    for (const impl of new Set(rows.map((r) => r.impl))) {
      const cells = SIZES.map((s) => rows.find((r) => r.impl === impl && r.text === text && r.size === s)!.gbps.toFixed(2));
      lines.push([`${text}  ${impl}`, ...cells]);
    }
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  for (const l of lines) console.log(l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
}
