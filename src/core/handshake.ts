/**
 * The opening handshake without sockets (RFC 6455 §4): the accept key, validation of a
 * client's upgrade request, the origin policy, the server's 101 or error response, and the
 * client's verification of the server's response.
 *
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { Buffer } from 'node:buffer';
import { WS_GUID } from './constants.js';
import { WebSocketError } from './errors.js';
import {
  hasToken,
  headerTokens,
  isToken,
  parseExtensions,
  parseProtocolList,
  type ExtensionOffer,
} from './headers.js';

/**
 * Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: the base64 of the SHA-1 of the
 * key concatenated with the protocol GUID (RFC 6455 §1.3, §4.2.2 step 5.4).
 *
 * @param key - the client's `Sec-WebSocket-Key`, exactly as sent
 */
export function acceptKey(key: string): string {
  if (oneShotHash !== undefined) return oneShotHash('sha1', key + WS_GUID, 'base64');
  return nodeCrypto.createHash('sha1').update(key + WS_GUID, 'latin1').digest('base64');
}

/**
 * `crypto.hash` (Node 20.12 and later): one call instead of a Hash object per handshake, about
 * half the cost. Looked up on the namespace so that earlier Node 20 releases load this module.
 */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/**
 * Generates a fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded (RFC 6455 §4.1,
 * client requirement 7).
 */
export function generateKey(): string {
  return nodeCrypto.randomBytes(16).toString('base64');
}

// 16 bytes encode to 22 base64 digits plus '==' padding.
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Tells whether `key` is a valid `Sec-WebSocket-Key`: base64 that decodes to exactly 16 bytes
 * (RFC 6455 §4.2.1 item 5). Strict: 24 characters of the standard alphabet ending in `==`, so
 * base64url, missing padding and surrounding whitespace are all refused.
 *
 * @param key - the header value, or `undefined` when absent
 */
export function isValidKey(key: string | undefined): boolean {
  return key !== undefined && KEY_PATTERN.test(key);
}

/** The parts of an upgrade request the handshake reads; Node's `IncomingMessage` fits. */
export interface UpgradeRequestLike {
  /** The request method; must be `GET`. */
  method?: string;
  /** The HTTP version without the `HTTP/` prefix, e.g. `1.1`. */
  httpVersion: string;
  /** Header names in lower case, as Node reports them. */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The outcome of {@link checkUpgradeRequest}: what the server needs to answer the handshake,
 * or the HTTP status, message and extra headers of the refusal to send.
 */
export type RequestCheck =
  | {
      ok: true;
      /** The validated `Sec-WebSocket-Key`. */
      key: string;
      /** Offered subprotocols in the client's order of preference. */
      protocols: string[];
      /** Offered extensions in the client's order of preference. */
      extensions: ExtensionOffer[];
      /** The `Origin` header, if any; several lines are joined with `, ` (and so never match). */
      origin: string | undefined;
    }
  | { ok: false; status: number; message: string; headers?: Record<string, string> };

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function reject(status: number, message: string, headers?: Record<string, string>): RequestCheck {
  return headers === undefined ? { ok: false, status, message } : { ok: false, status, message, headers };
}

/**
 * Validates a client's opening handshake (RFC 6455 §4.2.1) and reports either what the server
 * needs to accept it or how to refuse it. Checks, in order:
 *
 * | check | status on failure |
 * | --- | --- |
 * | method is `GET` | 405, with `Allow: GET` |
 * | HTTP version is 1.1 or later | 505 (400 when unparseable) |
 * | no body: no `Transfer-Encoding`, `Content-Length` absent or `0` | 400 |
 * | `Upgrade` contains `websocket` | 400 |
 * | `Connection` contains `upgrade` | 400 |
 * | `Sec-WebSocket-Version` is `13` | 426, with `Sec-WebSocket-Version: 13` |
 * | `Sec-WebSocket-Key` is valid | 400 |
 * | `Sec-WebSocket-Protocol` / `-Extensions` parse | 400 |
 *
 * The `Host` header and the origin policy are not checked here; see {@link isOriginAllowed}.
 *
 * @param req - the upgrade request
 */
export function checkUpgradeRequest(req: UpgradeRequestLike): RequestCheck {
  const h = req.headers;
  // RFC 6455 §4.2.1 item 1: an HTTP/1.1 or higher GET request. Methods are case-sensitive
  // (RFC 7231 §4.1).
  if (req.method !== 'GET') return reject(405, 'Method must be GET', { Allow: 'GET' });

  if (req.httpVersion !== '1.1') {
    const version = /^(\d+)\.(\d+)$/.exec(req.httpVersion);
    if (version === null) return reject(400, 'Invalid HTTP version');
    const major = Number(version[1]);
    const minor = Number(version[2]);
    if (major < 1 || (major === 1 && minor < 1)) return reject(505, 'HTTP/1.1 or later required');
  }

  // RFC 9110 §9.3.1: a GET's content has no defined meaning, and the bytes after an upgrade
  // request's head are WebSocket frames: a body would be read as frames. node:http upgrades
  // such requests and hands the body over as the first bytes of the connection.
  const length = single(h['content-length']);
  if (h['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0')) {
    return reject(400, 'An upgrade request has no body');
  }

  // RFC 6455 §4.2.1 item 3: Upgrade includes "websocket", compared case-insensitively.
  if (!hasToken(h.upgrade, 'websocket')) return reject(400, 'Upgrade header must include "websocket"');
  // RFC 6455 §4.2.1 item 4: Connection includes the token "Upgrade", case-insensitively.
  if (!hasToken(h.connection, 'upgrade')) return reject(400, 'Connection header must include "Upgrade"');

  // RFC 6455 §4.2.1 item 6 and §4.4: any other version gets 426 naming the one we speak.
  const wsVersion = single(h['sec-websocket-version']);
  if (wsVersion !== '13' && wsVersion?.trim() !== '13') {
    return reject(426, 'Sec-WebSocket-Version must be 13', { 'Sec-WebSocket-Version': '13' });
  }

  // RFC 6455 §4.2.1 item 5. Several Key lines are joined and so fail the strict pattern.
  const key = single(h['sec-websocket-key']);
  if (key === undefined || !isValidKey(key)) return reject(400, 'Missing or invalid Sec-WebSocket-Key');

  // RFC 6455 §4.2.1 items 8 and 9: optional, but a malformed value is a bad request.
  const protocols = parseProtocolList(h['sec-websocket-protocol']);
  if (protocols === null) return reject(400, 'Invalid Sec-WebSocket-Protocol header');
  const extensions = parseExtensions(h['sec-websocket-extensions']);
  if (extensions === null) return reject(400, 'Invalid Sec-WebSocket-Extensions header');

  return { ok: true, key, protocols, extensions, origin: single(h.origin) };
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' };

// scheme "://" authority [ "/" ], where the authority has no userinfo, path, query or
// fragment. RFC 6454 §6.1 serializes an origin without a trailing slash; one is tolerated so
// that a configured 'https://example.com/' still matches.
const ORIGIN_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/((?:\[[0-9A-Fa-f:.]+\]|[^\s/?#@[\]\\:]+)(?::\d*)?)\/?$/;

/**
 * Normalizes a serialized origin for comparison: lower-case, no trailing slash, the default
 * port of the scheme removed. Returns `null` for anything that is not `scheme://host[:port]`.
 */
function normalizeOrigin(origin: string): string | null {
  const m = ORIGIN_PATTERN.exec(origin.trim());
  if (m === null) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  let authority = (m[2] ?? '').toLowerCase();
  const port = /:(\d*)$/.exec(authority);
  if (port !== null) {
    authority = authority.slice(0, port.index);
    const digits = port[1] ?? '';
    // An empty port means the default (RFC 3986 §3.2.3); "0443" is port 443.
    if (digits !== '') {
      const n = String(Number(digits));
      if (n !== DEFAULT_PORTS[scheme]) authority += `:${n}`;
    }
  }
  return `${scheme}://${authority}`;
}

/**
 * Decides whether a handshake's `Origin` is acceptable, to stop cross-site WebSocket hijacking
 * (RFC 6455 §10.2: the `Origin` header protects against scripts from other sites, not against
 * non-browser clients, which may send anything).
 *
 * - No `Origin`: allowed — the client is not a browser.
 * - An `http(s)` origin whose host and port equal the `Host` header: allowed (same origin).
 *   Case-insensitive; the scheme's default port (80 / 443) may be written or omitted on either side.
 * - An origin listed in `allowedOrigins`, compared after normalizing both (lower-case scheme
 *   and host, default port and trailing slash removed): allowed. `'*'` allows every origin.
 * - `Origin: null` (sandboxed frames, `file:` pages): refused unless `'null'` or `'*'` is listed.
 * - Anything else: refused.
 *
 * @param origin - the `Origin` header, or `undefined` when absent
 * @param host - the `Host` header, or `undefined` when absent
 * @param allowedOrigins - extra origins to accept, e.g. `['https://app.example.com']`
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[] | undefined,
): boolean {
  if (origin === undefined) return true;
  const normalized = origin.trim() === 'null' ? 'null' : normalizeOrigin(origin);

  if (allowedOrigins !== undefined) {
    for (const allowed of allowedOrigins) {
      const entry = allowed.trim();
      if (entry === '*') return true;
      if (normalized === null) continue;
      const candidate = entry === 'null' ? 'null' : normalizeOrigin(entry);
      if (candidate === normalized) return true;
    }
  }

  if (normalized === null || normalized === 'null' || host === undefined) return false;
  const scheme = normalized.slice(0, normalized.indexOf(':'));
  if (scheme !== 'http' && scheme !== 'https') return false;
  // Read the Host header as an authority of the Origin's scheme, so that `example.com` and
  // `example.com:443` are the same host for an https Origin but not for an http one.
  return normalizeOrigin(`${scheme}://${host}`) === normalized;
}

// A header line must not carry CR or LF, which would end it early and let the rest be read
// as further headers or as the body (response splitting, RFC 7230 §3.2.4).
function assertHeaderText(text: string): void {
  if (/[\r\n\0]/.test(text)) throw new TypeError(`Invalid character in header: ${JSON.stringify(text)}`);
}

/**
 * The header lines of the server's `101 Switching Protocols` response (RFC 6455 §4.2.2
 * step 5), status line first, without the terminating blank line. The server lets listeners
 * of its `headers` event add lines before {@link formatResponseHead} writes them.
 *
 * @param key - the client's validated `Sec-WebSocket-Key`
 * @param protocol - the selected subprotocol, or `undefined`/'' for none
 * @param extensions - the accepted `Sec-WebSocket-Extensions` value, or `undefined`/'' for none
 */
export function acceptResponseLines(key: string, protocol: string | undefined, extensions: string | undefined): string[] {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
  ];
  if (protocol !== undefined && protocol !== '') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  if (extensions !== undefined && extensions !== '') lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  return lines;
}

/**
 * The whole `101 Switching Protocols` head when no subprotocol or extension was agreed and no
 * `headers` listener may add lines: {@link acceptResponseLines} + {@link formatResponseHead} in
 * one string, with nothing to check (the key passed {@link isValidKey}).
 *
 * @param key - the client's validated `Sec-WebSocket-Key`
 */
export function plainAcceptResponse(key: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`;
}

/**
 * Joins response head lines into the bytes to write, ending with the blank line.
 *
 * @throws TypeError when a line contains CR, LF or NUL
 */
export function formatResponseHead(lines: readonly string[]): string {
  for (const line of lines) assertHeaderText(line);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Builds the server's whole `101 Switching Protocols` response head, ending with the blank
 * line: {@link acceptResponseLines} plus `extraHeaders`, each already formatted `Name: value`.
 *
 * @throws TypeError when a value contains CR, LF or NUL
 */
export function buildAcceptResponse(
  key: string,
  protocol: string | undefined,
  extensions: string | undefined,
  extraHeaders: readonly string[],
): string {
  return formatResponseHead([...acceptResponseLines(key, protocol, extensions), ...extraHeaders]);
}

// RFC 9110 §15 reason phrases for the statuses a handshake refusal uses.
const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status >= 500 ? 'Server Error' : status >= 400 ? 'Client Error' : 'Unknown');
}

/**
 * Builds a complete HTTP/1.1 response refusing the handshake (RFC 6455 §4.2.1: "an
 * appropriate HTTP error code"): status line with its reason phrase, `Connection: close`,
 * a UTF-8 `text/plain` body (`message`, or the reason phrase) with its `Content-Length`, and
 * the extra headers. An extra `Connection` or `Content-Type` replaces the default; an extra
 * `Content-Length` is ignored, since the length is computed from the body.
 *
 * @param status - an HTTP status code, 100–599
 * @param message - the body text; defaults to the reason phrase
 * @param headers - extra headers, e.g. `{ 'Sec-WebSocket-Version': '13' }`
 * @param toHead - the answer to a HEAD request: the same head, `Content-Length` included, and
 *   no body (RFC 9110 §9.3.2: a HEAD response carries no content; §8.6: its length field may
 *   say what a GET would have received)
 * @throws RangeError for a status outside 100–599
 * @throws TypeError when a header name is not a token or a value contains CR, LF or NUL
 */
export function buildRejectResponse(status: number, message?: string, headers?: Record<string, string>, toHead = false): string {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`Invalid HTTP status: ${status}`);
  }
  const reason = reasonPhrase(status);
  const body = message ?? reason;
  const fields = new Map<string, [string, string]>([
    ['connection', ['Connection', 'close']],
    ['content-type', ['Content-Type', 'text/plain; charset=utf-8']],
    ['content-length', ['Content-Length', String(Buffer.byteLength(body, 'utf8'))]],
  ]);
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!isToken(name)) throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
    assertHeaderText(value);
    const lower = name.toLowerCase();
    if (lower === 'content-length') continue;
    fields.set(lower, [name, value]);
  }
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of fields.values()) head += `${name}: ${value}\r\n`;
  return toHead ? `${head}\r\n` : `${head}\r\n${body}`;
}

function fail(message: string): never {
  throw new WebSocketError('WS_ERR_HANDSHAKE', message);
}

/**
 * Verifies the server's response to a client's opening handshake (RFC 6455 §4.1, the steps
 * after the request is sent) and returns what was negotiated.
 *
 * @param res - the response status and headers (lower-case names, as Node reports them)
 * @param expected - the key the client sent, the subprotocols and extension names it offered
 * @returns the selected subprotocol (`''` when none) and the accepted extensions
 * @throws WebSocketError with code `WS_ERR_HANDSHAKE` naming the first problem found
 */
export function verifyUpgradeResponse(
  res: { statusCode?: number; headers: Record<string, string | string[] | undefined> },
  expected: { key: string; protocols: readonly string[]; extensionNames: readonly string[] },
): { protocol: string; extensions: ExtensionOffer[] } {
  const h = res.headers;
  // RFC 6455 §4.1 step 1: any status other than 101 means the handshake did not complete.
  if (res.statusCode !== 101) fail(`Unexpected server response status: ${res.statusCode ?? 'none'}`);

  // Step 2: Upgrade must be "websocket", compared case-insensitively — the whole value, not
  // one token of a list.
  const upgrade = headerTokens(h.upgrade);
  if (upgrade.length !== 1 || upgrade[0] !== 'websocket') fail('Invalid Upgrade header');

  // Step 3: Connection must contain the token "Upgrade", case-insensitively.
  if (!hasToken(h.connection, 'upgrade')) fail('Invalid Connection header in server response');

  // Step 4: Sec-WebSocket-Accept must be the accept key of the key we sent.
  const accept = single(h['sec-websocket-accept'])?.trim();
  if (accept === undefined) fail('Invalid Sec-WebSocket-Accept header');
  if (accept !== acceptKey(expected.key)) fail('Invalid Sec-WebSocket-Accept header');
  return verifyAgreement(h, expected);
}

/**
 * Steps 5 and 6 of the client's verification (RFC 6455 §4.1), the part of the answer that does
 * not depend on the HTTP version (RFC 8441 §5 keeps these header fields for HTTP/2): the
 * extensions in use were offered, and the subprotocol, if any, is one the client offered.
 *
 * @param h - the response header fields (lower-case names)
 * @param expected - the subprotocols and extension names the client offered
 * @throws WebSocketError with code `WS_ERR_HANDSHAKE` naming the first problem found
 */
export function verifyAgreement(
  h: Record<string, string | string[] | undefined>,
  expected: { protocols: readonly string[]; extensionNames: readonly string[] },
): { protocol: string; extensions: ExtensionOffer[] } {
  // Step 5: every extension in use must be one the client offered.
  const extensions = parseExtensions(h['sec-websocket-extensions']);
  if (extensions === null) fail('Invalid Sec-WebSocket-Extensions header');
  const offered = new Set(expected.extensionNames.map((name) => name.toLowerCase()));
  if (extensions.length > 0 && offered.size === 0) {
    fail('Server sent a Sec-WebSocket-Extensions header but no extension was requested');
  }
  for (const ext of extensions) {
    if (!offered.has(ext.name)) fail('Server indicated an extension that was not requested');
  }

  // Step 6: a subprotocol, if any, must be exactly one the client offered (RFC 7936:
  // case-sensitive). The server may select none.
  const protocol = single(h['sec-websocket-protocol']);
  if (protocol === undefined) return { protocol: '', extensions };
  if (expected.protocols.length === 0) fail('Server sent a subprotocol but none was requested');
  if (!expected.protocols.includes(protocol.trim())) {
    fail('Server sent an invalid subprotocol');
  }
  return { protocol: protocol.trim(), extensions };
}
