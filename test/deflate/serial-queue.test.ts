import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../src/deflate/serial-queue.js';

describe('SerialQueue', () => {
  it('runs one task at a time, in order', () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const finishers: Array<() => void> = [];
    for (const name of ['a', 'b', 'c']) {
      queue.push((done) => {
        log.push(name);
        finishers.push(done);
      });
    }
    expect(log).toEqual(['a']);
    expect(queue.length).toBe(2);
    finishers[0]?.();
    finishers[0]?.(); // ignored
    expect(log).toEqual(['a', 'b']);
    finishers[1]?.();
    finishers[2]?.();
    expect(log).toEqual(['a', 'b', 'c']);
    expect(queue.length).toBe(0);
    queue.push((done) => {
      log.push('d');
      done();
    });
    expect(log).toEqual(['a', 'b', 'c', 'd']);
  });
});
