/**
 * Masking throughput (RFC 6455 §5.3): the word-at-a-time maskInPlace against the plain byte
 * loop, and maskInto (client send path), at 16 B, 1 KiB, 64 KiB and 1 MiB.
 *
 * Run: `npx tsx benchmarks/codec/mask.ts [--json FILE]`. Each measurement runs ~0.5 s.
 *
 * @module
 */
import { maskBytewise, maskInPlace, maskInto, setSimdMasking } from '../../src/core/mask.js';
import { writeJsonReport } from './json-report.js';

/** Runs `fn` with the WebAssembly SIMD kernel on or off (maskInPlace uses it from 768 bytes). */
function withSimd(enabled: boolean, fn: () => void): void {
  setSimdMasking(enabled);
  fn();
  setSimdMasking(true);
}

const MEASURE_MS = 500;
const WARMUP_MS = 50;
const SIZES = [16, 1024, 64 * 1024, 1024 * 1024] as const;
const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** One result row. */
interface Result {
  impl: string;
  size: number;
  gbps: number;
}

/** Calls `fn` in batches for about `ms` milliseconds; returns bytes per nanosecond (= GB/s). */
function throughput(fn: () => void, bytesPerCall: number, ms: number): number {
  // Batch so the clock is read rarely even for 16-byte calls (~1 µs of work per batch at least).
  const batch = Math.max(1, Math.ceil(65536 / bytesPerCall));
  let calls = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  do {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    elapsed = process.hrtime.bigint() - t0;
  } while (elapsed < limit);
  return (calls * bytesPerCall) / Number(elapsed);
}

function measure(fn: () => void, bytesPerCall: number): number {
  throughput(fn, bytesPerCall, WARMUP_MS);
  return throughput(fn, bytesPerCall, MEASURE_MS);
}

const results: Result[] = [];
for (const size of SIZES) {
  // +8 so a view at byteOffset 1 still has `size` bytes; contents do not affect XOR speed.
  const backing = new Uint8Array(size + 8).fill(0x5a);
  const aligned = backing.subarray(0, size);
  const unaligned = backing.subarray(1, size + 1);
  const target = new Uint8Array(size);
  let keyIndex = 0;
  const impls: readonly (readonly [string, () => void])[] = [
    ['byte loop', () => maskBytewise(aligned, 0, size, KEY, (keyIndex = (keyIndex + 1) & 3))],
    ['maskInPlace (JS words)', () => withSimd(false, () => maskInPlace(aligned, 0, size, KEY, (keyIndex = (keyIndex + 1) & 3)))],
    ['maskInPlace', () => maskInPlace(aligned, 0, size, KEY, (keyIndex = (keyIndex + 1) & 3))],
    ['maskInPlace +1', () => maskInPlace(unaligned, 0, size, KEY, (keyIndex = (keyIndex + 1) & 3))],
    ['maskInto', () => maskInto(aligned, 0, size, KEY, target, 0)],
  ];
  for (const [impl, fn] of impls) results.push({ impl, size, gbps: measure(fn, size) });
}

printTable(results);
writeJsonReport('mask', results);

function sizeLabel(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

function printTable(rows: readonly Result[]): void {
  const impls = [...new Set(rows.map((r) => r.impl))];
  const header = ['GB/s', ...SIZES.map(sizeLabel)];
  const lines = [header, ...impls.map((impl) => [impl, ...SIZES.map((s) => rows.find((r) => r.impl === impl && r.size === s)!.gbps.toFixed(2))])];
  const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  for (const l of lines) console.log(l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
}
