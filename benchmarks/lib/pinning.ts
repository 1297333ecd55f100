/**
 * CPU pinning and the open-file limit for child processes.
 *
 * Server and load generator each get their own core (server on 0, generator on 1), so neither steals
 * the other's cycles and the server's core being at 100% means the server, not the harness, is the
 * limit. Node cannot call setrlimit, so children start through `sh -c 'ulimit -n <hard>; exec ...'`.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The cores used when pinning is possible. */
export const SERVER_CPU = 0;
export const LOADGEN_CPU = 1;

let tasksetChecked: boolean | null = null;

/** True when `taskset` exists and works here and there are at least two cores to split. */
export function canPin(): boolean {
  if (tasksetChecked === null) {
    try {
      execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
      tasksetChecked = availableParallelism() >= 2;
    } catch {
      tasksetChecked = false;
    }
  }
  return tasksetChecked;
}

/** Wraps `argv` so it runs on `cpu` (when pinning is possible) with the soft fd limit raised to the hard one. */
export function pinnedCommand(argv: string[], cpu: number | null): string[] {
  const pin = cpu !== null && canPin() ? ['taskset', '-c', String(cpu)] : [];
  return ['/bin/sh', '-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...pin, ...argv];
}

/** The open-file limit children will get: the hard limit of this shell (or null if unlimited/unknown). */
export function childFdLimit(): number | null {
  try {
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n'], { encoding: 'utf8' });
    const n = Number(out.trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}
