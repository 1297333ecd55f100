import { describe, expect, it } from 'vitest';
import { endError, parseEnd, parseWelcome, refusalError } from '../../src/session/control.js';
import { SessionError } from '../../src/session/errors.js';
import { MAX_RESUME_ENTRY, offerProtocols, parseOffer, RESUME_PREFIX, SESSION_PROTOCOL } from '../../src/session/handshake.js';
import { base64url, defaultRandom, parseToken, randomString, sameSecret } from '../../src/session/token.js';
import { seededRandom } from './helpers.js';

const ID = 'AAAAAAAAAAAAAAAA';
const SECRET = 'bbbbbbbbbbbbbbbbbbbbbb';
const TOKEN = `${ID}.${SECRET}`;

function thrown(fn: () => unknown): { code: string; closeCode: number | null } {
  try {
    fn();
  } catch (err) {
    if (err instanceof SessionError) return { code: err.code, closeCode: err.closeCode };
    throw err;
  }
  throw new Error('did not throw');
}

describe('session tokens', () => {
  it('base64url matches the RFC 4648 §5 encoding for every length', () => {
    const random = seededRandom(3);
    for (let n = 0; n < 40; n++) {
      const bytes = new Uint8Array(n);
      random(bytes);
      expect(base64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
    }
  });

  it('ids and secrets are 16 and 22 token characters from the random source', () => {
    const id = randomString(seededRandom(1), 12);
    const secret = randomString(defaultRandom(), 16);
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(parseToken(`${id}.${secret}`)).toEqual({ id, secret });
    expect(randomString(defaultRandom(), 16)).not.toBe(secret);
  });

  it('parses only well-formed tokens', () => {
    expect(parseToken(TOKEN)).toEqual({ id: ID, secret: SECRET });
    for (const bad of ['', ID, `${ID}.`, `.${SECRET}`, `${ID}.${SECRET}x`, `${ID}x.${SECRET}`, `${ID}.${SECRET}.x`, `${ID}.${SECRET.slice(1)}+`]) {
      expect(parseToken(bad), bad).toBeNull();
    }
  });

  it('compares secrets in full', () => {
    expect(sameSecret(SECRET, SECRET)).toBe(true);
    expect(sameSecret(SECRET, `${SECRET.slice(0, -1)}c`)).toBe(false);
    expect(sameSecret(SECRET, null)).toBe(false);
    expect(sameSecret(null, null)).toBe(false);
    expect(sameSecret(SECRET, SECRET.slice(1))).toBe(false);
  });
});

describe('session negotiation', () => {
  it('offers the subprotocol alone for a new session, with the resume entry to resume', () => {
    expect(offerProtocols(null)).toEqual([SESSION_PROTOCOL]);
    const protocols = offerProtocols({ token: TOKEN, received: 17, sent: 42 });
    expect(protocols).toEqual([SESSION_PROTOCOL, `${RESUME_PREFIX}${TOKEN}.17.42`]);
    // Every entry is an RFC 7230 token, as Sec-WebSocket-Protocol requires.
    for (const p of protocols) expect(p).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
    expect(protocols[1]!.length).toBeLessThanOrEqual(MAX_RESUME_ENTRY);
    const longest = offerProtocols({ token: TOKEN, received: Number.MAX_SAFE_INTEGER, sent: Number.MAX_SAFE_INTEGER });
    expect(longest[1]!.length).toBeLessThanOrEqual(MAX_RESUME_ENTRY);
  });

  it('reads offers from the header value or the list', () => {
    expect(parseOffer(undefined)).toBeNull();
    expect(parseOffer('chat, superchat')).toBeNull();
    expect(parseOffer([])).toBeNull();
    expect(parseOffer(`chat, ${SESSION_PROTOCOL}`)).toEqual({ kind: 'new' });
    expect(parseOffer(`${SESSION_PROTOCOL},${RESUME_PREFIX}${TOKEN}.17.42`)).toEqual({ kind: 'resume', id: ID, secret: SECRET, received: 17, sent: 42 });
    expect(parseOffer(offerProtocols({ token: TOKEN, received: 0, sent: 0 }))).toEqual({ kind: 'resume', id: ID, secret: SECRET, received: 0, sent: 0 });
    // A resume entry without the protocol itself cannot be answered: not a session offer.
    expect(parseOffer([`${RESUME_PREFIX}${TOKEN}.1.2`])).toBeNull();
  });

  it('marks malformed resume entries invalid (the server closes with 1002)', () => {
    const bad = [
      `${RESUME_PREFIX}${TOKEN}.1`,
      `${RESUME_PREFIX}${TOKEN}.1.2.3`,
      `${RESUME_PREFIX}${ID}.short.1.2`,
      `${RESUME_PREFIX}${TOKEN}.01.2`,
      `${RESUME_PREFIX}${TOKEN}.-1.2`,
      `${RESUME_PREFIX}${TOKEN}.1.99999999999999999`,
      `${RESUME_PREFIX}${TOKEN}.1.${'1'.repeat(200)}`,
      `${RESUME_PREFIX}`,
    ];
    for (const entry of bad) expect(parseOffer([SESSION_PROTOCOL, entry])?.kind, entry).toBe('invalid');
    expect(parseOffer([SESSION_PROTOCOL, `${RESUME_PREFIX}${TOKEN}.1.2`, `${RESUME_PREFIX}${TOKEN}.1.2`])?.kind).toBe('invalid');
  });

  it('reads welcomes strictly', () => {
    expect(parseWelcome(['new', TOKEN])).toEqual({ kind: 'new', token: TOKEN, id: ID, refusal: null });
    expect(parseWelcome(['new', TOKEN, 'expired'])).toEqual({ kind: 'new', token: TOKEN, id: ID, refusal: 'expired' });
    expect(parseWelcome(['resumed', TOKEN, '5', '9'])).toEqual({ kind: 'resumed', token: TOKEN, id: ID, received: 5, sent: 9 });
    expect(thrown(() => parseWelcome(['ok']))).toEqual({ code: 'WS_SESSION_UNEXPECTED', closeCode: 1002 });
    for (const words of [['new'], ['new', 'x.y'], ['new', TOKEN, 'why'], ['new', TOKEN, 'stale', 'x'], ['resumed', TOKEN, '5'], ['resumed', TOKEN, '5', '09'], ['resumed', TOKEN, '1', '2', '3']]) {
      expect(thrown(() => parseWelcome(words)), words.join(' ')).toEqual({ code: 'WS_SESSION_BAD_HANDSHAKE', closeCode: 1002 });
    }
  });

  it('reads end messages and maps reasons and refusals to stable codes', () => {
    expect(parseEnd(['ok'])).toBeNull();
    expect(parseEnd(['end', 'replaced'])).toBe('replaced');
    expect(thrown(() => parseEnd(['end']))).toEqual({ code: 'WS_SESSION_BAD_FRAME', closeCode: 1002 });
    expect(thrown(() => parseEnd(['end', 'bored']))).toEqual({ code: 'WS_SESSION_BAD_FRAME', closeCode: 1002 });
    expect(endError('replaced').code).toBe('WS_SESSION_REPLACED');
    expect(endError('overflow').code).toBe('WS_SESSION_OVERFLOW');
    expect(endError('closed').code).toBe('WS_SESSION_ENDED');
    expect(endError('error').code).toBe('WS_SESSION_ENDED');
    expect(refusalError('unknown').code).toBe('WS_SESSION_UNKNOWN');
    expect(refusalError('expired').code).toBe('WS_SESSION_EXPIRED');
    expect(refusalError('stale').code).toBe('WS_SESSION_STALE_TOKEN');
  });
});
