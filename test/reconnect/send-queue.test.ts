import { describe, expect, it } from 'vitest';
import { ReconnectError } from '../../src/reconnect/errors.js';
import { SendQueue, type QueuedMessage } from '../../src/reconnect/send-queue.js';

interface Tracked {
  entry: QueuedMessage<string>;
  state: () => 'pending' | 'resolved' | string;
}

function message(item: string, bytes = item.length): Tracked {
  let state = 'pending';
  const entry: QueuedMessage<string> = {
    item,
    bytes,
    resolve: () => {
      state = 'resolved';
    },
    reject: (err) => {
      state = (err as ReconnectError).code;
    },
  };
  return { entry, state: () => state };
}

function drain(queue: SendQueue<string>): string[] {
  const out: string[] = [];
  for (let e = queue.shift(); e !== undefined; e = queue.shift()) out.push(e.item);
  return out;
}

describe('SendQueue', () => {
  it('is FIFO and tracks messages and bytes', () => {
    const queue = new SendQueue<string>();
    for (const s of ['a', 'bb', 'ccc']) queue.push(message(s).entry);
    expect(queue.length).toBe(3);
    expect(queue.bytes).toBe(6);
    expect(drain(queue)).toEqual(['a', 'bb', 'ccc']);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('reject policy: a message over the message bound is rejected with WS_ERR_QUEUE_FULL', () => {
    const queue = new SendQueue<string>({ maxMessages: 2, policy: 'reject' });
    const [a, b, c] = [message('a'), message('b'), message('c')];
    for (const m of [a, b, c]) queue.push(m.entry);
    expect(c.state()).toBe('WS_ERR_QUEUE_FULL');
    expect([a.state(), b.state()]).toEqual(['pending', 'pending']);
    expect(drain(queue)).toEqual(['a', 'b']);
  });

  it('reject policy: a message over the byte bound is rejected', () => {
    const queue = new SendQueue<string>({ maxBytes: 10 });
    const big = message('x', 6);
    queue.push(message('y', 6).entry);
    queue.push(big.entry);
    expect(big.state()).toBe('WS_ERR_QUEUE_FULL');
    expect(queue.bytes).toBe(6);
  });

  it('drop-oldest policy evicts from the head until the new message fits (bytes and count)', () => {
    const queue = new SendQueue<string>({ maxMessages: 3, maxBytes: 10, policy: 'drop-oldest' });
    const ms = ['a', 'b', 'c'].map((s) => message(s, 3));
    for (const m of ms) queue.push(m.entry);
    const d = message('d', 3);
    queue.push(d.entry);
    expect(ms[0]?.state()).toBe('WS_ERR_QUEUE_DROPPED');
    const e = message('e', 7);
    queue.push(e.entry);
    expect(ms.map((m) => m.state())).toEqual(['WS_ERR_QUEUE_DROPPED', 'WS_ERR_QUEUE_DROPPED', 'WS_ERR_QUEUE_DROPPED']);
    expect(drain(queue)).toEqual(['d', 'e']);
  });

  it('a message larger than the whole queue is dropped under either policy, evicting nothing', () => {
    for (const policy of ['reject', 'drop-oldest'] as const) {
      const queue = new SendQueue<string>({ maxBytes: 4, policy });
      const kept = message('k', 2);
      queue.push(kept.entry);
      const huge = message('h', 5);
      queue.push(huge.entry);
      expect(huge.state()).toBe('WS_ERR_QUEUE_DROPPED');
      expect(kept.state()).toBe('pending');
    }
  });

  it('rejectAll empties the queue', () => {
    const queue = new SendQueue<string>();
    const ms = [message('a'), message('b')];
    for (const m of ms) queue.push(m.entry);
    queue.rejectAll(new ReconnectError('WS_ERR_CLOSED', 'closed'));
    expect(ms.map((m) => m.state())).toEqual(['WS_ERR_CLOSED', 'WS_ERR_CLOSED']);
    expect(queue.length).toBe(0);
  });

  it('keeps order across compaction of a long-lived queue', () => {
    const queue = new SendQueue<string>({ maxMessages: 5000, maxBytes: 1e9 });
    const out: string[] = [];
    for (let i = 0; i < 4000; i++) {
      queue.push(message(String(i)).entry);
      if (i % 3 === 0) out.push((queue.shift() as QueuedMessage<string>).item);
    }
    out.push(...drain(queue));
    expect(out).toEqual(Array.from({ length: 4000 }, (_, i) => String(i)));
  });

  it('validates its settings', () => {
    expect(() => new SendQueue({ maxMessages: -1 })).toThrow(RangeError);
    expect(() => new SendQueue({ policy: 'newest' as 'reject' })).toThrow(RangeError);
  });
});
