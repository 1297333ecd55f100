/**
 * End-to-end benchmark suite (issue 7): ws6455 side by side with `ws` (with and without its native
 * addons) and a bare `node:net` echo, driven by a C load generator (scenario h, compressed echo, by
 * the raw deflate driver of bench:deflate; bare net is n/a there). Prints one table of medians and
 * ratios to ws+addons, and writes every run to benchmarks/results/<time>.json.
 *
 *   npm run bench                 3 alternating rounds, ~15 min
 *   npm run bench:quick           1 round, short windows, < 2 min
 *   tsx benchmarks/run.ts [--quick] [--only a,b,f] [--servers ours,ws,ws-noaddons,net]
 *                         [--rounds N] [--warmup S] [--duration S] [--idle-conns N] [--ours build|tsx]
 *                         [--quiet-wait S]   total seconds to spend waiting for an idle machine (0 = never)
 *                         [--retries N]      repeats of a run disturbed by other processes (full 2, quick 0)
 *                         [--baseline REF]   adds a column: ws6455 built from git revision REF (before/after)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareBaseline, prepareOurs } from './lib/build-ours.js';
import { waitForQuiet } from './lib/cpu-load.js';
import { prepareLoadgen } from './lib/loadgen-process.js';
import { measureDeflate } from './lib/measure-deflate.js';
import { FOREIGN_CPU_WARN_PCT, loadCpuPct, measureEcho, measureHandshake, measureMemory, type RunRecord } from './lib/measure.js';
import { canPin, childFdLimit } from './lib/pinning.js';
import { formatValue, median, renderTable } from './lib/report.js';
import { FULL, QUICK, SCENARIOS, type Budget, type Scenario } from './lib/scenarios.js';
import type { ServerSpec } from './lib/server-process.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);

function option(name: string): string | undefined {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

const quick = argv.includes('--quick');
const budget: Budget = { ...(quick ? QUICK : FULL) };
if (option('rounds')) budget.rounds = Math.max(1, Number(option('rounds')));
if (option('warmup')) budget.warmup = Number(option('warmup'));
if (option('duration')) budget.duration = Number(option('duration'));
if (option('idle-conns')) budget.idleConns = Number(option('idle-conns'));
const only = option('only')?.split(',');
const wanted = option('servers')?.split(',');
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
// The machine may be shared (other people's test runs): before each run, wait for it to go idle, up
// to a total budget so a busy machine slows the suite down by a bounded amount.
let quietBudgetMs = Number(option('quiet-wait') ?? (quick ? 20 : 180)) * 1000;

// --- prepare: generator, ws6455, server list -------------------------------------------------------
const tool = prepareLoadgen(root);
const ours = prepareOurs(root, option('ours') === 'tsx' ? 'tsx' : 'build');
log(`load generator: ${tool.note}`);
log(`ws6455: ${ours.note}`);

const echoScript = 'benchmarks/servers/ws-echo.ts';
// ws reads these switches once at load; an empty value means "use the addon" (ws tests truthiness).
// The bare net server has no deflateImpl: it does not compress, so scenario h is n/a for it.
const baselineRef = option('baseline');
const baseline = baselineRef === undefined ? null : prepareBaseline(root, baselineRef);
if (baseline) log(`baseline: ws6455 at ${baselineRef} (${baseline.commit.slice(0, 12)})`);
const allServers: ServerSpec[] = [
  ...(ours.modulePath
    ? [{ id: 'ours', label: 'ws6455', nodeArgs: ['--import', 'tsx', echoScript, '--impl', 'ours', '--module', ours.modulePath], env: {}, deflateImpl: 'ours' as const }]
    : []),
  ...(baseline
    ? [
        {
          id: 'base',
          label: `ws6455@${baselineRef}`,
          nodeArgs: ['--import', 'tsx', echoScript, '--impl', 'ours', '--module', baseline.modulePath],
          env: {},
          deflateImpl: 'ours' as const,
          modulePath: baseline.modulePath,
        },
      ]
    : []),
  { id: 'ws', label: 'ws+addons', nodeArgs: ['--import', 'tsx', echoScript, '--impl', 'ws'], env: { WS_NO_BUFFER_UTIL: '', WS_NO_UTF_8_VALIDATE: '' }, deflateImpl: 'ws' },
  { id: 'ws-noaddons', label: 'ws no addons', nodeArgs: ['--import', 'tsx', echoScript, '--impl', 'ws'], env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }, deflateImpl: 'ws' },
  { id: 'net', label: 'bare net', nodeArgs: ['--import', 'tsx', 'benchmarks/servers/net-echo.ts'], env: {} },
];
// The baseline column is there whenever --baseline is given, whatever --servers lists.
const servers = allServers.filter((s) => !wanted || wanted.includes(s.id) || s.id === 'base');
const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.id));

/** Whether `spec` takes part in `scenario`; a cell where it does not reads n/a. */
function applies(scenario: Scenario, spec: ServerSpec): boolean {
  return scenario.kind !== 'deflate' || spec.deflateImpl !== undefined;
}

// Scenario f needs one descriptor per connection in both processes, plus some slack.
const fdLimit = childFdLimit();
const idleConns = fdLimit === null ? budget.idleConns : Math.min(budget.idleConns, fdLimit - 200);
const fdNote =
  idleConns < budget.idleConns
    ? `open-file limit is ${fdLimit} and cannot be raised further: scenario f uses ${idleConns} connections, not ${budget.idleConns}`
    : null;
if (fdNote) log(`WARNING: ${fdNote}`);
if (!canPin()) log('WARNING: taskset unavailable or fewer than 2 cores: server and load generator share CPUs');

const retries = Number(option('retries') ?? (quick ? 0 : 2));
const discarded: RunRecord[] = [];

/** Foreign CPU on the busier of our two cores during a run, % of a core (0 if unknown). */
function foreignMax(rec: RunRecord): number {
  return rec.foreignCpuPct ? Math.max(rec.foreignCpuPct.serverCore, rec.foreignCpuPct.loadgenCore) : 0;
}

/** Waits for a quiet machine (within the budget), then measures one scenario on one server. */
async function measureOnce(scenario: Scenario, spec: ServerSpec, round: number): Promise<RunRecord> {
  if (quietBudgetMs > 0) {
    const q = await waitForQuiet(quietBudgetMs);
    quietBudgetMs -= q.waitedMs;
    if (q.waitedMs > 1000) log(`    waited ${(q.waitedMs / 1000).toFixed(1)} s for other processes to finish${q.quiet ? '' : ' (gave up)'}`);
  }
  if (scenario.kind === 'echo') return measureEcho(scenario, spec, round, budget, tool, root);
  if (scenario.kind === 'memory') return measureMemory(scenario, spec, round, idleConns, tool, root);
  // ours is in `servers` only when it has a module path, so '' is never used to start it.
  if (scenario.kind === 'deflate') return measureDeflate(scenario, spec, round, budget, spec.modulePath ?? ours.modulePath ?? '', root);
  return measureHandshake(scenario, spec, round, budget, tool, root);
}

// --- run: scenario-major, rotating the server order every round so no one always goes first ---------
const records: RunRecord[] = [];
const started = new Date();
for (const scenario of scenarios) {
  const taking = servers.filter((s) => applies(scenario, s));
  for (let round = 0; round < budget.rounds; round++) {
    const order = taking.map((_, i) => taking[(i + round) % taking.length] as ServerSpec);
    for (const spec of order) {
      let rec = await measureOnce(scenario, spec, round);
      // A run that shared its cores with someone else's work is repeated (within --retries); the
      // least disturbed attempt is kept and the others are stored as discarded.
      for (let attempt = 0; attempt < retries && !rec.error && foreignMax(rec) > FOREIGN_CPU_WARN_PCT; attempt++) {
        log(`    (disturbed: ${formatValue(rec.value)} ${scenario.unit}; measuring again)`);
        const again = await measureOnce(scenario, spec, round);
        log(`    (attempt ${attempt + 2}: ${formatValue(again.value)} ${scenario.unit}, ${foreignMax(again).toFixed(0)}% foreign CPU)`);
        const [keep, drop] = !again.error && foreignMax(again) < foreignMax(rec) ? [again, rec] : [rec, again];
        discarded.push(drop);
        rec = keep;
      }
      records.push(rec);
      const load = loadCpuPct(rec);
      const lgCpu = load === null ? '' : ` ${rec.driver ? 'driver' : 'lg'} ${load.toFixed(0)}%`;
      const srvCpu = rec.serverCpuPct !== null ? ` srv ${rec.serverCpuPct.toFixed(0)}%` : '';
      const status = rec.error ? `FAILED: ${rec.error.split('\n')[0]}` : `${formatValue(rec.value)} ${scenario.unit}${srvCpu}${lgCpu}`;
      log(`[${scenario.id} r${round + 1}] ${spec.label.padEnd(13)} ${status}`);
      for (const n of rec.notes) log(`    note: ${n}`);
    }
  }
}

// --- summarise -----------------------------------------------------------------------------------
interface Cell {
  median: number | null;
  /** Half the min–max range over rounds, in % of the median: how far apart the rounds landed. */
  spreadPct: number | null;
  ratio: number | null;
  runs: number;
  failed: number;
  serverCpuPct: number | null;
  loadgenCpuMaxPct: number | null;
  /** Runs during which other processes took noticeable CPU from our cores. */
  disturbed: number;
}
const summary: Record<string, Record<string, Cell>> = {};
for (const scenario of scenarios) {
  const row: Record<string, Cell> = {};
  for (const spec of servers) {
    const runs = records.filter((r) => r.scenario === scenario.id && r.server === spec.id);
    const ok = runs.filter((r) => r.value !== null);
    const lg = ok.map((r) => loadCpuPct(r) ?? NaN).filter(Number.isFinite);
    const values = ok.map((r) => r.value as number);
    const mid = median(values);
    row[spec.id] = {
      median: mid,
      spreadPct: values.length > 1 && mid ? ((Math.max(...values) - Math.min(...values)) / 2 / mid) * 100 : null,
      ratio: null,
      runs: runs.length,
      failed: runs.length - ok.length,
      serverCpuPct: median(ok.map((r) => r.serverCpuPct ?? NaN)),
      loadgenCpuMaxPct: lg.length > 0 ? Math.max(...lg) : null,
      disturbed: ok.filter((r) => r.foreignCpuPct && Math.max(r.foreignCpuPct.serverCore, r.foreignCpuPct.loadgenCore) > FOREIGN_CPU_WARN_PCT).length,
    };
  }
  const base = row.ws?.median ?? null;
  for (const cell of Object.values(row)) cell.ratio = cell.median !== null && base ? cell.median / base : null;
  summary[scenario.id] = row;
}

/** One table cell: median, ratio to ws+addons, spread, failures and the disturbed mark. */
function cellText(cell: Cell | undefined): string {
  if (!cell || cell.runs === 0) return '-';
  if (cell.median === null) return `FAILED ${cell.failed}/${cell.runs}`;
  const ratio = cell.ratio === null ? '' : ` x${cell.ratio.toFixed(2)}`;
  const failed = cell.failed > 0 ? ` (${cell.failed} failed)` : '';
  const mark = cell.disturbed > 0 ? '!' : '';
  const spread = cell.spreadPct === null ? '' : ` ±${cell.spreadPct.toFixed(0)}%`;
  return `${formatValue(cell.median)}${ratio}${spread}${failed}${mark}`;
}

const header = ['', 'scenario', 'unit', ...servers.map((s) => s.label)];
const rows: string[][] = [header];
for (const scenario of scenarios) {
  const title = scenario.kind === 'memory' ? `${idleConns} idle conns: RSS added per conn (15 s idle)` : scenario.title;
  const unit = `${scenario.unit}${scenario.higherIsBetter ? '' : ' (lower=better)'}`;
  rows.push([scenario.id, title, unit, ...servers.map((s) => (applies(scenario, s) ? cellText(summary[scenario.id]?.[s.id]) : 'n/a'))]);
  if (scenario.kind === 'memory') rows.push(...memoryRows(scenario.id));
}

/**
 * Rows under f, from the same runs: the JavaScript heap per connection after forced GCs (what the
 * objects of an idle connection retain, stable to a few bytes), and the RSS read as soon as every
 * connection was open, before V8 gave back the young generation it grew while they arrived.
 */
function memoryRows(id: string): string[][] {
  return [
    extraRow(id, 'heapPerConnKb', '  of which JS heap per conn (after GC)'),
    extraRow(id, 'burstRssPerConnKb', '  RSS per conn right after the burst'),
  ];
}

function extraRow(id: string, key: string, label: string): string[] {
  const valueOf = (server: string): number | null =>
    median(records.filter((r) => r.scenario === id && r.server === server && r.value !== null).map((r) => r.extra[key] ?? NaN));
  const base = valueOf('ws');
  const cells = servers.map((s) => {
    const v = valueOf(s.id);
    return v === null ? '-' : `${formatValue(v)}${base ? ` x${(v / base).toFixed(2)}` : ''}`;
  });
  return ['', label, 'kB/conn (lower=better)', ...cells];
}
const cpuRows: string[][] = [['', 'server CPU % (median) / load generator CPU % (max; h: deflate driver)', '', ...servers.map((s) => s.label)]];
for (const scenario of scenarios) {
  if (scenario.kind === 'memory') continue;
  cpuRows.push([
    scenario.id,
    scenario.title,
    '',
    ...servers.map((s) => {
      if (!applies(scenario, s)) return 'n/a';
      const c = summary[scenario.id]?.[s.id];
      return c && c.median !== null ? `${c.serverCpuPct?.toFixed(0) ?? '?'} / ${c.loadgenCpuMaxPct?.toFixed(0) ?? '?'}` : '-';
    }),
  ]);
}

const finished = new Date();
const stamp = started.toISOString().replace(/[:.]/g, '-');
const outDir = join(root, 'benchmarks/results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `${stamp}${quick ? '-quick' : ''}.json`);
const git = (args: string[]): string => {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      schema: 1,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      quick,
      budget: { ...budget, idleConns },
      environment: {
        node: process.version,
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        pinned: canPin(),
        fdLimit,
        loadgen: tool.note,
        ours: ours.note,
        commit: git(['rev-parse', 'HEAD']),
        dirty: git(['status', '--porcelain', '--', 'src']) !== '',
      },
      servers: servers.map((s) => ({ id: s.id, label: s.label, env: s.env })),
      // A server a scenario does not apply to (bare net in h) has no runs there and a cell with runs: 0.
      scenarios: scenarios.map((s) => ({ ...s, notApplicable: servers.filter((x) => !applies(s, x)).map((x) => x.id) })),
      summary,
      runs: records,
      discarded,
      notes: [fdNote].filter((n) => n !== null),
    },
    null,
    2,
  )}\n`,
);

const minutes = ((finished.getTime() - started.getTime()) / 60_000).toFixed(1);
console.log(
  `\nws6455 end-to-end benchmark: ${quick ? 'quick, ' : ''}${budget.rounds} round(s), ${budget.warmup} s warm-up + ${budget.duration} s window, ${minutes} min`,
);
// h never uses the C generator, so its load is named separately.
const deflateNote = scenarios.some((s) => s.kind === 'deflate') ? '; h: deflate driver (net + node:zlib)' : '';
console.log(`${process.version}, ${cpus()[0]?.model ?? ''}; load generator: ${tool.note}${deflateNote}; ws6455: ${ours.note}`);
console.log('Medians; xN.NN = ratio to ws+addons (for kB/conn, below 1 is better); ±N% = half the range over rounds.\n');
console.log(renderTable(rows));
console.log('');
console.log(renderTable(cpuRows));
if (baseline) {
  // Before/after from the same rounds: the current code's median over the baseline's, per
  // scenario (for f, lower is better), and the same ratio per server CPU-second.
  const pairs: string[][] = [['', 'scenario', `ws6455 / ws6455@${baselineRef}`, 'per server CPU-second']];
  for (const scenario of scenarios) {
    const now = summary[scenario.id]?.ours;
    const then = summary[scenario.id]?.base;
    if (!now || !then || now.median === null || then.median === null || then.median === 0) continue;
    const perCpu =
      now.serverCpuPct && then.serverCpuPct
        ? `x${(now.median / now.serverCpuPct / (then.median / then.serverCpuPct)).toFixed(2)}`
        : '-';
    pairs.push([scenario.id, scenario.title, `x${(now.median / then.median).toFixed(2)}`, scenario.kind === 'memory' ? '-' : perCpu]);
  }
  console.log('');
  console.log(renderTable(pairs));
}
const disturbed = records.filter((r) => r.foreignCpuPct && Math.max(r.foreignCpuPct.serverCore, r.foreignCpuPct.loadgenCore) > FOREIGN_CPU_WARN_PCT);
if (disturbed.length > 0) {
  console.log(
    `! ${disturbed.length} of ${records.length} runs shared a core with other processes (> ${FOREIGN_CPU_WARN_PCT}% of a core): treat those cells as noise and rerun on an idle machine`,
  );
}
if (fdNote) console.log(`note: ${fdNote}`);
const failures = records.filter((r) => r.error);
// The first lines say what happened; the full server output is in the JSON.
for (const f of failures) console.log(`FAILED [${f.scenario} r${f.round + 1} ${f.server}]: ${f.error?.split('\n').slice(0, 6).join('\n    ')}`);
console.log(`\nresults: ${relative(root, outFile)}`);
