import { describe, expect, it } from 'vitest';
import {
  formatExtensions,
  hasToken,
  headerTokens,
  isToken,
  parseExtensions,
  parseProtocolList,
  type ExtensionOffer,
} from '../../src/core/headers.js';

describe('headerTokens / hasToken', () => {
  it('splits, trims and lower-cases comma-separated tokens', () => {
    expect(headerTokens(' keep-alive ,\tUpgrade ')).toEqual(['keep-alive', 'upgrade']);
  });

  it('drops empty elements and reads every header line', () => {
    expect(headerTokens([',a,, B', '', 'c ,'])).toEqual(['a', 'b', 'c']);
    expect(headerTokens(undefined)).toEqual([]);
    expect(headerTokens('')).toEqual([]);
  });

  it('matches tokens case-insensitively in lists', () => {
    expect(hasToken('keep-alive, Upgrade', 'upgrade')).toBe(true);
    expect(hasToken('KEEP-ALIVE, UPGRADE', 'Upgrade')).toBe(true);
    expect(hasToken(['keep-alive', 'upgrade'], 'UPGRADE')).toBe(true);
    expect(hasToken('keep-alive', 'upgrade')).toBe(false);
    expect(hasToken('upgraded', 'upgrade')).toBe(false);
    expect(hasToken(undefined, 'upgrade')).toBe(false);
  });
});

describe('isToken', () => {
  it('accepts every tchar', () => {
    expect(isToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true);
  });

  it.each(['', 'a b', 'a,b', 'a;b', 'a=b', '"a"', 'a/b', 'a:b', 'a\tb', 'a(b)', 'a@b', 'ä', 'a\u0000'])(
    'rejects %j',
    (s) => {
      expect(isToken(s)).toBe(false);
    },
  );
});

describe('parseProtocolList', () => {
  it('keeps order and case', () => {
    expect(parseProtocolList('chat, SuperChat,v2.json')).toEqual(['chat', 'SuperChat', 'v2.json']);
  });

  it('reads several header lines and tolerates empty elements', () => {
    expect(parseProtocolList(['a, b', 'c', ''])).toEqual(['a', 'b', 'c']);
    expect(parseProtocolList('a, , b,')).toEqual(['a', 'b']);
  });

  it('returns [] when absent', () => {
    expect(parseProtocolList(undefined)).toEqual([]);
  });

  it.each(['a b', 'a, b;c', 'chat, "x"', 'a/b', 'chat\u00a0'])('rejects the non-token in %j', (value) => {
    expect(parseProtocolList(value)).toBeNull();
  });

  it('rejects duplicates, also across header lines', () => {
    expect(parseProtocolList('a, b, a')).toBeNull();
    expect(parseProtocolList(['a', 'a'])).toBeNull();
  });

  it('treats names differing only in case as distinct (RFC 7936)', () => {
    expect(parseProtocolList('chat, Chat')).toEqual(['chat', 'Chat']);
  });
});

describe('parseExtensions', () => {
  it('parses names and params with and without values', () => {
    expect(parseExtensions('permessage-deflate; client_max_window_bits; server_max_window_bits=10')).toEqual([
      {
        name: 'permessage-deflate',
        params: [
          ['client_max_window_bits', true],
          ['server_max_window_bits', '10'],
        ],
      },
    ]);
  });

  it('parses several extensions and several header lines in order', () => {
    expect(parseExtensions(['foo, bar; a=1', 'baz'])).toEqual([
      { name: 'foo', params: [] },
      { name: 'bar', params: [['a', '1']] },
      { name: 'baz', params: [] },
    ]);
  });

  it('lower-cases names and param names but keeps value case', () => {
    expect(parseExtensions('Permessage-Deflate; Server_No_Context_Takeover; X=AbC')).toEqual([
      {
        name: 'permessage-deflate',
        params: [
          ['server_no_context_takeover', true],
          ['x', 'AbC'],
        ],
      },
    ]);
  });

  it('accepts optional whitespace wherever the grammar allows it', () => {
    expect(parseExtensions(' \tfoo \t; a \t= \t1 ;b\t,\t bar ; c = "2" ')).toEqual([
      {
        name: 'foo',
        params: [
          ['a', '1'],
          ['b', true],
        ],
      },
      { name: 'bar', params: [['c', '2']] },
    ]);
  });

  it('unquotes quoted-string values, including backslash escapes', () => {
    expect(parseExtensions('foo; a="10"; b="x\\y"; c="\\1\\2"')).toEqual([
      {
        name: 'foo',
        params: [
          ['a', '10'],
          ['b', 'xy'],
          ['c', '12'],
        ],
      },
    ]);
  });

  it('keeps duplicate params so a consumer can reject them', () => {
    expect(parseExtensions('foo; a=1; a=2; a')).toEqual([
      {
        name: 'foo',
        params: [
          ['a', '1'],
          ['a', '2'],
          ['a', true],
        ],
      },
    ]);
  });

  it('ignores empty list elements and empty values', () => {
    expect(parseExtensions(', foo ,, bar ,')).toEqual([
      { name: 'foo', params: [] },
      { name: 'bar', params: [] },
    ]);
    expect(parseExtensions(undefined)).toEqual([]);
    expect(parseExtensions('')).toEqual([]);
    expect(parseExtensions([])).toEqual([]);
  });

  it.each([
    ['unterminated quote', 'foo; a="10'],
    ['unterminated escape', 'foo; a="10\\'],
    ['quoted value that is not a token', 'foo; a="1 0"'],
    ['quoted value with a comma', 'foo; a="1,0"'],
    ['empty quoted value', 'foo; a=""'],
    ['quoted extension name', '"foo"'],
    ['quoted param name', 'foo; "a"=1'],
    ['empty extension name', '; a=1'],
    ['empty param name', 'foo; =1'],
    ['empty param', 'foo;; a'],
    ['trailing semicolon', 'foo;'],
    ['missing value', 'foo; a='],
    ['missing value before comma', 'foo; a=, bar'],
    ['space inside a name', 'foo bar'],
    ['space inside a value', 'foo; a=1 2'],
    ['bad char in name', 'foo/bar'],
    ['bad char in param', 'foo; a@b=1'],
    ['bad char in value', 'foo; a=1/2'],
    ['double equals', 'foo; a==1'],
    ['text after a quoted value', 'foo; a="1"x'],
    ['control character in quotes', 'foo; a="1\u00012"'],
    ['non-latin1 character', 'foo; a=\u20ac'],
    ['obs-fold style newline', 'foo;\r\n a=1'],
  ])('returns null for %s', (_label, value) => {
    expect(parseExtensions(value)).toBeNull();
  });

  it('returns null when any one header line is malformed', () => {
    expect(parseExtensions(['foo', 'bar; a="'])).toBeNull();
  });
});

describe('formatExtensions', () => {
  it('formats names, bare params and values', () => {
    const list: ExtensionOffer[] = [
      {
        name: 'permessage-deflate',
        params: [
          ['client_max_window_bits', true],
          ['server_max_window_bits', '10'],
        ],
      },
      { name: 'foo', params: [] },
    ];
    expect(formatExtensions(list)).toBe(
      'permessage-deflate; client_max_window_bits; server_max_window_bits=10, foo',
    );
    expect(formatExtensions([])).toBe('');
  });

  it('quotes values that are not tokens, escaping quotes and backslashes', () => {
    expect(formatExtensions([{ name: 'x', params: [['a', 'b c"d\\e']] }])).toBe('x; a="b c\\"d\\\\e"');
    expect(formatExtensions([{ name: 'x', params: [['a', '']] }])).toBe('x; a=""');
  });

  it('round-trips through parseExtensions', () => {
    const value = 'a; b; c=1, d; e=Xy';
    const parsed = parseExtensions(value);
    expect(parsed).not.toBeNull();
    expect(formatExtensions(parsed ?? [])).toBe(value);
  });

  it('refuses what no header can carry', () => {
    expect(() => formatExtensions([{ name: 'a b', params: [] }])).toThrow(TypeError);
    expect(() => formatExtensions([{ name: 'a', params: [['b;', true]] }])).toThrow(TypeError);
    expect(() => formatExtensions([{ name: 'a', params: [['b', 'x\r\nEvil: 1']] }])).toThrow(TypeError);
  });
});
