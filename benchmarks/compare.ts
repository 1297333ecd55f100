/**
 * Compares two result files written by run.ts, cell by cell:
 *
 *   tsx benchmarks/compare.ts [old.json new.json]     (default: the two newest files in results/)
 *
 * A change smaller than the spread between rounds of one file is noise; the per-run values are in
 * each file's `runs` array for anyone who wants to look closer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatValue, renderTable } from './lib/report.js';

interface ResultFile {
  startedAt: string;
  environment: { commit: string; ours: string };
  servers: Array<{ id: string; label: string }>;
  scenarios: Array<{ id: string; title: string; unit: string; higherIsBetter: boolean }>;
  summary: Record<string, Record<string, { median: number | null }>>;
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
let [oldPath, newPath] = process.argv.slice(2);
if (!oldPath || !newPath) {
  const files = readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length < 2) {
    console.error('need two result files in benchmarks/results/ (or pass two paths)');
    process.exit(1);
  }
  oldPath = join(resultsDir, files[files.length - 2] as string);
  newPath = join(resultsDir, files[files.length - 1] as string);
}

const load = (p: string): ResultFile => JSON.parse(readFileSync(p, 'utf8')) as ResultFile;
const a = load(oldPath);
const b = load(newPath);
const servers = b.servers.filter((s) => a.servers.some((x) => x.id === s.id));

const rows: string[][] = [['', 'scenario', 'unit', ...servers.map((s) => s.label)]];
for (const sc of b.scenarios) {
  if (!a.scenarios.some((x) => x.id === sc.id)) continue;
  const cells = servers.map((s) => {
    const x = a.summary[sc.id]?.[s.id]?.median ?? null;
    const y = b.summary[sc.id]?.[s.id]?.median ?? null;
    if (x === null || y === null || x === 0) return `${formatValue(x)} -> ${formatValue(y)}`;
    const change = ((y - x) / x) * 100;
    // Mark regressions in the direction that matters for this metric.
    const worse = sc.higherIsBetter ? change < 0 : change > 0;
    return `${formatValue(x)} -> ${formatValue(y)} ${change >= 0 ? '+' : ''}${change.toFixed(0)}%${worse && Math.abs(change) >= 5 ? ' (worse)' : ''}`;
  });
  rows.push([sc.id, sc.title, sc.unit, ...cells]);
}
console.log(`old: ${oldPath} (${a.startedAt}, ${a.environment.commit.slice(0, 8)})`);
console.log(`new: ${newPath} (${b.startedAt}, ${b.environment.commit.slice(0, 8)})\n`);
console.log(renderTable(rows));
