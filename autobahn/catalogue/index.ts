/**
 * The whole catalogue in the suite's order, with the suite's category titles and case-pattern selection
 * ("*", "6.4.*", "9.*" …, as in fuzzingclient.json / fuzzingserver.json).
 */
import { SECTION_1 } from './s01-framing.js';
import { SECTION_2 } from './s02-pings.js';
import { SECTION_3 } from './s03-reserved-bits.js';
import { SECTION_4 } from './s04-opcodes.js';
import { SECTION_5 } from './s05-fragmentation.js';
import { SECTION_6, SECTION_6_TITLES } from './s06-utf8.js';
import { SECTION_7 } from './s07-close.js';
import { SECTION_9 } from './s09-limits.js';
import { SECTION_10 } from './s10-autofragment.js';
import { SECTION_12, SECTION_12_13_TITLES, SECTION_13 } from './s12-13-deflate.js';
import type { CaseDef } from './types.js';

/** Every case, sorted by id as the suite sorts them. */
export const CATALOGUE: readonly CaseDef[] = [
  ...SECTION_1,
  ...SECTION_2,
  ...SECTION_3,
  ...SECTION_4,
  ...SECTION_5,
  ...SECTION_6,
  ...SECTION_7,
  ...SECTION_9,
  ...SECTION_10,
  ...SECTION_12,
  ...SECTION_13,
];

/** Section titles (first id component). */
export const CATEGORIES: Readonly<Record<string, string>> = {
  '1': 'Framing',
  '2': 'Pings/Pongs',
  '3': 'Reserved Bits',
  '4': 'Opcodes',
  '5': 'Fragmentation',
  '6': 'UTF-8 Handling',
  '7': 'Close Handling',
  '9': 'Limits/Performance',
  '10': 'Misc',
  '12': 'WebSocket Compression (different payloads)',
  '13': 'WebSocket Compression (different parameters)',
};

/** Sub-section titles (first two id components). */
export const SUBCATEGORIES: Readonly<Record<string, string>> = {
  '1.1': 'Text Messages',
  '1.2': 'Binary Messages',
  '4.1': 'Non-control Opcodes',
  '4.2': 'Control Opcodes',
  '6.1': 'Valid UTF-8 with zero payload fragments',
  '6.2': 'Valid UTF-8 unfragmented, fragmented on code-points and within code-points',
  '6.3': 'Invalid UTF-8 differently fragmented',
  '6.4': 'Fail-fast on invalid UTF-8',
  ...SECTION_6_TITLES,
  '7.1': 'Basic close behavior (fuzzer initiated)',
  '7.3': 'Close frame structure: payload length (fuzzer initiated)',
  '7.5': 'Close frame structure: payload value (fuzzer initiated)',
  '7.7': 'Close frame structure: valid close codes (fuzzer initiated)',
  '7.9': 'Close frame structure: invalid close codes (fuzzer initiated)',
  '7.13': 'Informational close information (fuzzer initiated)',
  '9.1': 'Text Message (increasing size)',
  '9.2': 'Binary Message (increasing size)',
  '9.3': 'Fragmented Text Message (fixed size, increasing fragment size)',
  '9.4': 'Fragmented Binary Message (fixed size, increasing fragment size)',
  '9.5': 'Text Message (fixed size, increasing chop size)',
  '9.6': 'Binary Text Message (fixed size, increasing chop size)',
  '9.7': 'Text Message Roundtrip Time (fixed number, increasing size)',
  '9.8': 'Binary Message Roundtrip Time (fixed number, increasing size)',
  '10.1': 'Auto-Fragmentation',
  ...SECTION_12_13_TITLES,
};

const BY_ID = new Map(CATALOGUE.map((c) => [c.id, c]));

/** The case with this id, if any. */
export function caseById(id: string): CaseDef | undefined {
  return BY_ID.get(id);
}

/** Numeric comparison of dotted ids ("6.10.1" after "6.9.2"). */
export function compareIds(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function matcher(pattern: string): RegExp {
  // The suite's wildcard: '*' matches anything (including dots); everything else is literal.
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

/** Ids selected by include patterns minus exclude patterns, in suite order. */
export function selectCases(include: readonly string[] = ['*'], exclude: readonly string[] = []): CaseDef[] {
  const inc = include.map(matcher);
  const exc = exclude.map(matcher);
  return CATALOGUE.filter((c) => inc.some((r) => r.test(c.id)) && !exc.some((r) => r.test(c.id)));
}
