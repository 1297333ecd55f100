/**
 * Sending one data frame as several (RFC 6455 §5.4): the send scheduler cuts a large frame into
 * fragments so that control frames can go out between them.
 *
 * @internal
 * @module
 */
import type { SendCallback } from '../core/connection.js';
import { Opcode } from '../core/constants.js';
import { headerSize, writeHeader } from '../core/frame-encoder.js';
import { type MaskGenerator, maskInto } from '../core/mask.js';
import { head } from './frame-header.js';

/** Data frames with a larger payload are split into fragments of this many bytes. */
export const DEFAULT_FRAGMENT_SIZE = 64 * 1024;

/** Fragments grow up to this size while the kernel takes each one at once. */
export const MAX_FRAGMENT_SIZE = 1024 * 1024;

/** A data frame being sent in fragments. @internal */
export interface Split {
  opcode: number;
  fin: boolean;
  rsv: number;
  /** The original masking key (client role), to re-mask each fragment with a new one. */
  key: Uint8Array | null;
  /** Payload bytes in order, as views (still masked with `key` when masked). */
  parts: Buffer[];
  part: number;
  offset: number;
  /** Payload length, bytes received from the encoder so far, bytes sent. */
  length: number;
  collected: number;
  sent: number;
}

/** Where fragments go. @internal */
export interface FragmentSink {
  passOut(buffer: Buffer, start: number, end: number, cb?: SendCallback): void;
}

/** A split for the frame whose header `head` holds and which starts at `buffer[start]`. @internal */
export function createSplit(buffer: Buffer, start: number): Split {
  let key: Uint8Array | null = null;
  if (head.masked) {
    const k = start + head.headerLength - 4;
    key = Uint8Array.of(buffer[k] as number, buffer[k + 1] as number, buffer[k + 2] as number, buffer[k + 3] as number);
  }
  return {
    opcode: head.opcode,
    fin: head.fin,
    rsv: head.rsv,
    key,
    parts: [],
    part: 0,
    offset: 0,
    length: head.payloadLength,
    collected: 0,
    sent: 0,
  };
}

const combinedKey = new Uint8Array(4);
const EMPTY = Buffer.alloc(0);

/**
 * Sends the next `n` payload bytes of `split` as one frame (its bytes must have arrived). `cb`
 * goes with the last bytes. @internal
 */
export function writeFragment(
  sink: FragmentSink,
  split: Split,
  n: number,
  masked: boolean,
  cb: SendCallback | undefined,
  generateMask: MaskGenerator | null = null,
): void {
  const first = split.sent === 0;
  const last = split.sent + n === split.length;
  // RFC 6455 §5.4: the first fragment keeps the opcode (and RSV1 of a compressed message,
  // RFC 7692 §6); the others are continuations; only the last carries the original FIN.
  const opcode = first ? split.opcode : Opcode.Continuation;
  const rsv = first ? split.rsv : 0;
  const fin = last ? split.fin : false;
  const mask = masked || split.key !== null;
  const size = headerSize(n, mask);
  if (!mask) {
    const header = Buffer.allocUnsafe(size);
    writeHeader(header, 0, opcode, fin, rsv, n, false);
    sink.passOut(header, 0, size, n === 0 ? cb : undefined);
    let left = n;
    while (left > 0) {
      const part = split.parts[split.part] as Buffer;
      const take = Math.min(left, part.length - split.offset);
      left -= take;
      sink.passOut(part, split.offset, split.offset + take, left === 0 ? cb : undefined);
      advance(split, part, take);
    }
  } else {
    const frame = Buffer.allocUnsafe(size + n);
    writeHeader(frame, 0, opcode, fin, rsv, n, true, generateMask);
    remask(split, frame, size, n);
    sink.passOut(frame, 0, size + n, cb);
  }
  split.sent += n;
}

/**
 * Copies the next `n` payload bytes into `frame` after its header, turning the original mask
 * (key K, from payload offset `sent`) into the fragment's fresh key N (RFC 6455 §5.3: a new key
 * per frame) by XOR with K ^ N.
 */
function remask(split: Split, frame: Buffer, at: number, n: number): void {
  const oldKey = split.key;
  const k = at - 4;
  let done = 0;
  while (done < n) {
    const part = split.parts[split.part] as Buffer;
    const take = Math.min(n - done, part.length - split.offset);
    const from = split.sent + done;
    for (let i = 0; i < 4; i++) {
      const original = oldKey === null ? 0 : (oldKey[(from + i) & 3] as number);
      combinedKey[i] = original ^ (frame[k + ((done + i) & 3)] as number);
    }
    maskInto(part, split.offset, take, combinedKey, frame, at + done);
    done += take;
    advance(split, part, take);
  }
}

function advance(split: Split, part: Buffer, take: number): void {
  split.offset += take;
  if (split.offset === part.length) {
    split.parts[split.part] = EMPTY;
    split.part++;
    split.offset = 0;
  }
}
