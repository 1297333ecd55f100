/**
 * One measurement = one fresh server process + one load-generator run. A fresh server per run keeps
 * heap state, JIT feedback and leftover sockets from one run out of the next.
 */
import type { StatsMessage } from '../servers/control.js';
import { busyBetween, readCpuTimes, type CpuTimes } from './cpu-load.js';
import { runLoadgen, type LoadgenResult, type LoadgenTool } from './loadgen-process.js';
import { canPin, LOADGEN_CPU, SERVER_CPU } from './pinning.js';
import type { Budget, Scenario } from './scenarios.js';
import { ServerProcess, type ServerSpec } from './server-process.js';

/** What one run recorded; `value` is null when the run failed and `error` says why. */
export interface RunRecord {
  scenario: string;
  server: string;
  round: number;
  value: number | null;
  error: string | null;
  /** Warnings that do not void the value (e.g. a few connection errors). */
  notes: string[];
  loadgen: LoadgenResult | null;
  /** Scenario h only: what the deflate driver saw in its window (it replaces the C generator there). */
  driver: DriverWindow | null;
  /** The server's own CPU use over the counting window, % of one core. */
  serverCpuPct: number | null;
  serverMaxRssKb: number | null;
  serverErrors: number;
  /** CPU that other processes took during the window, % of a core (server's core, generator's core). */
  foreignCpuPct: { serverCore: number; loadgenCore: number } | null;
  extra: Record<string, number>;
}

/** The deflate driver's figures over one counting window (see measure-deflate.ts). */
export interface DriverWindow {
  /** The driver's CPU time over the window, % of one core. */
  cpuPct: number;
  messages: number;
  /** Echoes that arrived with RSV1 set; equal to `messages` when every echo was compressed. */
  compressedEchoes: number;
  /** Echo bytes on the wire (headers included) per echoed payload byte. */
  wireRatio: number | null;
  /** Echoes inflated on the checking connection and found equal to what was sent, or not. */
  verified: number;
  mismatches: number;
}

/** CPU % of whatever produced the load in this run: the C (or Node) generator, or the deflate driver. */
export function loadCpuPct(rec: RunRecord): number | null {
  return rec.loadgen?.cpuPct ?? rec.driver?.cpuPct ?? null;
}

/** Above this much foreign CPU on either core a run is flagged as disturbed. */
export const FOREIGN_CPU_WARN_PCT = 15;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuPct(a: StatsMessage, b: StatsMessage): number {
  const cpuMs = (b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1000;
  const wallMs = b.atMs - a.atMs;
  return wallMs > 0 ? (cpuMs / wallMs) * 100 : 0;
}

/** A record with nothing measured yet. */
export function emptyRecord(scenario: Scenario, spec: ServerSpec, round: number): RunRecord {
  return {
    scenario: scenario.id,
    server: spec.id,
    round,
    value: null,
    error: null,
    notes: [],
    loadgen: null,
    driver: null,
    serverCpuPct: null,
    serverMaxRssKb: null,
    serverErrors: 0,
    foreignCpuPct: null,
    extra: {},
  };
}

/** Runs `body` against a fresh server and turns every failure, including a server crash, into a record. */
async function withServer(
  scenario: Scenario,
  spec: ServerSpec,
  round: number,
  root: string,
  body: (server: ServerProcess, rec: RunRecord) => Promise<void>,
): Promise<RunRecord> {
  const rec = emptyRecord(scenario, spec, round);
  let server: ServerProcess | null = null;
  try {
    try {
      server = await ServerProcess.start(spec, SERVER_CPU, root);
    } catch (err) {
      // One retry: on a shared machine a start can fail for a moment (e.g. node_modules being
      // reinstalled by someone's `npm ci`); a server that cannot start twice is reported.
      rec.notes.push(`first start failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
      await sleep(5000);
      server = await ServerProcess.start(spec, SERVER_CPU, root);
    }
    await body(server, rec);
    const last = await server.stats();
    rec.serverMaxRssKb = last.maxRssKb;
    rec.serverErrors = last.errors;
    if (last.errors > 0) rec.notes.push(`server saw ${last.errors} connection errors; first: ${last.firstError}`);
  } catch (err) {
    rec.value = null;
    rec.error = err instanceof Error ? err.message : String(err);
  }
  if (server) {
    if (server.died) {
      rec.value = null;
      rec.error = `server ${server.died} during the run${rec.error ? ` (${rec.error})` : ''}; last output:\n${server.output}`;
    }
    await server.stop();
  }
  return rec;
}

/** Snapshots taken at the start and end of the generator's counting window. */
interface Window {
  start?: { stats: Promise<StatsMessage>; cpu: CpuTimes | null };
  end?: { stats: Promise<StatsMessage>; cpu: CpuTimes | null };
}

function windowHooks(server: ServerProcess, w: Window): { onMeasureStart: () => void; onResult: () => void } {
  return {
    onMeasureStart: () => (w.start = { stats: server.stats(), cpu: readCpuTimes() }),
    onResult: () => (w.end = { stats: server.stats(), cpu: readCpuTimes() }),
  };
}

/**
 * Server CPU over the window, and how much CPU other processes took from the two cores. Without
 * pinning the whole machine is compared with the sum of both processes.
 */
async function windowCpu(w: Window, rec: RunRecord): Promise<{ s0: StatsMessage; s1: StatsMessage } | null> {
  if (!w.start || !w.end) return null;
  const s0 = await w.start.stats;
  const s1 = await w.end.stats;
  rec.serverCpuPct = cpuPct(s0, s1);
  recordForeignCpu(rec, w.start.cpu, w.end.cpu);
  return { s0, s1 };
}

/**
 * Sets `rec.foreignCpuPct` from two /proc/stat snapshots around the window: each core's busy time
 * minus what our own process on it used. Needs `serverCpuPct` (and the generator's or driver's CPU)
 * filled in first; without snapshots it leaves the field null.
 */
export function recordForeignCpu(rec: RunRecord, c0: CpuTimes | null, c1: CpuTimes | null): void {
  if (!c0 || !c1) return;
  const srvPct = rec.serverCpuPct ?? 0;
  const lgPct = loadCpuPct(rec) ?? 0;
  const core = (cpu: string, ours: number): number => Math.max(0, (busyBetween(c0, c1, cpu)?.busyPct ?? ours) - ours);
  rec.foreignCpuPct = canPin()
    ? { serverCore: core(`cpu${SERVER_CPU}`, srvPct), loadgenCore: core(`cpu${LOADGEN_CPU}`, lgPct) }
    : { serverCore: core('cpu', srvPct + lgPct), loadgenCore: 0 };
  const f = rec.foreignCpuPct;
  if (Math.max(f.serverCore, f.loadgenCore) > FOREIGN_CPU_WARN_PCT) {
    rec.notes.push(
      `machine busy: other processes used ${f.serverCore.toFixed(0)}% of the server's core and ${f.loadgenCore.toFixed(0)}% of the ${rec.driver ? 'driver' : 'generator'}'s`,
    );
  }
}

/** Flags generator-side trouble; a run whose connections failed en masse is not a number to trust. */
function checkLoadgen(lg: LoadgenResult, rec: RunRecord, expectedConns: number): void {
  rec.loadgen = lg;
  if (lg.errors > 0) rec.notes.push(`load generator: ${lg.errors} errors; first: ${lg.firstError}`);
  if (lg.sizeMismatch > 0) rec.notes.push(`${lg.sizeMismatch} echoed messages had the wrong size`);
  if (!lg.measured) throw new Error(`load generator never reached its window: ${lg.firstError || 'connections did not open'}`);
  if (lg.mode === 'echo' && lg.openAtEnd < expectedConns) {
    throw new Error(`only ${lg.openAtEnd} of ${expectedConns} connections survived the run; first error: ${lg.firstError}`);
  }
}

/** Scenarios a–e: pipelined echo; the value is messages/s or MiB/s of echoed payload. */
export function measureEcho(
  scenario: Scenario,
  spec: ServerSpec,
  round: number,
  budget: Budget,
  tool: LoadgenTool,
  root: string,
): Promise<RunRecord> {
  return withServer(scenario, spec, round, root, async (server, rec) => {
    const w: Window = {};
    const args = ['--mode', 'echo', '--port', String(server.port), '--conns', String(scenario.conns)];
    args.push('--inflight', String(scenario.inflight), '--size', String(scenario.size));
    args.push('--warmup', String(budget.warmup), '--duration', String(budget.duration));
    const lg = await runLoadgen(tool, args, windowHooks(server, w), (budget.warmup + budget.duration + 30) * 1000, root);
    rec.loadgen = lg;
    await windowCpu(w, rec);
    checkLoadgen(lg, rec, scenario.conns);
    rec.value = scenario.unit === 'MiB/s' ? lg.mibPerSec : lg.msgsPerSec;
    rec.extra = { msgsPerSec: lg.msgsPerSec, mibPerSec: lg.mibPerSec };
  });
}

/**
 * How long f lets the connections sit idle before its main reading. V8 grows its young generation
 * while 10,000 connections arrive (up to two 16 MiB semi-spaces, about 3 kB per connection for any
 * server) and gives it back only once its memory reducer sees the process idle, 8-10 s later.
 */
export const MEMORY_SETTLE_MS = 15_000;

/**
 * Scenario f: RSS added per idle connection. Baseline and loaded RSS are both read after a full GC,
 * once the server itself counts every connection as open (`burstRssPerConnKb`) and again after
 * {@link MEMORY_SETTLE_MS} of idleness (the value): what a server holding idle connections keeps.
 */
export function measureMemory(
  scenario: Scenario,
  spec: ServerSpec,
  round: number,
  conns: number,
  tool: LoadgenTool,
  root: string,
): Promise<RunRecord> {
  return withServer(scenario, spec, round, root, async (server, rec) => {
    await sleep(300); // let start-up allocation settle before the baseline
    const base = await server.stats(true);
    const got: { burst?: StatsMessage; loaded?: StatsMessage; failure?: Error } = {};
    const args = ['--mode', 'idle', '--port', String(server.port), '--conns', String(conns), '--hold', '60'];
    const lg = await runLoadgen(
      tool,
      args,
      {
        onReady: (release) => {
          void (async () => {
            try {
              // The generator has its 101s; wait (10 s at most) until the server agrees.
              const until = Date.now() + 10_000;
              let s = await server.stats();
              while (s.open < conns && Date.now() < until) {
                await sleep(100);
                s = await server.stats();
              }
              if (s.open < conns) throw new Error(`server reports ${s.open} of ${conns} connections open`);
              got.burst = await server.stats(true);
              await sleep(MEMORY_SETTLE_MS);
              got.loaded = await server.stats(true);
              if (got.loaded.open < conns) throw new Error(`only ${got.loaded.open} of ${conns} connections stayed open`);
            } catch (err) {
              got.failure = err instanceof Error ? err : new Error(String(err));
            } finally {
              release();
            }
          })();
        },
      },
      90_000,
      root,
    );
    rec.loadgen = lg;
    if (got.failure) throw got.failure;
    const l = got.loaded;
    const burst = got.burst;
    if (!l || !burst) throw new Error(`idle connections never all opened (${lg.upgraded} of ${conns}): ${lg.firstError}`);
    rec.value = (l.rss - base.rss) / conns / 1024;
    rec.extra = {
      conns,
      baseRssKb: base.rss / 1024,
      loadedRssKb: l.rss / 1024,
      burstRssPerConnKb: (burst.rss - base.rss) / conns / 1024,
      heapPerConnKb: (l.heapUsed - base.heapUsed) / conns / 1024,
      externalPerConnKb: (l.external - base.external) / conns / 1024,
    };
    if (lg.errors > 0) rec.notes.push(`load generator: ${lg.errors} errors; first: ${lg.firstError}`);
  });
}

/** Scenario g: completed connect–upgrade–close cycles per second; the server's accept count is kept too. */
export function measureHandshake(
  scenario: Scenario,
  spec: ServerSpec,
  round: number,
  budget: Budget,
  tool: LoadgenTool,
  root: string,
): Promise<RunRecord> {
  return withServer(scenario, spec, round, root, async (server, rec) => {
    const w: Window = {};
    const args = ['--mode', 'handshake', '--port', String(server.port), '--conns', String(scenario.conns)];
    args.push('--warmup', String(budget.warmup), '--duration', String(budget.duration));
    const lg = await runLoadgen(tool, args, windowHooks(server, w), (budget.warmup + budget.duration + 30) * 1000, root);
    rec.loadgen = lg;
    const snaps = await windowCpu(w, rec);
    checkLoadgen(lg, rec, 0);
    rec.value = lg.handshakesPerSec;
    if (snaps) {
      const { s0, s1 } = snaps;
      rec.extra = { serverAcceptedPerSec: ((s1.accepted - s0.accepted) / (s1.atMs - s0.atMs)) * 1000 };
    }
    const late = lg.clientClosedFirst ?? 0;
    if (late > 0) rec.notes.push(`${late} times the server had not closed TCP 1 s after its Close frame`);
  });
}
