/**
 * autobahn/expected-results.json: the verdict each case must reach, per testee role, and the comparison that
 * fails a run when any case gets worse. "Worse" ranks the classes: for behaviour OK > NON-STRICT >
 * INFORMATIONAL > UNIMPLEMENTED > FAILED; for close behaviour OK = INFORMATIONAL > FAILED BY CLIENT >
 * WRONG CODE > UNCLEAN > FAILED. Known issues name cases whose shortfall is tracked elsewhere: they are reported,
 * not failed, and reported again once they stop reproducing so the entry can be removed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { compareIds } from './catalogue/index.js';
import type { Behavior, CloseBehavior } from './catalogue/types.js';
import type { CaseResult } from './peer/case-runner.js';

/** Which side was under test. */
export type Testee = 'server' | 'client';

/** A tracked shortfall. */
export interface KnownIssue {
  readonly testee: Testee;
  readonly issue: string;
  readonly cases: readonly string[];
}

/** The file's shape: verdicts as "behavior/behaviorClose". */
export interface ExpectedFile {
  readonly $comment?: string;
  readonly server: Record<string, string>;
  readonly client: Record<string, string>;
  readonly knownIssues: readonly KnownIssue[];
}

/** Default location of the file. */
export const EXPECTED_PATH = new URL('./expected-results.json', import.meta.url);

/**
 * Where the verdicts of the `ws` reference run are kept: what the official suite reports for `ws` 8.23
 * (`npm run conformance:ws` checks them exactly, since a reference that moves either way means the catalogue or
 * the reference changed).
 */
export const REFERENCE_WS_PATH = new URL('./expected-results-ws.json', import.meta.url);

const BEHAVIOR_RANK: Record<Behavior, number> = { OK: 4, 'NON-STRICT': 3, INFORMATIONAL: 2, UNIMPLEMENTED: 1, FAILED: 0 };
const CLOSE_RANK: Record<CloseBehavior, number> = { OK: 4, INFORMATIONAL: 4, 'FAILED BY CLIENT': 3, 'WRONG CODE': 2, UNCLEAN: 1, FAILED: 0 };

/** "behavior/behaviorClose" of a result. */
export function verdictKey(r: Pick<CaseResult, 'behavior' | 'behaviorClose'>): string {
  return `${r.behavior}/${r.behaviorClose}`;
}

function parseKey(key: string): { behavior: Behavior; behaviorClose: CloseBehavior } {
  const [behavior, behaviorClose] = key.split('/') as [Behavior, CloseBehavior];
  return { behavior, behaviorClose };
}

/** One difference between a run and the expectations. */
export interface Difference {
  readonly id: string;
  readonly expected: string;
  readonly actual: string;
  readonly known?: string;
  readonly why?: string;
}

/** Outcome of a comparison. */
export interface Comparison {
  readonly regressions: Difference[];
  readonly knownShortfalls: Difference[];
  readonly improvements: Difference[];
  /** Known-issue cases that reached their expected verdict in this run. */
  readonly knownButPassing: string[];
  readonly missing: string[];
}

/** Compares results of one testee role with the file. */
export function compareWithExpected(file: ExpectedFile, testee: Testee, results: readonly CaseResult[]): Comparison {
  const expected = file[testee];
  const known = new Map<string, string>();
  for (const k of file.knownIssues) if (k.testee === testee) for (const id of k.cases) known.set(id, k.issue);
  const out: Comparison = { regressions: [], knownShortfalls: [], improvements: [], knownButPassing: [], missing: [] };
  const seen = new Set<string>();
  for (const r of results) {
    seen.add(r.id);
    const want = expected[r.id];
    if (want === undefined) continue;
    const w = parseKey(want);
    const actual = verdictKey(r);
    const worse = BEHAVIOR_RANK[r.behavior] < BEHAVIOR_RANK[w.behavior] || CLOSE_RANK[r.behaviorClose] < CLOSE_RANK[w.behaviorClose];
    const better = BEHAVIOR_RANK[r.behavior] > BEHAVIOR_RANK[w.behavior] || CLOSE_RANK[r.behaviorClose] > CLOSE_RANK[w.behaviorClose];
    const issue = known.get(r.id);
    const why = `${r.result} / ${r.resultClose}`;
    if (worse) (issue ? out.knownShortfalls : out.regressions).push({ id: r.id, expected: want, actual, why, ...(issue ? { known: issue } : {}) });
    else {
      if (better) out.improvements.push({ id: r.id, expected: want, actual });
      if (issue) out.knownButPassing.push(r.id);
    }
  }
  for (const id of Object.keys(expected)) if (!seen.has(id)) out.missing.push(id);
  return out;
}

/** Reads the expectations file. */
export async function readExpected(path: URL | string = EXPECTED_PATH): Promise<ExpectedFile> {
  return JSON.parse(await readFile(path, 'utf8')) as ExpectedFile;
}

/** Rewrites one role's verdicts from a run (keeping the other role and the known issues). */
export async function writeExpected(testee: Testee, results: readonly CaseResult[], path: URL | string = EXPECTED_PATH): Promise<void> {
  let file: ExpectedFile;
  try {
    file = await readExpected(path);
  } catch {
    file = { server: {}, client: {}, knownIssues: [] };
  }
  const verdicts: Record<string, string> = {};
  for (const r of [...results].sort((a, b) => compareIds(a.id, b.id))) verdicts[r.id] = verdictKey(r);
  const next: ExpectedFile = { ...file, [testee]: verdicts };
  await writeFile(path, `${JSON.stringify(next, null, 2)}\n`);
}

/** Human-readable lines for a comparison. */
export function describeComparison(testee: Testee, c: Comparison): string[] {
  const lines: string[] = [];
  for (const d of c.regressions) lines.push(`REGRESSION ${testee} ${d.id}: expected ${d.expected}, got ${d.actual} (${d.why ?? ''})`);
  if (c.knownShortfalls.length > 0) {
    const byIssue = new Map<string, string[]>();
    for (const d of c.knownShortfalls) byIssue.set(d.known ?? '', [...(byIssue.get(d.known ?? '') ?? []), d.id]);
    for (const [issue, ids] of byIssue) lines.push(`known issue (${testee}, ${ids.length} cases: ${ids.join(' ')}): ${issue}`);
  }
  if (c.knownButPassing.length > 0) lines.push(`known-issue cases that passed this run (${testee}): ${c.knownButPassing.join(' ')}`);
  for (const d of c.improvements) lines.push(`improved ${testee} ${d.id}: expected ${d.expected}, got ${d.actual}`);
  if (c.missing.length > 0) lines.push(`not run (${testee}): ${c.missing.length} cases`);
  return lines;
}
