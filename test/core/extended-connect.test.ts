/**
 * The server's checks of an RFC 8441 extended CONNECT, header by header, without a session
 * (the HTTP/2 tests run the same rules over real streams).
 */
import { describe, expect, it } from 'vitest';
import { checkExtendedConnect, type Http2HeadersLike, isTunnelOpen, isWebSocketConnect } from '../../src/core/extended-connect.js';

const valid: Http2HeadersLike = {
  ':method': 'CONNECT',
  ':protocol': 'websocket',
  ':scheme': 'https',
  ':path': '/chat?room=1',
  ':authority': 'example.com:8443',
  'sec-websocket-version': '13',
  'sec-websocket-protocol': 'v2.chat, v1.chat',
  'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
  origin: 'https://example.com',
};

const without = (name: string): Http2HeadersLike => {
  const copy = { ...valid };
  delete copy[name];
  return copy;
};

describe('isWebSocketConnect (RFC 8441 §4)', () => {
  it('is a CONNECT whose :protocol is websocket, in any case', () => {
    expect(isWebSocketConnect(valid)).toBe(true);
    expect(isWebSocketConnect({ ...valid, ':protocol': 'WebSocket' })).toBe(true);
    expect(isWebSocketConnect({ ...valid, ':method': 'GET' })).toBe(false);
    expect(isWebSocketConnect({ ...valid, ':protocol': 'webtransport' })).toBe(false);
    expect(isWebSocketConnect(without(':protocol'))).toBe(false);
  });
});

describe('checkExtendedConnect', () => {
  it('accepts a complete request: subprotocols and extensions in the client\'s order, the origin, no key', () => {
    const check = checkExtendedConnect(valid);
    expect(check).toEqual({
      ok: true,
      key: '',
      protocols: ['v2.chat', 'v1.chat'],
      extensions: [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }],
      origin: 'https://example.com',
    });
  });

  it('accepts http as :scheme (ws:) and a request without subprotocols, extensions or origin', () => {
    const check = checkExtendedConnect({ ...without('sec-websocket-protocol'), ':scheme': 'http', 'sec-websocket-extensions': undefined, origin: undefined });
    expect(check).toEqual({ ok: true, key: '', protocols: [], extensions: [], origin: undefined });
  });

  const refusals: Array<[string, Http2HeadersLike, string]> = [
    ['a GET', { ...valid, ':method': 'GET' }, 'Not a WebSocket extended CONNECT'],
    ['no :scheme', without(':scheme'), 'Missing or invalid :scheme'],
    ['a :scheme of ws', { ...valid, ':scheme': 'ws' }, 'Missing or invalid :scheme'],
    ['no :path', without(':path'), 'Missing or invalid :path'],
    ['a :path not starting with /', { ...valid, ':path': 'chat' }, 'Missing or invalid :path'],
    ['no :authority', without(':authority'), 'Missing :authority'],
    ['an empty :authority', { ...valid, ':authority': '' }, 'Missing :authority'],
    ['an invalid subprotocol list', { ...valid, 'sec-websocket-protocol': 'chat room' }, 'Invalid Sec-WebSocket-Protocol header'],
    ['invalid extensions', { ...valid, 'sec-websocket-extensions': 'permessage-deflate;;' }, 'Invalid Sec-WebSocket-Extensions header'],
  ];
  for (const [what, headers, message] of refusals) {
    it(`refuses ${what} with 400`, () => {
      expect(checkExtendedConnect(headers)).toEqual({ ok: false, status: 400, message });
    });
  }

  it('refuses a version other than 13 with 400 naming 13 (RFC 6455 §4.2.2)', () => {
    for (const version of [undefined, '8', '13, 8']) {
      expect(checkExtendedConnect({ ...valid, 'sec-websocket-version': version })).toEqual({
        ok: false,
        status: 400,
        message: 'Sec-WebSocket-Version must be 13',
        headers: { 'sec-websocket-version': '13' },
      });
    }
  });
});

describe('isTunnelOpen (RFC 8441 §5)', () => {
  it('is any 2xx answer', () => {
    expect([199, 200, 204, 299, 300, 101, 404].map(isTunnelOpen)).toEqual([false, true, true, true, false, false, false]);
  });
});
