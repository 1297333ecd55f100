/**
 * The session framing inside WebSocket messages: one ASCII tag in front of every application
 * message, short ASCII acknowledgements and readable control messages. Bytes and strings are
 * both accepted (Node hands text over as bytes, browsers as strings), and the same header is
 * used for text and binary messages so one parser serves both.
 *
 * | first byte | message | rest |
 * | --- | --- | --- |
 * | `@` … `~` (0x40-0x7E) | data, acknowledging `tag − 0x40` (0-62) more messages | the payload |
 * | `1` … `9` (0x31-0x39) | data, acknowledging a count written in that many digits | digits, then the payload |
 * | `#` (0x23) | acknowledgement alone | 1-9 digits: how many more messages are acknowledged |
 * | `!` (0x21) | control | ASCII words separated by one space |
 *
 * Digits are base 64, most significant first, over `0-9 A-Z a-z - _` (so 0-9 read as decimal).
 * Acknowledgements are deltas: the count of messages received since the previous
 * acknowledgement on this connection, whose starting point both sides stated on resumption.
 * Data messages carry no number: a WebSocket connection delivers whole messages in order, so
 * the n-th data message after the resumption point r is message r + n on both sides.
 *
 * @module
 */
import { protocolError } from './errors.js';

/** Tag of a data message acknowledging nothing; `TAG_DATA + d` acknowledges d (≤ {@link MAX_INLINE_DELTA}). */
export const TAG_DATA = 0x40;
/** The largest acknowledgement delta written inside the tag of a data message. */
export const MAX_INLINE_DELTA = 0x7e - TAG_DATA;
/** Tag of an acknowledgement sent alone. */
export const TAG_ACK = 0x23;
/** Tag of a control message. */
export const TAG_CONTROL = 0x21;
/** The most digits of a number: 9 base-64 digits hold 54 bits, enough for every safe integer. */
export const MAX_DIGITS = 9;
/** The longest control message accepted (bytes, tag included). */
export const MAX_CONTROL_LENGTH = 512;

/** What {@link decodeHeader} found. */
export const KIND_DATA = 0;
/** An acknowledgement alone. */
export const KIND_ACK = 1;
/** A control message. */
export const KIND_CONTROL = 2;

const DIGIT_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
/** ASCII code → digit value, or -1. */
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DIGIT_VALUE[DIGIT_CHARS.charCodeAt(i)] = i;

/** The one-character tags of data messages with an inline delta, so framing text allocates no header string. */
const INLINE_TAGS: string[] = [];
for (let d = 0; d <= MAX_INLINE_DELTA; d++) INLINE_TAGS.push(String.fromCharCode(TAG_DATA + d));

/** A decoded header; reused by callers so decoding allocates nothing. */
export interface Header {
  /** {@link KIND_DATA}, {@link KIND_ACK} or {@link KIND_CONTROL}. */
  kind: number;
  /** The acknowledgement delta (data and ack messages). */
  delta: number;
  /** Where the payload (data) or the control words (control) start. */
  start: number;
}

/** A fresh {@link Header}. */
export function newHeader(): Header {
  return { kind: KIND_DATA, delta: 0, start: 0 };
}

function codeAt(data: string | Uint8Array, i: number): number {
  return typeof data === 'string' ? data.charCodeAt(i) : (data[i] as number);
}

function lengthOf(data: string | Uint8Array): number {
  return typeof data === 'string' ? data.length : data.byteLength;
}

/** Reads `count` digits at `from`; throws `WS_SESSION_BAD_FRAME` on a non-digit or a number above 2^53 − 1. */
function readDigits(data: string | Uint8Array, from: number, count: number): number {
  if (count < 1 || count > MAX_DIGITS || from + count > lengthOf(data)) {
    throw protocolError('WS_SESSION_BAD_FRAME', 'Session message with a truncated or overlong number');
  }
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const c = codeAt(data, i);
    const d = c < 128 ? (DIGIT_VALUE[c] as number) : -1;
    if (d < 0) throw protocolError('WS_SESSION_BAD_FRAME', 'Session message with an invalid digit');
    value = value * 64 + d;
  }
  if (value > Number.MAX_SAFE_INTEGER) throw protocolError('WS_SESSION_BAD_FRAME', 'Session number out of range');
  return value;
}

/**
 * Decodes the header of one session message into `out`.
 * @throws SessionError `WS_SESSION_BAD_FRAME` (close 1002) for anything that is not a session message
 */
export function decodeHeader(data: string | Uint8Array, out: Header): void {
  const length = lengthOf(data);
  if (length === 0) throw protocolError('WS_SESSION_BAD_FRAME', 'Empty session message');
  const tag = codeAt(data, 0);
  if (tag >= TAG_DATA && tag <= TAG_DATA + MAX_INLINE_DELTA) {
    out.kind = KIND_DATA;
    out.delta = tag - TAG_DATA;
    out.start = 1;
  } else if (tag >= 0x31 && tag <= 0x39) {
    const count = tag - 0x30;
    out.kind = KIND_DATA;
    out.delta = readDigits(data, 1, count);
    out.start = 1 + count;
  } else if (tag === TAG_ACK) {
    out.kind = KIND_ACK;
    out.delta = readDigits(data, 1, length - 1);
    out.start = length;
  } else if (tag === TAG_CONTROL) {
    if (length > MAX_CONTROL_LENGTH) throw protocolError('WS_SESSION_BAD_FRAME', 'Session control message too long');
    out.kind = KIND_CONTROL;
    out.delta = 0;
    out.start = 1;
  } else {
    throw protocolError('WS_SESSION_BAD_FRAME', `Unknown session message tag 0x${tag.toString(16)}`);
  }
}

/** The payload of a data message: a view (bytes) or a slice (string) past the header. */
export function payloadOf(data: string | Uint8Array, start: number): string | Uint8Array {
  return typeof data === 'string' ? data.slice(start) : data.subarray(start);
}

/** `value` in base-64 digits, most significant first (at least one digit). */
export function encodeDigits(value: number): string {
  let out = '';
  let v = value;
  do {
    out = DIGIT_CHARS[v % 64] + out;
    v = Math.floor(v / 64);
  } while (v > 0);
  return out;
}

/** The header of a data message acknowledging `delta` more messages. */
export function dataHeader(delta: number): string {
  if (delta <= MAX_INLINE_DELTA) return INLINE_TAGS[delta] as string;
  const digits = encodeDigits(delta);
  return String.fromCharCode(0x30 + digits.length) + digits;
}

/** A text data message: header + payload (a string concatenation, no copy of the payload in V8). */
export function frameText(delta: number, payload: string): string {
  return dataHeader(delta) + payload;
}

/**
 * A data message in bytes: one byte for the tag, then the payload. The same buffer is kept in
 * the resend buffer and written again with a new tag byte on each connection it is sent on
 * (see `Channel`), so a binary message is copied once, when it is sent.
 */
export function frameBytes(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(payload.byteLength + 1);
  frame[0] = TAG_DATA;
  frame.set(payload, 1);
  return frame;
}

/** A data message in bytes with a multi-digit acknowledgement (deltas above {@link MAX_INLINE_DELTA}; rare). */
export function frameBytesWithDigits(delta: number, payload: Uint8Array): Uint8Array {
  const header = dataHeader(delta);
  const frame = new Uint8Array(header.length + payload.byteLength);
  for (let i = 0; i < header.length; i++) frame[i] = header.charCodeAt(i);
  frame.set(payload, header.length);
  return frame;
}

/** An acknowledgement alone: `#` and the delta's digits. */
export function ackMessage(delta: number): string {
  return '#' + encodeDigits(delta);
}

/** A control message: `!` and the words separated by one space. */
export function controlMessage(words: readonly string[]): string {
  return '!' + words.join(' ');
}

/**
 * The words of a control message (after the `!`): printable ASCII (0x21-0x7E) separated by
 * exactly one space.
 * @throws SessionError `WS_SESSION_BAD_FRAME` for other bytes, empty words or a message too long
 */
export function controlWords(data: string | Uint8Array): string[] {
  const length = lengthOf(data);
  if (length > MAX_CONTROL_LENGTH) throw protocolError('WS_SESSION_BAD_FRAME', 'Session control message too long');
  for (let i = 1; i < length; i++) {
    const c = codeAt(data, i);
    if (c !== 0x20 && (c < 0x21 || c > 0x7e)) throw protocolError('WS_SESSION_BAD_FRAME', 'Session control message with a byte outside printable ASCII');
  }
  const text = typeof data === 'string' ? data.slice(1) : String.fromCharCode(...data.subarray(1));
  const words = text.split(' ');
  for (const w of words) if (w.length === 0) throw protocolError('WS_SESSION_BAD_FRAME', 'Session control message with an empty word');
  return words;
}

/** A decimal number as written in handshakes and welcomes: no sign, no leading zero, at most 2^53 − 1; else -1. */
export function parseDecimal(text: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) return -1;
  const value = Number(text);
  return value <= Number.MAX_SAFE_INTEGER ? value : -1;
}
