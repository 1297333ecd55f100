/**
 * The peer splits messages into frames the way the suite's sendMessage does: frames of exactly the fragment size,
 * and FIN on the first frame whose end would pass the payload's end, so a size that divides the length ends the
 * message with an empty final frame (4 MiB in 256-octet fragments: 16,385 frames). Checked on the split itself and
 * on the bytes a session writes to a real socket.
 */
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { suiteFragmentCount, suiteFragments } from '../../autobahn/peer/fragments.js';
import { FrameReader, type ReaderSink, type ReceivedFrame } from '../../autobahn/peer/frame-reader.js';
import { FuzzSession } from '../../autobahn/peer/session.js';

describe('suiteFragments', () => {
  it('sends a payload no longer than the fragment size as one frame', () => {
    expect(suiteFragments(0, 64)).toEqual([{ start: 0, end: 0, fin: true }]);
    expect(suiteFragments(64, 64)).toEqual([{ start: 0, end: 64, fin: true }]);
    expect(suiteFragments(100, undefined)).toEqual([{ start: 0, end: 100, fin: true }]);
    expect(suiteFragments(100, 0)).toEqual([{ start: 0, end: 100, fin: true }]);
  });

  it('ends with a short final frame when the size does not divide the length', () => {
    expect(suiteFragments(10, 3)).toEqual([
      { start: 0, end: 3, fin: false },
      { start: 3, end: 6, fin: false },
      { start: 6, end: 9, fin: false },
      { start: 9, end: 10, fin: true },
    ]);
  });

  it('ends with an empty final frame when the size divides the length (n / size + 1 frames)', () => {
    expect(suiteFragments(9, 3)).toEqual([
      { start: 0, end: 3, fin: false },
      { start: 3, end: 6, fin: false },
      { start: 6, end: 9, fin: false },
      { start: 9, end: 9, fin: true },
    ]);
    // Cases 9.3.1/9.4.1 and 9.3.2/9.4.2: 4 MiB in fragments of 64 and of 256 octets.
    const fourMiB = 4 * 1024 * 1024;
    expect(suiteFragmentCount(fourMiB, 64)).toBe(65_537);
    expect(suiteFragmentCount(fourMiB, 256)).toBe(16_385);
    const slices = suiteFragments(fourMiB, 256);
    expect(slices).toHaveLength(16_385);
    expect(slices.at(-1)).toEqual({ start: fourMiB, end: fourMiB, fin: true });
    expect(slices.filter((s) => s.fin)).toHaveLength(1);
    // Case 10.1.1: 65,536 octets auto-fragmented to 1,300: one text frame and 50 continuations.
    expect(suiteFragmentCount(65_536, 1300)).toBe(51);
  });

  it('agrees with the count and covers the payload in order for every small length and size', () => {
    for (let length = 0; length <= 40; length++) {
      for (let size = 1; size <= 12; size++) {
        const slices = suiteFragments(length, size);
        expect(slices).toHaveLength(suiteFragmentCount(length, size));
        let at = 0;
        for (const s of slices) {
          expect(s.start).toBe(at);
          expect(s.end - s.start).toBeLessThanOrEqual(size);
          at = s.end;
        }
        expect(at).toBe(length);
        expect(slices.map((s) => s.fin)).toEqual(slices.map((_, i) => i === slices.length - 1));
      }
    }
  });
});

/** Collects frames from a socket with the peer's own reader. */
function collect(socket: Socket, expectMasked: boolean): ReceivedFrame[] {
  const frames: ReceivedFrame[] = [];
  const sink: ReaderSink = {
    alive: () => true,
    protocolViolation: (reason) => frames.push({ opcode: -1, fin: true, rsv: 0, masked: false, length: 0, payload: Buffer.from(reason) }),
    invalidPayload: (reason) => frames.push({ opcode: -2, fin: true, rsv: 0, masked: false, length: 0, payload: Buffer.from(reason) }),
    frame: (info) => frames.push(info),
    message: () => {},
    ping: () => {},
    pong: () => {},
    close: () => {},
  };
  const reader = new FrameReader(sink, expectMasked);
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  return frames;
}

describe('FuzzSession.sendMessage', () => {
  it('writes the frames the suite writes, in both roles', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      for (const isServer of [true, false]) {
        const accepted = once(server, 'connection') as Promise<[Socket]>;
        const dialed = connect(port, '127.0.0.1');
        await once(dialed, 'connect');
        const [remote] = await accepted;
        // The session plays `isServer` on one end; the other end reads what it wrote.
        const [mine, theirs] = isServer ? [remote, dialed] : [dialed, remote];
        const frames = collect(theirs, !isServer);
        const session = new FuzzSession(mine, { isServer });
        session.sendMessage(Buffer.from('abcdefghi'), false, 3);
        session.sendMessage(Buffer.from('abcdefghij'), true, 3);
        session.sendMessage(Buffer.from('abc'), false, 3);
        for (let i = 0; i < 100 && frames.length < 9; i++) await new Promise((resolve) => setTimeout(resolve, 5));
        const summary = frames.map((f) => `${f.opcode}${f.fin ? '!' : ''}:${f.payload.toString()}`);
        expect(summary, isServer ? 'server role' : 'client role').toEqual([
          '1:abc',
          '0:def',
          '0:ghi',
          '0!:',
          '2:abc',
          '0:def',
          '0:ghi',
          '0!:j',
          '1!:abc',
        ]);
        dialed.destroy();
        remote.destroy();
      }
    } finally {
      server.close();
    }
  });
});
