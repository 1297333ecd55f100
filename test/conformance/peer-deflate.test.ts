/**
 * The peer's permessage-deflate: its codec against long-lived zlib streams (which is what a testee keeps per
 * connection), its negotiation in the suite's terms, the RSV1 rules of its frame reader, and the test data.
 */
import { isUtf8 } from 'node:buffer';
import { constants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import type { DeflateRaw, InflateRaw } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DATA_SETS } from '../../autobahn/catalogue/s12-13-deflate.js';
import { PeerDeflate } from '../../autobahn/peer/deflate-codec.js';
import { FrameReader } from '../../autobahn/peer/frame-reader.js';
import type { ReaderSink } from '../../autobahn/peer/frame-reader.js';
import { acceptOffers, formatOffers, readClientOffers, readServerResponse } from '../../autobahn/peer/pmce-negotiation.js';
import type { DeflateParams } from '../../autobahn/peer/pmce-negotiation.js';
import { DataCursor, testData } from '../../autobahn/testdata/index.js';

const TAIL = Buffer.from([0, 0, 0xff, 0xff]);
const params = (p: Partial<DeflateParams> = {}): DeflateParams => ({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  ...p,
});

/** One long-lived zlib stream, fed a message at a time and sync-flushed after each (as a testee's codec does). */
function persistent(stream: DeflateRaw | InflateRaw): (input: Buffer) => Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return (input) =>
    new Promise((resolve) => {
      stream.write(input);
      stream.flush(constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(chunks.splice(0))));
    });
}

// Messages that repeat each other, so context takeover changes the compressed bytes.
const json = testData('json');
const messages = [json.subarray(0, 3000), json.subarray(200, 3200), json.subarray(5000, 9000), json.subarray(0, 3000)];

describe('peer permessage-deflate codec', () => {
  it('compresses with context takeover into what one long-lived inflater reads', async () => {
    for (const bits of [8, 9, 12, 15]) {
      const peer = new PeerDeflate(params({ clientMaxWindowBits: bits }), false);
      const inflate = persistent(createInflateRaw({ windowBits: bits }));
      for (const m of messages) {
        const payload = peer.compress(Buffer.from(m));
        expect(payload.subarray(-4).equals(TAIL)).toBe(false);
        expect((await inflate(Buffer.concat([payload, TAIL]))).equals(m), `window ${bits}`).toBe(true);
      }
    }
  });

  it('decompresses what one long-lived deflater writes, across messages', async () => {
    for (const bits of [9, 15]) {
      const peer = new PeerDeflate(params({ serverMaxWindowBits: bits }), false);
      const deflate = persistent(createDeflateRaw({ windowBits: bits }));
      for (const m of messages) {
        const out = await deflate(Buffer.from(m));
        expect(out.subarray(-4).equals(TAIL)).toBe(true);
        expect(peer.decompress(out.subarray(0, -4)).equals(m), `window ${bits}`).toBe(true);
      }
    }
  });

  it('uses the previous messages only with context takeover', async () => {
    const deflate = persistent(createDeflateRaw({ windowBits: 15 }));
    const first = (await deflate(Buffer.from(messages[0] as Buffer))).subarray(0, -4);
    const again = (await deflate(Buffer.from(messages[3] as Buffer))).subarray(0, -4);
    expect(again.length).toBeLessThan(first.length / 4);
    // The server promised no context takeover but did take it over: a reader that trusts the promise fails.
    const strict = new PeerDeflate(params({ serverNoContextTakeover: true }), false);
    strict.decompress(first);
    expect(() => strict.decompress(again)).toThrow(/distance too far back/);
    // And the peer's own no_context_takeover output decodes with a fresh inflater per message.
    const peer = new PeerDeflate(params({ clientNoContextTakeover: true }), false);
    for (const m of messages) {
      const fresh = persistent(createInflateRaw());
      expect((await fresh(Buffer.concat([peer.compress(Buffer.from(m)), TAIL]))).equals(m)).toBe(true);
    }
  });

  it('binds each direction by its own parameters', () => {
    const server = new PeerDeflate(params({ serverNoContextTakeover: true, clientMaxWindowBits: 9 }), true);
    const client = new PeerDeflate(params({ serverNoContextTakeover: true, clientMaxWindowBits: 9 }), false);
    for (const m of messages) {
      expect(client.decompress(server.compress(Buffer.from(m))).equals(m)).toBe(true);
      expect(server.decompress(client.compress(Buffer.from(m))).equals(m)).toBe(true);
    }
    expect(server.stats).toMatchObject({ messagesOut: 4, compressedIn: 4 });
  });
});

describe('peer permessage-deflate negotiation', () => {
  it('offers as the suite does, one element per offer', () => {
    expect(formatOffers([{ noContextTakeover: false, maxWindowBits: 0 }])).toBe('permessage-deflate; client_no_context_takeover; client_max_window_bits');
    expect(formatOffers([{ noContextTakeover: true, maxWindowBits: 8 }, { noContextTakeover: false, maxWindowBits: 0 }])).toBe(
      'permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8, ' +
        'permessage-deflate; client_no_context_takeover; client_max_window_bits',
    );
  });

  it('accepts with the first request some offer can grant', () => {
    const offers = readClientOffers('x-unknown, permessage-deflate; server_no_context_takeover, permessage-deflate; client_max_window_bits');
    expect(Array.isArray(offers)).toBe(true);
    if (!Array.isArray(offers)) return;
    // 13.3: a window request needs an offer with client_max_window_bits (the second one).
    expect(acceptOffers(offers, [{ noContextTakeover: false, maxWindowBits: 8 }])).toEqual({
      response: 'permessage-deflate; client_max_window_bits=8',
      params: params({ clientMaxWindowBits: 8 }),
    });
    // 13.7: (True, 8) then (True, 0): the first offer cannot take a window request but takes (True, 0).
    expect(acceptOffers(offers.slice(0, 1), [{ noContextTakeover: true, maxWindowBits: 8 }, { noContextTakeover: true, maxWindowBits: 0 }])).toEqual({
      response: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      params: params({ serverNoContextTakeover: true, clientNoContextTakeover: true }),
    });
    expect(acceptOffers(offers.slice(0, 1), [{ noContextTakeover: false, maxWindowBits: 15 }])).toBeNull();
    expect(acceptOffers([], [{ noContextTakeover: false, maxWindowBits: 0 }])).toBeNull();
  });

  it('fails the handshake on a malformed offer', () => {
    expect(readClientOffers('permessage-deflate; server_max_window_bits')).toMatch(/illegal extension parameter value/);
    expect(readClientOffers('permessage-deflate; client_max_window_bits=16')).toMatch(/illegal/);
    expect(readClientOffers('permessage-deflate; foo')).toMatch(/illegal extension parameter 'foo'/);
    expect(readClientOffers('permessage-deflate; client_max_window_bits="10"')).toHaveLength(1);
  });

  it('reads the server answer and fills in defaults', () => {
    expect(readServerResponse(undefined)).toBeNull();
    expect(readServerResponse('permessage-deflate; server_max_window_bits=9; client_no_context_takeover')).toEqual({
      params: params({ serverMaxWindowBits: 9, clientNoContextTakeover: true }),
    });
    expect(readServerResponse('permessage-deflate; client_max_window_bits')).toEqual({ error: expect.stringMatching(/illegal/) as unknown });
    expect(readServerResponse('permessage-deflate; server_no_context_takeover; server_no_context_takeover')).toEqual({ error: expect.stringMatching(/multiple/) as unknown });
    expect(readServerResponse('permessage-deflate, permessage-deflate')).toEqual({ error: expect.stringMatching(/multiple/) as unknown });
    expect(readServerResponse('x-webkit-deflate-frame')).toEqual({ error: expect.stringMatching(/did not request/) as unknown });
  });
});

describe('peer frame reader with permessage-deflate', () => {
  function read(compression: boolean, ...frames: number[][]): string[] {
    const events: string[] = [];
    let alive = true;
    const sink: ReaderSink = {
      alive: () => alive,
      protocolViolation: (r) => {
        events.push(`violation: ${r}`);
        alive = false;
      },
      invalidPayload: (r) => {
        events.push(`invalid: ${r}`);
        alive = false;
      },
      frame: () => {},
      message: (p, binary, compressed) => events.push(`message ${binary ? 'binary' : 'text'} ${compressed ? 'compressed' : 'plain'} ${p.toString('hex')}`),
      ping: () => {},
      pong: () => {},
      close: () => {},
    };
    new FrameReader(sink, false, compression).push(Buffer.concat(frames.map((f) => Buffer.from(f))));
    return events;
  }

  it('takes RSV1 on the first frame of a message only', () => {
    // Compressed text "Hello" (RFC 7692 §7.2.3.1), then the same in two fragments.
    expect(read(true, [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])).toEqual(['message text compressed f248cdc9c90700']);
    expect(read(true, [0x41, 0x03, 0xf2, 0x48, 0xcd], [0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00])).toEqual(['message text compressed f248cdc9c90700']);
    expect(read(true, [0x41, 0x03, 0xf2, 0x48, 0xcd], [0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00])).toEqual([
      'violation: RSV1 set on a continuation frame (RFC 7692 §6.1)',
    ]);
    expect(read(true, [0xc9, 0x00])).toEqual(['violation: RSV1 set on a control frame (RFC 7692 §6.1)']);
    expect(read(true, [0xa1, 0x00])).toEqual(['violation: RSV = 2 (permessage-deflate defines RSV1 only)']);
    expect(read(false, [0xc1, 0x00])).toEqual(['violation: RSV = 4 and no extension negotiated']);
    // Uncompressed messages stay allowed, and their UTF-8 is still checked frame by frame.
    expect(read(true, [0x81, 0x01, 0xff])).toEqual(['invalid: encountered invalid UTF-8 while processing text message']);
  });
});

describe('sections 12/13 test data', () => {
  it('has the catalogue sizes, and text sets are ASCII so any slice is valid UTF-8', () => {
    for (const d of DATA_SETS) {
      const data = testData(d.id);
      expect(data.length, d.id).toBe(d.size);
      if (!d.binary) expect(data.every((b) => b < 0x80), d.id).toBe(true);
    }
    expect(isUtf8(testData('faust'))).toBe(true);
    expect(testData('lena').subarray(0, 2).toString('latin1')).toBe('BM');
  });

  it('cuts consecutive slices and wraps around the end, as the suite sendOne does', () => {
    const data = Buffer.from('0123456789');
    const cursor = new DataCursor(data, 4);
    expect([1, 2, 3, 4].map(() => cursor.next().toString())).toEqual(['0123', '4567', '8901', '2345']);
    expect(new DataCursor(data, 10).next().toString()).toBe('0123456789');
  });
});
