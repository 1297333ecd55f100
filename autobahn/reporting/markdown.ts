/**
 * summary.md: verdict counts per section and every case that is not a strict OK, with the reason the peer gave.
 */
import type { CaseResult } from '../peer/case-runner.js';
import { BEHAVIORS, bySection, countBehaviors, summaryLine } from './summary.js';

/** Renders the markdown summary for one agent's results. */
export function renderMarkdown(agent: string, testee: string, results: readonly CaseResult[]): string {
  const lines: string[] = [];
  lines.push(`# Autobahn conformance: ${agent} (${testee})`, '');
  lines.push(summaryLine(results), '');
  lines.push(`| Section | Cases | ${BEHAVIORS.join(' | ')} | Close not OK |`);
  lines.push(`| --- | ---: | ${BEHAVIORS.map(() => '---:').join(' | ')} | ---: |`);
  for (const { section, title, results: list } of bySection(results)) {
    const c = countBehaviors(list);
    const closeBad = list.filter((r) => r.behaviorClose !== 'OK' && r.behaviorClose !== 'INFORMATIONAL').length;
    lines.push(`| ${section} ${title} | ${list.length} | ${BEHAVIORS.map((b) => c[b]).join(' | ')} | ${closeBad} |`);
  }
  const notOk = results.filter((r) => r.behavior !== 'OK' || (r.behaviorClose !== 'OK' && r.behaviorClose !== 'INFORMATIONAL'));
  if (notOk.length > 0) {
    lines.push('', '## Cases that are not a strict OK', '', '| Case | Behavior | Close | Remote code | Why |', '| --- | --- | --- | --- | --- |');
    for (const r of notOk) {
      const why = `${r.result} / ${r.resultClose}`.replace(/\|/g, '\\|');
      lines.push(`| ${r.id} | ${r.behavior} | ${r.behaviorClose} | ${r.remoteCloseCode ?? ''} | ${why} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
