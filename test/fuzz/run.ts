/**
 * `npm run fuzz`: generated and mutated frame sequences against the sans-I/O core, checked against the conformance
 * peer's frame reader (see harness.ts and oracle.ts).
 *
 *   npm run fuzz -- [options]
 *     --seed N            run seed (default 6455); every sequence derives its own seed from it and its index
 *     --count N           plain-lane sequences (default 10,000,000)
 *     --deflate-count N   deflate-lane sequences (default --count / 50)
 *     --duration S        stop each lane after S seconds, whatever the count (default: no limit)
 *     --lane plain|deflate|both   (default both)
 *     --only I            replay sequence I of the lane(s) alone and print it
 *     --max-findings N    stop after N findings (default 20)
 *     --concurrency N     deflate-lane sequences in flight at once (default 8)
 * Prints sequences, frames and bytes per second per lane; exit code 1 when anything was found.
 */
import { generateCase, type FuzzCase, type Lane } from './generator.js';
import { runCase, runCaseAsync, type CaseReport, type Finding } from './harness.js';

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      args.set(a.slice(2), next);
      i++;
    } else args.set(a.slice(2), 'true');
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
// Every rejected sequence builds an Error; without stack capture that costs a tenth of the run. A replay (--only)
// keeps full stacks for the report.
if (!args.has('only')) Error.stackTraceLimit = 0;
const num = (name: string, fallback: number): number => {
  const v = args.get(name);
  if (v === undefined) return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
  return n;
};
const seed = num('seed', 6455) >>> 0;
const count = num('count', 10_000_000);
const deflateCount = num('deflate-count', Math.ceil(count / 50));
const duration = num('duration', 0);
const maxFindings = num('max-findings', 20);
const concurrency = Math.max(1, num('concurrency', 8));
const laneArg = args.get('lane') ?? 'both';
const lanes: Lane[] = laneArg === 'both' ? ['plain', 'deflate'] : [laneArg as Lane];
if (!lanes.every((l) => l === 'plain' || l === 'deflate')) throw new Error('--lane must be plain, deflate or both');

interface Tally {
  sequences: number;
  frames: number;
  generatedFrames: number;
  bytes: number;
  mutated: number;
  /** Sequences by the oracle's verdict: 0 (accepted), 1002, 1007, 1009. */
  verdicts: Map<number, number>;
  loose: number;
  findings: Array<{ c: FuzzCase; f: Finding[] }>;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function describeCase(c: FuzzCase): string {
  return [
    `  sequence ${c.index} of lane ${c.lane}, seed ${c.seed}: role ${c.role}, maxPayload ${c.maxPayload}, maxFragments ${c.maxFragments}, autoPong ${c.autoPong}`,
    c.deflate ? `  permessage-deflate ${JSON.stringify(c.deflate)}` : '',
    `  items: ${c.items.join(', ')}`,
    c.mutations.length ? `  mutations: ${c.mutations.join(', ')}` : '',
    `  ${c.input.length} bytes in ${c.cuts.length + 1} chunks${c.sends.length ? `, ${c.sends.length} sends` : ''}: ${c.input.subarray(0, 96).toString('hex')}${c.input.length > 96 ? '...' : ''}`,
    `  replay: npm run fuzz -- --lane ${c.lane} --seed ${c.seed} --only ${c.index}`,
  ]
    .filter(Boolean)
    .join('\n');
}

function record(t: Tally, c: FuzzCase, report: CaseReport): void {
  t.sequences++;
  t.frames += report.frames;
  t.generatedFrames += c.frames;
  t.bytes += report.bytes;
  if (c.mutations.length > 0) t.mutated++;
  t.verdicts.set(report.verdict, (t.verdicts.get(report.verdict) ?? 0) + 1);
  if (report.loose) t.loose++;
  if (report.findings.length > 0) {
    t.findings.push({ c, f: report.findings });
    console.log(`FINDING in ${c.lane} sequence ${c.index}:`);
    for (const f of report.findings) console.log(`  [${f.check}] ${f.detail}`);
    console.log(describeCase(c));
  }
}

async function runLane(lane: Lane, total: number): Promise<Tally> {
  const t: Tally = { sequences: 0, frames: 0, generatedFrames: 0, bytes: 0, mutated: 0, verdicts: new Map(), loose: 0, findings: [] };
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const deadline = duration > 0 ? started + duration * 1000 : Infinity;
  let lastReport = started;
  const progress = (): void => {
    const now = performance.now();
    if (now - lastReport < 10_000) return;
    lastReport = now;
    const s = (now - started) / 1000;
    console.log(`  ${lane}: ${fmt(t.sequences)} sequences, ${fmt(t.frames)} frames in ${s.toFixed(0)} s (${fmt(t.frames / s)} frames/s)`);
  };
  const only = args.get('only');
  if (only !== undefined) {
    const c = generateCase(lane, seed, Number(only));
    console.log(describeCase(c));
    const report = lane === 'plain' ? runCase(c) : await runCaseAsync(c);
    record(t, c, report);
    if (report.findings.length === 0) console.log('  no finding');
    return t;
  }
  if (lane === 'plain') {
    for (let i = 0; i < total && t.findings.length < maxFindings; i++) {
      const c = generateCase(lane, seed, i);
      record(t, c, runCase(c));
      if ((i & 1023) === 0) {
        progress();
        if (performance.now() > deadline) break;
      }
    }
  } else {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total && t.findings.length < maxFindings && performance.now() < deadline) {
        const c = generateCase(lane, seed, next++);
        record(t, c, await runCaseAsync(c));
        progress();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  const s = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const verdicts = [0, 1002, 1007, 1009].map((v) => `${v === 0 ? 'accepted' : v} ${fmt(t.verdicts.get(v) ?? 0)}`).join(', ');
  console.log(
    `${lane} lane: ${fmt(t.sequences)} sequences (${fmt(t.mutated)} mutated; ${verdicts}${t.loose ? `; ${fmt(t.loose)} with an uncertain tail` : ''}), ` +
      `${fmt(t.frames)} frames read (${fmt(t.generatedFrames)} generated), ${(t.bytes / 1048576).toFixed(1)} MiB in ${s.toFixed(1)} s ` +
      `(${cpuSeconds.toFixed(1)} s CPU): ${fmt(t.sequences / s)} sequences/s, ${fmt(t.frames / s)} frames/s ` +
      `(${fmt(t.frames / cpuSeconds)} per CPU-second); ${t.findings.length} sequences with findings`,
  );
  return t;
}

console.log(`fuzz: seed ${seed}, lanes ${lanes.join(' + ')}, ${fmt(count)} plain / ${fmt(deflateCount)} deflate sequences${duration ? `, at most ${duration} s per lane` : ''}`);
const t0 = performance.now();
let found = 0;
let sequences = 0;
for (const lane of lanes) {
  const t = await runLane(lane, lane === 'plain' ? count : deflateCount);
  found += t.findings.length;
  sequences += t.sequences;
}
console.log(`total: ${fmt(sequences)} sequences in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${found} with findings`);
process.exitCode = found > 0 ? 1 : 0;
