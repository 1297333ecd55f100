/**
 * A session store for the demo that survives a restart of the server process: the in-memory
 * store, with every change appended to a journal file before the call returns (so the store's
 * "durable when settled" rule holds against a killed process: the kernel keeps what was
 * written). On start the journal is replayed, sessions the dead process still held are given
 * the resume window from now, and the journal is rewritten as a snapshot.
 *
 * Good for one server process and a demo's traffic (one small synchronous write per change);
 * a real deployment shares sessions between servers in Redis instead.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MemorySessionStore, type ClaimResult, type SessionRecord, type StoredMessage } from '../../src/index.js';

/** A journal line: one successful call, with its arguments. */
type Entry =
  | { op: 'create'; record: JsonRecord }
  | { op: 'claim'; args: [string, string, string, number, string, string | null] }
  | { op: 'confirm' | 'received' | 'acknowledge'; args: [string, string, string | number] }
  | { op: 'append'; args: [string, string]; message: JsonMessage }
  | { op: 'away'; args: [string, string, number | null] }
  | { op: 'delete'; args: [string, string] }
  | { op: 'sweep'; now: number };

type JsonMessage = { seq: number; binary: boolean; text?: string; base64?: string };
type JsonRecord = Omit<SessionRecord, 'outbound'> & { outbound: JsonMessage[] };

/** Rewrites the journal as a snapshot once it has this many lines. */
const COMPACT_AFTER = 20_000;

export class FileSessionStore extends MemorySessionStore {
  private readonly ids = new Set<string>();
  private lines = 0;
  private replaying = false;

  /** Opens (or creates) the journal at `file`; sessions left connected by a dead process expire `resumeWindow` ms from now. */
  constructor(
    readonly file: string,
    resumeWindow: number,
  ) {
    super();
    // The journal holds the sessions' secrets (resumption tokens): for this user only.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    if (existsSync(file)) this.replay(resumeWindow);
    this.compact();
  }

  /** Sessions restored from the journal when the store opened. */
  restored = 0;

  override create(record: SessionRecord): void {
    super.create(record);
    this.ids.add(record.id);
    this.log({ op: 'create', record: toJsonRecord(record) });
  }

  override claim(id: string, secret: string, fresh: string, now: number, owner: string, copy: string | null): ClaimResult {
    const result = super.claim(id, secret, fresh, now, owner, copy);
    if (!result.ok && result.reason === 'expired') this.ids.delete(id);
    // A refused claim changes nothing but an expired record's removal, which replays the same way.
    this.log({ op: 'claim', args: [id, secret, fresh, now, owner, copy] });
    return result;
  }

  override confirm(id: string, owner: string, secret: string): void {
    super.confirm(id, owner, secret);
    this.log({ op: 'confirm', args: [id, owner, secret] });
  }

  override append(id: string, owner: string, message: StoredMessage): void {
    super.append(id, owner, message);
    this.log({ op: 'append', args: [id, owner], message: toJsonMessage(message) });
  }

  override acknowledge(id: string, owner: string, upTo: number): void {
    super.acknowledge(id, owner, upTo);
    this.log({ op: 'acknowledge', args: [id, owner, upTo] });
  }

  override received(id: string, owner: string, upTo: number): void {
    super.received(id, owner, upTo);
    this.log({ op: 'received', args: [id, owner, upTo] });
  }

  override away(id: string, owner: string, expiresAt: number | null): void {
    super.away(id, owner, expiresAt);
    this.log({ op: 'away', args: [id, owner, expiresAt] });
  }

  override delete(id: string, owner: string): void {
    super.delete(id, owner);
    if (this.peek(id) === undefined) this.ids.delete(id);
    this.log({ op: 'delete', args: [id, owner] });
  }

  override sweep(now: number): number {
    const n = super.sweep(now);
    for (const id of this.ids) if (this.peek(id) === undefined) this.ids.delete(id);
    if (n > 0) this.log({ op: 'sweep', now });
    return n;
  }

  private log(entry: Entry): void {
    if (this.replaying) return;
    appendFileSync(this.file, JSON.stringify(entry) + '\n', { mode: 0o600 });
    if (++this.lines >= COMPACT_AFTER) this.compact();
  }

  /** Applies the journal; a line cut short by a kill (the last one) is ignored. */
  private replay(resumeWindow: number): void {
    this.replaying = true;
    try {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        if (line === '') continue;
        let entry: Entry;
        try {
          entry = JSON.parse(line) as Entry;
        } catch {
          continue;
        }
        try {
          this.apply(entry);
        } catch {
          // A call that failed when it was made was not logged; one that fails now changes nothing.
        }
      }
    } finally {
      this.replaying = false;
    }
    const now = Date.now();
    this.sweep(now);
    // The process that held the connected ones is gone: they wait for their clients from now on.
    for (const id of this.ids) {
      const record = this.peek(id) as SessionRecord | undefined;
      if (record !== undefined && record.expiresAt === null) record.expiresAt = now + resumeWindow;
    }
    this.restored = this.ids.size;
  }

  private apply(entry: Entry): void {
    switch (entry.op) {
      case 'create':
        this.create(fromJsonRecord(entry.record));
        return;
      case 'claim':
        this.claim(...entry.args);
        return;
      case 'confirm':
        this.confirm(entry.args[0], entry.args[1], entry.args[2] as string);
        return;
      case 'received':
        this.received(entry.args[0], entry.args[1], entry.args[2] as number);
        return;
      case 'acknowledge':
        this.acknowledge(entry.args[0], entry.args[1], entry.args[2] as number);
        return;
      case 'append':
        this.append(entry.args[0], entry.args[1], fromJsonMessage(entry.message));
        return;
      case 'away':
        this.away(...entry.args);
        return;
      case 'delete':
        this.delete(...entry.args);
        return;
      case 'sweep':
        this.sweep(entry.now);
        return;
    }
  }

  /** Rewrites the journal as one `create` per session (atomically: a new file renamed over the old). */
  private compact(): void {
    const text = [...this.ids]
      .map((id) => this.peek(id))
      .filter((r): r is Readonly<SessionRecord> => r !== undefined)
      .map((record) => JSON.stringify({ op: 'create', record: toJsonRecord(record) } satisfies Entry) + '\n')
      .join('');
    writeFileSync(this.file + '.tmp', text, { mode: 0o600 });
    renameSync(this.file + '.tmp', this.file);
    this.lines = this.ids.size;
  }
}

function toJsonMessage(m: StoredMessage): JsonMessage {
  return typeof m.data === 'string'
    ? { seq: m.seq, binary: m.binary, text: m.data }
    : { seq: m.seq, binary: m.binary, base64: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('base64') };
}

function fromJsonMessage(m: JsonMessage): StoredMessage {
  return { seq: m.seq, binary: m.binary, data: m.text ?? new Uint8Array(Buffer.from(m.base64 ?? '', 'base64')) };
}

function toJsonRecord(r: Readonly<SessionRecord>): JsonRecord {
  return { ...r, outbound: r.outbound.map(toJsonMessage) };
}

function fromJsonRecord(r: JsonRecord): SessionRecord {
  return { ...r, outbound: r.outbound.map(fromJsonMessage) };
}
