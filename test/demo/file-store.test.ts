/**
 * The demo's journaled session store (examples/demo/file-store.ts): what a store holds when it
 * is opened again from its file, as after a restart of the server process, including a journal
 * whose last line was cut short by a kill.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../examples/demo/file-store.js';
import type { SessionRecord } from '../../src/index.js';

const dirs: string[] = [];
function journal(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ws6455-file-store-'));
  dirs.push(dir);
  return join(dir, 'sessions.jsonl');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const WINDOW = 60_000;
const record = (id: string): SessionRecord => ({
  id,
  owner: 'a.1',
  secret: null,
  pendingSecret: 's0',
  received: 0,
  sent: 0,
  acknowledged: 0,
  outbound: [],
  expiresAt: null,
});

describe('FileSessionStore (demo)', () => {
  it('reopens with every change applied: claims, appends (text and binary), acknowledgements; connected sessions get the resume window', () => {
    const file = journal();
    const one = new FileSessionStore(file, WINDOW);
    one.create(record('x'));
    expect(one.claim('x', 's0', 's1', Date.now(), 'a.1', 'a.1')).toEqual({ ok: true, owner: 'a.1', record: null });
    one.confirm('x', 'a.1', 's1');
    one.append('x', 'a.1', { seq: 1, data: 'hello', binary: false });
    one.append('x', 'a.1', { seq: 2, data: new Uint8Array([1, 2, 255]), binary: true });
    one.append('x', 'a.1', { seq: 3, data: 'three', binary: false });
    one.acknowledge('x', 'a.1', 1);
    one.received('x', 'a.1', 7);
    one.create(record('gone'));
    one.delete('gone', 'a.1');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const before = Date.now();
    const two = new FileSessionStore(file, WINDOW);
    expect(two.restored).toBe(1);
    expect(two.peek('gone')).toBeUndefined();
    const x = two.peek('x');
    expect(x).toMatchObject({ secret: 's1', pendingSecret: null, received: 7, sent: 3, acknowledged: 1 });
    expect(x?.outbound.map((m) => [m.seq, m.binary, typeof m.data === 'string' ? m.data : [...m.data]])).toEqual([
      [2, true, [1, 2, 255]],
      [3, false, 'three'],
    ]);
    // The process that held it is gone: it waits for its client from now on.
    expect(x?.expiresAt).toBeGreaterThanOrEqual(before + WINDOW);
    // Another server's copy takes it over with the confirmed secret (as a restarted one does).
    const claim = two.claim('x', 's1', 's2', Date.now(), 'b.1', null);
    expect(claim.ok && claim.owner).toBe('b.1');
    // The journal: the snapshot written when it opened (one line per session), then the claim.
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { op: string }).op)).toEqual(['create', 'claim']);
    expect(new FileSessionStore(file, WINDOW).peek('x')).toMatchObject({ owner: 'b.1', secret: 's1', pendingSecret: 's2' });
  });

  it('ignores a last line cut short by a kill, and sessions past their expiry', () => {
    const file = journal();
    const one = new FileSessionStore(file, WINDOW);
    one.create(record('a'));
    one.create(record('old'));
    one.away('old', 'a.1', Date.now() - 1);
    one.append('a', 'a.1', { seq: 1, data: 'kept', binary: false });
    appendFileSync(file, '{"op":"append","args":["a","a.1"],"message":{"seq":2,"bin');
    const two = new FileSessionStore(file, WINDOW);
    expect(two.peek('a')?.sent).toBe(1);
    expect(two.peek('old')).toBeUndefined();
    expect(two.restored).toBe(1);
  });
});
