/**
 * A strict parser for the head of an HTTP/1.x request (RFC 9112 §2-§5): the request line and
 * the header fields up to the empty line. It is what the server created for the `port` option
 * reads upgrade requests with, instead of `node:http` (see node/upgrade-front.ts). Sans-I/O: it
 * takes bytes and returns values or a refusal status.
 *
 * It accepts only what a WebSocket client sends: CRLF line ends, a single space between the
 * parts of the request line, no whitespace before a field's colon and no line folding. Anything
 * else is refused with 400 (RFC 9112 §5.1 and §5.2 require it for whitespace before the colon
 * and for obs-fold), so no two readers of the same bytes can disagree about what they say.
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
  status: 400 | 505;
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

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

// A request target: visible ASCII only (RFC 9112 §3.2, RFC 3986: other bytes are percent-encoded).
const TARGET = /^[\x21-\x7e]+$/;
// A field value: visible characters, space and tab; no other control (RFC 9110 §5.5).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Parses `text`, a request head decoded as latin1 (each byte one character, as HTTP/1.1 field
 * values are octets) without its final empty line.
 *
 * @returns the head, or the status to refuse it with: 400 for any malformed part, 505 for an
 *   HTTP major version other than 1
 */
export function parseRequestHead(text: string): RequestHead | RequestHeadError {
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
  // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (version.length !== 8 || !version.startsWith('HTTP/') || version.charCodeAt(6) !== 0x2e) return bad('Invalid HTTP version');
  const versionMajor = version.charCodeAt(5) - 0x30;
  const versionMinor = version.charCodeAt(7) - 0x30;
  if (versionMajor < 0 || versionMajor > 9 || versionMinor < 0 || versionMinor > 9) return bad('Invalid HTTP version');
  if (versionMajor !== 1) return { status: 505, message: 'HTTP version not supported' };

  const rawHeaders: string[] = [];
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
    rawHeaders.push(name, value);
    pos = end + 2;
  }
  return { method, url, versionMajor, versionMinor, rawHeaders };
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
