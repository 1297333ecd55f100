import { describe, expect, it } from 'vitest';
import { limiterLoad, runLimited } from '../../src/deflate/limiter.js';

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('runLimited', () => {
  it('runs at most `limit` jobs at once, first in first out', async () => {
    const started: number[] = [];
    const finishers: Array<() => void> = [];
    for (let i = 0; i < 7; i++) {
      runLimited((done) => {
        started.push(i);
        finishers.push(done);
      }, 3);
    }
    expect(started).toEqual([0, 1, 2]);
    expect(limiterLoad()).toEqual({ running: 3, waiting: 4 });
    finishers[1]?.();
    expect(started).toEqual([0, 1, 2, 3]);
    finishers[1]?.(); // a second call is ignored
    expect(limiterLoad()).toEqual({ running: 3, waiting: 3 });
    for (let i = 0; i < 7; i++) finishers[i]?.();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const done of finishers) done();
    expect(limiterLoad()).toEqual({ running: 0, waiting: 0 });
  });

  it('holds later jobs behind a job waiting for its own lower limit', () => {
    const started: string[] = [];
    const finishers: Array<() => void> = [];
    const job = (name: string) => (done: () => void) => {
      started.push(name);
      finishers.push(done);
    };
    runLimited(job('a'), 5);
    runLimited(job('b'), 5);
    runLimited(job('c'), 1); // must wait until nothing else runs
    runLimited(job('d'), 5);
    expect(started).toEqual(['a', 'b']);
    finishers[0]?.();
    expect(started).toEqual(['a', 'b']);
    finishers[1]?.();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    for (const done of finishers) done();
    expect(limiterLoad()).toEqual({ running: 0, waiting: 0 });
  });

  it('handles jobs that finish synchronously without recursing', () => {
    let count = 0;
    for (let i = 0; i < 10_000; i++) {
      runLimited((done) => {
        count++;
        done();
      }, 1);
    }
    expect(count).toBe(10_000);
    expect(limiterLoad()).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the slot of a job that throws and keeps going', async () => {
    const blocker: Array<() => void> = [];
    runLimited((done) => blocker.push(done), 1);
    runLimited(() => {
      throw new Error('boom');
    }, 1);
    let ran = false;
    runLimited((done) => {
      ran = true;
      done();
    }, 1);
    expect(() => blocker[0]?.()).toThrow('boom');
    await tick();
    expect(ran).toBe(true);
    expect(limiterLoad()).toEqual({ running: 0, waiting: 0 });
  });
});
