/**
 * The soak run: many connections for a long time with churn (connect, exchange, close), pings,
 * compression on a share of them, and a few never-reading and slow peers, against ws6455 (or
 * `ws`) in its own process. The server's RSS, V8 heap, `external`, open descriptors and
 * event-loop delay are sampled over time; the report gives each curve's slope after warm-up
 * and every message lost, duplicated or altered (each connection counts what it sent and got).
 *
 *   npm run soak                        # 10,000 connections, 30 minutes (issue 13's full run)
 *   npm run soak -- --conns 2000 --rate 5 --duration 420     # the reduced run
 *
 * Options: see benchmarks/soak/options.ts (`--kebab-case value`). Server on core 0, driver on
 * core 1 (benchmarks/lib/pinning.ts), both with the open-file limit raised to the hard limit.
 * Exits with 1 when a message was lost, duplicated or altered, a connection ended unexpectedly,
 * a handshake failed, the server died, or (with `--max-slope`) RSS grew faster than allowed.
 * Writes benchmarks/results/soak-<time>.json (or `--json FILE`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Child, machine, mib, oursModule, sleep, startChild } from './deflate/procs.js';
import { childFdLimit, LOADGEN_CPU, SERVER_CPU } from './lib/pinning.js';
import type { DriverSnapshot } from './soak/driver.js';
import { parseSoakOptions, type SoakOptions } from './soak/options.js';
import type { ServerSample } from './soak/server.js';
import { fitSlope, formatSlope, type Slope } from './soak/slope.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One point of the curves: seconds since the load started. */
interface Point {
  t: number;
  server: ServerSample;
  driver: DriverSnapshot;
}

/** What the run found. */
interface Verdict {
  slopes: Record<string, Slope | null>;
  /** The RSS slope over the second half of the run after warm-up. */
  rssSecondHalf: Slope | null;
  echoesPerSecond: number;
  /** Connections opened per second during the load (the churn achieved). */
  opensPerSecond: number;
  loopDelayP99Ms: { median: number; max: number };
  failures: string[];
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
}

function judge(options: SoakOptions, points: Point[], final: DriverSnapshot & { notEnded: number }, serverDied: string | null): Verdict {
  const after = points.filter((p) => p.t >= options.warmup);
  const t = after.map((p) => p.t);
  const fit = (pick: (s: ServerSample) => number | undefined): Slope | null => {
    const ys = after.map((p) => pick(p.server));
    return ys.every((y): y is number => typeof y === 'number') ? fitSlope(t, ys) : null;
  };
  const withSmaps = after.filter((p) => p.server.native !== null);
  const fitNative = (pick: (s: NonNullable<ServerSample['native']>) => number): Slope | null =>
    fitSlope(
      withSmaps.map((p) => p.t),
      withSmaps.map((p) => pick(p.server.native as NonNullable<ServerSample['native']>)),
    );
  const half = after.filter((p) => p.t >= (options.warmup + (after.at(-1)?.t ?? 0)) / 2);
  const first = points[0];
  const last = points.at(-1);
  const seconds = first && last ? last.t - first.t : 0;
  const echoes = first && last ? last.driver.totals.received - first.driver.totals.received : 0;
  const opens = first && last ? last.driver.totals.opened - first.driver.totals.opened : 0;
  const delays = points.map((p) => p.server.loopDelay.p99);
  const totals = final.totals;
  const failures: string[] = [];
  if (serverDied) failures.push(`server ${serverDied}`);
  if (totals.lost > 0) failures.push(`${totals.lost} echoes lost`);
  if (totals.duplicates > 0) failures.push(`${totals.duplicates} echoes duplicated`);
  if (totals.mismatches > 0) failures.push(`${totals.mismatches} echoes altered`);
  if (totals.unexpectedEnds > 0) failures.push(`${totals.unexpectedEnds} connections ended unexpectedly`);
  if (totals.handshakeFailures > 0) failures.push(`${totals.handshakeFailures} handshakes failed`);
  if (final.notEnded > 0) failures.push(`${final.notEnded} connections did not close at the end`);
  const rss = fit((s) => s.rss);
  if (options.maxSlope > 0 && rss !== null && rss.mbPerHour > options.maxSlope) {
    failures.push(`RSS slope ${formatSlope(rss)} above --max-slope ${options.maxSlope} MB/h`);
  }
  return {
    slopes: {
      rss,
      heapUsed: fit((s) => s.heapUsed),
      external: fit((s) => s.external),
      arrayBuffers: fit((s) => s.arrayBuffers),
      mainArena: fitNative((n) => n.mainArena),
      threadArenas: fitNative((n) => n.threadArenas),
      otherAnonymous: fitNative((n) => n.otherAnonymous),
      fds: fit((s) => s.fds * 1e6),
    },
    rssSecondHalf: fitSlope(
      half.map((p) => p.t),
      half.map((p) => p.server.rss),
    ),
    echoesPerSecond: seconds > 0 ? echoes / seconds : 0,
    opensPerSecond: seconds > 0 ? opens / seconds : 0,
    loopDelayP99Ms: { median: quantile(delays, 0.5), max: Math.max(0, ...delays) },
    failures,
  };
}

function progress(p: Point): string {
  const s = p.server;
  const d = p.driver;
  const native = s.native ? `  arenas main ${mib(s.native.mainArena)} threads ${mib(s.native.threadArenas)}` : '';
  return (
    `${p.t.toFixed(0).padStart(6)} s  open ${s.open}  opened ${d.totals.opened} (${d.totals.openedCompressed} compressed)  ` +
    `echoes ${d.totals.received}  lost ${d.totals.lost}  rss ${mib(s.rss)} MiB  heap ${mib(s.heapUsed)}  ext ${mib(s.external)}  ` +
    `zlib ${s.zlibLive}  fds ${s.fds}  loop p99 ${s.loopDelay.p99.toFixed(1)} ms${native}`
  );
}

function afterwards(s: ServerSample): string {
  const native = s.native ? ` (main arena ${mib(s.native.mainArena)}, thread arenas ${mib(s.native.threadArenas)})` : '';
  return `rss ${mib(s.rss)} MiB${native}, heap ${mib(s.heapUsed)}, external ${mib(s.external)}, fds ${s.fds}, zlib handles ${s.zlibLive} of ${s.zlibCreated} made`;
}

function report(
  options: SoakOptions,
  points: Point[],
  start: ServerSample,
  end: ServerSample | null,
  settled: ServerSample | null,
  final: DriverSnapshot,
  v: Verdict,
): string {
  const tt = final.totals;
  const lines = [
    '',
    `soak: ${options.impl === 'ours' ? 'ws6455' : 'ws'}, ${options.conns} connections (${options.slow} slow, ${options.stalled} never reading), ` +
      `${(options.compressShare * 100).toFixed(0)}% compressed${options.noContextTakeover ? ' without context takeover' : ''}, ` +
      `${options.rate} msg/s each, churn ${(options.churnShare * 100).toFixed(1)}% every ${options.churnInterval} ms, ` +
      `${options.duration} s (warm-up ${options.warmup} s)${Object.keys(options.serverEnv).length ? `, server env ${JSON.stringify(options.serverEnv)}` : ''}`,
    `messages: ${tt.sent} sent, ${tt.received} echoed (${v.echoesPerSecond.toFixed(0)}/s), ${tt.verified} checked byte for byte; ` +
      `lost ${tt.lost}, duplicated ${tt.duplicates}, altered ${tt.mismatches}; abandoned by vanishing peers ${tt.abandoned}; ` +
      `never read ${tt.stalledSent}; skipped (in-flight cap) ${tt.skipped}`,
    `connections: ${tt.opened} opened (${tt.openedCompressed} compressed; ${v.opensPerSecond.toFixed(0)}/s), ${tt.closedClean} closed cleanly, ${tt.abrupt} vanished, ` +
      `${tt.stalledEnded} never-reading ended, ${tt.unexpectedEnds} ended unexpectedly ${JSON.stringify(tt.unexpectedCodes)}, ` +
      `${tt.handshakeFailures} handshakes failed; pings ${tt.pingsSent}, pongs ${tt.pongsReceived}, server pings answered ${tt.serverPings}`,
    '',
    `slopes after warm-up (${points.filter((p) => p.t >= options.warmup).length} samples):`,
    `  RSS            ${formatSlope(v.slopes.rss ?? null)}   (second half: ${formatSlope(v.rssSecondHalf)})`,
    `  heap used      ${formatSlope(v.slopes.heapUsed ?? null)}`,
    `  external       ${formatSlope(v.slopes.external ?? null)}`,
    `  main arena     ${formatSlope(v.slopes.mainArena ?? null)}`,
    `  thread arenas  ${formatSlope(v.slopes.threadArenas ?? null)}`,
    `  other anon     ${formatSlope(v.slopes.otherAnonymous ?? null)}`,
    `  fds            ${v.slopes.fds ? `${v.slopes.fds.mbPerHour >= 0 ? '+' : ''}${v.slopes.fds.mbPerHour.toFixed(1)} per hour` : '-'}`,
    `event-loop delay p99 per sample: median ${v.loopDelayP99Ms.median.toFixed(1)} ms, max ${v.loopDelayP99Ms.max.toFixed(1)} ms`,
    `server before the load: ${afterwards(start)}`,
    `after all closed (GC): ${end ? `${afterwards(end)}, connection errors ${end.errors}` : 'n/a'}`,
  ];
  if (settled) lines.push(`${options.settle} s later (GC): ${afterwards(settled)}`);
  if (tt.problems.length > 0) lines.push(`first problems: ${tt.problems.join('; ')}`);
  lines.push(v.failures.length === 0 ? 'result: OK' : `result: FAILED (${v.failures.join('; ')})`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const options = parseSoakOptions(process.argv.slice(2));
  const fdLimit = childFdLimit();
  if (fdLimit !== null && fdLimit < options.conns + 200) {
    const conns = Math.max(options.slow + options.stalled + 1, fdLimit - 200);
    console.log(`open-file limit ${fdLimit}: measuring with ${conns} connections instead of ${options.conns}`);
    options.conns = conns;
  }
  const ours = options.impl === 'ours' ? oursModule(root) : null;
  const serverArgv = [process.execPath, '--expose-gc', '--import', 'tsx', join(root, 'benchmarks/soak/server.ts'), '--impl', options.impl, '--heartbeat', String(options.heartbeat)];
  if (ours) serverArgv.push('--module', ours.path);
  if (options.dropEvery > 0) serverArgv.push('--drop-every', String(options.dropEvery));
  if (options.poolMaxBytes >= 0) serverArgv.push('--pool-max-bytes', String(options.poolMaxBytes));
  console.log(`soak: ${options.impl === 'ours' ? `ws6455 from ${ours?.note}` : 'ws'}; ${JSON.stringify(options)}`);

  const { child: server, ready } = await startChild('soak server', serverArgv, SERVER_CPU, root, options.serverEnv);
  let driver: Child | null = null;
  const points: Point[] = [];
  let final: (DriverSnapshot & { notEnded: number }) | null = null;
  let end: ServerSample | null = null;
  let settled: ServerSample | null = null;
  let start: ServerSample | null = null;
  let error: string | null = null;
  let missed = 0;
  try {
    driver = (await startChild('soak driver', [process.execPath, '--import', 'tsx', join(root, 'benchmarks/soak/driver.ts')], LOADGEN_CPU, root)).child;
    const sample = (smaps: boolean, gc = false): Promise<ServerSample> => server.request<ServerSample>('sample', { smaps, gc }, 30_000);
    start = await sample(options.smapsEvery > 0, true);
    const opened = await driver.request<{ opened: number; allOpen: boolean; ms: number }>('start', { port: ready.port, options }, 90_000);
    console.log(`${opened.opened} connections open after ${(opened.ms / 1000).toFixed(1)} s${opened.allOpen ? '' : ' (not all: continuing)'}`);
    const t0 = performance.now();
    const count = Math.max(1, Math.round(options.duration / options.sample));
    const printEvery = Math.max(1, Math.round(60 / options.sample));
    for (let i = 1; i <= count && server.exited === null; i++) {
      await sleep(Math.max(0, t0 + i * options.sample * 1000 - performance.now()));
      const smaps = options.smapsEvery > 0 && i % options.smapsEvery === 0;
      try {
        const [s, d] = await Promise.all([sample(smaps), driver.request<DriverSnapshot>('snapshot', {}, 30_000)]);
        const point = { t: (performance.now() - t0) / 1000, server: s, driver: d };
        points.push(point);
        if (i % printEvery === 0 || i === count) console.log(progress(point));
      } catch (err) {
        // A process that is gone ends the run; a late answer (a stopped or starved process)
        // costs one sample only.
        if (server.exited !== null || driver.exited !== null) throw err;
        missed++;
        console.log(`sample ${i} missed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }
    final = await driver.request<DriverSnapshot & { notEnded: number }>('stop', {}, 2 * options.drainTimeout + 30_000);
    // The server counts its closes a moment after the driver saw them.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await sample(false)).open > 0) await sleep(100);
    await sleep(500);
    end = await sample(options.smapsEvery > 0, true);
    if (options.settle > 0) {
      await sleep(options.settle * 1000);
      settled = await sample(options.smapsEvery > 0, true);
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  } finally {
    await driver?.stop();
    await server.stop();
  }

  if (start === null) {
    console.error(`soak failed: ${error ?? 'no result'}`);
    return 1;
  }
  // Without the driver's final counts, the last snapshot stands in (its failure is reported).
  const lastSnapshot = points.at(-1)?.driver;
  if (final === null && lastSnapshot === undefined) {
    console.error(`soak failed: ${error ?? 'no result'}`);
    return 1;
  }
  final ??= { ...(lastSnapshot as DriverSnapshot), notEnded: 0 };
  const verdict = judge(options, points, final, server.exited && error ? `${server.exited}: ${error}` : error);
  if (missed > 0) verdict.failures.push(`${missed} samples missed`);
  console.log(report(options, points, start, end, settled, final, verdict));
  const outFile = options.json ?? join(root, 'benchmarks/results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ kind: 'soak', machine: machine(root), ours: ours?.note ?? null, options, start, points, final, end, settled, verdict }, null, 2));
  console.log(`results: ${relative(process.cwd(), outFile)}`);
  return verdict.failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
