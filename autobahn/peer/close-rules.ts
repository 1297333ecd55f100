/**
 * Which close codes may appear in a close frame, as the suite's endpoint judges them (RFC 6455 §7.4 and the IANA
 * registry): 1000-1003, 1007-1014, and 3000-4999. Codes below 1000, the reserved 1004-1006 and 1015, unassigned
 * 1016-2999, and 5000 up are a protocol violation. Shared by the session and the fuzzer's oracle (test/fuzz).
 */

// Codes below 3000 that may appear in a close frame (RFC 6455 §7.4.1 plus the IANA registrations 1012-1014).
const ALLOWED_CODES = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]);

/** True when `code` may be sent in a close frame. */
export function closeCodeAllowed(code: number): boolean {
  return !(code < 1000 || (code <= 2999 && !ALLOWED_CODES.has(code)) || code >= 5000);
}
