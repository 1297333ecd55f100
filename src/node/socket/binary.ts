/**
 * How a received binary message is handed to listeners, per `binaryType` (as in `ws`):
 * `nodebuffer` (a Buffer), `arraybuffer`, `fragments` (the payload of each frame), `blob`.
 *
 * @module
 */

/** How binary messages are handed to listeners. */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';

/** Every {@link BinaryType}; other values assigned to `binaryType` are ignored. */
export const BINARY_TYPES: readonly string[] = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];

/**
 * A binary message as `type` wants it. `frameStarts` says where the frames after the first
 * start in `data` (for `fragments`; `null` when it came in one frame).
 */
export function binaryMessage(data: Buffer, type: BinaryType, frameStarts: readonly number[] | null): Buffer | ArrayBuffer | Buffer[] | Blob {
  if (type === 'nodebuffer') return data;
  if (type === 'arraybuffer') return toArrayBuffer(data);
  if (type === 'blob') return new Blob([data]);
  return splitFrames(data, frameStarts);
}

/** The `fragments` binary type: the payload of each frame, as `ws` delivers it (views, no copies). */
function splitFrames(data: Buffer, starts: readonly number[] | null): Buffer[] {
  if (starts === null) return [data];
  const out: Buffer[] = [];
  let from = 0;
  for (const start of starts) {
    out.push(data.subarray(from, start));
    from = start;
  }
  out.push(data.subarray(from));
  return out;
}

function toArrayBuffer(data: Buffer): ArrayBuffer {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
    return data.buffer;
  }
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}
