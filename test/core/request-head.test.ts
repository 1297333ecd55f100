import { describe, expect, it } from 'vitest';
import { findHeadEnd, headersObject, isHeadError, parseRequestHead, type RequestHead } from '../../src/core/request-head.js';

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

  it('accepts a head with no fields', () => {
    expect(parse('GET / HTTP/1.1').rawHeaders).toEqual([]);
  });

  it.each([
    ['an empty request line', ''],
    ['two spaces after the method', 'GET  / HTTP/1.1'],
    ['a missing version', 'GET /'],
    ['a fourth part', 'GET / HTTP/1.1 x'],
    ['a lower-case version', 'GET / http/1.1'],
    ['a two-digit minor version', 'GET / HTTP/1.10'],
    ['a non-digit version', 'GET / HTTP/1.x'],
    ['a method that is not a token', 'G(T / HTTP/1.1'],
    ['a control character in the target', 'GET /a\x01b HTTP/1.1'],
    ['a byte above 0x7f in the target', 'GET /caf\xe9 HTTP/1.1'],
    ['a tab in the target', 'GET /a\tb HTTP/1.1'],
    ['a field without a colon', 'GET / HTTP/1.1\r\nHost example.com'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : example.com'],
    ['an empty field name', 'GET / HTTP/1.1\r\n: value'],
    ['a folded line (obs-fold)', 'GET / HTTP/1.1\r\nX-A: one\r\n two'],
    ['a lone LF inside a line', 'GET / HTTP/1.1\r\nX-A: one\nX-B: two'],
    ['a lone CR inside a value', 'GET / HTTP/1.1\r\nX-A: one\rtwo'],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nX-A: a\x00b'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nX-A: a\x7fb'],
    ['an empty line before the request line', '\r\nGET / HTTP/1.1'],
  ])('refuses %s with 400', (_label, text) => {
    const result = parseRequestHead(text);
    expect(isHeadError(result)).toBe(true);
    expect(result).toMatchObject({ status: 400 });
  });

  it.each(['HTTP/2.0', 'HTTP/0.9', 'HTTP/3.1'])('refuses %s with 505', (version) => {
    expect(parseRequestHead(`GET / ${version}\r\nHost: x`)).toMatchObject({ status: 505 });
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
