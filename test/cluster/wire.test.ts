import { describe, expect, it } from 'vitest';
import { decodeStrings, encodeStrings } from '../../src/cluster/strings.js';
import { EntryWriter, Flag, forEachRecord, HEADER_SIZE, Kind, readHeader, validEntry, type WireRecord } from '../../src/cluster/wire.js';

const origin = Buffer.from('0123456789abcdef', 'hex');

function sample(bigSize = 70_000): Buffer {
  const w = new EntryWriter(64); // small: the buffer must grow
  const room = Buffer.from('röom');
  const big = Buffer.alloc(bigSize, 7); // 70,000: a three-byte varint length
  w.data(Kind.Room, Flag.Binary, room, Buffer.from([0, 1, 2, 255]));
  w.data(Kind.All, Flag.NoCompress, null, Buffer.from('to all'));
  w.data(Kind.Connection, 0, Buffer.from('abc.1'), big);
  w.data(Kind.User, 0, Buffer.from('alice'), Buffer.alloc(0));
  w.request(4_000_000_000, Buffer.from('who'), Buffer.from('payload'));
  w.reply(origin, 7, 2, Buffer.from('answer'));
  return Buffer.from(w.seal(origin, 2 ** 40, 2 ** 45));
}

function decode(entry: Buffer): Array<Omit<WireRecord, 'payload' | 'requester'> & { payload: string; requester: string | null; seq: number }> {
  const header = readHeader(entry);
  if (header === null || !validEntry(entry, header)) throw new Error('invalid');
  const out: ReturnType<typeof decode> = [];
  forEachRecord(entry, header, (r, seq) =>
    out.push({ ...r, payload: r.payload.length > 100 ? `${r.payload.length}x${r.payload[0]}` : r.payload.toString('hex'), requester: r.requester?.toString('hex') ?? null, seq }),
  );
  return out;
}

describe('cluster wire format', () => {
  it('writes and reads every record kind, with sequence numbers above 32 bits', () => {
    const entry = sample();
    expect(entry[0]).toBe(1);
    expect(readHeader(entry)).toEqual({ origin, entrySeq: 2 ** 40, firstSeq: 2 ** 45, count: 6 });
    const base = { flags: 0, target: '', requester: null, requestId: 0, status: 0 };
    expect(decode(entry)).toEqual([
      { ...base, kind: Kind.Room, flags: Flag.Binary, target: 'röom', payload: '000102ff', seq: 2 ** 45 },
      { ...base, kind: Kind.All, flags: Flag.NoCompress, payload: Buffer.from('to all').toString('hex'), seq: 2 ** 45 + 1 },
      { ...base, kind: Kind.Connection, target: 'abc.1', payload: '70000x7', seq: 2 ** 45 + 2 },
      { ...base, kind: Kind.User, target: 'alice', payload: '', seq: 2 ** 45 + 3 },
      { ...base, kind: Kind.Request, target: 'who', requestId: 4_000_000_000, payload: Buffer.from('payload').toString('hex'), seq: 2 ** 45 + 4 },
      { ...base, kind: Kind.Reply, requester: origin.toString('hex'), requestId: 7, status: 2, payload: Buffer.from('answer').toString('hex'), seq: 2 ** 45 + 5 },
    ]);
  });

  it('record sizes announced before writing match what is written', () => {
    const w = new EntryWriter();
    const t = Buffer.from('room');
    const p = Buffer.alloc(300);
    const expected = HEADER_SIZE + EntryWriter.dataSize(t, p.length) + EntryWriter.dataSize(null, 5) + EntryWriter.requestSize(t, 9) + EntryWriter.replySize(200);
    w.data(Kind.Room, 0, t, p);
    w.data(Kind.All, 0, null, Buffer.alloc(5));
    w.request(1, t, Buffer.alloc(9));
    w.reply(origin, 1, 0, Buffer.alloc(200));
    expect(w.seal(origin, 1, 1).length).toBe(expected);
  });

  it('every truncation of an entry is refused whole, without throwing (one byte at a time)', () => {
    const entry = sample(300); // a two-byte varint length
    for (let n = 0; n < entry.length; n++) {
      const cut = entry.subarray(0, n);
      const header = readHeader(cut);
      expect(header === null || !validEntry(cut, header)).toBe(true);
    }
  });

  it('refuses trailing bytes, another version and corrupted lengths', () => {
    const entry = sample();
    const longer = Buffer.concat([entry, Buffer.from([0])]);
    expect(validEntry(longer, readHeader(longer)!)).toBe(false);
    const v2 = Buffer.from(entry);
    v2[0] = 2;
    expect(readHeader(v2)).toBeNull();
    // A record count larger than the records present.
    const more = Buffer.from(entry);
    more.writeUInt32BE(7, 21);
    expect(validEntry(more, readHeader(more)!)).toBe(false);
    // A varint that never ends.
    const w = new EntryWriter();
    w.data(Kind.All, 0, null, Buffer.from('x'));
    const bad = Buffer.from(w.seal(origin, 1, 1));
    bad[HEADER_SIZE + 1] = 0xff;
    expect(validEntry(bad, readHeader(bad)!)).toBe(false);
  });

  it('skips records of a kind it does not know, by their length', () => {
    const w = new EntryWriter();
    w.data(Kind.All, 0, null, Buffer.from('first'));
    w.data(42 as Kind, 0, null, Buffer.from('from the future'));
    w.data(Kind.All, 0, null, Buffer.from('last'));
    const entry = w.seal(origin, 1, 10);
    expect(decode(entry).map((r) => [Buffer.from(r.payload, 'hex').toString(), r.seq])).toEqual([
      ['first', 10],
      ['last', 12],
    ]);
  });

  it('string lists round-trip and stop at a malformed length', () => {
    const list = ['', 'a', 'ü'.repeat(100), 'x'.repeat(20_000)];
    expect(decodeStrings(encodeStrings(list))).toEqual(list);
    expect(decodeStrings(Buffer.from([0x05, 0x61]))).toEqual([]);
  });
});
