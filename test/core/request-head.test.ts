import { describe, expect, it } from 'vitest';
import {
  findBadLineEnd,
  findHeadEnd,
  HEAD_INCOMPLETE,
  headersObject,
  isHeadError,
  parseRequestHead,
  scanRequestHead,
  type RequestHead,
} from '../../src/core/request-head.js';
import { prng } from './helpers.js';
import { generateHeads, singleFaultHeads } from './request-head-cases.js';

const UPGRADE =
  'GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function parse(text: string): RequestHead {
  const result = parseRequestHead(text);
  if (isHeadError(result)) throw new Error(`refused: ${result.status} ${result.message}`);
  return result;
}

describe('findHeadEnd', () => {
  it('finds the end of a whole head, and -1 without one', () => {
    const data = Buffer.from(`${UPGRADE}\x81\x80`, 'latin1');
    expect(findHeadEnd(data, 0)).toBe(UPGRADE.length);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'), 0)).toBe(-1);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\n\n'), 0)).toBe(-1);
  });

  it('finds it when the head arrives one byte at a time, resuming where it stopped', () => {
    const whole = Buffer.from(UPGRADE, 'latin1');
    let searched = 0;
    let found = -1;
    for (let n = 1; n <= whole.length && found === -1; n++) {
      found = findHeadEnd(whole.subarray(0, n), searched);
      searched = n;
      if (found === -1) expect(n).toBeLessThan(whole.length);
    }
    expect(found).toBe(whole.length);
  });
});

describe('parseRequestHead', () => {
  it('parses the request line and the fields, values trimmed and names as sent', () => {
    const head = parse(`${UPGRADE.slice(0, -4)}\r\nX-Pad:   a b \t`);
    expect(head.method).toBe('GET');
    expect(head.url).toBe('/chat?room=1');
    expect([head.versionMajor, head.versionMinor]).toEqual([1, 1]);
    expect(head.rawHeaders).toEqual([
      'Host', 'example.com',
      'Upgrade', 'websocket',
      'Connection', 'Upgrade',
      'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version', '13',
      'X-Pad', 'a b',
    ]);
  });

  it('accepts HTTP/1.0, empty values and latin1 bytes in values', () => {
    const head = parse('GET / HTTP/1.0\r\nX-Empty:\r\nX-Latin: caf\xe9');
    expect(head.versionMinor).toBe(0);
    expect(head.rawHeaders).toEqual(['X-Empty', '', 'X-Latin', 'caf\xe9']);
  });

  it('accepts an HTTP/1.0 head with no fields (Host is required from HTTP/1.1 on)', () => {
    expect(parse('GET / HTTP/1.0').rawHeaders).toEqual([]);
  });

  it.each([
    ['an empty request line', '', 'Malformed request line'],
    ['two spaces after the method', 'GET  / HTTP/1.1', 'Malformed request line'],
    ['a missing version', 'GET /', 'Malformed request line'],
    ['a fourth part', 'GET / HTTP/1.1 x', 'Malformed request line'],
    ['a lower-case version', 'GET / http/1.1', 'Invalid HTTP version'],
    ['a two-digit minor version', 'GET / HTTP/1.10', 'Invalid HTTP version'],
    ['a non-digit version', 'GET / HTTP/1.x', 'Invalid HTTP version'],
    ['a method that is not a token', 'G(T / HTTP/1.1', 'Invalid method'],
    ['a control character in the target', 'GET /a\x01b HTTP/1.1', 'Invalid request target'],
    ['a byte above 0x7f in the target', 'GET /caf\xe9 HTTP/1.1', 'Invalid request target'],
    ['a tab in the target', 'GET /a\tb HTTP/1.1', 'Invalid request target'],
    ['a field without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nX-A example.com', 'Malformed header line'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost: x\r\nX-A : example.com', 'Invalid header name'],
    ['an empty field name', 'GET / HTTP/1.1\r\nHost: x\r\n: value', 'Invalid header name'],
    ['a folded line (obs-fold)', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two', 'Malformed header line'],
    ['a folded line with a colon', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\tX-B: two', 'Invalid header name'],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b', 'Invalid header value'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb', 'Invalid header value'],
    ['an empty line before the request line', '\r\nGET / HTTP/1.1\r\nHost: x', 'Malformed request line'],
    // Bad line ends win over whatever else is wrong: the answer a head arriving in pieces gets.
    ['a lone LF inside a line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\nX-B: two', 'Malformed line end'],
    ['a lone CR inside a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\rtwo', 'Malformed line end'],
    ['a CR before the final CRLF', 'GET / HTTP/1.1\r\nHost: x\r', 'Malformed line end'],
    ['a bare LF after HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\nX: y', 'Malformed line end'],
    ['a bare LF after an invalid method', 'G(T / HTTP/1.1\nHost: x', 'Malformed line end'],
  ])('refuses %s with 400', (_label, text, message) => {
    expect(parseRequestHead(text)).toEqual({ status: 400, message });
  });

  it.each(['HTTP/2.0', 'HTTP/0.9', 'HTTP/3.1'])('refuses %s with 505', (version) => {
    expect(parseRequestHead(`GET / ${version}\r\nHost: x`)).toMatchObject({ status: 505 });
  });
});

describe('parseRequestHead: what would let two readers see different requests', () => {
  const HOSTED = 'GET / HTTP/1.1\r\nHost: example.com';

  it.each([
    ['Content-Length: abc'],
    ['Content-Length: 5, 6'],
    ['Content-Length: 5'],
    ['Content-Length: 00'],
    ['Content-Length: 0\r\nContent-Length: 0'],
    ['Content-Length: 0\r\ncontent-length: 5'],
    ['Content-Length: 5\r\nTransfer-Encoding: chunked'],
    ['Transfer-Encoding: chunked\r\nContent-Length: 5'],
    ['Transfer-Encoding: chunked'],
    ['Transfer-Encoding: chunked, identity'],
    ['Transfer-Encoding: identity'],
    ['transfer-ENCODING:\tChUnKeD'],
    ['Transfer-Encoding:'],
  ])('refuses a body: %s', (fields) => {
    expect(parseRequestHead(`${HOSTED}\r\n${fields}`)).toEqual({ status: 400, message: 'A request body is not allowed' });
  });

  it('accepts one Content-Length: 0, with any spelling of the name and OWS around the value', () => {
    for (const field of ['Content-Length: 0', 'content-length:0', 'CONTENT-LENGTH: \t0 ']) {
      expect(parse(`${HOSTED}\r\n${field}`).rawHeaders).toEqual(['Host', 'example.com', field.slice(0, 14), '0']);
    }
  });

  it('looks only at the fields named so: similar names pass', () => {
    const head = parse(`${HOSTED}\r\nX-Content-Length: 5\r\nContent-Lengths: 5\r\nTransfer-Encodings: chunked\r\nHosts: a, b\r\nTransfer-Encodinx: chunked\r\nContent-Lengtx: 5`);
    expect(head.rawHeaders).toHaveLength(14);
  });

  it.each([
    ['a second Host', `${HOSTED}\r\nHost: other.example`, 'Duplicate Host header'],
    ['a second, equal Host in another case', `${HOSTED}\r\nHOST: example.com`, 'Duplicate Host header'],
    ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\nUpgrade: websocket', 'Missing Host header'],
    ['a Host with a space', 'GET / HTTP/1.1\r\nHost: exa mple.com', 'Invalid Host header'],
    ['a Host with a path', 'GET / HTTP/1.1\r\nHost: example.com/x', 'Invalid Host header'],
    ['a Host with userinfo', 'GET / HTTP/1.1\r\nHost: user@example.com', 'Invalid Host header'],
    ['a Host with a non-digit port', 'GET / HTTP/1.1\r\nHost: example.com:8o', 'Invalid Host header'],
    ['a Host with two colons', 'GET / HTTP/1.1\r\nHost: example.com:80:81', 'Invalid Host header'],
    ['a Host with a byte above 0x7f', 'GET / HTTP/1.1\r\nHost: caf\xe9.example', 'Invalid Host header'],
    ['a Host with an unclosed IP literal', 'GET / HTTP/1.1\r\nHost: [::1', 'Invalid Host header'],
    ['a Host with text after an IP literal', 'GET / HTTP/1.1\r\nHost: [::1]x', 'Invalid Host header'],
  ])('refuses %s', (_label, text, message) => {
    expect(parseRequestHead(text)).toEqual({ status: 400, message });
  });

  it('accepts Host forms of RFC 3986: name and port, IPv4, IPv6 literal, empty; and none in HTTP/1.0', () => {
    for (const host of ['example.com:8080', '127.0.0.1', '[::1]:443', '[::1]', 'xn--caf-dma.example', 'a_b~c%41!$&\'()*+,;=', 'example.com:', '']) {
      expect(parse(`GET / HTTP/1.1\r\nHost: ${host}`).rawHeaders).toEqual(['Host', host]);
    }
    expect(parse('GET / HTTP/1.0\r\nUpgrade: websocket').rawHeaders).toEqual(['Upgrade', 'websocket']);
  });

  it.each([
    ['no leading slash', 'echo'],
    ['the asterisk form', '*'],
    ['a query alone', '?a=1'],
    ['a scheme without //', 'mailto:x@example.com'],
    ['another scheme', 'ftp://example.com/'],
    ['a scheme with a digit', 'h2t://example.com/'],
    ['userinfo', 'http://user@example.com/'],
    ['an empty authority', 'http:///x'],
    ['a fragment right after the authority', 'http://example.com#x'],
    ['another host than Host', 'http://other.example/'],
    ['another port than Host', 'http://example.com:81/'],
  ])('refuses a target with %s', (_label, target) => {
    expect(parseRequestHead(`GET ${target} HTTP/1.1\r\nHost: example.com`)).toMatchObject({ status: 400 });
  });

  it('refuses an absolute-form target in HTTP/1.0 without Host: nothing to check it against', () => {
    expect(parseRequestHead('GET http://example.com/ HTTP/1.0')).toEqual({ status: 400, message: 'Request target and Host header disagree' });
  });

  it('accepts an absolute-form target naming the Host (case aside), and keeps it as sent', () => {
    for (const target of ['http://example.com/chat?x=1', 'WSS://Example.COM', 'https://example.com?q', 'ws://example.com/']) {
      expect(parse(`GET ${target} HTTP/1.1\r\nHost: example.com`).url).toBe(target);
    }
    expect(parse('GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080').url).toBe('http://[::1]:8080/');
  });
});

describe('scanRequestHead', () => {
  const MAX = 16 * 1024;

  it('returns the end of a complete head and HEAD_INCOMPLETE before it', () => {
    const data = Buffer.from(`${UPGRADE}\x81\x80`, 'latin1');
    expect(scanRequestHead(data, 0, MAX)).toBe(UPGRADE.length);
    expect(scanRequestHead(data.subarray(0, 20), 0, MAX)).toBe(HEAD_INCOMPLETE);
  });

  it('refuses a bare LF or a CR without LF at once, before the head ends; a final CR waits', () => {
    expect(scanRequestHead(Buffer.from('GET / HTTP/1.1\n'), 0, MAX)).toEqual({ status: 400, message: 'Malformed line end' });
    expect(scanRequestHead(Buffer.from('GET / HTTP/1.1\rH'), 0, MAX)).toEqual({ status: 400, message: 'Malformed line end' });
    expect(scanRequestHead(Buffer.from('GET / HTTP/1.1\r'), 0, MAX)).toBe(HEAD_INCOMPLETE);
    expect(scanRequestHead(Buffer.from('\n'), 0, MAX)).toEqual({ status: 400, message: 'Malformed line end' });
  });

  it('refuses a head above the limit with 431, whole or still arriving; exactly at the limit passes', () => {
    const head = `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(100)}`;
    const bytes = Buffer.from(`${head}\r\n\r\n`);
    expect(scanRequestHead(bytes, 0, head.length)).toBe(bytes.length);
    expect(scanRequestHead(bytes, 0, head.length - 1)).toEqual({ status: 431, message: 'Request head too large' });
    expect(scanRequestHead(Buffer.from(head), 0, head.length - 1)).toEqual({ status: 431, message: 'Request head too large' });
    expect(scanRequestHead(Buffer.from(head), 0, head.length)).toBe(HEAD_INCOMPLETE);
    // The first bytes of the final CRLF CRLF do not count against the limit.
    for (const tail of ['\r', '\r\n', '\r\n\r']) expect(scanRequestHead(Buffer.from(head + tail), 0, head.length)).toBe(HEAD_INCOMPLETE);
    expect(scanRequestHead(Buffer.from(`${head}\r\nX`), 0, head.length)).toEqual({ status: 431, message: 'Request head too large' });
  });

  it('gives every generated head the same answer whole, one byte at a time and in random pieces', () => {
    const cases = [...singleFaultHeads(), ...generateHeads(400, 0x13)];
    const rand = prng(0x1313);
    let compared = 0;
    for (const { head } of cases) {
      const bytes = Buffer.from(head, 'latin1');
      // A small limit too, so that the size and the line ends compete.
      for (const max of [MAX, 40, 80]) {
        const whole = read(bytes, [bytes.length], max);
        expect(read(bytes, Array.from({ length: bytes.length }, () => 1), max), JSON.stringify(head)).toBe(whole);
        for (let k = 0; k < 3; k++) {
          const sizes: number[] = [];
          for (let left = bytes.length; left > 0; ) {
            const n = Math.min(left, 1 + Math.floor(rand() * 24));
            sizes.push(n);
            left -= n;
          }
          expect(read(bytes, sizes, max), JSON.stringify(head)).toBe(whole);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(3000);
  });
});

/** Reads `bytes` delivered in pieces of `sizes` as the front does: held bytes, scan, then parse. */
function read(bytes: Buffer, sizes: readonly number[], max: number): string {
  let held = Buffer.alloc(0);
  let at = 0;
  for (const size of sizes) {
    const searched = held.length;
    held = Buffer.concat([held, bytes.subarray(at, at + size)]);
    at += size;
    const end = scanRequestHead(held, searched, max);
    if (end === HEAD_INCOMPLETE) continue;
    if (typeof end !== 'number') return `${end.status} ${end.message}`;
    const parsed = parseRequestHead(held.toString('latin1', 0, end - 4));
    return isHeadError(parsed) ? `${parsed.status} ${parsed.message}` : `accepted ${end}`;
  }
  return 'incomplete';
}

describe('findBadLineEnd', () => {
  it('finds bare LFs and CRs not followed by LF, and nothing in CRLF text', () => {
    const at = (text: string, from = 0, to = text.length): number => findBadLineEnd(Buffer.from(text, 'latin1'), from, to);
    expect(at('a\r\nb\r\n\r\n')).toBe(-1);
    expect(at('a\nb')).toBe(1);
    expect(at('\nb')).toBe(0);
    expect(at('a\rb')).toBe(1);
    expect(at('a\r\r\n')).toBe(1);
    expect(at('a\r')).toBe(-1);
    expect(at('a\r\n\n')).toBe(3);
    // Only [from, to) is judged, with the bytes around it as context.
    expect(at('a\nb\r\n', 2)).toBe(-1);
    expect(at('a\r\nb', 2)).toBe(-1);
    expect(at('ab\nc', 0, 2)).toBe(-1);
  });
});

describe('headersObject', () => {
  it('lower-cases names and follows node:http for repeated fields', () => {
    const headers = headersObject([
      'Host', 'first.example',
      'HOST', 'second.example',
      'Cookie', 'a=1',
      'cookie', 'b=2',
      'Set-Cookie', 'c=3',
      'X-List', 'one',
      'x-list', 'two',
      'Authorization', 'Bearer 1',
      'Authorization', 'Bearer 2',
      'Sec-WebSocket-Protocol', 'chat',
      'Sec-WebSocket-Protocol', 'superchat',
    ]);
    expect(headers).toEqual({
      host: 'first.example',
      cookie: 'a=1; b=2',
      'set-cookie': ['c=3'],
      'x-list': 'one, two',
      authorization: 'Bearer 1',
      'sec-websocket-protocol': 'chat, superchat',
    });
  });

  it('treats fields named like Object.prototype members as ordinary fields', () => {
    const headers = headersObject(['Constructor', 'x', 'toString', 'y', 'toString', 'z']);
    expect(Object.getOwnPropertyDescriptor(headers, 'constructor')?.value).toBe('x');
    expect(Object.getOwnPropertyDescriptor(headers, 'tostring')?.value).toBe('y, z');
  });

  it('matches what node:http builds for the same fields', async () => {
    const { IncomingMessage } = await import('node:http');
    const { Socket } = await import('node:net');
    const raw = ['Host', 'a', 'host', 'b', 'Cookie', 'x=1', 'Cookie', 'y=2', 'Set-Cookie', 'p', 'set-cookie', 'q', 'Accept', 'a', 'Accept', 'b', 'User-Agent', 'u1', 'User-Agent', 'u2'];
    const req = new IncomingMessage(new Socket());
    // The method node:http's parser uses to hand a request its fields.
    (req as unknown as { _addHeaderLines(h: string[], n: number): void })._addHeaderLines(raw, raw.length);
    expect(headersObject(raw)).toEqual({ ...req.headers });
  });
});
