/**
 * A list of strings as bytes (each as a varint length and its UTF-8), for answers such as the
 * room names of a server.
 *
 * @module
 */

/** @internal */
export function encodeStrings(list: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of list) {
    const bytes = Buffer.from(s, 'utf8');
    const head: number[] = [];
    let n = bytes.length;
    while (n >= 0x80) {
      head.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    head.push(n);
    parts.push(Buffer.from(head), bytes);
  }
  return Buffer.concat(parts);
}

/** Decodes {@link encodeStrings}; stops at the first malformed length. @internal */
export function decodeStrings(buf: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let n = 0;
    let shift = 0;
    let ok = false;
    while (pos < buf.length && shift < 35) {
      const b = buf[pos++] as number;
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) {
        ok = true;
        break;
      }
    }
    if (!ok || pos + n > buf.length) break;
    out.push(buf.toString('utf8', pos, pos + n));
    pos += n;
  }
  return out;
}
