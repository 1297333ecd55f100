/**
 * One measurement = one fresh server process + one load-generator run. A fresh server per run keeps
 * heap state, JIT feedback and leftover sockets from one run out of the next.
 */
import type { StatsMessage } from '../servers/control.js';
import { runLoadgen, type LoadgenResult, type LoadgenTool } from './loadgen-process.js';
import { SERVER_CPU } from './pinning.js';
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
  /** The server's own CPU use over the counting window, % of one core. */
  serverCpuPct: number | null;
  serverMaxRssKb: number | null;
  serverErrors: number;
  extra: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuPct(a: StatsMessage, b: StatsMessage): number {
  const cpuMs = (b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1000;
  const wallMs = b.atMs - a.atMs;
  return wallMs > 0 ? (cpuMs / wallMs) * 100 : 0;
}

function emptyRecord(scenario: Scenario, spec: ServerSpec, round: number): RunRecord {
  return {
    scenario: scenario.id,
    server: spec.id,
    round,
    value: null,
    error: null,
    notes: [],
    loadgen: null,
    serverCpuPct: null,
    serverMaxRssKb: null,
    serverErrors: 0,
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
    server = await ServerProcess.start(spec, SERVER_CPU, root);
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
    // Filled in by the generator's callback; an object so the type checker does not narrow it away.
    const mark: { start?: Promise<StatsMessage> } = {};
    const args = ['--mode', 'echo', '--port', String(server.port), '--conns', String(scenario.conns)];
    args.push('--inflight', String(scenario.inflight), '--size', String(scenario.size));
    args.push('--warmup', String(budget.warmup), '--duration', String(budget.duration));
    const lg = await runLoadgen(
      tool,
      args,
      { onMeasureStart: () => (mark.start = server.stats()) },
      (budget.warmup + budget.duration + 30) * 1000,
      root,
    );
    const atEnd = await server.stats();
    if (mark.start) rec.serverCpuPct = cpuPct(await mark.start, atEnd);
    checkLoadgen(lg, rec, scenario.conns);
    rec.value = scenario.unit === 'MiB/s' ? lg.mibPerSec : lg.msgsPerSec;
    rec.extra = { msgsPerSec: lg.msgsPerSec, mibPerSec: lg.mibPerSec };
  });
}

/**
 * Scenario f: RSS added per idle connection. Baseline and loaded RSS are both read after a full GC,
 * once the server itself counts every connection as open.
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
    const got: { loaded?: StatsMessage; failure?: Error } = {};
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
              got.loaded = await server.stats(true);
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
    if (!l) throw new Error(`idle connections never all opened (${lg.upgraded} of ${conns}): ${lg.firstError}`);
    rec.value = (l.rss - base.rss) / conns / 1024;
    rec.extra = {
      conns,
      baseRssKb: base.rss / 1024,
      loadedRssKb: l.rss / 1024,
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
    const mark: { start?: Promise<StatsMessage> } = {};
    const args = ['--mode', 'handshake', '--port', String(server.port), '--conns', String(scenario.conns)];
    args.push('--warmup', String(budget.warmup), '--duration', String(budget.duration));
    const lg = await runLoadgen(
      tool,
      args,
      { onMeasureStart: () => (mark.start = server.stats()) },
      (budget.warmup + budget.duration + 30) * 1000,
      root,
    );
    const atEnd = await server.stats();
    checkLoadgen(lg, rec, 0);
    rec.value = lg.handshakesPerSec;
    if (mark.start) {
      const s0 = await mark.start;
      rec.serverCpuPct = cpuPct(s0, atEnd);
      rec.extra = { serverAcceptedPerSec: ((atEnd.accepted - s0.accepted) / (atEnd.atMs - s0.atMs)) * 1000 };
    }
  });
}
