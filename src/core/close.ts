/**
 * Close frame payloads: a 2-byte status code and an optional UTF-8 reason
 * (RFC 6455 §5.5.1), and which codes may appear on the wire (RFC 6455 §7.4).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { CloseCode, MAX_CLOSE_REASON } from './constants.js';
import { ProtocolError } from './errors.js';
import { isValidUtf8 } from './utf8.js';

const EMPTY = Buffer.alloc(0);

/**
 * Whether `code` may be carried in a close frame.
 *
 * RFC 6455 §7.4.1/§7.4.2 and the IANA registry: 1000-1003 and 1007-1014 are defined;
 * 1004 is reserved; 1005, 1006 and 1015 are reserved for local reporting and MUST NOT be
 * sent; 3000-3999 are registered for libraries and frameworks, 4000-4999 are for private use.
 * Everything else (0-999, unassigned 1016-2999, and 5000 up) is invalid.
 *
 * @param code - A status code read from or about to be written to a close frame.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

/**
 * Parses a received close frame payload (RFC 6455 §5.5.1).
 *
 * @param payload - The unmasked payload; may be a view into a reused buffer.
 * @param skipUtf8Validation - Accept a reason that is not UTF-8 (the `skipUTF8Validation` option).
 * @returns The status code and reason. An empty payload reports 1005 (no status, RFC 6455
 * §7.1.5) with an empty reason. The reason is a copy, safe to keep.
 * @throws ProtocolError `WS_ERR_INVALID_CLOSE_PAYLOAD` (1002) for a 1-byte payload,
 * `WS_ERR_INVALID_CLOSE_CODE` (1002) for a code that may not be sent, and
 * `WS_ERR_INVALID_UTF8` (1007) for a reason that is not UTF-8.
 */
export function parseClosePayload(payload: Uint8Array, skipUtf8Validation = false): { code: number; reason: Buffer } {
  const length = payload.length;
  if (length === 0) return { code: CloseCode.NoStatus, reason: EMPTY };
  // RFC 6455 §5.5.1: if there is a body, its first two bytes MUST be the status code.
  if (length === 1) {
    throw new ProtocolError(
      'WS_ERR_INVALID_CLOSE_PAYLOAD',
      CloseCode.ProtocolError,
      'Close frame payload of 1 byte: a status code needs 2',
    );
  }
  // Network byte order (RFC 6455 §5.5.1).
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    throw new ProtocolError('WS_ERR_INVALID_CLOSE_CODE', CloseCode.ProtocolError, `Invalid close code ${code}`);
  }
  if (length === 2) return { code, reason: EMPTY };
  const reasonBytes = payload.subarray(2);
  // RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection with 1007.
  if (!skipUtf8Validation && !isValidUtf8(reasonBytes)) {
    throw new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Close reason is not valid UTF-8');
  }
  // Copy: the payload may be a view into a chunk the parser will reuse.
  return { code, reason: Buffer.from(reasonBytes) };
}

/**
 * Builds a close frame payload (RFC 6455 §5.5.1). All checks run before anything is written.
 *
 * @param code - Status code; omit for an empty payload (no code, no reason).
 * @param reason - UTF-8 text or bytes, at most 123 bytes once encoded.
 * @returns The payload: empty, or the code in network byte order followed by the reason.
 * A reason without a code is dropped (the payload is then empty), as `ws` does.
 * @throws TypeError if the code may not be sent
 * (see {@link isValidCloseCode}; 1005, 1006 and 1015 never), or if a byte reason is not UTF-8.
 * @throws RangeError if the reason is longer than 123 bytes.
 */
export function encodeClosePayload(code?: number, reason?: string | Uint8Array): Buffer {
  // As in `ws`: without a code there is no payload, so a reason alone is dropped (RFC 6455
  // §5.5.1: a body starts with the code).
  if (code === undefined) return Buffer.alloc(0);
  const hasReason = reason !== undefined && reason.length > 0;
  if (!isValidCloseCode(code)) {
    throw new TypeError(
      `Invalid close code ${String(code)}: use 1000-1003, 1007-1014 or 3000-4999 (1005, 1006 and 1015 are never sent)`,
    );
  }
  let reasonLength = 0;
  if (hasReason) {
    if (typeof reason === 'string') {
      reasonLength = Buffer.byteLength(reason, 'utf8');
    } else {
      // RFC 6455 §5.5.1: the reason MUST be UTF-8; sending anything else makes the peer fail with 1007.
      if (!isValidUtf8(reason)) throw new TypeError('Close reason bytes are not valid UTF-8');
      reasonLength = reason.length;
    }
    // RFC 6455 §5.5: control payloads are at most 125 bytes, 2 of which hold the code.
    if (reasonLength > MAX_CLOSE_REASON) {
      throw new RangeError(`Close reason is ${reasonLength} bytes; the limit is ${MAX_CLOSE_REASON}`);
    }
  }
  const out = Buffer.allocUnsafe(2 + reasonLength);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  if (reasonLength > 0) {
    if (typeof reason === 'string') out.write(reason, 2, 'utf8');
    else out.set(reason!, 2);
  }
  return out;
}
