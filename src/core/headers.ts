/**
 * Parsing and formatting of the HTTP header values used by the opening handshake:
 * comma-separated token lists (`Connection`, `Upgrade`), `Sec-WebSocket-Protocol`
 * (RFC 6455 §4.1, §11.3.4) and `Sec-WebSocket-Extensions` (RFC 6455 §9.1).
 *
 * Every function accepts what Node puts in `IncomingMessage.headers`: a string, an array of
 * strings (one per header line), or `undefined` when the header is absent. Several header lines
 * of a list-valued field mean the same as one line with the values joined by commas
 * (RFC 7230 §3.2.2).
 *
 * @module
 */

/** A header value as Node reports it: one line, several lines, or absent. */
type HeaderValue = string | string[] | undefined;

/**
 * One extension from a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1).
 * `name` and param names are lower-cased; param values keep their case. Params keep their
 * order and duplicates, so a consumer (e.g. permessage-deflate, RFC 7692 §7) can reject a
 * param that appears twice.
 */
export interface ExtensionOffer {
  /** The extension token, lower-cased, e.g. `permessage-deflate`. */
  name: string;
  /** `[name, value]` pairs in header order; `true` stands for a param given without a value. */
  params: Array<[name: string, value: string | true]>;
}

// RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

// RFC 7230 §3.2.3: OWS = *( SP / HTAB ). String#trim() would also strip characters such as
// U+00A0, which Node's latin1 header decoding can produce and which are not whitespace in HTTP.
function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

function valuesOf(value: HeaderValue): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

/** Splits list-valued header lines on commas into OWS-trimmed, non-empty elements. */
function listElements(value: HeaderValue): string[] {
  const out: string[] = [];
  for (const line of valuesOf(value)) {
    for (const part of line.split(',')) {
      const element = trimOws(part);
      // RFC 7230 §7: recipients must accept and ignore empty list elements.
      if (element !== '') out.push(element);
    }
  }
  return out;
}

/**
 * Returns the comma-separated elements of one or more header lines, trimmed of whitespace,
 * lower-cased, with empty elements dropped. Suited to case-insensitive token lists such as
 * `Connection` and `Upgrade`.
 *
 * @param value - the header value(s), or `undefined` when absent
 * @returns the lower-cased elements in order; `[]` when absent or empty
 */
export function headerTokens(value: HeaderValue): string[] {
  return listElements(value).map((element) => element.toLowerCase());
}

/**
 * Tells whether a comma-separated header contains `token`, compared case-insensitively,
 * e.g. `hasToken('keep-alive, Upgrade', 'upgrade') === true`.
 *
 * @param value - the header value(s), or `undefined` when absent
 * @param token - the token to look for
 */
export function hasToken(value: HeaderValue, token: string): boolean {
  // The usual case, a header that is exactly the token (`Upgrade: websocket`), without splitting.
  if (typeof value === 'string' && value.length === token.length && value.toLowerCase() === token.toLowerCase()) return true;
  return headerTokens(value).includes(token.toLowerCase());
}

/**
 * Tells whether `s` is an HTTP token: one or more `tchar` (RFC 7230 §3.2.6).
 *
 * @param s - the candidate string
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTchar(s.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Parses `Sec-WebSocket-Protocol` into subprotocol names in header order, case preserved
 * (RFC 7936: subprotocol names are matched case-sensitively).
 *
 * @param value - the header value(s), or `undefined` when absent
 * @returns the names (`[]` when absent), or `null` when an element is not a token or a name
 *   appears twice (RFC 6455 §4.1: elements MUST be tokens and MUST all be unique)
 */
export function parseProtocolList(value: HeaderValue): string[] | null {
  const names = listElements(value);
  const seen = new Set<string>();
  for (const name of names) {
    if (!isToken(name) || seen.has(name)) return null;
    seen.add(name);
  }
  return names;
}

/** A cursor over one header line; the parse functions below advance `pos`. */
interface Cursor {
  readonly s: string;
  pos: number;
}

function skipOws(c: Cursor): void {
  while (c.pos < c.s.length && isOws(c.s.charCodeAt(c.pos))) c.pos++;
}

/** Reads a token at the cursor; returns '' when none starts there. */
function readToken(c: Cursor): string {
  const start = c.pos;
  while (c.pos < c.s.length && isTchar(c.s.charCodeAt(c.pos))) c.pos++;
  return c.s.slice(start, c.pos);
}

// RFC 7230 §3.2.6: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
function isQdtext(code: number): boolean {
  return (
    code === 0x09 ||
    code === 0x20 ||
    code === 0x21 ||
    (code >= 0x23 && code <= 0x5b) ||
    (code >= 0x5d && code <= 0x7e) ||
    (code >= 0x80 && code <= 0xff)
  );
}

// RFC 7230 §3.2.6: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
function isQuotablePair(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

/**
 * Reads a quoted-string whose opening DQUOTE is at the cursor and returns its unescaped
 * content, or `null` when it is unterminated or holds a character the grammar forbids.
 */
function readQuoted(c: Cursor): string | null {
  c.pos++; // opening DQUOTE
  let out = '';
  while (c.pos < c.s.length) {
    const code = c.s.charCodeAt(c.pos);
    if (code === 0x22) {
      c.pos++;
      return out;
    }
    if (code === 0x5c) {
      const next = c.s.charCodeAt(c.pos + 1); // NaN past the end
      if (!isQuotablePair(next)) return null;
      out += c.s[c.pos + 1];
      c.pos += 2;
      continue;
    }
    if (!isQdtext(code)) return null;
    out += c.s[c.pos];
    c.pos++;
  }
  return null; // unterminated
}

/**
 * Parses one extension param after its `;`: `token [ "=" ( token | quoted-string ) ]`.
 * Returns `null` on a syntax error.
 */
function readParam(c: Cursor): [string, string | true] | null {
  skipOws(c);
  const name = readToken(c);
  if (name === '') return null;
  skipOws(c);
  if (c.s[c.pos] !== '=') return [name.toLowerCase(), true];
  c.pos++;
  skipOws(c);
  let value: string | null;
  if (c.s[c.pos] === '"') {
    value = readQuoted(c);
    // RFC 6455 §9.1: after unescaping, a quoted value MUST still conform to `token`.
    if (value === null || !isToken(value)) return null;
  } else {
    value = readToken(c);
    if (value === '') return null;
  }
  skipOws(c);
  return [name.toLowerCase(), value];
}

/** Parses one header line, appending to `out`; returns false on a syntax error. */
function parseExtensionLine(s: string, out: ExtensionOffer[]): boolean {
  const c: Cursor = { s, pos: 0 };
  for (;;) {
    skipOws(c);
    if (c.pos >= s.length) return true;
    // RFC 7230 §7: empty list elements ("a, , b", a leading or trailing comma) are ignored.
    if (s[c.pos] === ',') {
      c.pos++;
      continue;
    }
    const name = readToken(c);
    if (name === '') return false;
    const offer: ExtensionOffer = { name: name.toLowerCase(), params: [] };
    skipOws(c);
    while (s[c.pos] === ';') {
      c.pos++;
      const param = readParam(c);
      if (param === null) return false;
      offer.params.push(param);
    }
    out.push(offer);
    if (c.pos >= s.length) return true;
    if (s[c.pos] !== ',') return false;
    c.pos++;
  }
}

/**
 * Parses `Sec-WebSocket-Extensions` (RFC 6455 §9.1):
 *
 * ```
 * extension-list = 1#extension
 * extension      = extension-token *( ";" extension-param )
 * extension-param = token [ "=" ( token | quoted-string ) ]
 * ```
 *
 * Optional whitespace is accepted between any two elements (RFC 6455 §9.1 uses RFC 2616's
 * implied *LWS rule), empty list elements are skipped, and several header lines are read in
 * order as one list. Quoted values are unescaped and must then be tokens.
 *
 * @param value - the header value(s), or `undefined` when absent
 * @returns the extensions in header order (`[]` when absent or empty), or `null` on any
 *   syntax error
 */
export function parseExtensions(value: HeaderValue): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = [];
  for (const line of valuesOf(value)) {
    if (!parseExtensionLine(line, out)) return null;
  }
  return out;
}

/** Quotes `value` as an RFC 7230 quoted-string, escaping `"` and `\`. */
function quote(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x22 || code === 0x5c) out += '\\';
    else if (!isQdtext(code)) {
      throw new TypeError(`Extension param value cannot be sent in a header: ${JSON.stringify(value)}`);
    }
    out += value[i];
  }
  return out + '"';
}

/**
 * Formats extensions as a `Sec-WebSocket-Extensions` value, the inverse of
 * {@link parseExtensions}: `name; param; param=value, name2`. Values that are not tokens are
 * sent as quoted-strings.
 *
 * @param list - the extensions to format
 * @returns the header value ('' for an empty list)
 * @throws TypeError when a name is not a token or a value holds a control character, which
 *   no header can carry (and which could otherwise split the response)
 */
export function formatExtensions(list: ExtensionOffer[]): string {
  return list
    .map((ext) => {
      if (!isToken(ext.name)) throw new TypeError(`Invalid extension name: ${JSON.stringify(ext.name)}`);
      let out = ext.name;
      for (const [name, value] of ext.params) {
        if (!isToken(name)) throw new TypeError(`Invalid extension param name: ${JSON.stringify(name)}`);
        out += `; ${name}`;
        if (value !== true) out += `=${isToken(value) ? value : quote(value)}`;
      }
      return out;
    })
    .join(', ');
}
