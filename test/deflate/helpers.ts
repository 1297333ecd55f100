import { constants, createDeflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { PerMessageDeflate } from '../../src/deflate/codec.js';
import type { NegotiatedParams } from '../../src/deflate/negotiate.js';

export const PARAMS: NegotiatedParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandom(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Compressible text of `length` bytes made of pseudo-random words. */
export function words(length: number, seed = 1): Buffer {
  const vocabulary = ['alpha', 'beta', 'gamma', 'delta', 'socket', 'frame', 'window', 'deflate', 'message', 'zlib'];
  const random = pseudoRandom(length, seed);
  let text = '';
  for (let i = 0; text.length < length; i++) text += `${vocabulary[(random[i] as number) % vocabulary.length]} `;
  return Buffer.from(text.slice(0, length));
}

/** `block` repeated until `length` bytes: a match distance of `block.length` throughout. */
export function repeated(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i);
  return out;
}

export function encode(ext: PerMessageDeflate, data: Buffer, fin = true): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    ext.encode(data, fin, (err, out) => (err ? reject(err) : resolve(out as Buffer)));
  });
}

export function decode(ext: PerMessageDeflate, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    ext.decode(data, (err, out) => (err ? reject(err) : resolve(out as Buffer)));
  });
}

/** Resolves with the error a decode fails with (or throws if it succeeds). */
export function decodeError(ext: PerMessageDeflate, data: Buffer): Promise<Error> {
  return decode(ext, data).then(
    () => {
      throw new Error('decode was expected to fail');
    },
    (err: Error) => err,
  );
}

function flushBlock(stream: DeflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => void chunks.push(chunk);
    stream.on('data', onData);
    stream.write(data);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      resolve(Buffer.concat(chunks));
    });
  });
}

/**
 * A permessage-deflate payload (tail removed) that inflates to `mib` MiB of zeros. After the
 * first MiB the compressor's state repeats, so every later MiB compresses to the same bytes;
 * a 1 GiB bomb is built in milliseconds from three flushes.
 */
export async function zeroBomb(mib: number): Promise<Buffer> {
  const stream = createDeflateRaw({ level: 9 });
  const zeros = Buffer.alloc(1 << 20);
  const first = await flushBlock(stream, zeros);
  const second = await flushBlock(stream, zeros);
  const third = await flushBlock(stream, zeros);
  stream.destroy();
  if (!second.equals(third)) throw new Error('zlib state did not settle; cannot build the bomb');
  const parts = [first];
  for (let i = 1; i < mib; i++) parts.push(second);
  const all = Buffer.concat(parts);
  return all.subarray(0, all.length - 4); // RFC 7692 §7.2.1: drop 00 00 ff ff
}

/** The codec that last took each stream (a pooled stream moves between codecs). */
const owners = new WeakMap<InflateRaw, ObservedDeflate>();

/**
 * A codec that records the zlib streams it takes (from the pool or new) and how much they
 * inflate while it holds them. A stream reused from the pool appears once per time taken.
 */
export class ObservedDeflate extends PerMessageDeflate {
  readonly inflaters: InflateRaw[] = [];
  readonly deflaters: DeflateRaw[] = [];
  readonly windowBits: Array<['inflate' | 'deflate', number]> = [];
  /** Streams this codec created (not taken from the pool). */
  created = 0;
  /** Bytes of decompressed output zlib handed to the stream's readers. */
  inflatedBytes = 0;
  /** `bytesWritten` of each inflater when taken (a pooled stream counts its earlier users too). */
  readonly writtenAtTake = new Map<InflateRaw, number>();

  protected override createInflater(windowBits: number): InflateRaw {
    this.created++;
    return super.createInflater(windowBits);
  }

  protected override createDeflater(windowBits: number): DeflateRaw {
    this.created++;
    return super.createDeflater(windowBits);
  }

  protected override takeInflater(windowBits: number): InflateRaw {
    const stream = super.takeInflater(windowBits);
    if (!owners.has(stream)) {
      const push = stream.push.bind(stream);
      // Counts every chunk zlib produces, whether or not anyone reads it, for its current owner.
      stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
        const owner = owners.get(stream);
        if (owner !== undefined && Buffer.isBuffer(chunk)) owner.inflatedBytes += chunk.length;
        return push(chunk, encoding);
      };
    }
    owners.set(stream, this);
    this.writtenAtTake.set(stream, stream.bytesWritten);
    this.inflaters.push(stream);
    this.windowBits.push(['inflate', windowBits]);
    return stream;
  }

  protected override takeDeflater(windowBits: number): DeflateRaw {
    const stream = super.takeDeflater(windowBits);
    this.deflaters.push(stream);
    this.windowBits.push(['deflate', windowBits]);
    return stream;
  }
}

/** Asserts equal bytes; cheaper than toEqual on large buffers, with a short message. */
export function expectBytes(actual: Buffer | undefined, expected: Buffer): void {
  if (actual !== undefined && actual.equals(expected)) return;
  if (actual === undefined) throw new Error('expected bytes, got undefined');
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  throw new Error(`bytes differ: length ${actual.length} vs ${expected.length}, first difference at offset ${i}`);
}
