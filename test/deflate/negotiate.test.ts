import { describe, expect, it } from 'vitest';
import { WebSocketError } from '../../src/core/errors.js';
import { parseExtensions, type ExtensionOffer } from '../../src/core/headers.js';
import {
  acceptServerResponse,
  buildClientOffer,
  negotiateServer,
  type NegotiatedParams,
} from '../../src/deflate/negotiate.js';
import type { PerMessageDeflateOptions } from '../../src/deflate/options.js';

function parse(header: string): ExtensionOffer[] {
  const offers = parseExtensions(header);
  if (offers === null) throw new Error(`test header does not parse: ${header}`);
  return offers;
}

function server(header: string, options: PerMessageDeflateOptions = {}) {
  return negotiateServer(parse(header), options);
}

function client(header: string, options: PerMessageDeflateOptions = {}) {
  return acceptServerResponse(parse(header), options);
}

const DEFAULTS: NegotiatedParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

describe('negotiateServer: valid offers', () => {
  it('accepts a bare offer with the defaults', () => {
    expect(server('permessage-deflate')).toEqual({ params: DEFAULTS, response: 'permessage-deflate' });
  });

  it('does not answer client_max_window_bits offered without a value', () => {
    expect(server('permessage-deflate; client_max_window_bits')).toEqual({
      params: DEFAULTS,
      response: 'permessage-deflate',
    });
  });

  it('echoes client_max_window_bits offered with a value (8 to 15)', () => {
    for (let bits = 8; bits <= 15; bits++) {
      expect(server(`permessage-deflate; client_max_window_bits=${bits}`)).toEqual({
        params: { ...DEFAULTS, clientMaxWindowBits: bits },
        response: `permessage-deflate; client_max_window_bits=${bits}`,
      });
    }
  });

  it('accepts server_max_window_bits 8 to 15 by answering the same value', () => {
    for (let bits = 8; bits <= 15; bits++) {
      expect(server(`permessage-deflate; server_max_window_bits=${bits}`)).toEqual({
        params: { ...DEFAULTS, serverMaxWindowBits: bits },
        response: `permessage-deflate; server_max_window_bits=${bits}`,
      });
    }
  });

  it('accepts server_no_context_takeover by answering it', () => {
    expect(server('permessage-deflate; server_no_context_takeover')).toEqual({
      params: { ...DEFAULTS, serverNoContextTakeover: true },
      response: 'permessage-deflate; server_no_context_takeover',
    });
  });

  it('answers the client_no_context_takeover hint', () => {
    expect(server('permessage-deflate; client_no_context_takeover')).toEqual({
      params: { ...DEFAULTS, clientNoContextTakeover: true },
      response: 'permessage-deflate; client_no_context_takeover',
    });
  });

  it('accepts every parameter at once, in canonical order', () => {
    const offer =
      'permessage-deflate; client_max_window_bits=10; server_max_window_bits=9; client_no_context_takeover; server_no_context_takeover';
    expect(server(offer)).toEqual({
      params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
      response:
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10',
    });
  });

  it('accepts a quoted value and any case in names', () => {
    expect(server('PerMessage-Deflate; Server_Max_Window_Bits="10"')?.params.serverMaxWindowBits).toBe(10);
  });
});

describe('negotiateServer: invalid offers are declined', () => {
  const invalid = [
    'server_max_window_bits',
    'server_max_window_bits=7',
    'server_max_window_bits=16',
    'server_max_window_bits=08',
    'server_max_window_bits=0',
    'server_max_window_bits=abc',
    'server_max_window_bits=-9',
    'client_max_window_bits=7',
    'client_max_window_bits=16',
    'client_max_window_bits=010',
    'client_max_window_bits=x',
    'server_no_context_takeover=1',
    'client_no_context_takeover=true',
    'server_no_context_takeover; server_no_context_takeover',
    'client_no_context_takeover; client_no_context_takeover',
    'server_max_window_bits=10; server_max_window_bits=10',
    'client_max_window_bits; client_max_window_bits=10',
    'unknown_param',
    'max_window_bits=10',
  ];
  for (const params of invalid) {
    it(`declines "${params}"`, () => {
      expect(server(`permessage-deflate; ${params}`)).toBeNull();
      // ...and moves on to the next offer.
      expect(server(`permessage-deflate; ${params}, permessage-deflate`)?.response).toBe('permessage-deflate');
    });
  }
});

describe('negotiateServer: several offers', () => {
  it('takes the first acceptable offer, not the best', () => {
    const result = server('permessage-deflate; client_max_window_bits=9, permessage-deflate');
    expect(result?.response).toBe('permessage-deflate; client_max_window_bits=9');
  });

  it('skips invalid and incompatible offers', () => {
    const header = [
      'permessage-deflate; foo',
      'permessage-deflate; server_no_context_takeover',
      'permessage-deflate; server_max_window_bits=11',
    ].join(', ');
    expect(server(header, { serverNoContextTakeover: false })?.response).toBe('permessage-deflate; server_max_window_bits=11');
  });

  it('ignores other extensions', () => {
    expect(server('x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=12')?.params.clientMaxWindowBits).toBe(12);
    expect(server('x-webkit-deflate-frame; server_max_window_bits=10')).toBeNull();
  });

  it('returns null for no offers', () => {
    expect(negotiateServer([], {})).toBeNull();
  });
});

describe('negotiateServer: server options', () => {
  it('serverNoContextTakeover: true always answers it, false declines offers asking for it', () => {
    expect(server('permessage-deflate', { serverNoContextTakeover: true })?.response).toBe(
      'permessage-deflate; server_no_context_takeover',
    );
    expect(server('permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: false })).toBeNull();
    expect(server('permessage-deflate', { serverNoContextTakeover: false })?.response).toBe('permessage-deflate');
  });

  it('clientNoContextTakeover: true always answers it, false never does (the hint still binds)', () => {
    expect(server('permessage-deflate', { clientNoContextTakeover: true })).toEqual({
      params: { ...DEFAULTS, clientNoContextTakeover: true },
      response: 'permessage-deflate; client_no_context_takeover',
    });
    expect(server('permessage-deflate; client_no_context_takeover', { clientNoContextTakeover: false })).toEqual({
      params: { ...DEFAULTS, clientNoContextTakeover: true },
      response: 'permessage-deflate',
    });
  });

  it('serverMaxWindowBits: a number caps the answer, unasked too', () => {
    const opts = { serverMaxWindowBits: 10 };
    expect(server('permessage-deflate', opts)?.response).toBe('permessage-deflate; server_max_window_bits=10');
    expect(server('permessage-deflate; server_max_window_bits=12', opts)?.response).toBe(
      'permessage-deflate; server_max_window_bits=10',
    );
    expect(server('permessage-deflate; server_max_window_bits=9', opts)?.params.serverMaxWindowBits).toBe(9);
  });

  it('serverMaxWindowBits: false declines offers carrying it; true is the default', () => {
    expect(server('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: false })).toBeNull();
    expect(server('permessage-deflate', { serverMaxWindowBits: false })?.response).toBe('permessage-deflate');
    expect(server('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: true })?.response).toBe(
      'permessage-deflate; server_max_window_bits=12',
    );
  });

  it('clientMaxWindowBits: a number needs the param offered and caps the answer', () => {
    const opts = { clientMaxWindowBits: 10 };
    expect(server('permessage-deflate', opts)).toBeNull();
    expect(server('permessage-deflate; client_max_window_bits', opts)).toEqual({
      params: { ...DEFAULTS, clientMaxWindowBits: 10 },
      response: 'permessage-deflate; client_max_window_bits=10',
    });
    expect(server('permessage-deflate; client_max_window_bits=12', opts)?.params.clientMaxWindowBits).toBe(10);
    expect(server('permessage-deflate; client_max_window_bits=9', opts)?.response).toBe(
      'permessage-deflate; client_max_window_bits=9',
    );
  });

  it('clientMaxWindowBits: false never answers it but keeps the client’s promise', () => {
    expect(server('permessage-deflate; client_max_window_bits=11', { clientMaxWindowBits: false })).toEqual({
      params: { ...DEFAULTS, clientMaxWindowBits: 11 },
      response: 'permessage-deflate',
    });
  });

  it('throws on invalid options', () => {
    expect(() => server('permessage-deflate', { serverMaxWindowBits: 16 })).toThrow(RangeError);
    expect(() => server('permessage-deflate', { clientMaxWindowBits: 7 })).toThrow(RangeError);
    expect(() => server('permessage-deflate', { serverNoContextTakeover: 1 as unknown as boolean })).toThrow(TypeError);
  });
});

describe('buildClientOffer', () => {
  it('offers client_max_window_bits without a value by default', () => {
    expect(buildClientOffer({})).toBe('permessage-deflate; client_max_window_bits');
  });

  it('offers every configured parameter', () => {
    expect(
      buildClientOffer({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 11,
      }),
    ).toBe(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
    );
  });

  it('leaves out what is false or unset', () => {
    expect(buildClientOffer({ clientMaxWindowBits: false, serverMaxWindowBits: true })).toBe('permessage-deflate');
  });

  it('throws on invalid options', () => {
    expect(() => buildClientOffer({ serverMaxWindowBits: 9.5 })).toThrow(RangeError);
  });
});

describe('acceptServerResponse', () => {
  function rejects(header: string, options: PerMessageDeflateOptions, message: RegExp): void {
    let caught: unknown;
    try {
      client(header, options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WebSocketError);
    expect((caught as WebSocketError).code).toBe('WS_ERR_HANDSHAKE');
    expect((caught as WebSocketError).message).toMatch(message);
  }

  it('returns null when the server declined', () => {
    expect(client('', {})).toBeNull();
    expect(client('x-other', {})).toBeNull();
  });

  it('accepts a bare answer', () => {
    expect(client('permessage-deflate', {})).toEqual(DEFAULTS);
  });

  it('accepts every parameter the server may send', () => {
    expect(
      client(
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=9',
        {},
      ),
    ).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 9 });
  });

  it('keeps its own promises (client_no_context_takeover, client_max_window_bits)', () => {
    expect(client('permessage-deflate', { clientNoContextTakeover: true, clientMaxWindowBits: 10 })).toEqual({
      ...DEFAULTS,
      clientNoContextTakeover: true,
      clientMaxWindowBits: 10,
    });
    expect(client('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 })?.clientMaxWindowBits).toBe(10);
    expect(client('permessage-deflate; client_max_window_bits=9', { clientMaxWindowBits: 10 })?.clientMaxWindowBits).toBe(9);
  });

  it('accepts a smaller server_max_window_bits than requested and unrequested ones', () => {
    expect(client('permessage-deflate; server_max_window_bits=9', { serverMaxWindowBits: 10 })?.serverMaxWindowBits).toBe(9);
    expect(client('permessage-deflate; server_max_window_bits=12', {})?.serverMaxWindowBits).toBe(12);
  });

  it('fails on a malformed answer', () => {
    rejects('permessage-deflate, permessage-deflate', {}, /more than once/);
    rejects('permessage-deflate; foo', {}, /unknown parameter "foo"/);
    rejects('permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}, /more than once/);
    rejects('permessage-deflate; server_no_context_takeover=x', {}, /must not have a value/);
    rejects('permessage-deflate; client_no_context_takeover=1', {}, /must not have a value/);
    rejects('permessage-deflate; server_max_window_bits', {}, /8 to 15/);
    rejects('permessage-deflate; server_max_window_bits=7', {}, /8 to 15/);
    rejects('permessage-deflate; server_max_window_bits=16', {}, /8 to 15/);
    rejects('permessage-deflate; client_max_window_bits', {}, /needs a value/);
    rejects('permessage-deflate; client_max_window_bits=0', {}, /8 to 15/);
  });

  it('fails when the server did not grant what was requested', () => {
    rejects('permessage-deflate', { serverNoContextTakeover: true }, /server_no_context_takeover was requested/);
    rejects('permessage-deflate', { serverMaxWindowBits: 10 }, /server_max_window_bits=10 was requested/);
    rejects('permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }, /exceeds the requested 10/);
  });

  it('fails on parameters the client did not offer or refuses', () => {
    rejects('permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: false }, /was not offered/);
    rejects('permessage-deflate; client_no_context_takeover', { clientNoContextTakeover: false }, /not accepted/);
  });
});

describe('client and server agree', () => {
  const clientChoices: PerMessageDeflateOptions[] = [];
  for (const serverNoContextTakeover of [undefined, true])
    for (const clientNoContextTakeover of [undefined, true, false])
      for (const serverMaxWindowBits of [undefined, 8, 12])
        for (const clientMaxWindowBits of [undefined, false, 9, true])
          clientChoices.push({ serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits });
  const serverChoices: PerMessageDeflateOptions[] = [];
  for (const serverNoContextTakeover of [undefined, true, false])
    for (const clientNoContextTakeover of [undefined, true, false])
      for (const serverMaxWindowBits of [undefined, 10, false])
        for (const clientMaxWindowBits of [undefined, 11, false])
          serverChoices.push({ serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits });

  it(`on the same parameters for ${clientChoices.length * serverChoices.length} option pairs`, () => {
    let accepted = 0;
    for (const c of clientChoices) {
      const offer = parse(buildClientOffer(c));
      for (const s of serverChoices) {
        const answer = negotiateServer(offer, s);
        if (answer === null) continue;
        accepted++;
        const response = parse(answer.response);
        if (c.clientNoContextTakeover === false && answer.params.clientNoContextTakeover) {
          // ws semantics: such a client refuses client_no_context_takeover.
          expect(() => acceptServerResponse(response, c)).toThrow(WebSocketError);
          continue;
        }
        expect(acceptServerResponse(response, c), JSON.stringify({ c, s })).toEqual(answer.params);
      }
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
