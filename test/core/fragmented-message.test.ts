import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/core/constants.js';
import { FRAGMENT_THRESHOLD, FragmentedMessage } from '../../src/core/fragmented-message.js';
import { decodeFrames, frameWriter } from './helpers.js';

/** A frame output collecting the bytes and the callbacks handed with them. */
function sink() {
  const bytes: Buffer[] = [];
  const callbacks: Array<((err?: Error | null) => void) | undefined> = [];
  return {
    bytes,
    callbacks,
    out: {
      writeFrame: frameWriter((data, cb) => {
        bytes.push(Buffer.from(data));
        callbacks.push(cb);
      }),
    },
  };
}

describe('FragmentedMessage', () => {
  const payload = Buffer.from(Array.from({ length: 3 * 1000 + 7 }, (_, i) => i & 0xff));

  it('writes fragments of the sizes asked for: the first keeps the opcode and RSV bits, the last the FIN and the callback', () => {
    const { out, bytes, callbacks } = sink();
    const cb = (): void => {};
    const message = new FragmentedMessage(Opcode.Text, payload, true, 0x40, false, cb);
    expect(message.size).toBe(payload.length + 4);
    const sizes = [1000, 2000, 5000];
    for (const size of sizes) {
      if (message.done) break;
      message.writeNext(out, size);
    }
    expect(message.done).toBe(true);
    expect(message.size).toBe(0);
    const frames = decodeFrames(Buffer.concat(bytes)).frames;
    expect(frames.map((f) => [f.opcode, f.fin, f.rsv, f.payload.length])).toEqual([
      [Opcode.Text, false, 0x40, 1000],
      [Opcode.Continuation, false, 0, 2000],
      [Opcode.Continuation, true, 0, 7],
    ]);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(payload)).toBe(true);
    expect(callbacks.filter((c) => c !== undefined)).toEqual([cb]);
    expect(callbacks.at(-1)).toBe(cb);
  });

  it('keeps FIN off on every fragment of a frame that does not end its message', () => {
    const { out, bytes } = sink();
    const message = new FragmentedMessage(Opcode.Continuation, payload, false, 0, false, undefined);
    while (!message.done) message.writeNext(out, 1024);
    expect(decodeFrames(Buffer.concat(bytes)).frames.every((f) => !f.fin && f.opcode === Opcode.Continuation)).toBe(true);
  });

  it('masks each fragment with a fresh key (RFC 6455 §5.3), the payload read back intact', () => {
    const { out, bytes } = sink();
    const message = new FragmentedMessage(Opcode.Binary, payload, true, 0, true, undefined);
    while (!message.done) message.writeNext(out, 1000);
    const frames = decodeFrames(Buffer.concat(bytes)).frames;
    expect(frames.every((f) => f.masked)).toBe(true);
    // Each masked fragment is one buffer: its key ends the header (RFC 6455 §5.2).
    const keyOf = (frame: Buffer): string => {
      const length = (frame[1] as number) & 0x7f;
      const at = 2 + (length === 126 ? 2 : length === 127 ? 8 : 0);
      return frame.subarray(at, at + 4).toString('hex');
    };
    expect(new Set(bytes.map(keyOf)).size).toBe(frames.length);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(payload)).toBe(true);
  });

  it('abandon() calls back with the error and leaves nothing to write', () => {
    const errors: unknown[] = [];
    const message = new FragmentedMessage(Opcode.Binary, payload, true, 0, false, (err) => errors.push(err));
    const err = new Error('gone');
    message.abandon(err);
    expect(errors).toEqual([err]);
    expect(message.done).toBe(true);
  });

  it('is used for payloads above 64 KiB', () => {
    expect(FRAGMENT_THRESHOLD).toBe(64 * 1024);
  });
});
