/**
 * The data sets of sections 12/13, generated once per process, and the suite's way of cutting messages from them:
 * consecutive slices of `length` bytes, wrapping around at the end of the data set.
 */
import { DATA_SETS } from '../catalogue/s12-13-deflate.js';
import type { DeflateDataSet } from '../catalogue/types.js';
import { generateBitmap } from './bitmap.js';
import { generateFaust } from './faust.js';
import { generateHtml } from './html.js';
import { generateJson } from './json.js';
import { generatePdf } from './pdf.js';

const GENERATORS: Readonly<Record<DeflateDataSet, (size: number) => Buffer>> = {
  json: generateJson,
  lena: generateBitmap,
  faust: generateFaust,
  html: generateHtml,
  pdf: generatePdf,
};

const cache = new Map<DeflateDataSet, Buffer>();

/** The bytes of a data set (built on first use, then cached). */
export function testData(id: DeflateDataSet): Buffer {
  let data = cache.get(id);
  if (!data) {
    const info = DATA_SETS.find((d) => d.id === id);
    if (!info) throw new Error(`unknown data set ${id}`);
    data = GENERATORS[id](info.size);
    if (data.length !== info.size) throw new Error(`data set ${id}: generated ${data.length} bytes, expected ${info.size}`);
    cache.set(id, data);
  }
  return data;
}

/** Hands out consecutive `length`-byte messages of a data set, wrapping around at its end (the suite's sendOne). */
export class DataCursor {
  private position = 0;

  constructor(
    private readonly data: Buffer,
    private readonly length: number,
  ) {
    if (length > data.length) throw new RangeError(`message size ${length} exceeds the data set (${data.length} bytes)`);
  }

  /** The next message (a copy, so later changes to it cannot touch the data set). */
  next(): Buffer {
    if (this.length === 0) return Buffer.alloc(0);
    const from = this.position;
    const to = (from + this.length) % this.data.length;
    this.position = to;
    return to > from ? Buffer.from(this.data.subarray(from, to)) : Buffer.concat([this.data.subarray(from), this.data.subarray(0, to)]);
  }
}
