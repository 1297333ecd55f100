/**
 * Sections 12 and 13 — permessage-deflate (RFC 7692). The entries exist with their official ids and parameters so
 * numbering matches the suite, but the peer does not speak deflate yet: it never offers or accepts the extension,
 * so each case ends the way the suite ends it for a testee without deflate: UNIMPLEMENTED, then a normal close.
 * To fill them in later: implement `flow.kind === 'deflate'` in autobahn/peer/case-runner.ts (negotiate
 * `clientOffers`/`serverAccepts`, then `count` round trips of `messageSize` bytes of `data`).
 */
import { NORMAL_CLOSE } from './build.js';
import type { CaseDef } from './types.js';

// [message size, count, time limit, auto-fragment size]: the suite's list, shared by 12.x and 13.x.
const SIZES: ReadonlyArray<readonly [number, number, number, number]> = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],
  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

// 12.1 – 12.5: the data sets in the order published reports list them.
const DATA_SETS = [
  'Large JSON data file (utf8)',
  'Lena Picture, Bitmap 512x512 bw (binary)',
  "Human readable text, Goethe's Faust I (German) (binary)",
  'Large HTML file (utf8)',
  'A larger PDF (binary)',
];

// 13.1 – 13.7: client offers / server accepts as (requestNoContextTakeover, requestMaxWindowBits).
const PARAMS: ReadonlyArray<readonly [string, string]> = [
  ['[(False, 0)]', '[(False, 0)]'],
  ['[(True, 0)]', '[(True, 0)]'],
  ['[(False, 8)]', '[(False, 8)]'],
  ['[(False, 15)]', '[(False, 15)]'],
  ['[(True, 8)]', '[(True, 8)]'],
  ['[(True, 15)]', '[(True, 15)]'],
  ['[(True, 8), (True, 0), (False, 0)]', '[(True, 8), (True, 0), (False, 0)]'],
];

function series(section: 12 | 13, sub: number, data: string, offers: string, accepts: string): CaseDef[] {
  return SIZES.map(
    ([messageSize, count, waitSecs, autoFragmentSize], i): CaseDef => ({
      id: `${section}.${sub}.${i + 1}`,
      description: `Send ${count} compressed messages each of payload size ${messageSize}, auto-fragment to ${autoFragmentSize} octets. ${
        section === 12 ? 'Use default permessage-deflate offer.' : `Use permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): ${offers}`
      }`,
      expectation: `Receive echo'ed messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
      expected: {},
      expectedClose: NORMAL_CLOSE,
      actions: [],
      flow: { kind: 'deflate', messageSize, count, autoFragmentSize, waitSecs, data, clientOffers: offers, serverAccepts: accepts },
      reportTime: true,
    }),
  );
}

/** Cases 12.1.1 – 12.5.18. */
export const SECTION_12: readonly CaseDef[] = DATA_SETS.flatMap((data, j) => series(12, j + 1, data, '[(False, 0)]', '[(False, 0)]'));

/** Cases 13.1.1 – 13.7.18. */
export const SECTION_13: readonly CaseDef[] = PARAMS.flatMap(([offers, accepts], j) =>
  series(13, j + 1, 'Large JSON data file (utf8)', offers, accepts),
);
