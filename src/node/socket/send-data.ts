import type { SendFlags } from '../../core/connection-types.js';

/** Anything `send`, `ping` and `pong` accept as a payload. */
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView | SharedArrayBuffer | number;

/**
 * Converts a payload to a Buffer without copying where possible: Buffers and views are
 * wrapped, strings are encoded as UTF-8, numbers are sent as their decimal text (as `ws` does).
 */
export function toPayload(data: SendData | undefined): Buffer {
  if (data === undefined) return EMPTY;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || isSharedArrayBuffer(data)) return Buffer.from(data);
  if (typeof data === 'number') return Buffer.from(String(data), 'utf8');
  throw new TypeError('The data argument must be a string, Buffer, ArrayBuffer, TypedArray or DataView');
}

function isSharedArrayBuffer(data: unknown): data is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * The flags of a send, as one of eight shared objects: `send()` is called per message, and the
 * connection only reads the flags (truthiness, as the values given by `ws`-style callers).
 */
export function sendFlags(binary: unknown, fin: unknown, compress: unknown): SendFlags {
  return SEND_FLAGS[(binary ? 1 : 0) | (fin ? 2 : 0) | (compress ? 4 : 0)] as SendFlags;
}

const SEND_FLAGS: readonly SendFlags[] = Array.from({ length: 8 }, (_, bits) =>
  Object.freeze({ binary: (bits & 1) !== 0, fin: (bits & 2) !== 0, compress: (bits & 4) !== 0 }),
);
