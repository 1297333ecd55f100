/**
 * A strict parser for the head of an HTTP/1.x request (RFC 9112 §2-§5): the request line and
 * the header fields up to the empty line. It is what the server created for the `port` option
 * reads upgrade requests with, instead of `node:http` (see node/server/upgrade-front.ts). Sans-I/O: it
 * takes bytes and returns values or a refusal status.
 *
 * It accepts only what a WebSocket client sends: CRLF line ends, a single space between the
 * parts of the request line, an origin-form or absolute-form target, no whitespace before a
 * field's colon, no line folding, one Host, and no body. Anything else is refused with 400
 * (RFC 9112 §5.1 and §5.2 require it for whitespace before the colon and for obs-fold, §3.2 for
 * a missing or repeated Host), so no two readers of the same bytes can disagree about what they
 * say: where the request ends, which host it is for, or where the WebSocket stream begins.
 *
 * Line ends are checked as bytes arrive ({@link scanRequestHead}), so a head with bare LF line
 * ends, which never shows the CRLF CRLF that ends a head, is refused at once instead of at the
 * timeout, and the answer does not depend on how the bytes were split into reads.
 *
 * @module
 */
import { isToken } from './headers.js';

/** Default limit of a request head, request line included (Node's `maxHeaderSize` default). */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

/** A parsed request head. */
export interface RequestHead {
  /** The method, as sent (methods are case-sensitive: RFC 9110 §9.1). */
  method: string;
  /** The request target, e.g. `/chat?room=1`. */
  url: string;
  versionMajor: number;
  versionMinor: number;
  /** Field names and values alternating, names as sent, values without surrounding whitespace. */
  rawHeaders: string[];
}

/** A head that must be refused, with the HTTP status to answer. */
export interface RequestHeadError {
  status: 400 | 431 | 505;
  message: string;
}

/**
 * Finds the end of a request head: the index just past its empty line (`\r\n\r\n`), or -1 while
 * it has not arrived. `from` is where the previous search stopped looking (the bytes before it
 * were already searched), so a head arriving in many pieces is scanned once.
 */
export function findHeadEnd(data: Buffer, from: number): number {
  const at = data.indexOf(HEAD_END, from > 3 ? from - 3 : 0);
  return at === -1 ? -1 : at + 4;
}

/** {@link scanRequestHead}: the head has not ended yet and nothing in it is wrong so far. */
export const HEAD_INCOMPLETE = -1;

/**
 * Looks at the bytes of a request head received so far: `data` holds all of them, and the first
 * `searched` were looked at by the previous call. Returns the index just past the head's empty
 * line, {@link HEAD_INCOMPLETE}, or a refusal:
 * - 431 once the head is longer than `maxHeaderSize` bytes (its final CRLF CRLF not counted, so
 *   a head of exactly `maxHeaderSize` bytes passes however its end arrives);
 * - 400 for a bare LF or a CR not followed by LF among the first `maxHeaderSize` bytes of a head
 *   that has not ended. RFC 9112 §2.2 lets a recipient take a bare LF as a line end and requires
 *   a bare CR to be refused or read as a space; we refuse both, as node:http does. Without this,
 *   such a head would wait for a CRLF CRLF that never comes.
 *
 * Whatever the split of the bytes into reads, the answer is the same: the first fault in byte
 * order wins, and {@link parseRequestHead} reports a bad line end before anything else.
 */
export function scanRequestHead(data: Buffer, searched: number, maxHeaderSize: number): number | RequestHeadError {
  const end = findHeadEnd(data, searched);
  if (end !== -1 && end - 4 <= maxHeaderSize) return end;
  // The head ended above the limit, or has not ended: a bad line end seen before the limit
  // (which a read of fewer bytes would have seen first) wins over the size.
  const limit = Math.min(end === -1 ? data.length : end - 4, maxHeaderSize);
  if (findBadLineEnd(data, searched > 0 ? searched - 1 : 0, limit) !== -1) return bad(BAD_LINE_END);
  // Up to 3 bytes at the end may be the start of the final CRLF CRLF, which the limit leaves out.
  if (end !== -1 || data.length - pendingHeadEnd(data) > maxHeaderSize) return { status: 431, message: 'Request head too large' };
  return HEAD_INCOMPLETE;
}

/** How many bytes at the end of `data` begin a CRLF CRLF (0-3). */
function pendingHeadEnd(data: Buffer): number {
  const n = data.length;
  if (n >= 3 && data[n - 3] === CR && data[n - 2] === LF && data[n - 1] === CR) return 3;
  if (n >= 2 && data[n - 2] === CR && data[n - 1] === LF) return 2;
  return n >= 1 && data[n - 1] === CR ? 1 : 0;
}

/**
 * The index of the first bare LF, or of the first CR followed by something else than LF, in
 * `data[from, to)`; -1 if none. A CR at the end of `data` is not judged until its next byte.
 */
export function findBadLineEnd(data: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = data[i];
    if (c === LF) {
      if (i === 0 || data[i - 1] !== CR) return i;
    } else if (c === CR) {
      if (i + 1 < data.length && data[i + 1] !== LF) return i;
    }
  }
  return -1;
}

const CR = 0x0d;
const LF = 0x0a;
const BAD_LINE_END = 'Malformed line end';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

// A request target: visible ASCII only (RFC 9112 §3.2, RFC 3986: other bytes are percent-encoded).
const TARGET = /^[\x21-\x7e]+$/;
// RFC 9112 §3.2.2 absolute-form, for the schemes a WebSocket request can name: the authority
// (group 1) has no userinfo (RFC 9110 §4.2.4: a recipient SHOULD treat it as an error) and is
// followed by the path, the query or nothing.
const ABSOLUTE_FORM = /^(?:https?|wss?):\/\/([^/?#@]+)(?:[/?]|$)/i;
// An IP literal in Host, with an optional port (RFC 3986 §3.2.2; IPvFuture is not taken).
const IP_LITERAL_HOST = /^\[[0-9A-Fa-f:.]+\](?::[0-9]*)?$/;
// The characters of a reg-name (RFC 3986 §3.2.2): unreserved, pct-encoded and sub-delims.
const REG_NAME = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=") REG_NAME[c.charCodeAt(0)] = 1;
// A field value: visible characters, space and tab; no other control (RFC 9110 §5.5).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Parses `text`, a request head decoded as latin1 (each byte one character, as HTTP/1.1 field
 * values are octets) without its final empty line.
 *
 * Beyond the syntax, it refuses what would let two readers see different requests in the same
 * bytes: a target that is neither origin-form (`/path?query`) nor absolute-form (RFC 9112
 * §3.2.1-§3.2.2; node:http refuses the others too, except `*`), an absolute-form target whose
 * authority is not the Host field, no Host in HTTP/1.1 or more than one (RFC 9112 §3.2), and any
 * body: a `Content-Length` other than a single `0`, any `Transfer-Encoding`. RFC 9110 §9.3.1: a
 * GET's content has no defined meaning and may be rejected as a smuggling attempt; here the bytes
 * after the head are the WebSocket stream, so a body would be read as frames.
 *
 * @returns the head, or the status to refuse it with: 400 for any malformed part, 505 for an
 *   HTTP major version other than 1. A head with a bad line end anywhere always gets 400
 *   `Malformed line end`, the answer {@link scanRequestHead} gives when the head arrives in pieces.
 */
export function parseRequestHead(text: string): RequestHead | RequestHeadError {
  const result = parseWellFormed(text);
  // Only a refused head can hold a bad line end: each one breaks the part it is in.
  if (isHeadError(result) && findBadLineEndIn(text) !== -1) return bad(BAD_LINE_END);
  return result;
}

function parseWellFormed(text: string): RequestHead | RequestHeadError {
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  const requestLine = text.slice(0, lineEnd);
  // RFC 9112 §3: method SP request-target SP HTTP-version, single spaces.
  const sp1 = requestLine.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : requestLine.indexOf(' ', sp1 + 1);
  if (sp2 === -1 || requestLine.indexOf(' ', sp2 + 1) !== -1) return bad('Malformed request line');
  const method = requestLine.slice(0, sp1);
  const url = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (!isToken(method)) return bad('Invalid method');
  if (!TARGET.test(url)) return bad('Invalid request target');
  // RFC 9112 §3.2.1 origin-form starts with "/"; anything else must be absolute-form.
  let authority: string | undefined;
  if (url.charCodeAt(0) !== 0x2f) {
    authority = ABSOLUTE_FORM.exec(url)?.[1];
    if (authority === undefined) return bad('Invalid request target');
  }
  // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (version.length !== 8 || !version.startsWith('HTTP/') || version.charCodeAt(6) !== 0x2e) return bad('Invalid HTTP version');
  const versionMajor = version.charCodeAt(5) - 0x30;
  const versionMinor = version.charCodeAt(7) - 0x30;
  if (versionMajor < 0 || versionMajor > 9 || versionMinor < 0 || versionMinor > 9) return bad('Invalid HTTP version');
  if (versionMajor !== 1) return { status: 505, message: 'HTTP version not supported' };

  const rawHeaders: string[] = [];
  let host: string | undefined;
  let contentLength = false;
  let pos = lineEnd + 2;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', pos);
    if (colon === -1 || colon >= end) return bad('Malformed header line');
    // A leading space (obs-fold) or space before the colon makes the name a non-token.
    const name = text.slice(pos, colon);
    if (!isToken(name)) return bad('Invalid header name');
    const value = trimFieldValue(text, colon + 1, end);
    // The value still holds any lone CR or LF of its line: FIELD_VALUE refuses them.
    if (!FIELD_VALUE.test(value)) return bad('Invalid header value');
    // The fields that say where the request ends and which host it is for (names are
    // case-insensitive: RFC 9110 §5.1). The length alone spares the other fields the comparison.
    const n = name.length;
    if (n === 4 && isNamed(name, 'host')) {
      // RFC 9112 §3.2: more than one Host field line MUST be answered with 400.
      if (host !== undefined) return bad('Duplicate Host header');
      host = value;
    } else if (n === 14 && isNamed(name, 'content-length')) {
      if (contentLength || value !== '0') return bad('A request body is not allowed');
      contentLength = true;
    } else if (n === 17 && isNamed(name, 'transfer-encoding')) {
      return bad('A request body is not allowed');
    }
    rawHeaders.push(name, value);
    pos = end + 2;
  }
  if (host === undefined) {
    // RFC 9112 §3.2: an HTTP/1.1 request without Host MUST be answered with 400.
    if (versionMinor >= 1) return bad('Missing Host header');
  } else if (!isHost(host)) {
    return bad('Invalid Host header');
  }
  // RFC 9112 §3.2.2 has a server take the host from an absolute-form target and ignore Host;
  // code that reads `headers.host` would not, so the two must name the same authority.
  if (authority !== undefined && (host === undefined || authority.toLowerCase() !== host.toLowerCase())) {
    return bad('Request target and Host header disagree');
  }
  return { method, url, versionMajor, versionMinor, rawHeaders };
}

/**
 * RFC 9110 §7.2: Host = uri-host [ ":" port ], where uri-host is an IP literal or a reg-name
 * (which covers IPv4 addresses). Empty is allowed: a target without an authority.
 */
function isHost(host: string): boolean {
  if (host.charCodeAt(0) === 0x5b) return IP_LITERAL_HOST.test(host);
  const colon = host.indexOf(':');
  const nameEnd = colon === -1 ? host.length : colon;
  for (let i = 0; i < nameEnd; i++) {
    if (REG_NAME[host.charCodeAt(i)] !== 1) return false;
  }
  if (colon === -1) return true;
  for (let i = colon + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Whether the token `name` is `lower` in any case. `| 0x20` lower-cases letters and keeps `-`;
 * no other token character maps onto a letter or `-` that way, so the test is exact.
 */
function isNamed(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** {@link findBadLineEnd} over a head's text (a CR at its very end is bad: the head ended). */
function findBadLineEndIn(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === LF) {
      if (i === 0 || text.charCodeAt(i - 1) !== CR) return i;
    } else if (c === CR) {
      if (text.charCodeAt(i + 1) !== LF) return i;
    }
  }
  return -1;
}

/** `text[start, end)` without leading and trailing spaces and tabs (RFC 9110 §5.5: OWS). */
function trimFieldValue(text: string, start: number, end: number): string {
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function bad(message: string): RequestHeadError {
  return { status: 400, message };
}

/** Tells a parse result that is a refusal from a head. */
export function isHeadError(result: RequestHead | RequestHeadError): result is RequestHeadError {
  return (result as RequestHeadError).status !== undefined;
}

// Node's documented rules for `message.headers`: duplicates of these fields are discarded.
const SINGLE_VALUE_FIELDS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * Builds the `headers` object of a request from its raw fields, as `node:http` documents it:
 * names in lower case; duplicates of single-value fields (`host`, `authorization`, ...) are
 * dropped; `set-cookie` is always an array; repeated `cookie` values are joined with `; ` and
 * every other repeated field with `, `.
 */
export function headersObject(rawHeaders: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    // Own properties only: a field named like an Object.prototype member is still a new field.
    const prev = Object.hasOwn(headers, name) ? headers[name] : undefined;
    if (name === 'set-cookie') {
      if (Array.isArray(prev)) prev.push(value);
      else headers[name] = [value];
    } else if (prev === undefined) {
      headers[name] = value;
    } else if (!SINGLE_VALUE_FIELDS.has(name)) {
      headers[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return headers;
}
