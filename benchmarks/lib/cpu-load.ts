/**
 * Whole-machine CPU accounting from /proc/stat, to catch a benchmark sharing its cores with someone
 * else's work (a test run, a build). Pinning keeps our two processes apart but cannot keep others
 * off: "server core busy" minus "server process CPU" is time something else took from the server.
 */
import { readFileSync } from 'node:fs';

/** Jiffies per CPU line ('cpu', 'cpu0', 'cpu1', ...). */
export type CpuTimes = Map<string, { busy: number; steal: number; total: number }>;

/** Reads /proc/stat; null where it does not exist (the check is then skipped). */
export function readCpuTimes(): CpuTimes | null {
  try {
    const out: CpuTimes = new Map();
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      if (!line.startsWith('cpu')) continue;
      const [name, ...f] = line.trim().split(/\s+/);
      const n = f.map(Number);
      const at = (i: number): number => n[i] ?? 0;
      // user nice system idle iowait irq softirq steal. irq/softirq are left out of "busy" because
      // loopback delivery runs there on behalf of our own processes without being charged to them.
      const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
      if (name) out.set(name, { busy: at(0) + at(1) + at(2), steal: at(7), total });
    }
    return out;
  } catch {
    return null;
  }
}

/** Busy and stolen time of one CPU line between two snapshots, in % of one core. */
export function busyBetween(a: CpuTimes, b: CpuTimes, cpu: string): { busyPct: number; stealPct: number } | null {
  const x = a.get(cpu);
  const y = b.get(cpu);
  if (!x || !y || y.total <= x.total) return null;
  const total = y.total - x.total;
  const cores = cpu === 'cpu' ? Math.max(1, a.size - 1) : 1;
  return {
    busyPct: ((y.busy - x.busy) / total) * 100 * cores,
    stealPct: ((y.steal - x.steal) / total) * 100 * cores,
  };
}

/**
 * Waits (at most `maxMs`) until the machine has been nearly idle for half a second, so a run does not
 * start in the middle of someone else's burst. Resolves with how long it waited and whether it got quiet.
 */
export async function waitForQuiet(maxMs: number, thresholdPct = 10): Promise<{ waitedMs: number; quiet: boolean }> {
  const t0 = Date.now();
  for (;;) {
    const a = readCpuTimes();
    await new Promise((r) => setTimeout(r, 500));
    const b = readCpuTimes();
    const busy = a && b ? busyBetween(a, b, 'cpu')?.busyPct : undefined;
    if (busy === undefined || busy < thresholdPct) return { waitedMs: Date.now() - t0, quiet: true };
    if (Date.now() - t0 >= maxMs) return { waitedMs: Date.now() - t0, quiet: false };
  }
}
