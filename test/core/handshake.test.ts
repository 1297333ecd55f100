import { describe, expect, it } from 'vitest';
import { Buffer } from 'node:buffer';
import {
  acceptKey,
  buildAcceptResponse,
  buildRejectResponse,
  checkUpgradeRequest,
  generateKey,
  isOriginAllowed,
  isValidKey,
  plainAcceptResponse,
  verifyUpgradeResponse,
  type UpgradeRequestLike,
} from '../../src/core/handshake.js';
import { createHash } from 'node:crypto';
import { WebSocketError } from '../../src/core/errors.js';

// RFC 6455 §1.3
const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

describe('keys', () => {
  it('computes the RFC 6455 §1.3 example accept key', () => {
    expect(acceptKey(SAMPLE_KEY)).toBe(SAMPLE_ACCEPT);
  });

  it('generates valid, distinct 16-byte keys', () => {
    const a = generateKey();
    const b = generateKey();
    expect(isValidKey(a)).toBe(true);
    expect(Buffer.from(a, 'base64')).toHaveLength(16);
    expect(a).not.toBe(b);
  });

  it('accepts the sample key', () => {
    expect(isValidKey(SAMPLE_KEY)).toBe(true);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['no padding', 'dGhlIHNhbXBsZSBub25jZQ'],
    ['single padding (17 bytes)', 'dGhlIHNhbXBsZSBub25jZQx='],
    ['15 bytes', 'dGhlIHNhbXBsZSBub25j'],
    ['20 bytes', 'dGhlIHNhbXBsZSBub25jZWFiY2Q='],
    ['base64url alphabet', 'dGhlIHNhbXBsZSBub25jZ-==' ],
    ['surrounding space', ' dGhlIHNhbXBsZSBub25jZQ=='],
    ['bad character', 'dGhlIHNhbXBsZSBub25jZ!=='],
    ['two keys joined', `${SAMPLE_KEY}, ${SAMPLE_KEY}`],
  ])('rejects a key that is %s', (_label, key) => {
    expect(isValidKey(key)).toBe(false);
  });
});

function request(overrides: Partial<UpgradeRequestLike> = {}, headers: UpgradeRequestLike['headers'] = {}) {
  return {
    method: 'GET',
    httpVersion: '1.1',
    ...overrides,
    headers: {
      host: 'example.com',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-version': '13',
      'sec-websocket-key': SAMPLE_KEY,
      ...headers,
    },
  };
}

describe('checkUpgradeRequest', () => {
  it('accepts a valid request and reports what was offered', () => {
    const result = checkUpgradeRequest(
      request(
        {},
        {
          'sec-websocket-protocol': 'chat, superchat',
          'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
          origin: 'https://example.com',
        },
      ),
    );
    expect(result).toEqual({
      ok: true,
      key: SAMPLE_KEY,
      protocols: ['chat', 'superchat'],
      extensions: [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }],
      origin: 'https://example.com',
    });
  });

  it('accepts case-insensitive tokens inside lists and string[] values', () => {
    const result = checkUpgradeRequest(
      request(
        {},
        {
          upgrade: 'h2c, WebSocket',
          connection: ['keep-alive', 'UPGRADE'],
          'sec-websocket-protocol': ['a', 'b'],
          'sec-websocket-extensions': ['x', 'y; z=1'],
        },
      ),
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.protocols).toEqual(['a', 'b']);
      expect(result.extensions.map((e) => e.name)).toEqual(['x', 'y']);
      expect(result.origin).toBeUndefined();
    }
  });

  it('accepts later HTTP versions', () => {
    expect(checkUpgradeRequest(request({ httpVersion: '1.2' })).ok).toBe(true);
    expect(checkUpgradeRequest(request({ httpVersion: '2.0' })).ok).toBe(true);
  });

  it.each([
    ['POST', 'POST'],
    ['lower-case get', 'get'],
    ['no method', undefined],
  ])('rejects method %s with 405 and Allow: GET', (_label, method) => {
    const req = request();
    const result = checkUpgradeRequest({ ...req, method });
    expect(result).toMatchObject({ ok: false, status: 405, headers: { Allow: 'GET' } });
  });

  it('rejects HTTP/1.0 and 0.9 with 505', () => {
    expect(checkUpgradeRequest(request({ httpVersion: '1.0' }))).toMatchObject({ ok: false, status: 505 });
    expect(checkUpgradeRequest(request({ httpVersion: '0.9' }))).toMatchObject({ ok: false, status: 505 });
  });

  it('rejects an unparseable HTTP version with 400', () => {
    expect(checkUpgradeRequest(request({ httpVersion: 'x' }))).toMatchObject({ ok: false, status: 400 });
  });

  it.each([
    ['missing Upgrade', { upgrade: undefined }, /Upgrade/],
    ['wrong Upgrade', { upgrade: 'h2c' }, /Upgrade/],
    ['Upgrade as a substring', { upgrade: 'websockets' }, /Upgrade/],
    ['missing Connection', { connection: undefined }, /Connection/],
    ['Connection without upgrade', { connection: 'keep-alive' }, /Connection/],
    ['missing key', { 'sec-websocket-key': undefined }, /Key/],
    ['short key', { 'sec-websocket-key': 'AAAA' }, /Key/],
    ['two keys', { 'sec-websocket-key': [SAMPLE_KEY, SAMPLE_KEY] }, /Key/],
    ['duplicate protocol', { 'sec-websocket-protocol': 'a, a' }, /Protocol/],
    ['non-token protocol', { 'sec-websocket-protocol': 'a b' }, /Protocol/],
    ['malformed extensions', { 'sec-websocket-extensions': 'foo; a="' }, /Extensions/],
    // A body would be read as WebSocket frames (node:http upgrades such requests).
    ['a body (Content-Length: 5)', { 'content-length': '5' }, /body/],
    ['a body (Content-Length: abc)', { 'content-length': 'abc' }, /body/],
    ['two Content-Length lines', { 'content-length': ['0', '0'] }, /body/],
    ['Transfer-Encoding: chunked', { 'transfer-encoding': 'chunked' }, /body/],
    ['Transfer-Encoding: identity with Content-Length: 0', { 'transfer-encoding': 'identity', 'content-length': '0' }, /body/],
  ])('rejects %s with 400', (_label, headers, message) => {
    const result = checkUpgradeRequest(request({}, headers));
    expect(result).toMatchObject({ ok: false, status: 400 });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it.each([
    ['missing', undefined],
    ['8', '8'],
    ['14', '14'],
    ['13 twice', ['13', '13']],
    ['13 in a list', '13, 8'],
  ])('rejects Sec-WebSocket-Version %s with 426 naming version 13', (_label, version) => {
    const result = checkUpgradeRequest(request({}, { 'sec-websocket-version': version }));
    expect(result).toMatchObject({ ok: false, status: 426, headers: { 'Sec-WebSocket-Version': '13' } });
  });

  it('accepts Content-Length: 0, which is no body', () => {
    expect(checkUpgradeRequest(request({}, { 'content-length': '0' })).ok).toBe(true);
    expect(checkUpgradeRequest(request({}, { 'content-length': ' 0 ' })).ok).toBe(true);
  });

  it('checks in RFC order: the method before anything else', () => {
    const result = checkUpgradeRequest(request({ method: 'PUT', httpVersion: '1.0' }, { upgrade: undefined }));
    expect(result).toMatchObject({ status: 405 });
  });
});

describe('isOriginAllowed', () => {
  it.each<[string, string | undefined, string | undefined, readonly string[] | undefined, boolean]>([
    ['no Origin (not a browser)', undefined, 'example.com', undefined, true],
    ['no Origin and no Host', undefined, undefined, undefined, true],
    ['same host', 'https://example.com', 'example.com', undefined, true],
    ['same host, different case', 'https://EXAMPLE.com', 'Example.COM', undefined, true],
    ['same host and port', 'http://example.com:8080', 'example.com:8080', undefined, true],
    ['https default port written in Host', 'https://example.com', 'example.com:443', undefined, true],
    ['https default port written in Origin', 'https://example.com:443', 'example.com', undefined, true],
    ['http default port written in Host', 'http://example.com', 'example.com:80', undefined, true],
    ['https Origin, Host names port 80', 'https://example.com', 'example.com:80', undefined, false],
    ['http Origin, Host names port 443', 'http://example.com', 'example.com:443', undefined, false],
    ['different port', 'http://example.com:8080', 'example.com:8081', undefined, false],
    ['port missing from Host', 'http://example.com:8080', 'example.com', undefined, false],
    ['IPv6 same host', 'http://[::1]:8080', '[::1]:8080', undefined, true],
    ['different host', 'https://evil.com', 'example.com', undefined, false],
    ['suffix host', 'https://evil-example.com', 'example.com', undefined, false],
    ['no Host header', 'https://example.com', undefined, undefined, false],
    ['userinfo trick in Host', 'https://example.com', 'evil.com@example.com', undefined, false],
    ['Origin with a path', 'https://example.com/app', 'example.com', undefined, false],
    ['non-http scheme with same host', 'chrome-extension://example.com', 'example.com', undefined, false],
    ['garbage Origin', 'not an origin', 'example.com', undefined, false],
    ['Origin: null', 'null', 'example.com', undefined, false],
    ['Origin: null, null listed', 'null', 'example.com', ['null'], true],
    ['Origin: null, other listed', 'null', 'example.com', ['https://app.example.com'], false],
    ['listed exactly', 'https://app.example.com', 'api.example.com', ['https://app.example.com'], true],
    ['listed with trailing slash and case', 'https://App.Example.com', 'api.example.com', ['HTTPS://app.example.com/'], true],
    ['listed with default port', 'https://app.example.com', 'api.example.com', ['https://app.example.com:443'], true],
    ['listed with another scheme', 'http://app.example.com', 'api.example.com', ['https://app.example.com'], false],
    ['listed with another port', 'https://app.example.com:8443', 'api.example.com', ['https://app.example.com'], false],
    ['not listed', 'https://evil.com', 'api.example.com', ['https://app.example.com'], false],
    ['non-http scheme listed', 'chrome-extension://abc', 'example.com', ['chrome-extension://abc'], true],
    ['wildcard', 'https://evil.com', 'example.com', ['*'], true],
    ['wildcard allows null', 'null', 'example.com', ['*'], true],
    ['empty allow-list', 'https://evil.com', 'example.com', [], false],
  ])('%s', (_label, origin, host, allowed, expected) => {
    expect(isOriginAllowed(origin, host, allowed)).toBe(expected);
  });
});

describe('buildAcceptResponse', () => {
  it('builds the RFC 6455 §1.3 response head', () => {
    expect(buildAcceptResponse(SAMPLE_KEY, undefined, undefined, [])).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${SAMPLE_ACCEPT}\r\n` +
        '\r\n',
    );
  });

  it('adds protocol, extensions and extra headers', () => {
    const head = buildAcceptResponse(SAMPLE_KEY, 'chat', 'permessage-deflate', ['X-A: 1', 'Set-Cookie: s=1']);
    const lines = head.split('\r\n');
    expect(lines).toContain('Sec-WebSocket-Protocol: chat');
    expect(lines).toContain('Sec-WebSocket-Extensions: permessage-deflate');
    expect(lines.slice(-4)).toEqual(['X-A: 1', 'Set-Cookie: s=1', '', '']);
  });

  it('refuses header values that would split the response', () => {
    expect(() => buildAcceptResponse(SAMPLE_KEY, 'chat\r\nX: 1', undefined, [])).toThrow(TypeError);
    expect(() => buildAcceptResponse(SAMPLE_KEY, undefined, undefined, ['X-A: 1\r\n\r\nbody'])).toThrow(TypeError);
  });
});

/** A minimal HTTP/1.1 response parser: enough to prove the reject response is well-formed. */
function parseResponse(raw: string) {
  const bytes = Buffer.from(raw, 'utf8');
  const end = bytes.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  const [statusLine = '', ...fieldLines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) ([^\r\n]*)$/.exec(statusLine);
  expect(m).not.toBeNull();
  const headers: Record<string, string> = {};
  for (const line of fieldLines) {
    const field = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): (.*)$/.exec(line);
    expect(field, line).not.toBeNull();
    const name = (field?.[1] ?? '').toLowerCase();
    expect(headers[name], `duplicate ${name}`).toBeUndefined();
    headers[name] = field?.[2] ?? '';
  }
  const body = bytes.subarray(end + 4);
  return { status: Number(m?.[1]), reason: m?.[2], headers, body };
}

describe('plainAcceptResponse', () => {
  it('is byte for byte the general response without subprotocol, extensions or extra lines', () => {
    for (let i = 0; i < 50; i++) {
      const key = generateKey();
      expect(plainAcceptResponse(key)).toBe(buildAcceptResponse(key, '', '', []));
    }
  });

  it('carries the accept value of the hash computed the long way (RFC 6455 §1.3)', () => {
    const key = generateKey();
    const expected = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    expect(acceptKey(key)).toBe(expected);
    expect(plainAcceptResponse(key)).toContain(`\r\nSec-WebSocket-Accept: ${expected}\r\n\r\n`);
  });
});

describe('buildRejectResponse', () => {
  it.each([
    [400, 'Bad Request'],
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
    [404, 'Not Found'],
    [405, 'Method Not Allowed'],
    [426, 'Upgrade Required'],
    [429, 'Too Many Requests'],
    [500, 'Internal Server Error'],
    [503, 'Service Unavailable'],
    [505, 'HTTP Version Not Supported'],
  ])('builds a parseable %i %s response', (status, reason) => {
    const res = parseResponse(buildRejectResponse(status));
    expect(res.status).toBe(status);
    expect(res.reason).toBe(reason);
    expect(res.headers.connection).toBe('close');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body.toString('utf8')).toBe(reason);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
  });

  it('counts Content-Length in bytes for a non-ASCII message', () => {
    const res = parseResponse(buildRejectResponse(400, 'Clé invalide ✗'));
    expect(res.body.toString('utf8')).toBe('Clé invalide ✗');
    expect(res.headers['content-length']).toBe('17');
  });

  it('includes extra headers; a caller Content-Length is ignored', () => {
    const res = parseResponse(
      buildRejectResponse(426, 'Version', { 'Sec-WebSocket-Version': '13', 'Content-Length': '999' }),
    );
    expect(res.headers['sec-websocket-version']).toBe('13');
    expect(res.headers['content-length']).toBe('7');
  });

  it('answers a HEAD request with the same head and no body', () => {
    const get = buildRejectResponse(426, 'Upgrade Required', { Upgrade: 'websocket' });
    const head = buildRejectResponse(426, 'Upgrade Required', { Upgrade: 'websocket' }, true);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    expect(get).toBe(`${head}Upgrade Required`);
    expect(parseResponse(head).headers['content-length']).toBe('16');
  });

  it('lets extra headers replace Content-Type without duplicating it', () => {
    const res = parseResponse(buildRejectResponse(403, '{}', { 'content-type': 'application/json' }));
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('uses a generic reason phrase for statuses outside the table', () => {
    expect(parseResponse(buildRejectResponse(418)).reason).toBe('Client Error');
    expect(parseResponse(buildRejectResponse(599)).reason).toBe('Server Error');
  });

  it('refuses invalid statuses and header injection', () => {
    expect(() => buildRejectResponse(99)).toThrow(RangeError);
    expect(() => buildRejectResponse(400.5)).toThrow(RangeError);
    expect(() => buildRejectResponse(400, 'x', { 'X-A': 'a\r\nSet-Cookie: s=1' })).toThrow(TypeError);
    expect(() => buildRejectResponse(400, 'x', { 'X A': 'a' })).toThrow(TypeError);
  });
});

describe('verifyUpgradeResponse', () => {
  const good = () => ({
    statusCode: 101,
    headers: {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-accept': SAMPLE_ACCEPT,
    } as Record<string, string | string[] | undefined>,
  });
  const offer = { key: SAMPLE_KEY, protocols: ['chat', 'superchat'], extensionNames: ['permessage-deflate'] };

  function failure(res: ReturnType<typeof good>, expected = offer): WebSocketError {
    try {
      verifyUpgradeResponse(res, expected);
    } catch (err) {
      expect(err).toBeInstanceOf(WebSocketError);
      expect((err as WebSocketError).code).toBe('WS_ERR_HANDSHAKE');
      return err as WebSocketError;
    }
    throw new Error('expected verifyUpgradeResponse to throw');
  }

  it('accepts the RFC 6455 §1.3 response', () => {
    expect(verifyUpgradeResponse(good(), offer)).toEqual({ protocol: '', extensions: [] });
  });

  it('accepts case-insensitive Upgrade and Connection tokens', () => {
    const res = good();
    res.headers.upgrade = 'WebSocket';
    res.headers.connection = ['keep-alive', 'UPGRADE'];
    expect(verifyUpgradeResponse(res, offer).protocol).toBe('');
  });

  it('returns the selected protocol and the accepted extensions', () => {
    const res = good();
    res.headers['sec-websocket-protocol'] = 'superchat';
    res.headers['sec-websocket-extensions'] = 'Permessage-Deflate; server_max_window_bits=10';
    expect(verifyUpgradeResponse(res, offer)).toEqual({
      protocol: 'superchat',
      extensions: [{ name: 'permessage-deflate', params: [['server_max_window_bits', '10']] }],
    });
  });

  it('allows the server to select no protocol', () => {
    expect(verifyUpgradeResponse(good(), offer).protocol).toBe('');
  });

  it('fails on a status other than 101', () => {
    const res = good();
    res.statusCode = 200;
    expect(failure(res).message).toMatch(/status: 200/);
    const noStatus: { statusCode?: number; headers: Record<string, string> } = { headers: {} };
    expect(() => verifyUpgradeResponse(noStatus, offer)).toThrow(/status/);
  });

  it.each([
    ['missing', undefined],
    ['wrong', 'h2c'],
    ['a list', 'websocket, h2c'],
  ])('fails on a %s Upgrade header', (_label, value) => {
    const res = good();
    res.headers.upgrade = value;
    expect(failure(res).message).toMatch(/Upgrade/);
  });

  it.each([
    ['missing', undefined],
    ['without upgrade', 'keep-alive'],
  ])('fails on a Connection header %s', (_label, value) => {
    const res = good();
    res.headers.connection = value;
    expect(failure(res).message).toMatch(/Connection/);
  });

  it('fails on a missing Sec-WebSocket-Accept', () => {
    const res = good();
    delete res.headers['sec-websocket-accept'];
    expect(failure(res).message).toBe('Invalid Sec-WebSocket-Accept header');
  });

  it('fails on a wrong Sec-WebSocket-Accept', () => {
    const res = good();
    res.headers['sec-websocket-accept'] = acceptKey(generateKey());
    expect(failure(res).message).toMatch(/Invalid Sec-WebSocket-Accept/);
  });

  it('fails when the accept key was computed for another key', () => {
    expect(failure(good(), { ...offer, key: generateKey() }).message).toMatch(/Sec-WebSocket-Accept/);
  });

  it('fails on a protocol when none was offered', () => {
    const res = good();
    res.headers['sec-websocket-protocol'] = 'chat';
    expect(failure(res, { ...offer, protocols: [] }).message).toBe('Server sent a subprotocol but none was requested');
  });

  it.each([
    ['not offered', 'other'],
    ['differing in case (RFC 7936)', 'Chat'],
    ['a list', 'chat, superchat'],
    ['empty', ''],
  ])('fails on a protocol %s', (_label, value) => {
    const res = good();
    res.headers['sec-websocket-protocol'] = value;
    expect(failure(res).message).toBe('Server sent an invalid subprotocol');
  });

  it('fails on malformed extensions', () => {
    const res = good();
    res.headers['sec-websocket-extensions'] = 'permessage-deflate; a="';
    expect(failure(res).message).toMatch(/Invalid Sec-WebSocket-Extensions/);
  });

  it('fails on an extension that was not offered', () => {
    const res = good();
    res.headers['sec-websocket-extensions'] = 'permessage-deflate, x-custom';
    expect(failure(res).message).toBe('Server indicated an extension that was not requested');
    expect(failure(res, { ...offer, extensionNames: [] }).message).toBe(
      'Server sent a Sec-WebSocket-Extensions header but no extension was requested',
    );
  });
});
