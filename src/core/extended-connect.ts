/**
 * The opening handshake of a WebSocket over an HTTP/2 stream (RFC 8441), without sockets: which
 * requests are WebSocket extended CONNECTs, the server's validation of one, and the client's
 * verification of the answer. Frames then flow on the stream exactly as on a TCP connection.
 *
 * What differs from HTTP/1.1 (RFC 6455 §4):
 *
 * | | HTTP/1.1 | HTTP/2 (RFC 8441 §4-5) |
 * | --- | --- | --- |
 * | request | `GET` with `Upgrade: websocket`, `Connection: Upgrade` | `:method CONNECT`, `:protocol websocket`, `:scheme`, `:path`, `:authority` |
 * | key | `Sec-WebSocket-Key` / `Sec-WebSocket-Accept` | none (RFC 8441 §5: not processed) |
 * | success | `101 Switching Protocols` | any 2xx; servers send `200` |
 * | version, subprotocols, extensions, origin | header fields | the same header fields |
 *
 * @module
 */
import type { RequestCheck } from './handshake.js';
import { parseExtensions, parseProtocolList } from './headers.js';

/** Header fields as Node's `http2` module reports them: lower-case names, pseudo-headers included. */
export type Http2HeadersLike = Record<string, string | string[] | number | undefined>;

function first(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 1 ? value[0] : value.join(', ');
  return String(value);
}

/**
 * Whether a request is an extended CONNECT for the WebSocket protocol (RFC 8441 §4: the
 * `:protocol` pseudo-header on a CONNECT; §5: its value is `websocket`). Other CONNECTs and other
 * protocols are not a WebSocket server's to answer. The token is compared case-insensitively, as
 * upgrade tokens are (RFC 9110 §7.8).
 */
export function isWebSocketConnect(headers: Http2HeadersLike): boolean {
  return headers[':method'] === 'CONNECT' && first(headers[':protocol'])?.toLowerCase() === 'websocket';
}

function reject(status: number, message: string, headers?: Record<string, string>): RequestCheck {
  return headers === undefined ? { ok: false, status, message } : { ok: false, status, message, headers };
}

/**
 * Validates a WebSocket extended CONNECT (RFC 8441 §4-5) and reports what the server needs to
 * accept it (the `key` is always `''`: HTTP/2 has none) or how to refuse it. Checks, in order:
 *
 * | check | status on failure |
 * | --- | --- |
 * | `:method` is `CONNECT`, `:protocol` is `websocket` | 400 |
 * | `:scheme` is `http` or `https`, `:path` is origin-form (`/…`), `:authority` present | 400 |
 * | `sec-websocket-version` is `13` | 400, with `sec-websocket-version: 13` |
 * | `sec-websocket-protocol` / `-extensions` parse | 400 |
 *
 * A version mismatch gets 400, not the 426 of HTTP/1.1 (RFC 6455 §4.4 asks for "an appropriate
 * HTTP error code (such as 426 Upgrade Required)"): a 426 must carry `Upgrade`, a field HTTP/2
 * forbids (RFC 9113 §8.2.2). A `sec-websocket-key` is ignored, as RFC 8441 §5 says; the
 * connection-specific fields (`connection`, `upgrade`) never reach here, since an HTTP/2 stack
 * treats a request carrying them as malformed (RFC 9113 §8.2.2).
 *
 * @param headers - the request's header fields, pseudo-headers included
 */
export function checkExtendedConnect(headers: Http2HeadersLike): RequestCheck {
  if (!isWebSocketConnect(headers)) return reject(400, 'Not a WebSocket extended CONNECT');
  // RFC 8441 §4: unlike a plain CONNECT, an extended CONNECT carries :scheme and :path; §5: the
  // scheme is http for ws: and https for wss:.
  const scheme = first(headers[':scheme']);
  if (scheme !== 'http' && scheme !== 'https') return reject(400, 'Missing or invalid :scheme');
  const path = first(headers[':path']);
  if (path === undefined || !path.startsWith('/')) return reject(400, 'Missing or invalid :path');
  // RFC 8441 §4: :authority is read as for any request (RFC 9113 §8.3.1): the target's host.
  const authority = first(headers[':authority']);
  if (authority === undefined || authority === '') return reject(400, 'Missing :authority');

  // RFC 8441 §5 keeps Sec-WebSocket-Version as RFC 6455 §4.2.1 item 6 defines it.
  const version = first(headers['sec-websocket-version'])?.trim();
  if (version !== '13') return reject(400, 'Sec-WebSocket-Version must be 13', { 'sec-websocket-version': '13' });

  // RFC 6455 §4.2.1 items 8 and 9, kept by RFC 8441 §5.
  const protocols = parseProtocolList(headers['sec-websocket-protocol'] as string | string[] | undefined);
  if (protocols === null) return reject(400, 'Invalid Sec-WebSocket-Protocol header');
  const extensions = parseExtensions(headers['sec-websocket-extensions'] as string | string[] | undefined);
  if (extensions === null) return reject(400, 'Invalid Sec-WebSocket-Extensions header');

  return { ok: true, key: '', protocols, extensions, origin: first(headers.origin) };
}

/**
 * Whether an answer to an extended CONNECT opened the tunnel: any 2xx (RFC 9110 §9.3.6, which
 * RFC 8441 §5 builds on). Anything else is an unexpected response.
 */
export function isTunnelOpen(status: number): boolean {
  return status >= 200 && status < 300;
}
