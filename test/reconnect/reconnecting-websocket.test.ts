import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectError, ReconnectingWebSocket, type ReconnectOptions } from '../../src/reconnect/index.js';
import type { WebSocket } from '../../src/index.js';
import { delay, onCleanup, runCleanups, until, waitFor, withTimeout } from '../node/helpers.js';
import { RestartableServer, freePort } from './helpers.js';

afterEach(runCleanups);

const FAST: ReconnectOptions = { minDelay: 10, maxDelay: 60, perMessageDeflate: false };

function client(url: string, options: ReconnectOptions = {}): ReconnectingWebSocket {
  const rws = new ReconnectingWebSocket(url, { ...FAST, ...options });
  rws.on('error', () => {});
  onCleanup(() => rws.close());
  return rws;
}

/** Records the events of a client, in order. */
function record(rws: ReconnectingWebSocket): string[] {
  const log: string[] = [];
  rws.on('open', () => log.push('open'));
  rws.on('reconnect', () => log.push('reconnect'));
  rws.on('reconnecting', (attempt) => log.push(`reconnecting ${attempt}`));
  rws.on('close', (code, _reason, again) => log.push(`close ${code} ${again}`));
  return log;
}

/** Texts received by the server, across restarts. */
function collect(server: RestartableServer): string[] {
  const out: string[] = [];
  const previous = server.onConnection;
  server.onConnection = (ws, s) => {
    ws.on('message', (data: Buffer) => out.push(data.toString()));
    previous(ws, s);
  };
  return out;
}

describe('ReconnectingWebSocket: survives a server restart', () => {
  it('kill mid-stream, restart on the same port: queued messages arrive exactly once, in order', async () => {
    const server = new RestartableServer();
    const received: number[] = [];
    let killed = false;
    server.onConnection = (ws, s) => {
      ws.on('message', (data: Buffer) => {
        if (killed && s.wss === null) return;
        received.push(Number(data.toString()));
        if (received.length === 30 && !killed) {
          killed = true;
          void s.kill();
        }
      });
    };
    await server.start();
    const rws = client(server.url);
    await waitFor(rws, 'open');

    const TOTAL = 150;
    const queued = new Set<number>();
    const resolved = new Set<number>();
    const rejected = new Set<number>();
    const settled: Array<Promise<void>> = [];
    let restarted = false;
    for (let i = 0; i < TOTAL; i++) {
      if (rws.readyState !== 1) queued.add(i);
      settled.push(
        rws.send(String(i)).then(
          () => void resolved.add(i),
          () => void rejected.add(i),
        ),
      );
      await delay(2);
      if (killed && !restarted && server.wss === null && i > 60) {
        restarted = true;
        await server.start();
      }
    }
    expect(restarted).toBe(true);
    await withTimeout(Promise.all(settled), 3000, 'every send settles');
    await until(() => received.includes(TOTAL - 1), 3000, 'last message');

    // Exactly once and in order: strictly increasing, so no duplicate and no reordering.
    for (let k = 1; k < received.length; k++) expect(received[k]).toBeGreaterThan(received[k - 1] as number);
    // Every message queued while disconnected was flushed after the restart.
    expect(queued.size).toBeGreaterThan(10);
    for (const i of queued) expect(received).toContain(i);
    // A rejected send was never sent again.
    for (const i of rejected) expect(received).not.toContain(i);
    expect(resolved.size + rejected.size).toBe(TOTAL);
    expect(server.connections.length).toBe(2);
  });

  it('a graceful restart (1001) reconnects: events, hook and message forwarding', async () => {
    const server = new RestartableServer();
    server.onConnection = (ws) => ws.send(`hello ${server.connections.length}`);
    await server.start();
    const hookCalls: Array<{ reconnect: boolean; attempt: number }> = [];
    const rws = client(server.url, { onConnect: (_ws, info) => void hookCalls.push(info) });
    const log = record(rws);
    const messages: string[] = [];
    rws.on('message', (data) => messages.push(String(data)));
    await waitFor(rws, 'open');
    await server.stop();
    await until(() => log.includes('close 1001 true'), 2000, '1001 close');
    await server.start();
    await waitFor(rws, 'reconnect', 2000);
    await until(() => messages.length === 2);
    expect(messages).toEqual(['hello 1', 'hello 2']);
    expect(log.slice(0, 3)).toEqual(['open', 'close 1001 true', 'reconnecting 1']);
    expect(log.slice(-2)).toEqual(['open', 'reconnect']);
    expect(hookCalls[0]).toEqual({ reconnect: false, attempt: 0 });
    expect(hookCalls.at(-1)?.reconnect).toBe(true);
    expect(rws.readyState).toBe(1);
  });

  it('reconnects after 1000 (server-initiated), 1011, 1012 and 1013', async () => {
    const codes = [1000, 1011, 1012, 1013];
    const server = new RestartableServer();
    server.onConnection = (ws) => {
      const code = codes[server.connections.length - 1];
      if (code !== undefined) ws.close(code);
    };
    await server.start();
    const rws = client(server.url);
    const log = record(rws);
    await until(() => server.connections.length === 5, 3000, 'five connections');
    expect(log.filter((e) => e.startsWith('close'))).toEqual(['close 1000 true', 'close 1011 true', 'close 1012 true', 'close 1013 true']);
    expect(rws.readyState).not.toBe(3);
  });

  it('reconnects after network errors until the server comes up, then flushes the queue in order', async () => {
    const port = await freePort();
    const rws = client(`ws://127.0.0.1:${port}`, { queue: { maxMessages: 3 } });
    const log = record(rws);
    const sends = ['a', 'b', 'c'].map((s) => rws.send(s));
    const overflow = rws.send('d');
    await expect(overflow).rejects.toMatchObject({ code: 'WS_ERR_QUEUE_FULL' });
    expect(rws.queuedMessages).toBe(3);
    await until(() => log.filter((e) => e.startsWith('reconnecting')).length >= 2, 2000, 'retries');
    const server = new RestartableServer();
    server.port = port;
    const received = collect(server);
    await server.start();
    await Promise.all(sends);
    await until(() => received.length === 3);
    expect(received).toEqual(['a', 'b', 'c']);
    expect(log.filter((e) => e.startsWith('close'))).toEqual([]);
    expect(log.at(-1)).toBe('open');
  });
});

describe('ReconnectingWebSocket: stopping', () => {
  for (const code of [1008, 4000, 4321, 4999]) {
    it(`stops after the final close code ${code} and rejects queued and later sends`, async () => {
      const server = new RestartableServer();
      server.onConnection = (ws) => setTimeout(() => ws.close(code, 'go away'), 20);
      await server.start();
      const rws = client(server.url);
      const log = record(rws);
      const closed = waitFor<[number, string, boolean]>(rws, 'close');
      await waitFor(rws, 'open');
      expect(await closed).toEqual([code, 'go away', false]);
      expect(rws.readyState).toBe(3);
      await expect(rws.send('late')).rejects.toMatchObject({ code: 'WS_ERR_CLOSED' });
      await delay(100);
      expect(log).toEqual(['open', `close ${code} false`]);
      expect(server.connections.length).toBe(1);
    });
  }

  it('final close codes are configurable', async () => {
    const server = new RestartableServer();
    server.onConnection = (ws) => ws.close(server.connections.length === 1 ? 4001 : 1000);
    await server.start();
    const rws = client(server.url, { finalCloseCodes: [1000, [3000, 3999]] });
    const log = record(rws);
    await until(() => rws.readyState === 3, 2000, 'stopped');
    expect(log.filter((e) => e.startsWith('close'))).toEqual(['close 4001 true', 'close 1000 false']);
  });

  it('close() by the application stops reconnecting and rejects what is queued', async () => {
    const server = new RestartableServer();
    await server.start();
    const rws = client(server.url);
    const log = record(rws);
    await waitFor(rws, 'open');
    await server.kill();
    await until(() => rws.readyState === 0, 2000, 'disconnected');
    const pending = rws.send('never');
    // Not awaited: its rejection must not surface as an unhandled rejection.
    void rws.send('fire-and-forget');
    rws.close(1000, 'bye');
    await expect(pending).rejects.toBeInstanceOf(ReconnectError);
    expect(rws.readyState).toBe(3);
    await server.start();
    await delay(150);
    expect(server.connections.length).toBe(1);
    expect(log.at(-1)).toBe('close 1000 false');
  });

  it('close() on an open connection sends the close frame and does not come back', async () => {
    const server = new RestartableServer();
    const seen: number[] = [];
    server.onConnection = (ws) => ws.on('close', (code: number) => seen.push(code));
    await server.start();
    const rws = client(server.url);
    await waitFor(rws, 'open');
    const closed = waitFor<[number, string, boolean]>(rws, 'close');
    rws.close(4500, 'done');
    expect(rws.readyState).toBe(2);
    expect(await closed).toEqual([4500, 'done', false]);
    await until(() => seen.length === 1);
    expect(seen).toEqual([4500]);
    await delay(80);
    expect(server.connections.length).toBe(1);
  });

  it('gives up after maxAttempts failed attempts', async () => {
    const port = await freePort();
    const rws = client(`ws://127.0.0.1:${port}`, { maxAttempts: 3 });
    const log = record(rws);
    const [code, , again] = await waitFor<[number, string, boolean]>(rws, 'close', 3000);
    expect([code, again]).toEqual([1006, false]);
    expect(log).toEqual(['reconnecting 1', 'reconnecting 2', 'reconnecting 3', 'close 1006 false']);
  });

  it('throws at construction for an invalid URL or settings', () => {
    expect(() => new ReconnectingWebSocket('ftp://127.0.0.1')).toThrow();
    expect(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { minDelay: 10, maxDelay: 5 })).toThrow(RangeError);
    expect(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { heartbeat: { interval: 0, timeout: 1 } })).toThrow(RangeError);
  });
});

describe('ReconnectingWebSocket: backoff', () => {
  it('reconnecting delays stay within the backoff bounds, and grow while connections are short', async () => {
    const port = await freePort();
    const rws = client(`ws://127.0.0.1:${port}`, { minDelay: 5, maxDelay: 40, maxAttempts: 6 });
    const delays: Array<[number, number]> = [];
    rws.on('reconnecting', (attempt, d) => delays.push([attempt, d]));
    await waitFor(rws, 'close', 3000);
    expect(delays.map(([a]) => a)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [attempt, d] of delays) {
      expect(d).toBeGreaterThanOrEqual(5);
      expect(d).toBeLessThanOrEqual(Math.min(40, 5 * 2 ** attempt));
    }
  });

  it('resets after a connection stayed up for resetAfter ms', async () => {
    const server = new RestartableServer();
    const lifetimes = [10, 10, 350, 10];
    server.onConnection = (ws) => {
      const ms = lifetimes[server.connections.length - 1];
      if (ms !== undefined) setTimeout(() => ws.close(1012), ms);
    };
    await server.start();
    const rws = client(server.url, { resetAfter: 250 });
    const attempts: number[] = [];
    rws.on('reconnecting', (attempt) => attempts.push(attempt));
    await until(() => attempts.length === 4, 3000, 'four reconnections');
    // Two short connections count up; the long one resets; the next short one counts from 1.
    expect(attempts).toEqual([1, 2, 1, 2]);
  });
});

describe('ReconnectingWebSocket: onConnect hook and ordering', () => {
  it('runs before the queue flushes; its own sends go first, sends made meanwhile are queued', async () => {
    const server = new RestartableServer();
    const received = collect(server);
    await server.start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const rws = client(server.url, {
      onConnect: async (socket: WebSocket) => {
        socket.send('auth');
        await gate;
        socket.send('subscribe');
      },
    });
    const first = rws.send('queued-1');
    await until(() => received.length === 1, 2000, 'auth');
    expect(rws.readyState).toBe(0);
    const second = rws.send('queued-2');
    release();
    await waitFor(rws, 'open');
    const third = rws.send('after-open');
    await Promise.all([first, second, third]);
    await until(() => received.length === 5);
    expect(received).toEqual(['auth', 'subscribe', 'queued-1', 'queued-2', 'after-open']);
  });

  it('a failing hook closes the connection with 1011 and retries with backoff', async () => {
    const server = new RestartableServer();
    const codes: number[] = [];
    server.onConnection = (ws) => ws.on('close', (code: number) => codes.push(code));
    await server.start();
    let calls = 0;
    const rws = new ReconnectingWebSocket(server.url, {
      ...FAST,
      onConnect: () => {
        calls++;
        if (calls === 1) throw new Error('token expired');
      },
    });
    onCleanup(() => rws.close());
    const errors: Error[] = [];
    rws.on('error', (err) => errors.push(err));
    await waitFor(rws, 'open', 2000);
    expect(calls).toBe(2);
    expect(codes).toEqual([1011]);
    expect(errors.some((e) => e instanceof ReconnectError && e.code === 'WS_ERR_ON_CONNECT')).toBe(true);
  });
});

describe('ReconnectingWebSocket: heartbeat', () => {
  it('terminates a connection whose pongs stopped ("heartbeat timeout") and reconnects', async () => {
    const server = new RestartableServer({ autoPong: false });
    await server.start();
    const rws = client(server.url, { heartbeat: { interval: 40, timeout: 40 } });
    const closed = waitFor<[number, string, boolean]>(rws, 'close', 2000);
    await waitFor(rws, 'open');
    expect(await closed).toEqual([1006, 'heartbeat timeout', true]);
    await until(() => server.connections.length === 2, 2000, 'reconnected');
  });

  it('keeps a healthy connection (pongs answered) open across many intervals', async () => {
    const server = new RestartableServer();
    let pings = 0;
    server.onConnection = (ws) => ws.on('ping', () => pings++);
    await server.start();
    const rws = client(server.url, { heartbeat: { interval: 20, timeout: 1000 } });
    const log = record(rws);
    await waitFor(rws, 'open');
    await until(() => pings >= 5, 2000, 'five pings');
    expect(log).toEqual(['open']);
    expect(server.connections.length).toBe(1);
  });
});
