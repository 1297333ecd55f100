/**
 * index.html: a static page with one row per case and one column pair (behaviour, close) per agent, linking to
 * the per-case JSON. No scripts, no external assets.
 */
import { compareIds } from '../catalogue/index.js';
import type { CaseResult } from '../peer/case-runner.js';
import { caseReportFile } from './index-json.js';
import { summaryLine, subsectionTitle } from './summary.js';

const CSS = `body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}
.OK{background:#bfb}.NON-STRICT{background:#ffb}.INFORMATIONAL{background:#bdf}.UNIMPLEMENTED{background:#ddd}
.FAILED,.UNCLEAN,.WRONG-CODE,.FAILED-BY-CLIENT{background:#fbb}.sub td{background:#eee;font-weight:bold}`;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const cls = (v: string) => v.replace(/ /g, '-');

/** Renders the HTML summary for results of one or more agents. */
export function renderHtml(title: string, results: readonly CaseResult[]): string {
  const agents = [...new Set(results.map((r) => r.agent))].sort();
  const byKey = new Map(results.map((r) => [`${r.agent}\u0000${r.id}`, r]));
  const ids = [...new Set(results.map((r) => r.id))].sort(compareIds);
  const rows: string[] = [];
  let lastSub = '';
  for (const id of ids) {
    const sub = id.split('.').slice(0, 2).join('.');
    if (sub !== lastSub) {
      lastSub = sub;
      rows.push(`<tr class="sub"><td colspan="${1 + agents.length * 2}">${esc(sub)} ${esc(subsectionTitle(id) ?? '')}</td></tr>`);
    }
    const cells = agents.map((agent) => {
      const r = byKey.get(`${agent}\u0000${id}`);
      if (!r) return '<td colspan="2">missing</td>';
      const time = r.reportTime ? `<br><small>${r.duration} ms</small>` : '';
      return (
        `<td class="${cls(r.behavior)}" title="${esc(r.result)}"><a href="${caseReportFile(agent, id)}">${r.behavior}</a>${time}</td>` +
        `<td class="${cls(r.behaviorClose)}" title="${esc(r.resultClose)}">${esc(r.behaviorClose)} ${r.remoteCloseCode ?? ''}</td>`
      );
    });
    rows.push(`<tr><td>${esc(id)}</td>${cells.join('')}</tr>`);
  }
  const summaries = agents.map((a) => `<li>${esc(a)}: ${esc(summaryLine(results.filter((r) => r.agent === a)))}</li>`).join('');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1><ul>${summaries}</ul>
<table><tr><th>Case</th>${agents.map((a) => `<th colspan="2">${esc(a)}</th>`).join('')}</tr>
${rows.join('\n')}
</table></body></html>
`;
}
