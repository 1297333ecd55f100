/**
 * What went over the wire during a case, for the per-case report: frames and octets in both directions and the
 * peer's timers. Bounded in entries so a million-frame case cannot turn a report into gigabytes.
 */
import { hexPreview } from './bytes.js';

/** One wire-log entry; `t` is milliseconds since the case started. */
export type WireEntry =
  | { t: number; ev: 'tx-frame' | 'rx-frame'; opcode: number; fin: boolean; rsv: number; masked: boolean; length: number; payload: string; chop?: number; sync?: boolean }
  | { t: number; ev: 'tx-octets' | 'rx-octets'; length: number; octets: string; sync?: boolean }
  | { t: number; ev: 'timer-set'; action: string; seconds: number; tag?: string }
  | { t: number; ev: 'timer-fired'; action: string; tag?: string }
  | { t: number; ev: 'note'; text: string };

const MAX_ENTRIES = 4000;

/** Append-only wire log with the suite's on/off switch (section 9 turns it off while bulk data flows). */
export class WireLog {
  readonly entries: WireEntry[] = [];
  enabled = true;
  dropped = 0;
  private readonly t0 = Date.now();

  /** Adds an entry (the caller builds it without `t`). */
  add(entry: DistributiveOmit<WireEntry, 't'>): void {
    if (!this.enabled) return;
    if (this.entries.length >= MAX_ENTRIES) {
      this.dropped++;
      return;
    }
    this.entries.push({ t: Date.now() - this.t0, ...entry } as WireEntry);
  }

  /** Octets, shown as (truncated) hex. */
  octets(ev: 'tx-octets' | 'rx-octets', data: Uint8Array, sync?: boolean): void {
    if (!this.enabled) return;
    this.add(sync === undefined ? { ev, length: data.length, octets: hexPreview(data) } : { ev, length: data.length, octets: hexPreview(data), sync });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
