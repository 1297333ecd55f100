/**
 * Sec-WebSocket-Extensions parsing as the suite's endpoint does it: elements split at ",", params at ";", names
 * lower-cased, one pair of surrounding double quotes removed from a value, a param without "=" has the value
 * `true`, and a repeated param keeps every value (so the caller can refuse repeats).
 */

/** One extension element: its name and every value of each param. */
export interface ExtensionElement {
  readonly name: string;
  readonly params: ReadonlyMap<string, ReadonlyArray<string | true>>;
}

/** Parses a header value (several header lines already joined with ","). */
export function parseExtensionsHeader(value: string): ExtensionElement[] {
  const out: ExtensionElement[] = [];
  for (const element of value.split(',')) {
    const parts = element.split(';').map((p) => p.trim());
    const name = (parts[0] ?? '').toLowerCase();
    if (name === '') continue;
    const params = new Map<string, Array<string | true>>();
    for (const part of parts.slice(1)) {
      const eq = part.indexOf('=');
      const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
      let v: string | true = true;
      if (eq >= 0) {
        v = part.slice(eq + 1).trim();
        if (v.startsWith('"')) v = v.slice(1);
        if (v.endsWith('"')) v = v.slice(0, -1);
      }
      params.set(key, [...(params.get(key) ?? []), v]);
    }
    out.push({ name, params });
  }
  return out;
}
