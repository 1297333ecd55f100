/**
 * A self-signed X.509 certificate made at test time with node:crypto alone (no openssl
 * binary): an ECDSA P-256 key, a DER-encoded certificate (RFC 5280 §4.1) for `localhost` and
 * 127.0.0.1, signed with ecdsa-with-SHA256. Clients in the tests use `rejectUnauthorized:
 * false`; the subjectAltName is there so the certificate is also a sensible one.
 */
import { X509Certificate, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/** One DER TLV (X.690 §8.1): tag, definite length (short or long form), body. */
function der(tag: number, body: Buffer): Buffer {
  const len = body.length;
  let head: number[];
  if (len < 0x80) head = [tag, len];
  else if (len < 0x100) head = [tag, 0x81, len];
  else head = [tag, 0x82, len >> 8, len & 0xff];
  return Buffer.concat([Buffer.from(head), body]);
}

const seq = (...parts: Buffer[]): Buffer => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => der(0x31, Buffer.concat(parts));
const explicit = (n: number, body: Buffer): Buffer => der(0xa0 + n, body);

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * (arcs[0] as number) + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    // Base-128, most significant group first, high bit set on all but the last (X.690 §8.19).
    const groups: number[] = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

function integer(bytes: Buffer): Buffer {
  // A positive INTEGER must not start with a set high bit (X.690 §8.3).
  return der(0x02, (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function utcTime(date: Date): Buffer {
  const two = (n: number): string => String(n).padStart(2, '0');
  const text =
    two(date.getUTCFullYear() % 100) +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds()) +
    'Z';
  return der(0x17, Buffer.from(text, 'latin1'));
}

export interface TlsMaterial {
  key: string;
  cert: string;
}

let cached: TlsMaterial | null = null;

/** A key and self-signed certificate (PEM) for `localhost` / 127.0.0.1, valid for one day. */
export function selfSignedCert(): TlsMaterial {
  if (cached !== null) return cached;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from('localhost', 'utf8')))));
  const now = Date.now();
  const validity = seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 86_400_000)));
  // GeneralNames: [2] dNSName, [7] iPAddress (RFC 5280 §4.2.1.6).
  const altNames = seq(der(0x82, Buffer.from('localhost', 'latin1')), der(0x87, Buffer.from([127, 0, 0, 1])));
  const extensions = explicit(3, seq(seq(oid('2.5.29.17'), der(0x04, altNames))));
  const serial = randomBytes(8);
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    validity,
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA signature
  const certDer = seq(tbs, ecdsaWithSha256, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const base64 = certDer.toString('base64').replace(/.{64}/g, '$&\n');
  const cert = `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`;
  // Fails loudly here, not in a TLS handshake, if the encoding is wrong.
  const parsed = new X509Certificate(cert);
  if (!parsed.verify(publicKey)) throw new Error('self-signed certificate does not verify');
  cached = { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert };
  return cached;
}
