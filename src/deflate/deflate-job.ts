/**
 * Compression of one permessage-deflate message, or of one fragment of it, through a zlib
 * stream that may carry the LZ77 window over from earlier messages (RFC 7692 §7.2.1).
 *
 * @module
 */
import type { DeflateRaw } from 'node:zlib';
import { WebSocketError } from '../core/errors.js';
import { concatChunks, DEFLATE_TAIL } from './inflate-job.js';

/** Called once with the compressed payload, or with the reason compression failed. */
export type DeflateCallback = (err: Error | null, data?: Buffer) => void;

/** The header octet of an empty non-final stored block: BFINAL 0, BTYPE 00, padding. */
const EMPTY_BLOCK_HEADER: Buffer = Buffer.from([0x00]);
const EMPTY: Buffer = Buffer.alloc(0);

function noop(): void {}

/**
 * Drops the 4-octet tail of a payload flushed with Z_SYNC_FLUSH (RFC 7692 §7.2.1 step 3).
 * When zlib had nothing to flush (its previous flush already ended the data), the result is
 * the lone 0x00 of RFC 7692 §7.2.3.6: with the receiver's appended tail it forms an empty
 * stored block, so both ends stay on a block boundary.
 */
function removeTail(out: Buffer): Buffer | null {
  if (out.length === 0) return EMPTY_BLOCK_HEADER;
  const start = out.length - DEFLATE_TAIL.length;
  if (start >= 0 && out.subarray(start).equals(DEFLATE_TAIL)) return out.subarray(0, start);
  return null;
}

/**
 * Compresses `data` and flushes it with Z_SYNC_FLUSH (the stream's default flush mode, set by
 * the codec when it creates the stream), so that the output ends on a byte
 * boundary with an empty stored block (RFC 7692 §7.2.1 steps 1-2). When `fin` is set, that
 * block's last 4 octets are removed (step 3); a fragment that is not the last keeps them,
 * which a receiver reads as an empty block in the middle of the message.
 *
 * @param stream - the raw deflate stream, created with `flush: Z_SYNC_FLUSH` (its `data`
 *   listeners are this job's while it runs)
 * @param data - the message or fragment
 * @param fin - whether this is the last (or only) part of the message
 * @param callback - receives the payload to send or a `WS_ERR_EXTENSION_FAILED` error
 * @returns a function that abandons the job; its callback then receives `WS_ERR_NOT_OPEN`
 */
export function deflateMessage(stream: DeflateRaw, data: Buffer, fin: boolean, callback: DeflateCallback): () => void {
  if (data.length === 0) {
    // Nothing for zlib (a sync flush with no input after the previous one emits nothing): the
    // previous output ended on a block boundary, so the lone empty-block header of RFC 7692
    // §7.2.3.6 ends a message, and no octet at all continues one.
    process.nextTick(callback, null, fin ? EMPTY_BLOCK_HEADER : EMPTY);
    return noop;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;

  const settle = (err: Error | null, out?: Buffer): void => {
    if (settled) return;
    settled = true;
    stream.off('data', onData);
    stream.off('error', onError);
    if (err) process.nextTick(callback, err);
    else callback(null, out);
  };

  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    chunks.push(chunk);
  };

  const onError = (err: Error): void => {
    settle(new WebSocketError('WS_ERR_EXTENSION_FAILED', `Compression failed: ${err.message}`, { cause: err }));
  };

  stream.on('data', onData);
  stream.on('error', onError);
  // The stream flushes every write with Z_SYNC_FLUSH (see codec.ts): one zlib call per message
  // instead of a write and a separate flush, each a round trip to the thread pool.
  stream.write(data, (err?: Error | null) => {
    if (settled) return;
    if (err) {
      onError(err);
      return;
    }
    while (!settled && stream.readableLength > 0 && stream.read() !== null);
    if (settled) return;
    const out = concatChunks(chunks, size);
    if (!fin) {
      settle(null, out);
      return;
    }
    const payload = removeTail(out);
    if (payload === null) onError(new Error('zlib did not end the output with an empty stored block'));
    else settle(null, payload);
  });

  return () => {
    settle(new WebSocketError('WS_ERR_NOT_OPEN', 'The connection closed before the message was compressed'));
  };
}
