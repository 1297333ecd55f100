/**
 * Writes a report directory: index.json (suite shape), one JSON per case, index.html and summary.md.
 * Directories under autobahn/reports/ are git-ignored.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaseResult } from '../peer/case-runner.js';
import { buildIndex, caseReportFile } from './index-json.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

/** Writes every report file for `results` into `dir`. */
export async function writeReports(dir: string, title: string, results: readonly CaseResult[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.json'), `${JSON.stringify(buildIndex(results), null, 2)}\n`);
  for (const r of results) await writeFile(join(dir, caseReportFile(r.agent, r.id)), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(join(dir, 'index.html'), renderHtml(title, results));
  const agents = [...new Set(results.map((r) => r.agent))].sort();
  const parts = agents.map((agent) => {
    const mine = results.filter((r) => r.agent === agent);
    return renderMarkdown(agent, mine[0]?.testee === 'client' ? 'client under test' : 'server under test', mine);
  });
  await writeFile(join(dir, 'summary.md'), parts.join('\n'));
}
