/**
 * `npm run test:adversarial`: the adversarial suite at full size (ADVERSARIAL=full), one file at
 * a time so that no attack shares the machine with another, each attack also run against `ws`
 * for comparison. Every measurement goes to test/adversarial/results/full.jsonl; at the end the
 * side-by-side table (ours and `ws`) is printed and written to results/full.md, with the
 * duration. Extra arguments go to vitest (e.g. a file name to run one family).
 *
 * `ADVERSARIAL=reduced npm run test:adversarial` runs the reduced sizes the same way, and
 * `ADVERSARIAL_WS=0` leaves `ws` out.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Measurement } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const RESULTS = join(HERE, 'results');
const size = process.env.ADVERSARIAL ?? 'full';
const name = size === 'full' ? 'full' : 'reduced';
const report = join(RESULTS, `${name}.jsonl`);

mkdirSync(RESULTS, { recursive: true });
rmSync(report, { force: true });

const started = Date.now();
const vitest = spawnSync(
  'npx',
  ['vitest', 'run', '--dir', 'test/adversarial', '--pool=forks', '--no-file-parallelism', '--testTimeout=900000', '--hookTimeout=120000', ...process.argv.slice(2)],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ADVERSARIAL: size, ADVERSARIAL_REPORT: report } },
);
const seconds = (Date.now() - started) / 1000;

type Row = Measurement & { full: boolean };
let rows: Row[] = [];
try {
  rows = readFileSync(report, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Row);
} catch {
  // no measurement was recorded
}

const mib = (bytes: number): string => `${bytes < 0 ? '-' : '+'}${(Math.abs(bytes) / 1024 / 1024).toFixed(1)} MiB`;
const cell = (text: string): string => text.replace(/\|/g, '\\|');

// One line per attack and mode: ours (with its bound) beside ws.
const keys: string[] = [];
const byKey = new Map<string, { ours?: Row; ws?: Row }>();
for (const row of rows) {
  const key = `${row.attack}\u0000${row.mode ?? ''}`;
  if (!byKey.has(key)) {
    keys.push(key);
    byKey.set(key, {});
  }
  const entry = byKey.get(key) as { ours?: Row; ws?: Row };
  entry[row.impl] = row;
}
const lines = [
  `Adversarial suite, ${name} sizes: ${Math.round(seconds)} s, vitest exit status ${vitest.status ?? vitest.signal}.`,
  '',
  '| attack | mode | size | ws6455: peak RSS growth (bound) | ws6455: outcome | ws: peak RSS growth | ws: outcome |',
  '| --- | --- | --- | ---: | --- | ---: | --- |',
];
for (const key of keys) {
  const { ours, ws } = byKey.get(key) as { ours?: Row; ws?: Row };
  const any = (ours ?? ws) as Row;
  lines.push(
    `| ${cell(any.attack)} | ${any.mode ?? ''} | ${cell(ours?.size ?? ws?.size ?? '')} | ${
      ours ? `${mib(ours.growth)}${ours.bound === undefined ? '' : ` (${mib(ours.bound).slice(1)})`}` : ''
    } | ${cell(ours?.outcome ?? '')} | ${ws ? mib(ws.growth) : ''} | ${cell(ws?.outcome ?? '')} |`,
  );
}
const table = `${lines.join('\n')}\n`;
writeFileSync(join(RESULTS, `${name}.md`), table);
console.log(`\n${table}`);
process.exit(vitest.status ?? 1);
