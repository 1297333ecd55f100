/**
 * A binary min-heap of (time, item) pairs: the server keeps one entry per pending deadline of
 * its sessions (acknowledgements, expiry), so one timer serves them all.
 *
 * @module
 */

/** A min-heap ordered by time. Stale entries are the caller's to skip. */
export class DeadlineHeap<T> {
  private readonly times: number[] = [];
  private readonly items: T[] = [];

  /** Entries held. */
  get size(): number {
    return this.times.length;
  }

  /** The earliest time, or `Infinity`. */
  peek(): number {
    return this.times.length === 0 ? Infinity : (this.times[0] as number);
  }

  /** Adds `item` due at `at`. */
  push(at: number, item: T): void {
    const times = this.times;
    const items = this.items;
    let i = times.length;
    times.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((times[parent] as number) <= at) break;
      times[i] = times[parent] as number;
      items[i] = items[parent] as T;
      i = parent;
    }
    times[i] = at;
    items[i] = item;
  }

  /** Removes the earliest entry and returns its item. */
  pop(): T | undefined {
    const times = this.times;
    const items = this.items;
    if (times.length === 0) return undefined;
    const top = items[0] as T;
    const lastTime = times.pop() as number;
    const lastItem = items.pop() as T;
    const n = times.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (times[r] as number) < (times[l] as number) ? r : l;
        if ((times[c] as number) >= lastTime) break;
        times[i] = times[c] as number;
        items[i] = items[c] as T;
        i = c;
      }
      times[i] = lastTime;
      items[i] = lastItem;
    }
    return top;
  }
}
