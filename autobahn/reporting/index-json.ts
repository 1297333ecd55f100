/**
 * index.json in the suite's shape: agent → case id → { behavior, behaviorClose, duration, remoteCloseCode,
 * reportfile }, so tools that read official Autobahn reports read ours.
 */
import type { Behavior, CloseBehavior } from '../catalogue/types.js';
import type { CaseResult } from '../peer/case-runner.js';

/** One index entry. */
export interface IndexEntry {
  readonly behavior: Behavior;
  readonly behaviorClose: CloseBehavior;
  readonly duration: number;
  readonly remoteCloseCode: number | null;
  readonly reportfile: string;
}

/** agent → case id → entry. */
export type ReportIndex = Record<string, Record<string, IndexEntry>>;

/** File-name form of an agent name. */
export function agentSlug(agent: string): string {
  return agent.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'agent';
}

/** Name of a case's detail report. */
export function caseReportFile(agent: string, id: string): string {
  return `${agentSlug(agent)}_case_${id.replace(/\./g, '_')}.json`;
}

/** Builds the index for a set of results. */
export function buildIndex(results: readonly CaseResult[]): ReportIndex {
  const index: ReportIndex = {};
  for (const r of results) {
    const byCase = (index[r.agent] ??= {});
    byCase[r.id] = {
      behavior: r.behavior,
      behaviorClose: r.behaviorClose,
      duration: r.duration,
      remoteCloseCode: r.remoteCloseCode,
      reportfile: caseReportFile(r.agent, r.id),
    };
  }
  return index;
}
