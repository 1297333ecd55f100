/**
 * The platform-free reconnect policy driven by a fake host (no sockets): what a browser build
 * reuses. The Node client's behaviour over real sockets is in reconnecting-websocket.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type PolicyHost, type PolicySocket, ReconnectPolicy } from '../../src/reconnect/policy.js';
import { until } from '../node/helpers.js';

class FakeSocket implements PolicySocket {
  readyState = 0;
  closedWith: [number | undefined, string | undefined] | null = null;
  aborted = false;
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
}

function host() {
  const events: string[] = [];
  const sockets: FakeSocket[] = [];
  const delivered: string[] = [];
  const h: PolicyHost<FakeSocket, string> & { events: string[]; sockets: FakeSocket[]; delivered: string[] } = {
    events,
    sockets,
    delivered,
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      events.push('connect');
      return s;
    },
    abort: (s) => {
      s.aborted = true;
    },
    deliver: (_s, message, done) => {
      delivered.push(message);
      done(null);
    },
    opened: (_s, reconnect) => void events.push(`open ${reconnect}`),
    reconnecting: (attempt) => void events.push(`reconnecting ${attempt}`),
    closed: (code, reason, willReconnect) => void events.push(`close ${code} ${reason} ${willReconnect}`),
    error: (err) => void events.push(`error ${err.message}`),
  };
  return h;
}

const FAST = { minDelay: 1, maxDelay: 1, random: () => 0 };

describe('ReconnectPolicy', () => {
  it('queues sends while connecting, flushes them in order on open, then sends directly', async () => {
    const h = host();
    const policy = new ReconnectPolicy(h, { ...FAST });
    policy.start();
    const first = policy.send('a', 1);
    const second = policy.send('b', 1);
    expect(policy.queuedMessages).toBe(2);
    const socket = h.sockets[0] as FakeSocket;
    socket.readyState = 1;
    policy.socketOpened(socket);
    await Promise.all([first, second]);
    await policy.send('c', 1);
    expect(h.delivered).toEqual(['a', 'b', 'c']);
    expect(h.events).toEqual(['connect', 'open false']);
    expect(policy.readyState).toBe(1);
  });

  it('reconnects with backoff after a close, and stops on a final close code', async () => {
    const h = host();
    const policy = new ReconnectPolicy(h, { ...FAST });
    policy.start();
    const first = h.sockets[0] as FakeSocket;
    first.readyState = 1;
    policy.socketOpened(first);
    policy.socketClosed(first, 1001, 'going away');
    await until(() => h.sockets.length === 2);
    const second = h.sockets[1] as FakeSocket;
    second.readyState = 1;
    policy.socketOpened(second);
    policy.socketClosed(second, 4001, 'banned');
    expect(h.events).toEqual([
      'connect',
      'open false',
      'close 1001 going away true',
      'reconnecting 1',
      'connect',
      'open true',
      'close 4001 banned false',
    ]);
    expect(policy.readyState).toBe(3);
    await expect(policy.send('late', 4)).rejects.toMatchObject({ code: 'WS_ERR_CLOSED' });
  });

  it('gives up after maxAttempts failed attempts and rejects what was queued', async () => {
    const h = host();
    const policy = new ReconnectPolicy(h, { ...FAST, maxAttempts: 2 });
    policy.start();
    const queued = policy.send('never', 5);
    for (let i = 0; i < 3; i++) {
      await until(() => h.sockets.length === i + 1);
      policy.socketClosed(h.sockets[i] as FakeSocket, 1006, '');
    }
    await expect(queued).rejects.toMatchObject({ code: 'WS_ERR_CLOSED' });
    expect(h.events.filter((e) => e.startsWith('reconnecting'))).toEqual(['reconnecting 1', 'reconnecting 2']);
    expect(h.events.at(-1)).toBe('close 1006  false');
  });

  it('close() aborts a connection still connecting; a failing onConnect hook closes with 1011', async () => {
    const h = host();
    const policy = new ReconnectPolicy(h, { ...FAST });
    policy.start();
    policy.close(1000, 'bye');
    expect((h.sockets[0] as FakeSocket).aborted).toBe(true);
    const h2 = host();
    const hooked = new ReconnectPolicy(h2, {
      ...FAST,
      onConnect: () => {
        throw new Error('no token');
      },
    });
    hooked.start();
    const socket = h2.sockets[0] as FakeSocket;
    socket.readyState = 1;
    hooked.socketOpened(socket);
    expect(socket.closedWith).toEqual([1011, 'onConnect failed']);
    expect(h2.events).toContain('error The onConnect hook failed');
  });
});
