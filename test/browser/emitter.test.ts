/**
 * The browser entry's emitter (src/browser/emitter.ts): what the client and the router rely on
 * (order, once, off, a throwing listener does not stop the others).
 */
import { describe, expect, it } from 'vitest';
import { Emitter } from '../../src/browser/emitter.js';

type Events = { tick: [n: number]; done: [] };

describe('browser Emitter', () => {
  it('calls listeners in order with their arguments; off removes the most recent registration', () => {
    const e = new Emitter<Events>();
    const seen: string[] = [];
    const a = (n: number): void => void seen.push(`a${n}`);
    e.on('tick', a).on('tick', (n) => seen.push(`b${n}`)).on('tick', a);
    expect(e.emit('tick', 1)).toBe(true);
    e.off('tick', a);
    e.emit('tick', 2);
    expect(seen).toEqual(['a1', 'b1', 'a1', 'a2', 'b2']);
    expect(e.listenerCount('tick')).toBe(2);
    expect(e.emit('done')).toBe(false);
  });

  it('once: called for one event only, and off(listener) removes it before', () => {
    const e = new Emitter<Events>();
    const seen: number[] = [];
    const once = (n: number): void => void seen.push(n);
    e.once('tick', once);
    e.emit('tick', 1);
    e.emit('tick', 2);
    const removed = (n: number): void => void seen.push(100 + n);
    e.once('tick', removed);
    e.off('tick', removed);
    e.emit('tick', 3);
    expect(seen).toEqual([1]);
    expect(e.listenerCount('tick')).toBe(0);
  });

  it('a throwing listener does not stop the others; its error is rethrown on a later microtask', async () => {
    const e = new Emitter<Events>();
    const seen: number[] = [];
    const rethrown: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn: () => void) =>
      original(() => {
        try {
          fn();
        } catch (err) {
          rethrown.push(err);
        }
      });
    try {
      e.on('tick', () => {
        throw new Error('boom');
      }).on('tick', (n) => seen.push(n));
      e.emit('tick', 7);
    } finally {
      globalThis.queueMicrotask = original;
    }
    await Promise.resolve();
    expect(seen).toEqual([7]);
    expect(rethrown.map((err) => (err as Error).message)).toEqual(['boom']);
  });
});
