/**
 * Counting verdicts: per class, and per section for the markdown table.
 */
import { CATEGORIES, SUBCATEGORIES, compareIds } from '../catalogue/index.js';
import type { Behavior } from '../catalogue/types.js';
import type { CaseResult } from '../peer/case-runner.js';

/** Behaviour classes in report order. */
export const BEHAVIORS: readonly Behavior[] = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];

/** Counts per behaviour class. */
export function countBehaviors(results: Iterable<CaseResult>): Record<Behavior, number> {
  const counts = Object.fromEntries(BEHAVIORS.map((b) => [b, 0])) as Record<Behavior, number>;
  for (const r of results) counts[r.behavior]++;
  return counts;
}

/** One-line summary, e.g. "301 cases: OK 297, NON-STRICT 0, INFORMATIONAL 3, …". */
export function summaryLine(results: readonly CaseResult[]): string {
  const c = countBehaviors(results);
  const closeNotOk = results.filter((r) => r.behaviorClose !== 'OK' && r.behaviorClose !== 'INFORMATIONAL').length;
  return `${results.length} cases: ${BEHAVIORS.map((b) => `${b} ${c[b]}`).join(', ')}; close not OK: ${closeNotOk}`;
}

/** Results grouped by top-level section, sections in id order. */
export function bySection(results: readonly CaseResult[]): Array<{ section: string; title: string; results: CaseResult[] }> {
  const groups = new Map<string, CaseResult[]>();
  for (const r of [...results].sort((a, b) => compareIds(a.id, b.id))) {
    const section = r.id.split('.')[0] as string;
    const list = groups.get(section) ?? [];
    list.push(r);
    groups.set(section, list);
  }
  return [...groups.entries()].map(([section, list]) => ({ section, title: CATEGORIES[section] ?? 'Misc', results: list }));
}

/** Title of a case's sub-section, if the suite names one. */
export function subsectionTitle(id: string): string | undefined {
  return SUBCATEGORIES[id.split('.').slice(0, 2).join('.')];
}
