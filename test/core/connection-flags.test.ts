import { describe, expect, it } from 'vitest';
import { ConnectionFlags } from '../../src/core/connection-flags.js';

const WRITABLE = [
  'autoPong',
  'closeSent',
  'closeReceived',
  'sendingFragments',
  'sendingCompressed',
  'decoding',
  'userPaused',
  'ended',
  'failed',
  'endRequested',
  'inputEnding',
  'held',
] as const;
type Writable = (typeof WRITABLE)[number];

/** Opens the protected accessors for the test. */
class Probe extends ConnectionFlags {
  read(name: Writable | 'masked'): boolean {
    return (this as unknown as Record<string, boolean>)[name] as boolean;
  }

  write(name: Writable, value: boolean): void {
    (this as unknown as Record<string, boolean>)[name] = value;
  }
}

describe('ConnectionFlags', () => {
  it('starts with masked and autoPong from the constructor and everything else false', () => {
    for (const [masked, autoPong] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const probe = new Probe(masked, autoPong);
      expect(probe.read('masked')).toBe(masked);
      expect(probe.read('autoPong')).toBe(autoPong);
      for (const name of WRITABLE.slice(1)) expect(probe.read(name)).toBe(false);
    }
  });

  it('sets and clears each flag without touching any other', () => {
    for (const name of WRITABLE) {
      const probe = new Probe(true, false);
      probe.write(name, true);
      for (const other of WRITABLE) expect(probe.read(other)).toBe(other === name);
      expect(probe.read('masked')).toBe(true);
      // Setting twice keeps it set; clearing restores the start.
      probe.write(name, true);
      expect(probe.read(name)).toBe(true);
      probe.write(name, false);
      for (const other of WRITABLE) expect(probe.read(other)).toBe(false);
      expect(probe.read('masked')).toBe(true);
    }
  });
});
