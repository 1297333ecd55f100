/**
 * Sections 12 and 13 — permessage-deflate (RFC 7692). Each case negotiates the extension the way the suite does
 * for that case (the peer offers `clientOffers` as a client, accepts with `serverAccepts` as a server), then makes
 * `count` round trips: one compressed message out, its echo back (decompressed and compared), the next message.
 * 12.x varies the data (five data sets, default parameters); 13.x varies the parameters (JSON data).
 * The suite ships its data as files; autobahn/testdata/ generates stand-ins of the same kind and size.
 */
import { NORMAL_CLOSE } from './build.js';
import type { CaseDef, DeflateDataSet, DeflateRequest } from './types.js';

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

/**
 * Messages per case in the CI profile. Enough for context takeover to matter (every message after the first may
 * refer back to earlier ones) and for the data pointer to wrap around the data set at the larger sizes.
 */
export const CI_MESSAGE_COUNT = 12;

/** A data set: the suite's description, message type, and the size of our generated stand-in. */
export interface DataSetInfo {
  readonly id: DeflateDataSet;
  readonly description: string;
  readonly binary: boolean;
  readonly size: number;
}

/** 12.1 – 12.5: the data sets in the order published reports list them. */
export const DATA_SETS: readonly DataSetInfo[] = [
  { id: 'json', description: 'Large JSON data file', binary: false, size: 194_056 },
  { id: 'lena', description: 'Lena Picture, Bitmap 512x512 bw', binary: true, size: 263_222 },
  { id: 'faust', description: "Human readable text, Goethe's Faust I (German)", binary: true, size: 222_218 },
  { id: 'html', description: 'Large HTML file', binary: false, size: 379_709 },
  { id: 'pdf', description: 'A larger PDF', binary: true, size: 1_042_328 },
];

const req = (noContextTakeover: boolean, maxWindowBits: number): DeflateRequest => ({ noContextTakeover, maxWindowBits });

/** 13.1 – 13.7: what the client offers and what the server accepts, as the suite's DEFLATE_PARAMS list. */
const PARAMS: ReadonlyArray<readonly [readonly DeflateRequest[], readonly DeflateRequest[]]> = [
  [[req(false, 0)], [req(false, 0)]],
  [[req(true, 0)], [req(true, 0)]],
  [[req(false, 8)], [req(false, 8)]],
  [[req(false, 15)], [req(false, 15)]],
  [[req(true, 8)], [req(true, 8)]],
  [[req(true, 15)], [req(true, 15)]],
  [[req(true, 8), req(true, 0), req(false, 0)], [req(true, 8), req(true, 0), req(false, 0)]],
];

/** The suite's notation for a parameter list, e.g. "[(True, 8), (False, 0)]". */
export function formatRequests(list: readonly DeflateRequest[]): string {
  return `[${list.map((r) => `(${r.noContextTakeover ? 'True' : 'False'}, ${r.maxWindowBits})`).join(', ')}]`;
}

function dataTitle(d: DataSetInfo): string {
  return `${d.description} (${d.binary ? 'binary' : 'utf8'}, ${d.size} bytes)`;
}

const offersText = (offers: readonly DeflateRequest[]) => `client offers (requestNoContextTakeover, requestMaxWindowBits): ${formatRequests(offers)}`;
const acceptsText = (accepts: readonly DeflateRequest[]) => `server accept (requestNoContextTakeover, requestMaxWindowBits): ${formatRequests(accepts)}`;

function series(section: 12 | 13, sub: number, data: DataSetInfo, offers: readonly DeflateRequest[], accepts: readonly DeflateRequest[]): CaseDef[] {
  return SIZES.map(
    ([messageSize, count, waitSecs, autoFragmentSize], i): CaseDef => ({
      id: `${section}.${sub}.${i + 1}`,
      description: `Send ${count} compressed messages each of payload size ${messageSize}, auto-fragment to ${autoFragmentSize} octets. ${
        section === 12 ? 'Use default permessage-deflate offer.' : `Use permessage-deflate ${offersText(offers)}`
      }`,
      expectation: `Receive echo'ed messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
      expected: {},
      expectedClose: NORMAL_CLOSE,
      actions: [],
      flow: {
        kind: 'deflate',
        messageSize,
        count: { ci: Math.min(count, CI_MESSAGE_COUNT), full: count },
        autoFragmentSize,
        waitSecs,
        data: data.id,
        binary: data.binary,
        clientOffers: offers,
        serverAccepts: accepts,
      },
      reportTime: true,
    }),
  );
}

const DEFAULT_OFFER = [req(false, 0)];
const JSON_DATA = DATA_SETS[0] as DataSetInfo;

/** Cases 12.1.1 – 12.5.18. */
export const SECTION_12: readonly CaseDef[] = DATA_SETS.flatMap((data, j) => series(12, j + 1, data, DEFAULT_OFFER, DEFAULT_OFFER));

/** Cases 13.1.1 – 13.7.18. */
export const SECTION_13: readonly CaseDef[] = PARAMS.flatMap(([offers, accepts], j) => series(13, j + 1, JSON_DATA, offers, accepts));

/** Sub-section titles of 12.x and 13.x, as the suite words them. */
export const SECTION_12_13_TITLES: Readonly<Record<string, string>> = Object.fromEntries([
  ...DATA_SETS.map((d, j) => [`12.${j + 1}`, dataTitle(d)]),
  ...PARAMS.map(([offers, accepts], j) => [`13.${j + 1}`, `${dataTitle(JSON_DATA)} - ${offersText(offers)} / ${acceptsText(accepts)}`]),
]);
