/**
 * Compressed echo throughput and memory per compressed connection, ws6455 against `ws`, in the
 * same run. Both servers run `perMessageDeflate: true` with default parameters (context takeover
 * both ways, 15-bit windows, threshold 1024, 10 concurrent zlib jobs) and the same echo handler,
 * each in a fresh process pinned to core 0.
 *
 * Load: the raw driver (benchmarks/deflate/driver.ts, pinned to core 1) with `net` and node:zlib,
 * not a WebSocket library: it compresses its 64 distinct 16 KiB JSON-like messages once, as one
 * context-takeover stream, and replays the frames, so the server does all the zlib work of the
 * exchange (inflate every message, deflate every echo) while the driver only writes prepared
 * frames, counts echoes and inflates the echoes of one connection to check them. Its CPU use is
 * reported next to the server's.
 *
 * 1. Throughput: 50 connections, 8 messages in flight each, 2 s warm-up, 5 s counting window;
 *    3 rounds, alternating which server goes first; medians and ratios (ws6455 / ws).
 * 2. Idle memory: 5,000 connections with permessage-deflate negotiated, measured after GC:
 *    right after the handshakes, then after one compressed message each way on each.
 *
 *   npm run bench:deflate [-- --conns 50 --inflight 8 --size 16384 --warmup 2 --duration 5 --rounds 3 --idle-conns 5000]
 *
 * `--no-context-takeover` offers server_ and client_no_context_takeover instead (the driver then
 * compresses each message on its own window); `--idle-conns 0` skips the idle part.
 *
 * Writes benchmarks/results/deflate-echo-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyBetween, readCpuTimes } from './lib/cpu-load.js';
import { canPin, childFdLimit, LOADGEN_CPU, SERVER_CPU } from './lib/pinning.js';
import { type DeflateServerStats, type DriverMark, type EchoStartReply, type EchoStopReply, type Impl, machine, median, mib, oursModule, sleep, startDriver, startServer } from './deflate/procs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v >= 0 ? v : fallback;
}

const CONNS = option('conns', 50);
const INFLIGHT = option('inflight', 8);
const SIZE = option('size', 16 * 1024);
const SEQUENCE = option('sequence', 64);
const WARMUP_S = option('warmup', 2);
const DURATION_S = option('duration', 5);
const ROUNDS = option('rounds', 3);
const IDLE_REQUESTED = option('idle-conns', 5000);
/** Offer server_ and client_no_context_takeover instead of the defaults (a separate experiment). */
const NO_CONTEXT = process.argv.includes('--no-context-takeover');

/** One throughput measurement. */
interface EchoRun {
  impl: Impl;
  round: number;
  msgPerS: number | null;
  /** Uncompressed payload echoed per second, MiB. */
  payloadMiBPerS: number | null;
  serverCpuPct: number | null;
  driverCpuPct: number | null;
  /** Server RSS at the end of the window, and before any connection. */
  rssLoad: number | null;
  rssBefore: number | null;
  /** Echo bytes on the wire / echoed payload bytes. */
  wireRatio: number | null;
  /** % of a core other processes took from the server's and the driver's core during the window. */
  foreignCpuPct: { server: number; driver: number } | null;
  verified: number;
  mismatches: number;
  error: string | null;
}

const cpuPct = (cpuUs: number, wallMs: number): number => (wallMs > 0 ? (cpuUs / 1000 / wallMs) * 100 : 0);

async function echoRun(impl: Impl, round: number, oursPath: string): Promise<EchoRun> {
  const run: EchoRun = {
    impl,
    round,
    msgPerS: null,
    payloadMiBPerS: null,
    serverCpuPct: null,
    driverCpuPct: null,
    rssLoad: null,
    rssBefore: null,
    wireRatio: null,
    foreignCpuPct: null,
    verified: 0,
    mismatches: 0,
    error: null,
  };
  const server = await startServer(root, impl, oursPath);
  const driver = await startDriver(root);
  try {
    run.rssBefore = (await server.stats(true)).rss;
    const opened = await driver.request<EchoStartReply>(
      'echo-start',
      { port: server.port, conns: CONNS, inflight: INFLIGHT, size: SIZE, sequence: SEQUENCE, noContextTakeover: NO_CONTEXT },
      60_000,
    );
    if (opened.error) throw new Error(opened.error);
    if (opened.failed > 0) throw new Error(`${opened.failed} connections failed to open: ${opened.firstFailure}`);
    await sleep(WARMUP_S * 1000);
    const t0 = readCpuTimes();
    const [s0, d0] = await Promise.all([server.stats(false), driver.request<DriverMark>('mark')]);
    await sleep(DURATION_S * 1000);
    const [s1, d1] = await Promise.all([server.stats(false), driver.request<DriverMark>('mark')]);
    const t1 = readCpuTimes();
    const stop = await driver.request<EchoStopReply>('echo-stop', {}, 60_000);
    const wall = d1.atMs - d0.atMs;
    const messages = d1.messages - d0.messages;
    run.msgPerS = (messages / wall) * 1000;
    run.payloadMiBPerS = (run.msgPerS * SIZE) / 1048576;
    run.serverCpuPct = cpuPct(s1.cpuUserUs + s1.cpuSystemUs - s0.cpuUserUs - s0.cpuSystemUs, s1.atMs - s0.atMs);
    run.driverCpuPct = cpuPct(d1.cpuUserUs + d1.cpuSystemUs - d0.cpuUserUs - d0.cpuSystemUs, wall);
    run.rssLoad = s1.rss;
    run.wireRatio = messages > 0 ? (d1.wireBytesIn - d0.wireBytesIn) / (messages * SIZE) : null;
    if (t0 && t1 && canPin()) {
      const sb = busyBetween(t0, t1, `cpu${SERVER_CPU}`);
      const db = busyBetween(t0, t1, `cpu${LOADGEN_CPU}`);
      if (sb && db) {
        run.foreignCpuPct = {
          server: Math.max(0, sb.busyPct - run.serverCpuPct),
          driver: Math.max(0, db.busyPct - run.driverCpuPct),
        };
      }
    }
    run.verified = stop.verified;
    run.mismatches = stop.mismatches;
    const problems: string[] = [];
    if (d1.compressedEchoes - d0.compressedEchoes !== messages) problems.push('some echoes were not compressed');
    if (stop.mismatches > 0) problems.push(`${stop.mismatches} echoes differ from what was sent`);
    if (stop.errors > 0) problems.push(`${stop.errors} connection errors: ${stop.firstError}`);
    if (!stop.drained) problems.push('echoes still missing 10 s after the window');
    if (problems.length > 0) run.error = problems.join('; ');
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
  } finally {
    await driver.stop();
    await server.child.stop();
  }
  return run;
}

/** Idle connections: memory per connection after the handshake, and after one message each way. */
interface IdleRun {
  impl: Impl;
  conns: number;
  base: DeflateServerStats | null;
  negotiated: DeflateServerStats | null;
  afterMessage: DeflateServerStats | null;
  closed: DeflateServerStats | null;
  error: string | null;
}

async function waitOpen(stats: (gc?: boolean) => Promise<DeflateServerStats>, n: number, ms: number): Promise<DeflateServerStats> {
  const deadline = Date.now() + ms;
  let s = await stats(false);
  while (s.open !== n && Date.now() < deadline) {
    await sleep(100);
    s = await stats(false);
  }
  return s;
}

async function idleRun(impl: Impl, conns: number, oursPath: string): Promise<IdleRun> {
  const run: IdleRun = { impl, conns, base: null, negotiated: null, afterMessage: null, closed: null, error: null };
  const server = await startServer(root, impl, oursPath, { trackZlib: true });
  const driver = await startDriver(root);
  try {
    run.base = await server.stats(true);
    const opened = await driver.request<{ opened: number; failed: number; firstFailure: string }>('idle-open', { port: server.port, count: conns }, 120_000);
    if (opened.failed > 0) throw new Error(`${opened.failed} of ${conns} connections failed: ${opened.firstFailure}`);
    await waitOpen(server.stats, conns, 10_000);
    run.negotiated = await server.stats(true);
    const ex = await driver.request<{ ok: boolean; echoed: number }>('idle-exchange', { size: SIZE }, 120_000);
    if (!ex.ok) throw new Error(`only ${ex.echoed} of ${conns} echoes arrived`);
    run.afterMessage = await server.stats(true);
    await driver.request('idle-close', {}, 60_000);
    await waitOpen(server.stats, 0, 10_000);
    await sleep(300);
    run.closed = await server.stats(true);
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
  } finally {
    await driver.stop();
    await server.child.stop();
  }
  return run;
}

// ---- run ---------------------------------------------------------------------------------------

const fdLimit = childFdLimit();
const idleConns = fdLimit === null ? IDLE_REQUESTED : Math.min(IDLE_REQUESTED, fdLimit - 200);
const ours = oursModule(root);
console.log(
  `deflate echo: ${CONNS} connections x ${INFLIGHT} in flight, ${SIZE} B JSON-like text, ${WARMUP_S} s warm-up + ${DURATION_S} s window, ` +
    `${ROUNDS} rounds${NO_CONTEXT ? ', no context takeover either way' : ''}; idle: ${idleConns} connections${idleConns < IDLE_REQUESTED ? ` (open-file limit ${fdLimit})` : ''}; ` +
    `pinning ${canPin() ? `server cpu${SERVER_CPU}, driver cpu${LOADGEN_CPU}` : 'unavailable'}; ws6455 from ${ours.note}`,
);

const echoRuns: EchoRun[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const order: Impl[] = round % 2 === 0 ? ['ours', 'ws'] : ['ws', 'ours'];
  for (const impl of order) {
    const r = await echoRun(impl, round, ours.path);
    echoRuns.push(r);
    console.log(
      `  round ${round + 1} ${impl.padEnd(4)}: ${r.msgPerS?.toFixed(0) ?? '-'} msg/s, server cpu ${r.serverCpuPct?.toFixed(0) ?? '-'}%, ` +
        `driver cpu ${r.driverCpuPct?.toFixed(0) ?? '-'}%${r.error ? `  ERROR ${r.error}` : ''}`,
    );
  }
}
const idleRuns: IdleRun[] = [];
for (const impl of idleConns > 0 ? (['ours', 'ws'] as Impl[]) : []) {
  const r = await idleRun(impl, idleConns, ours.path);
  idleRuns.push(r);
  console.log(`  idle ${impl}: ${r.error ?? 'done'}`);
}

// ---- report ------------------------------------------------------------------------------------

function med(impl: Impl, pick: (r: EchoRun) => number | null): number {
  return median(echoRuns.filter((r) => r.impl === impl && r.error === null).map(pick).filter((v): v is number => v !== null));
}
function spread(impl: Impl, pick: (r: EchoRun) => number | null): string {
  const v = echoRuns.filter((r) => r.impl === impl && r.error === null).map(pick).filter((x): x is number => x !== null);
  if (v.length < 2) return '';
  const m = median(v);
  return ` ±${(((Math.max(...v) - Math.min(...v)) / 2 / m) * 100).toFixed(0)}%`;
}

const rows: string[][] = [['', 'ws6455', 'ws', 'ws6455/ws']];
function addRow(name: string, pick: (r: EchoRun) => number | null, digits: number, scale = 1): void {
  const a = med('ours', pick) / scale;
  const b = med('ws', pick) / scale;
  rows.push([name, `${a.toFixed(digits)}${spread('ours', pick)}`, `${b.toFixed(digits)}${spread('ws', pick)}`, (a / b).toFixed(2)]);
}
addRow('echoed msg/s', (r) => r.msgPerS, 0);
addRow('payload MiB/s (uncompressed, one way)', (r) => r.payloadMiBPerS, 1);
addRow('server CPU % of one core', (r) => r.serverCpuPct, 0);
addRow('server RSS under load, MiB', (r) => r.rssLoad, 1, 1048576);
addRow(`RSS per loaded connection, KiB (${CONNS} conns)`, (r) => (r.rssLoad !== null && r.rssBefore !== null ? (r.rssLoad - r.rssBefore) / CONNS : null), 0, 1024);
addRow('echo bytes on the wire / payload', (r) => r.wireRatio, 3);
const driverMax = Math.max(...echoRuns.map((r) => r.driverCpuPct ?? 0));
const foreignServer = Math.max(...echoRuns.map((r) => r.foreignCpuPct?.server ?? 0));
const foreignDriver = Math.max(...echoRuns.map((r) => r.foreignCpuPct?.driver ?? 0));

const perConn = (r: IdleRun, pick: (s: DeflateServerStats) => number, after: DeflateServerStats | null): number =>
  after && r.base ? (pick(after) - pick(r.base)) / r.conns : NaN;
const idleOurs = idleRuns.find((r) => r.impl === 'ours');
const idleWs = idleRuns.find((r) => r.impl === 'ws');
const idleRow = (name: string, pick: (s: DeflateServerStats) => number, phase: 'negotiated' | 'afterMessage'): string[] => {
  const a = idleOurs ? perConn(idleOurs, pick, idleOurs[phase]) / 1024 : NaN;
  const b = idleWs ? perConn(idleWs, pick, idleWs[phase]) / 1024 : NaN;
  return [name, a.toFixed(1), b.toFixed(1), (a / b).toFixed(2)];
};
const idleRows: string[][] = [
  ['', 'ws6455', 'ws', 'ws6455/ws'],
  idleRow('KiB RSS per conn, negotiated, no message yet', (s) => s.rss, 'negotiated'),
  idleRow('KiB heap per conn, negotiated', (s) => s.heapUsed, 'negotiated'),
  idleRow('KiB RSS per conn after 1 message each way', (s) => s.rss, 'afterMessage'),
  idleRow('KiB heap per conn after 1 message each way', (s) => s.heapUsed, 'afterMessage'),
  [
    'zlib handles per conn (negotiated / after message)',
    ...[idleOurs, idleWs].map((r) =>
      r?.negotiated && r.afterMessage && r.base
        ? `${(((r.negotiated.zlibLive ?? 0) - (r.base.zlibLive ?? 0)) / r.conns).toFixed(2)} / ${(((r.afterMessage.zlibLive ?? 0) - (r.base.zlibLive ?? 0)) / r.conns).toFixed(2)}`
        : '-',
    ),
    '',
  ],
  [
    'RSS MiB: start / all open after message / all closed',
    ...[idleOurs, idleWs].map((r) => (r?.base && r.afterMessage && r.closed ? `${mib(r.base.rss)} / ${mib(r.afterMessage.rss)} / ${mib(r.closed.rss)}` : '-')),
    '',
  ],
];

function render(t: string[][]): string {
  const widths = t[0]!.map((_, c) => Math.max(...t.map((r) => (r[c] ?? '').length)));
  return t.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ')).join('\n');
}

console.log(`\nthroughput (median of ${ROUNDS} rounds, ±: half the min-max range):\n${render(rows)}`);
console.log(
  `driver CPU: at most ${driverMax.toFixed(0)}% of its core (it is not the bottleneck while well below 100% and the server is near 100%); ` +
    `other processes took at most ${foreignServer.toFixed(0)}% of the server's core` +
    `${foreignServer > 15 ? ' (disturbed: rerun on an idle machine)' : ''} and ${foreignDriver.toFixed(0)}% of the driver's`,
);
console.log(`\nidle connections (${idleConns}, after GC):\n${render(idleRows)}`);
const failures = [...echoRuns.filter((r) => r.error), ...idleRuns.filter((r) => r.error)];
for (const f of failures) console.log(`FAILED ${f.impl}: ${f.error}`);

const outDir = join(root, 'benchmarks/results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `deflate-echo-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  outFile,
  JSON.stringify(
    {
      kind: 'deflate-echo',
      machine: machine(root),
      ours: ours.note,
      params: { CONNS, INFLIGHT, SIZE, SEQUENCE, WARMUP_S, DURATION_S, ROUNDS, idleConns, fdLimit, NO_CONTEXT },
      echoRuns,
      idleRuns,
    },
    null,
    2,
  ),
);
console.log(`\nresults: ${relative(root, outFile)}`);
