/**
 * The peer's own opening handshake (RFC 6455 §4), both sides, over raw bytes. Kept minimal and strict: the peer
 * must not depend on the HTTP stack of the library under test.
 */
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A parsed HTTP head: first line, lower-cased headers, and the bytes after the blank line. */
export interface HttpHead {
  readonly startLine: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly raw: string;
  readonly rest: Buffer;
}

/** Splits an HTTP head off `data`; null until the blank line has arrived. */
export function parseHead(data: Buffer): HttpHead | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const raw = data.subarray(0, end + 4).toString('latin1');
  const lines = raw.slice(0, -4).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // Repeated headers are joined as a list (RFC 9110 §5.3).
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { startLine: lines[0] ?? '', headers, raw, rest: data.subarray(end + 4) };
}

function hasToken(value: string | undefined, token: string): boolean {
  return (value ?? '').split(',').some((t) => t.trim().toLowerCase() === token);
}

/** Client side: the request to send and the key to verify the answer with; `extensions` is offered if given. */
export function clientRequest(url: URL, userAgent: string, extensions?: string): { request: string; key: string } {
  const key = randomBytes(16).toString('base64');
  const path = `${url.pathname || '/'}${url.search}`;
  const request =
    `GET ${path} HTTP/1.1\r\n` +
    `Host: ${url.host}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    'Pragma: no-cache\r\n' +
    'Cache-Control: no-cache\r\n' +
    `User-Agent: ${userAgent}\r\n` +
    `Sec-WebSocket-Key: ${key}\r\n` +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
    'Sec-WebSocket-Version: 13\r\n\r\n';
  return { request, key };
}

/**
 * Client side: checks the server's answer; returns an error text or null when it is a valid 101. When the peer
 * offered extensions (`offered`), the caller judges the answer's Sec-WebSocket-Extensions itself.
 */
export function checkServerResponse(head: HttpHead, key: string, offered = false): string | null {
  const status = head.startLine.split(' ');
  if (status[0] !== 'HTTP/1.1' || status[1] !== '101') return `expected 101 Switching Protocols, got "${head.startLine}"`;
  if (!hasToken(head.headers.get('upgrade'), 'websocket')) return 'missing Upgrade: websocket';
  if (!hasToken(head.headers.get('connection'), 'upgrade')) return 'missing Connection: Upgrade';
  if (head.headers.get('sec-websocket-accept') !== acceptKey(key)) return 'wrong Sec-WebSocket-Accept';
  // The peer offers no extension, so a server that answers with one is wrong (RFC 6455 §4.1, step 5 of the checks).
  if (!offered && head.headers.has('sec-websocket-extensions')) return 'server selected an extension that was not offered';
  return null;
}

/** Server side: a validated upgrade request. */
export interface UpgradeRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly key: string;
  /** The Sec-WebSocket-Extensions offer (repeated header lines joined), if any. */
  readonly extensions: string | undefined;
}

/** Server side: checks an upgrade request; returns the request or an error text. */
export function checkClientRequest(head: HttpHead): UpgradeRequest | string {
  const [method, target, version] = head.startLine.split(' ');
  if (method !== 'GET') return `method ${method ?? ''} not allowed`;
  if (version !== 'HTTP/1.1') return `unsupported HTTP version ${version ?? ''}`;
  if (!hasToken(head.headers.get('upgrade'), 'websocket')) return 'missing Upgrade: websocket';
  if (!hasToken(head.headers.get('connection'), 'upgrade')) return 'missing Connection: Upgrade';
  if (head.headers.get('sec-websocket-version') !== '13') return 'Sec-WebSocket-Version must be 13';
  const key = head.headers.get('sec-websocket-key') ?? '';
  if (Buffer.from(key, 'base64').length !== 16) return 'invalid Sec-WebSocket-Key';
  const url = new URL(target ?? '/', 'http://peer.invalid');
  return { path: url.pathname, query: url.searchParams, key, extensions: head.headers.get('sec-websocket-extensions') };
}

/** Server side: the 101 answer (no subprotocol; `extensions` is the accepted extension, if any). */
export function serverResponse(key: string, server: string, extensions?: string): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\n' +
    `Server: ${server}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
    '\r\n'
  );
}

/** Server side: a plain HTTP error answer. */
export function errorResponse(status: number, text: string): string {
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}
