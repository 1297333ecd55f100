/**
 * Turns the address given to `new WebSocket(address)` into what `http.request` needs.
 *
 * @module
 */

/** Where and how to send the opening handshake. */
export interface DialTarget {
  /** The normalised URL (`http:`/`https:` rewritten to `ws:`/`wss:`); what `ws.url` reports. */
  url: URL;
  /** TLS is used (`wss:`). */
  secure: boolean;
  /** The Unix domain socket to connect to (`ws+unix:` only). */
  socketPath: string | undefined;
  /** Host name or IP address, without IPv6 brackets ('' for `ws+unix:`). */
  host: string;
  /** TCP port (0 for `ws+unix:`). */
  port: number;
  /** The port implied by the scheme: 443 for `wss:`, 80 otherwise. */
  defaultPort: number;
  /** The request target: path and query (RFC 6455 §3: the resource name). */
  path: string;
  /** `user:password` from the URL's userinfo, percent-decoded, or undefined. */
  auth: string | undefined;
  /** What identifies the server for the redirect credential check: `host:port` or the socket path. */
  origin: string;
}

/**
 * Parses a WebSocket address. `ws:` and `wss:` are the schemes of RFC 6455 §3; `http:` and
 * `https:` are accepted as aliases, and `ws+unix:/path/to.sock:/request/path?query` dials a
 * Unix domain socket: the socket path runs up to the first `:` of the URL's path, the request
 * path follows it (`/` when absent).
 *
 * @param address - the address, absolute, or relative to `base` (a redirect's `Location`)
 * @param base - the URL a relative `address` is resolved against
 * @throws SyntaxError with code `WS_ERR_INVALID_URL` when the address is not a usable WebSocket URL
 */
export function parseAddress(address: string | URL, base?: URL): DialTarget {
  let url: URL;
  try {
    // Copy a URL object: the caller's instance is never mutated.
    url = new URL(typeof address === 'string' ? address : address.href, base);
  } catch {
    throw invalid(`Invalid URL: ${String(address)}`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  const scheme = url.protocol;
  if (scheme !== 'ws:' && scheme !== 'wss:' && scheme !== 'ws+unix:') {
    throw invalid(`The URL's protocol must be ws:, wss:, http:, https: or ws+unix:; got ${JSON.stringify(scheme)}`);
  }
  // RFC 6455 §3: fragment identifiers are meaningless in WebSocket URIs and MUST NOT be used.
  // `hash` is '' for a bare '#', so look at the href as well.
  if (url.hash !== '' || url.href.includes('#')) throw invalid(`The URL contains a fragment identifier: ${url.href}`);
  const auth = userinfo(url);
  if (scheme === 'ws+unix:') return unixTarget(url, auth);
  const secure = scheme === 'wss:';
  const defaultPort = secure ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  // Node wants IPv6 literals without their brackets.
  const hostname = url.hostname;
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host === '') throw invalid(`The URL has no host: ${url.href}`);
  return {
    url,
    secure,
    socketPath: undefined,
    host,
    port,
    defaultPort,
    // RFC 6455 §3: the resource name is the path ("/" if empty) plus the query.
    path: (url.pathname === '' ? '/' : url.pathname) + url.search,
    auth,
    origin: `${host}:${port}`,
  };
}

function unixTarget(url: URL, auth: string | undefined): DialTarget {
  const pathname = url.pathname;
  const colon = pathname.indexOf(':');
  const rawSocket = colon === -1 ? pathname : pathname.slice(0, colon);
  const requestPath = colon === -1 ? '' : pathname.slice(colon + 1);
  let socketPath: string;
  try {
    // The URL parser percent-encodes characters such as spaces; the file system wants them back.
    socketPath = decodeURIComponent(rawSocket);
  } catch {
    throw invalid(`Invalid socket path in URL: ${url.href}`);
  }
  if (socketPath === '') throw invalid(`The URL's socket path is empty: ${url.href}`);
  return {
    url,
    secure: false,
    socketPath,
    host: 'localhost',
    port: 0,
    defaultPort: 80,
    path: (requestPath === '' ? '/' : requestPath) + url.search,
    auth,
    origin: `unix:${socketPath}`,
  };
}

function userinfo(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  return `${decode(url.username)}:${decode(url.password)}`;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** An unusable address: a `SyntaxError`, as `ws` and the WHATWG API throw, with our stable code. */
export type InvalidUrlError = SyntaxError & { code: 'WS_ERR_INVALID_URL' };

function invalid(message: string): InvalidUrlError {
  return Object.assign(new SyntaxError(message), { code: 'WS_ERR_INVALID_URL' as const });
}

/**
 * Resolves a redirect's `Location` against the URL that answered it. For `ws+unix:` a
 * path-absolute `Location` (`/next`) keeps the socket and replaces the request path; URL
 * resolution alone would take the socket path for part of the request path.
 *
 * @param location - the `Location` header
 * @param current - the target that sent the redirect
 * @throws SyntaxError with code `WS_ERR_INVALID_URL` when the result is not a usable WebSocket URL
 */
export function resolveLocation(location: string, current: DialTarget): DialTarget {
  if (current.socketPath !== undefined && location.startsWith('/') && !location.startsWith('//')) {
    const pathname = current.url.pathname;
    const colon = pathname.indexOf(':');
    const socketPart = colon === -1 ? pathname : pathname.slice(0, colon);
    return parseAddress(`ws+unix:${socketPart}:${location}`);
  }
  return parseAddress(location, current.url);
}
