import { describe, expect, it } from 'vitest';
import { Origins, Verdict } from '../../src/cluster/origins.js';

const h = (entrySeq: number, firstSeq: number, count: number) => ({ origin: Buffer.alloc(8), entrySeq, firstSeq, count });

describe('per-origin sequence numbers', () => {
  it('takes a new origin from where it is, drops what it saw, counts what it missed', () => {
    const o = new Origins();
    expect(o.check('a', h(5, 50, 3))).toBe(Verdict.Fresh); // first sight: no gap
    expect(o.check('a', h(6, 53, 2))).toBe(Verdict.Fresh);
    expect(o.check('a', h(6, 53, 2))).toBe(Verdict.Duplicate);
    expect(o.check('a', h(4, 40, 1))).toBe(Verdict.Duplicate);
    expect(o.check('a', h(9, 70, 1))).toBe(Verdict.Gap);
    expect([o.missedEntries, o.missedRecords]).toEqual([2, 15]); // entries 7-8, records 55-69
    expect(o.check('b', h(1, 1, 1))).toBe(Verdict.Fresh);
    expect(o.entrySeqOf('a')).toBe(9);
    expect(o.entrySeqOf('c')).toBe(0);
  });

  it('forgets origins that are gone', () => {
    const o = new Origins();
    o.check('a', h(1, 1, 1));
    o.prune(new Set(), -1);
    expect(o.entrySeqOf('a')).toBe(0);
  });
});
