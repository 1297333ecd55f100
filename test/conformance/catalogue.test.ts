/** The catalogue matches the suite's numbering and its UTF-8 tables agree with an independent validator. */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, caseById, compareIds, selectCases } from '../../autobahn/catalogue/index.js';
import { UTF8_GROUPS } from '../../autobahn/catalogue/utf8-tables.js';
import { Utf8Validator, isValidUtf8 } from '../../autobahn/peer/utf8.js';

function count(prefix: string): number {
  return CATALOGUE.filter((c) => c.id.startsWith(prefix)).length;
}

describe('catalogue', () => {
  it('has the suite 517 cases with unique ids in suite order', () => {
    expect(CATALOGUE).toHaveLength(517);
    expect(new Set(CATALOGUE.map((c) => c.id)).size).toBe(517);
    const sorted = [...CATALOGUE].sort((a, b) => compareIds(a.id, b.id));
    expect(sorted.map((c) => c.id)).toEqual(CATALOGUE.map((c) => c.id));
  });

  it('numbers each section as the suite does', () => {
    const sizes: Record<string, number> = { '1.': 16, '2.': 11, '3.': 7, '4.': 10, '5.': 20, '6.': 145, '7.': 37, '9.': 54, '10.': 1, '12.': 90, '13.': 126 };
    for (const [prefix, n] of Object.entries(sizes)) expect(count(prefix), prefix).toBe(n);
    const sub: Record<string, number> = { '6.4.': 4, '6.6.': 11, '6.12.': 8, '6.22.': 34, '6.23.': 7, '7.1.': 6, '7.3.': 6, '7.7.': 13, '7.9.': 9, '7.13.': 2, '9.3.': 9, '9.7.': 6 };
    for (const [prefix, n] of Object.entries(sub)) expect(count(prefix), prefix).toBe(n);
    expect(CATALOGUE.at(-1)?.id).toBe('13.7.18');
    expect(count('6.24.')).toBe(0);
  });

  it('gives 12.x/13.x the suite parameters, with fewer messages only in the CI profile', () => {
    const flow = caseById('13.7.15')?.flow;
    expect(flow?.kind).toBe('deflate');
    if (flow?.kind !== 'deflate') return;
    expect(flow).toMatchObject({ messageSize: 131072, autoFragmentSize: 256, waitSecs: 480, data: 'json', binary: false });
    expect(flow.count).toEqual({ ci: 12, full: 1000 });
    expect(flow.clientOffers.map((o) => [o.noContextTakeover, o.maxWindowBits])).toEqual([[true, 8], [true, 0], [false, 0]]);
    expect(caseById('12.3.1')?.flow).toMatchObject({ data: 'faust', binary: true, messageSize: 16 });
  });

  it('selects by the suite case patterns', () => {
    expect(selectCases(['6.4.*']).map((c) => c.id)).toEqual(['6.4.1', '6.4.2', '6.4.3', '6.4.4']);
    expect(selectCases(['*'], ['12.*', '13.*'])).toHaveLength(301);
    expect(selectCases(['2.1'])).toHaveLength(1);
  });

  it('marks UTF-8 sequences valid exactly when Node agrees', () => {
    for (const group of UTF8_GROUPS) {
      for (const seq of group.sequences) expect(seq.valid, `${group.title} ${seq.bytes.toString('hex')}`).toBe(isUtf8(seq.bytes));
    }
  });
});

describe('peer UTF-8 validator', () => {
  it('fails as soon as a sequence cannot become valid', () => {
    const v = new Utf8Validator();
    expect(v.push(Buffer.from('cebae1bdb9cf83cebcceb5f4', 'hex'))).toBe(true);
    expect(v.complete).toBe(false);
    expect(v.push(Buffer.from([0x90]))).toBe(false);
  });

  it('agrees with Node on every two-byte sequence', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const bytes = Buffer.from([a, b]);
        expect(isValidUtf8(bytes)).toBe(isUtf8(bytes));
      }
    }
  });
});
