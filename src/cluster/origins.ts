/**
 * What this server has read from each other server: the last entry and record numbers, to
 * drop an entry seen twice (a retried `XADD`) and to count the ones that never arrived (trimmed
 * from the stream before this server read them, lost with a Redis that restarted without its
 * data, or published on pub/sub while this server's subscription was down).
 *
 * A server seen for the first time is taken from wherever it is: what it published before this
 * server first heard of it is not counted as missed.
 *
 * @module
 */
import type { WireHeader } from './wire.js';

/** What to do with an entry. @internal */
export const Verdict = { Fresh: 0, Duplicate: 1, Gap: 2 } as const;

interface Seen {
  entrySeq: number;
  recordSeq: number;
  /** `Date.now()` when the last entry came. */
  at: number;
}

/** @internal */
export class Origins {
  private readonly seen = new Map<string, Seen>();
  /** For a {@link Verdict.Gap}: entries and records missed just before this entry. */
  missedEntries = 0;
  missedRecords = 0;

  /** Checks an entry from `origin` (hex id) and, unless it is a duplicate, records it. */
  check(origin: string, header: WireHeader): number {
    const last = this.seen.get(origin);
    const lastRecord = header.firstSeq + header.count - 1;
    const now = Date.now();
    if (last === undefined) {
      this.seen.set(origin, { entrySeq: header.entrySeq, recordSeq: lastRecord, at: now });
      return Verdict.Fresh;
    }
    if (header.entrySeq <= last.entrySeq) return Verdict.Duplicate;
    const verdict = header.entrySeq === last.entrySeq + 1 ? Verdict.Fresh : Verdict.Gap;
    if (verdict === Verdict.Gap) {
      this.missedEntries = header.entrySeq - last.entrySeq - 1;
      this.missedRecords = Math.max(0, header.firstSeq - last.recordSeq - 1);
    }
    last.entrySeq = header.entrySeq;
    last.recordSeq = lastRecord;
    last.at = now;
    return verdict;
  }

  /** The last entry number read from `origin`, or 0. */
  entrySeqOf(origin: string): number {
    return this.seen.get(origin)?.entrySeq ?? 0;
  }

  /** Forgets servers not heard of for `ms` that are not in `alive` (bounds the map). */
  prune(alive: ReadonlySet<string>, ms: number): void {
    const limit = Date.now() - ms;
    for (const [origin, s] of this.seen) if (!alive.has(origin) && s.at < limit) this.seen.delete(origin);
  }
}
