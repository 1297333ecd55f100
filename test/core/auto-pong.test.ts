import { describe, expect, it } from 'vitest';
import { AutoPong, IN_FLIGHT_CAP } from '../../src/core/auto-pong.js';
import type { WriteCallback } from '../../src/core/frame-encoder.js';
import { decodeFrames, frameWriter } from './helpers.js';

/** An output whose writes complete only when told to. */
function output() {
  const bytes: Buffer[] = [];
  const callbacks: WriteCallback[] = [];
  return {
    bytes,
    callbacks,
    out: {
      writeFrame: frameWriter((data, cb) => {
        bytes.push(Buffer.from(data));
        if (cb) callbacks.push(cb);
      }),
    },
    pongs: (): string[] => decodeFrames(Buffer.concat(bytes)).frames.map((f) => f.payload.toString()),
  };
}

describe('AutoPong', () => {
  it('answers every ping while fewer than maxPending pongs wait, and refuses the next one', () => {
    const o = output();
    const pongs = new AutoPong(o.out, false, 3);
    expect([pongs.answer(Buffer.from('1')), pongs.answer(Buffer.from('2')), pongs.answer(Buffer.from('3'))]).toEqual([true, true, true]);
    expect(pongs.answer(Buffer.from('4'))).toBe(false);
    expect(o.pongs()).toEqual(['1', '2', '3']);
    // Once written, pongs no longer wait.
    for (const cb of o.callbacks.splice(0)) cb(null);
    expect(pongs.answer(Buffer.from('5'))).toBe(true);
    expect(o.pongs()).toEqual(['1', '2', '3', '5']);
  });

  it('without a limit, at most IN_FLIGHT_CAP pongs wait and later pings are answered by one pong for the latest (RFC 6455 §5.5.3)', () => {
    const o = output();
    const pongs = new AutoPong(o.out, false, 0);
    for (let i = 0; i < IN_FLIGHT_CAP + 100; i++) expect(pongs.answer(Buffer.from(String(i)))).toBe(true);
    expect(o.pongs()).toHaveLength(IN_FLIGHT_CAP);
    o.callbacks.shift()?.(null);
    expect(o.pongs()).toHaveLength(IN_FLIGHT_CAP + 1);
    expect(o.pongs().at(-1)).toBe(String(IN_FLIGHT_CAP + 99));
    // Nothing more was waiting.
    for (const cb of o.callbacks.splice(0)) cb(null);
    expect(o.pongs()).toHaveLength(IN_FLIGHT_CAP + 1);
  });

  it('after stop(), a waiting payload is never sent', () => {
    const o = output();
    const pongs = new AutoPong(o.out, false, 0);
    for (let i = 0; i < IN_FLIGHT_CAP + 1; i++) pongs.answer(Buffer.from('p'));
    pongs.stop();
    for (const cb of o.callbacks.splice(0)) cb(null);
    expect(o.pongs()).toHaveLength(IN_FLIGHT_CAP);
  });
});
