/**
 * Decompression of one permessage-deflate message through a zlib stream that may carry the
 * LZ77 window over from earlier messages (RFC 7692 §7.2.2).
 *
 * @module
 */
import type { InflateRaw } from 'node:zlib';
import { CloseCode } from '../core/constants.js';
import { ProtocolError, WebSocketError } from '../core/errors.js';

/**
 * The 4 octets a sender removes from the end of every compressed message and a receiver
 * appends back before decompressing: the LEN/NLEN of an empty stored block (RFC 7692 §7.2.1,
 * §7.2.2).
 */
export const DEFLATE_TAIL: Buffer = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Called once with the decoded message, or with the reason it could not be decoded.
 * `streamEnded` tells that the peer closed its DEFLATE stream with a BFINAL block, after
 * which the zlib stream cannot decode anything more and must be replaced.
 */
export type InflateCallback = (err: Error | null, data?: Buffer, streamEnded?: boolean) => void;

/** Payloads up to this size are written to zlib joined with the tail, in one write. */
const JOIN_LIMIT = 64 * 1024;

function invalidData(reason: string): ProtocolError {
  return new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', CloseCode.InvalidPayload, `Invalid compressed data: ${reason}`);
}

/** Joins output chunks with a single copy (none for a single chunk). */
export function concatChunks(chunks: Buffer[], size: number): Buffer {
  if (chunks.length === 1) return chunks[0] as Buffer;
  return Buffer.concat(chunks, size);
}

/**
 * Decompresses one message. Output is counted as zlib produces it: as soon as it exceeds
 * `maxPayload` the stream is paused and the job fails with 1009, so a small "bomb" that
 * inflates to gigabytes never costs more than `maxPayload` plus one zlib output chunk. The
 * caller must then destroy the stream (it is left paused, mid-message).
 *
 * Failures call back on a later tick, never from inside zlib's own callback, so the caller
 * may destroy the stream right away.
 *
 * @param stream - the raw inflate stream, created with `flush: Z_SYNC_FLUSH` (its `data`
 *   listeners are this job's while it runs)
 * @param data - the compressed payload, without the 4-octet tail
 * @param maxPayload - the largest decoded size accepted, in bytes
 * @param callback - receives the decoded message or a ProtocolError (1007 or 1009)
 * @returns a function that abandons the job; its callback then receives `WS_ERR_NOT_OPEN`
 */
export function inflateMessage(
  stream: InflateRaw,
  data: Buffer,
  maxPayload: number,
  callback: InflateCallback,
): () => void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const writtenBefore = stream.bytesWritten;

  const settle = (err: Error | null, out?: Buffer, streamEnded?: boolean): void => {
    if (settled) return;
    settled = true;
    stream.off('data', onData);
    stream.off('error', onError);
    if (err) process.nextTick(callback, err);
    else callback(null, out, streamEnded);
  };

  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > maxPayload) {
      // Stop zlib at once: while paused, its next output chunk has nowhere to go and it
      // waits instead of inflating further.
      stream.pause();
      settle(
        new ProtocolError(
          'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
          CloseCode.MessageTooBig,
          `Decompressed message exceeds the limit of ${maxPayload} bytes`,
        ),
      );
      return;
    }
    chunks.push(chunk);
  };

  const onError = (err: Error): void => {
    settle(invalidData(err.message));
  };

  stream.on('data', onData);
  stream.on('error', onError);
  // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the payload, then decompress. The stream
  // flushes every write with Z_SYNC_FLUSH (see codec.ts), so the last write's callback means
  // all output is out. A small payload is joined with the tail (one copy of a few KiB costs
  // less than a second round trip to zlib's thread pool).
  const done = (err?: Error | null): void => {
    if (settled) return;
    if (err) {
      onError(err);
      return;
    }
    // Output pushed while the stream was not flowing would wait in its buffer; read() hands
    // it to onData.
    while (!settled && stream.readableLength > 0 && stream.read() !== null);
    if (settled) return;
    // Input zlib did not consume means the peer ended its DEFLATE stream (BFINAL = 1) before
    // the end of the message. RFC 7692 §7.2.3.4 allows a final block followed by one 0x00
    // octet (the header of the empty block our tail completes); anything else after the end
    // of the stream is data we could not decode.
    const left = data.length + DEFLATE_TAIL.length - (stream.bytesWritten - writtenBefore);
    if (left > 0 && left !== DEFLATE_TAIL.length && !(left === DEFLATE_TAIL.length + 1 && data[data.length - 1] === 0)) {
      settle(invalidData('data after the end of the DEFLATE stream'));
      return;
    }
    settle(null, concatChunks(chunks, size), left > 0);
  };
  if (data.length <= JOIN_LIMIT) {
    stream.write(Buffer.concat([data, DEFLATE_TAIL], data.length + DEFLATE_TAIL.length), done);
  } else {
    stream.write(data);
    stream.write(DEFLATE_TAIL, done);
  }

  return () => {
    settle(new WebSocketError('WS_ERR_NOT_OPEN', 'The connection closed before the message was decoded'));
  };
}
