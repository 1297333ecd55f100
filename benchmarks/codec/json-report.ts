/**
 * The `--json FILE` option every codec micro-benchmark shares: results written with the Node
 * version, architecture and date, so runs on different days or machines can be compared.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';

/** Writes `results` to the file named after `--json`, when the option was given. */
export function writeJsonReport(benchmark: string, results: readonly object[]): void {
  const at = process.argv.indexOf('--json');
  if (at === -1) return;
  const file = process.argv[at + 1];
  if (file === undefined) throw new Error('--json needs a file name');
  const report = { benchmark, node: process.version, arch: process.arch, date: new Date().toISOString(), results };
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
