/**
 * Session tokens: `<id>.<secret>`, both random and base64url-encoded. The id (12 random bytes)
 * names the session for its whole life; the secret (16 random bytes, 128 bits) is the
 * credential and changes on every resumption. Both are made of RFC 7230 token characters, so a
 * token can travel inside a `Sec-WebSocket-Protocol` entry.
 *
 * @module
 */

/** Fills `bytes` with cryptographically strong random values (e.g. `crypto.getRandomValues`). */
export type RandomSource = (bytes: Uint8Array) => void;

/** Bytes of a session id. */
export const SESSION_ID_BYTES = 12;
/** Bytes of a token secret. */
export const SECRET_BYTES = 16;
/** Characters of a session id. */
export const SESSION_ID_LENGTH = 16;
/** Characters of a token secret. */
export const SECRET_LENGTH = 22;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding (RFC 4648 §5), written out so it runs without `Buffer` or `btoa`. */
export function base64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]!;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]!;
  }
  return out;
}

/** The platform's CSPRNG (`crypto.getRandomValues`, global in browsers and Node 20). */
export function defaultRandom(): RandomSource {
  const crypto = (globalThis as { crypto?: { getRandomValues?: (bytes: Uint8Array) => Uint8Array } }).crypto;
  const get = crypto?.getRandomValues;
  if (typeof get !== 'function') throw new TypeError('No crypto.getRandomValues: pass a random source');
  return (bytes) => {
    get.call(crypto, bytes);
  };
}

/** `count` random bytes from `random`, base64url-encoded. */
export function randomString(random: RandomSource, count: number): string {
  const bytes = new Uint8Array(count);
  random(bytes);
  return base64url(bytes);
}

const ID_PATTERN = /^[A-Za-z0-9_-]{16}$/;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** A parsed token. The secret is a credential: never log it. */
export interface TokenParts {
  /** The session id (stable across resumptions; not a credential on its own). */
  id: string;
  /** The current secret. */
  secret: string;
}

/** `<id>.<secret>` → parts, or `null` when malformed. */
export function parseToken(token: string): TokenParts | null {
  const dot = token.indexOf('.');
  if (dot < 0) return null;
  const id = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  return ID_PATTERN.test(id) && SECRET_PATTERN.test(secret) ? { id, secret } : null;
}

/** Whether `id` has the shape of a session id. */
export function isSessionId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Whether `secret` has the shape of a token secret. */
export function isSecret(secret: string): boolean {
  return SECRET_PATTERN.test(secret);
}

/**
 * Compares two secrets in time independent of where they differ (both have the fixed length
 * here, so the length check reveals nothing).
 */
export function sameSecret(a: string | null, b: string | null): boolean {
  if (a === null || b === null || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
