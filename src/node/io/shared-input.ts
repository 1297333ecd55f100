/**
 * Socket reads into one buffer shared by every connection, placed in the masking kernel's memory.
 *
 * By default Node gives each read of each socket a new 64 KiB buffer, and when fewer bytes came
 * it allocates one of the exact size, zero-fills it and copies the bytes over. The bytes of a
 * client's (masked) frame were then copied into the kernel's memory to be unmasked and copied
 * out again. Reading into the kernel's memory removes all of that: the payload is unmasked where
 * it landed, and the one copy left is the one into the message the application receives.
 *
 * A read and its callback run together on the one JavaScript thread, so one buffer serves every
 * socket; whatever outlives the callback (a message, a control payload, input held while paused)
 * is copied by the parser, which is told that its input is borrowed.
 *
 * Node offers this as the `onread` option of `net.connect`, for sockets it constructs for the
 * caller. For sockets a server accepts, the same three fields are set on the socket (found by
 * their names on a fresh socket, once) and its handle is given the buffer; a Node without them,
 * a TLS socket or any other stream keeps ordinary `data` events.
 *
 * @module
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { INPUT_OFFSET, INPUT_SIZE, simdKernel } from '../../core/mask-simd.js';

/**
 * Called with the number of bytes read into `buffer` (from index 0), with the socket as `this`;
 * returning `false` stops reading until `socket.resume()`.
 */
export type SharedInputListener<S extends Duplex> = (this: S, length: number, buffer: Buffer) => boolean;

/** Node's private socket fields behind `onread`: the buffer, the callback, the buffer generator. */
interface ReadFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** The fields, looked for once; `null` when this Node has not all three. */
let readFields: ReadFields | null | undefined;

/** The buffer every socket reads into, created with the first socket that uses it. */
let input: Buffer | undefined;

function findReadFields(): ReadFields | null {
  const named = new Map<string, symbol>();
  for (const symbol of Object.getOwnPropertySymbols(new Socket())) named.set(symbol.description ?? '', symbol);
  const buffer = named.get('kBuffer');
  const callback = named.get('kBufferCb');
  const generator = named.get('kBufferGen');
  return buffer && callback && generator ? { buffer, callback, generator } : null;
}

/** The shared read buffer: in the kernel's memory, or a plain buffer where the kernel cannot run. */
function sharedInput(): Buffer {
  if (input !== undefined) return input;
  const simd = simdKernel();
  input = simd !== null ? Buffer.from(simd.memory.buffer, INPUT_OFFSET, INPUT_SIZE) : Buffer.allocUnsafeSlow(INPUT_SIZE);
  return input;
}

/** A socket as seen through its private fields. */
type Readable = Duplex & {
  _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null;
  [field: symbol]: unknown;
};

/**
 * Makes `socket` read into the shared buffer and call `listener` for each read instead of
 * emitting `data`. Returns `false`, changing nothing, for a socket that cannot (not a plain TCP
 * or pipe socket, already reading into a buffer of its own, or a Node without the fields);
 * bytes already buffered in the stream (unshifted ones) still come as `data` events.
 */
export function readIntoSharedInput<S extends Duplex>(socket: S, listener: SharedInputListener<S>): boolean {
  if (!(socket instanceof Socket) || 'encrypted' in socket) return false;
  if (readFields === undefined) readFields = findReadFields();
  const fields = readFields;
  const readable = socket as unknown as Readable;
  const handle = readable._handle;
  if (fields === null || handle == null || typeof handle.useUserBuffer !== 'function') return false;
  // A socket created with `onread` already has a buffer (and a callback) of its own.
  if (readable[fields.buffer] !== null || readable[fields.callback] !== null) return false;
  const buffer = sharedInput();
  try {
    handle.useUserBuffer(buffer);
  } catch {
    // A handle that refuses a buffer of ours (a runtime imitating Node's) keeps its own reads.
    return false;
  }
  // Set after the handle accepted the buffer; no read can come in between (one thread).
  readable[fields.buffer] = buffer;
  readable[fields.callback] = listener;
  readable[fields.generator] = null;
  return true;
}
