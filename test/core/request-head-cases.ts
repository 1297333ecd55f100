/**
 * Generated request heads for the request-head tests: upgrade requests built from valid parts,
 * and broken ones (malformed syntax, bodies, request-smuggling shapes, bad line ends). Seeded,
 * so a failure names a head that can be replayed.
 */
import { prng } from './helpers.js';

/** One generated head. */
export interface HeadCase {
  /** The bytes of the head as latin1 text, final empty line included. */
  head: string;
  /** Built only from valid parts: every reader must accept it. */
  valid: boolean;
}

// Parts of a head: the first `valid` entries of each list are valid, the others are not.
const METHODS = { valid: 3, all: ['GET', 'GET', 'OPTIONS', 'GE(T', 'G\x01T'] };
const TARGETS = {
  valid: 6,
  all: [
    '/',
    '/chat?room=1',
    '/a%20b',
    // absolute-form naming the Host below (RFC 9112 §3.2.2), in any case, with or without a path
    'http://example.com/x',
    'WS://EXAMPLE.COM?q=1',
    'https://example.com',
    '*',
    'echo',
    '?a=1',
    'mailto:x',
    'h2t://example.com/',
    'http://other.example/x',
    'http://user@example.com/x',
    'http://example.com#x',
    '/caf\xe9',
    '/a b',
    '/a\x01b',
    '',
  ],
};
const VERSIONS = { valid: 2, all: ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.10', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1'] };
const VALID_FIELDS = [
  'X-Trace: abc',
  'X-Trace:abc',
  'X-Trace:   padded   ',
  'X-Tab: a\tb',
  'X-Empty:',
  'Cookie: a=1',
  'Cookie: b=2',
  'Set-Cookie: s=1',
  'User-Agent: test/1.0',
  'X-Latin: caf\xe9',
  'Sec-WebSocket-Protocol: chat, superchat',
  'Sec-WebSocket-Protocol: extra',
  'Accept: */*',
  'Accept: text/plain',
  'X-Content-Length: 5',
  'Transfer-Encodings: chunked',
];
/** A body of zero bytes is no body: accepted once per head. */
const EMPTY_BODY_FIELDS = ['Content-Length: 0', 'content-length:0', 'CONTENT-LENGTH:  0 '];
const BROKEN_FIELDS = [
  'X-Space : value',
  ' X-Leading: value',
  'X-Fold: one\r\n two',
  'X\x01Name: value',
  'X-Nul: a\x00b',
  'X-Del: a\x7fb',
  'X-Lf: one\nX-Next: two',
  'X-Cr: one\rtwo',
  'NoColon',
  ': no-name',
  // bodies, which would be read as WebSocket frames
  'Content-Length: abc',
  'Content-Length: 5, 6',
  'Content-Length: 5',
  'Content-Length: +0',
  'Content-Length: 0\r\nContent-Length: 0',
  'Content-Length: 5\r\nContent-Length: 5',
  // request smuggling: CL.TE, TE.CL, and Transfer-Encoding spelt so that some reader misses it
  'Content-Length: 5\r\nTransfer-Encoding: chunked',
  'Transfer-Encoding: chunked\r\nContent-Length: 5',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity',
  'Transfer-Encoding: ChUnKeD',
  'TRANSFER-ENCODING: chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding : chunked',
  ' Transfer-Encoding: chunked',
  'Transfer-Encoding: identity\r\n chunked',
  'X-Fold: a\r\n\tTransfer-Encoding: chunked',
  'Transfer-Encoding: chunked\x00',
  'Transfer-Encoding: chu\rnked',
  'Content-Length: 0\x00',
  // a second Host, equal or not
  'Host: other.example',
  'host: example.com',
];
/** Replacements of the first Host line that make it wrong. */
const BROKEN_HOSTS = ['Host: exa mple.com', 'Host: example.com/x', 'Host: user@example.com', null];

/** Line ends as a careless or hostile client writes them. */
function breakLineEnds(head: string, rand: () => number): string {
  const kind = Math.floor(rand() * 4);
  if (kind === 0) return head.replace(/\r\n/g, '\n');
  if (kind === 1) return `${head.slice(0, -4)}\n\n`;
  if (kind === 2) return `${head.slice(0, -4)}\r\n\n`;
  // One CRLF, chosen at random, loses its CR or its LF (not the last: a CR at the very end
  // waits for its next byte, on every reader).
  const ends = [...head.matchAll(/\r\n/g)].map((m) => m.index).slice(0, -1);
  const at = ends[Math.floor(rand() * ends.length)] ?? 0;
  return rand() < 0.5 ? `${head.slice(0, at)}${head.slice(at + 1)}` : `${head.slice(0, at + 1)}${head.slice(at + 2)}`;
}

/** `count` heads from `seed`; about 40% valid. */
export function generateHeads(count: number, seed = 0x6455): HeadCase[] {
  const rand = prng(seed);
  const pick = <T>(part: { valid: number; all: readonly T[] }, validOnly: boolean): T =>
    part.all[Math.floor(rand() * (validOnly ? part.valid : part.all.length))] as T;
  const cases: HeadCase[] = [];
  for (let i = 0; i < count; i++) {
    const valid = rand() < 0.4;
    const method = pick(METHODS, valid);
    const target = pick(TARGETS, valid);
    const version = pick(VERSIONS, valid);
    const sep = valid || rand() < 0.85 ? ' ' : '  ';
    const fields = ['Host: example.com', 'Upgrade: websocket', 'Connection: Upgrade'];
    if (!valid && rand() < 0.1) {
      const host = BROKEN_HOSTS[Math.floor(rand() * BROKEN_HOSTS.length)] as string | null;
      if (host === null) fields.shift();
      else fields[0] = host;
    }
    const extra = Math.floor(rand() * 5);
    for (let k = 0; k < extra; k++) {
      const broken = !valid && rand() < 0.35;
      const field = broken ? (BROKEN_FIELDS[Math.floor(rand() * BROKEN_FIELDS.length)] as string) : (VALID_FIELDS[Math.floor(rand() * VALID_FIELDS.length)] as string);
      fields.splice(Math.floor(rand() * (fields.length + 1)), 0, field);
    }
    if (rand() < 0.15) {
      fields.splice(Math.floor(rand() * (fields.length + 1)), 0, EMPTY_BODY_FIELDS[Math.floor(rand() * EMPTY_BODY_FIELDS.length)] as string);
    }
    let head = `${method}${sep}${target}${sep}${version}\r\n${fields.join('\r\n')}\r\n\r\n`;
    if (!valid && rand() < 0.12) head = breakLineEnds(head, rand);
    cases.push({ head, valid });
  }
  return cases;
}

/**
 * One head per broken part: a valid upgrade request with only that part wrong, so that each
 * shape is judged on its own (in generated heads, most faults come with others).
 */
export function singleFaultHeads(): HeadCase[] {
  const build = (method: string, target: string, version: string, fields: readonly string[]): string =>
    `${method} ${target} ${version}\r\n${fields.join('\r\n')}\r\n\r\n`;
  const base = ['Host: example.com', 'Upgrade: websocket', 'Connection: Upgrade'];
  const heads: string[] = [];
  for (const method of METHODS.all.slice(METHODS.valid)) heads.push(build(method, '/', 'HTTP/1.1', base));
  for (const target of TARGETS.all.slice(TARGETS.valid)) heads.push(build('GET', target, 'HTTP/1.1', base));
  for (const version of VERSIONS.all.slice(VERSIONS.valid)) heads.push(build('GET', '/', version, base));
  for (const field of BROKEN_FIELDS) heads.push(build('GET', '/', 'HTTP/1.1', [...base, field]));
  for (const host of BROKEN_HOSTS) heads.push(build('GET', '/', 'HTTP/1.1', host === null ? base.slice(1) : [host, ...base.slice(1)]));
  const whole = build('GET', '/', 'HTTP/1.1', base);
  heads.push(whole.replace(/\r\n/g, '\n'), `${whole.slice(0, -4)}\n\n`, `${whole.slice(0, -4)}\r\n\n`);
  heads.push(whole.replace('\r\nUpgrade', '\nUpgrade'), whole.replace('\r\nUpgrade', '\rUpgrade'));
  return heads.map((head) => ({ head, valid: false }));
}
