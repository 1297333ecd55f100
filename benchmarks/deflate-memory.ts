/**
 * Does memory return to its starting level after many compressed connections? Opens and closes
 * 10,000 permessage-deflate connections against an echo server (ws6455, then `ws`, each in a
 * fresh process pinned to core 0) from a raw driver (benchmarks/deflate/driver.ts, core 1), in
 * batches of 500 concurrent connections. Each connection sends a few compressed 4 KiB JSON-like
 * messages and gets them echoed compressed; 75% then close cleanly, 10% vanish while the server
 * is still compressing for them, 5% send invalid compressed data (the server fails them with
 * 1007), 5% send a decompression bomb (8 MiB of zeros against a 1 MiB limit: 1009, the inflater
 * is stopped mid-message) and 5% end TCP without a close frame: every path on which zlib streams
 * must be released.
 *
 * The server reports, after three forced GCs, its RSS, V8 heap, `external` (where Node counts
 * zlib's memory) and the zlib handles still alive (async_hooks) at the start, after every 2,000
 * connections, and at the end; and the peaks it sampled every 20 ms.
 *
 *   npm run bench:deflate-memory [-- --conns 10000 --batch 500 --messages 3 --size 4096 --impls ours,ws]
 *
 * Writes benchmarks/results/deflate-memory-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DeflateServerStats, type Impl, machine, mib, oursModule, sleep, startDriver, startServer } from './deflate/procs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
function listOption(name: string, fallback: string[]): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string).split(',') : fallback;
}

const CONNS = option('conns', 10_000);
const BATCH = option('batch', 500);
const MESSAGES = option('messages', 3);
const SIZE = option('size', 4096);
const CHECKPOINT = option('checkpoint', 2000);
const IMPLS = listOption('impls', ['ours', 'ws']).filter((x): x is Impl => x === 'ours' || x === 'ws');

/** What one implementation's run recorded. */
interface MemoryRun {
  impl: Impl;
  start: DeflateServerStats;
  /** After GC, every CHECKPOINT connections (all closed by then). */
  checkpoints: Array<{ conns: number; stats: DeflateServerStats }>;
  end: DeflateServerStats;
  peak: DeflateServerStats['peak'];
  failed: number;
  problems: string[];
  seconds: number;
  error: string | null;
}

/** Waits (bounded) until the server counts no open connection. */
async function allClosed(stats: (gc?: boolean) => Promise<DeflateServerStats>, ms: number): Promise<DeflateServerStats> {
  const deadline = Date.now() + ms;
  let s = await stats(false);
  while (s.open > 0 && Date.now() < deadline) {
    await sleep(100);
    s = await stats(false);
  }
  return s;
}

async function measure(impl: Impl, oursPath: string): Promise<MemoryRun> {
  const server = await startServer(root, impl, oursPath, { trackZlib: true });
  const driver = await startDriver(root);
  const t0 = performance.now();
  const run: MemoryRun = {
    impl,
    start: await server.stats(true),
    checkpoints: [],
    end: null as unknown as DeflateServerStats,
    peak: null as unknown as DeflateServerStats['peak'],
    failed: 0,
    problems: [],
    seconds: 0,
    error: null,
  };
  try {
    await server.peakReset();
    const batches = Math.ceil(CONNS / BATCH);
    for (let b = 0; b < batches; b++) {
      const count = Math.min(BATCH, CONNS - b * BATCH);
      const r = await driver.request<{ failed: number; problems: string[]; error?: string }>(
        'churn',
        { port: server.port, count, concurrency: count, messages: MESSAGES, size: SIZE, offset: b * BATCH },
        120_000,
      );
      if (r.error) throw new Error(r.error);
      run.failed += r.failed;
      for (const p of r.problems) if (run.problems.length < 5) run.problems.push(p);
      const done = b * BATCH + count;
      if (done % CHECKPOINT === 0 || b === batches - 1) {
        await allClosed(server.stats, 15_000);
        run.checkpoints.push({ conns: done, stats: await server.stats(true) });
        process.stdout.write(`  ${impl}: ${done} connections, rss ${mib(run.checkpoints.at(-1)?.stats.rss ?? 0)} MiB\n`);
      }
    }
    run.peak = (await server.stats(false)).peak;
    await allClosed(server.stats, 30_000);
    // A moment for the last close callbacks, then the final collection.
    await sleep(500);
    run.end = await server.stats(true);
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
    run.end ??= await server.stats(true).catch(() => run.start);
    run.peak ??= run.end.peak;
  } finally {
    run.seconds = (performance.now() - t0) / 1000;
    await driver.stop();
    await server.child.stop();
  }
  return run;
}

function table(runs: MemoryRun[]): string {
  const label = (impl: Impl): string => (impl === 'ours' ? 'ws6455' : 'ws');
  const lines: string[] = [];
  const head = ['', ...runs.flatMap((r) => [`${label(r.impl)} start`, 'peak', 'end', 'end-start'])];
  const row = (name: string, pick: (s: DeflateServerStats) => number, peak: (p: DeflateServerStats['peak']) => number): string[] => [
    name,
    ...runs.flatMap((r) => [mib(pick(r.start)), mib(peak(r.peak)), mib(pick(r.end)), signed(pick(r.end) - pick(r.start))]),
  ];
  const rows = [
    head,
    row('RSS MiB', (s) => s.rss, (p) => p.rss),
    row('heap used MiB', (s) => s.heapUsed, (p) => p.heapUsed),
    row('external MiB', (s) => s.external, (p) => p.external),
    ['zlib handles alive', ...runs.flatMap((r) => [String(r.start.zlibLive), '', String(r.end.zlibLive), `of ${r.end.zlibCreated} made`])],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows) lines.push(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '));
  lines.push('');
  lines.push('after GC, all connections closed (MiB):');
  const cpRows: string[][] = [['conns', ...runs.flatMap((r) => [`${label(r.impl)} rss`, 'heap', 'external', 'zlib alive'])]];
  const counts = runs[0]?.checkpoints.map((c) => c.conns) ?? [];
  for (const n of counts) {
    cpRows.push([
      String(n),
      ...runs.flatMap((r) => {
        const s = r.checkpoints.find((c) => c.conns === n)?.stats;
        return s ? [mib(s.rss), mib(s.heapUsed), mib(s.external), String(s.zlibLive)] : ['-', '-', '-', '-'];
      }),
    ]);
  }
  const w2 = cpRows[0]!.map((_, c) => Math.max(...cpRows.map((r) => (r[c] ?? '').length)));
  for (const r of cpRows) lines.push(r.map((cell, c) => cell.padStart(w2[c] ?? 0)).join('  '));
  for (const r of runs) {
    const first = r.checkpoints[0];
    const last = r.checkpoints.at(-1);
    if (first && last && last.conns > first.conns) {
      const per = (pick: (s: DeflateServerStats) => number): string =>
        ((pick(last.stats) - pick(first.stats)) / (last.conns - first.conns)).toFixed(1);
      lines.push(
        `${label(r.impl)}: growth from ${first.conns} to ${last.conns} connections, bytes per connection: ` +
          `rss ${per((s) => s.rss)}, heap ${per((s) => s.heapUsed)}, external ${per((s) => s.external)}; ` +
          `${r.failed} connections did not end as planned${r.problems.length ? ` (${r.problems.join('; ')})` : ''}; ` +
          `server errors events ${r.end.errors}; ${r.seconds.toFixed(0)} s${r.error ? `; FAILED: ${r.error}` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

function signed(bytes: number): string {
  return `${bytes >= 0 ? '+' : ''}${mib(bytes)}`;
}

const ours = oursModule(root);
console.log(
  `deflate memory: ${CONNS} connections in batches of ${BATCH}, ${MESSAGES} x ${SIZE} B compressed messages each way per connection; ws6455 from ${ours.note}`,
);
const runs: MemoryRun[] = [];
for (const impl of IMPLS) runs.push(await measure(impl, ours.path));
const report = table(runs);
console.log(`\n${report}`);

const outDir = join(root, 'benchmarks/results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `deflate-memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  outFile,
  JSON.stringify({ kind: 'deflate-memory', machine: machine(root), ours: ours.note, params: { CONNS, BATCH, MESSAGES, SIZE, CHECKPOINT }, runs }, null, 2),
);
console.log(`\nresults: ${relative(root, outFile)}`);
