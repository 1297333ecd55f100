/**
 * `ws6455/browser` in real headless Chromium: a page served by our own test server loads the
 * built bundle (dist/browser.js) and runs a ReconnectingWebSocket in session mode on the
 * browser's own WebSocket against a WebSocketServer with `sessions`, while the server terminates
 * the connection under it again and again. Counted in both directions (sent, acknowledged,
 * received, lost, duplicated, order) and asserted: every message once and in order, every send
 * acknowledged, every cut resumed. Then the JSON router over the browser's session: requests in
 * flight across the cuts are answered once, and a request sent before a cut is answered after
 * the resumption.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_PROTOCOL, type Session, type WebSocket } from '../../src/index.js';
import { Router } from '../../src/router/index.js';
import { delay, onCleanup, runCleanups } from '../node/helpers.js';
import { chromiumAvailable, launchChromium, openPage, type PageServer, startPageServer } from './chromium.js';

afterEach(runCleanups);

const COUNT = 2000;
/** Most unacknowledged messages each side keeps in flight (the resend buffer holds 1,000). */
const WINDOW = 50;
/** Connections the server terminates during the exchange. */
const CUTS = 12;
/** How long the page may take for a scenario (a bound, not an expectation). */
const DEADLINE = 60_000;

const available = chromiumAvailable();

/** Polls `predicate` every 2 ms for at most `ms`; returns whether it held. */
async function poll(predicate: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) return false;
    await delay(2);
  }
  return true;
}

/** How a list of received indexes compares to 0 … sent − 1. */
function tally(sent: number, received: readonly number[]): { received: number; lost: number; duplicated: number; inOrder: boolean } {
  const unique = new Set(received);
  let lost = 0;
  for (let i = 0; i < sent; i++) if (!unique.has(i)) lost += 1;
  return { received: received.length, lost, duplicated: received.length - unique.size, inOrder: received.every((v, k) => v === k) };
}

/**
 * Message `i` of the server, as the page's: even ones text `s:i:` (every 50th padded to 16 KiB,
 * so that cuts also fall inside messages), odd ones 8 bytes with `i` in front.
 */
function serverMessage(i: number): string | Buffer {
  if (i % 2 === 0) return `s:${i}:${i % 50 === 0 ? 'x'.repeat(16 * 1024) : ''}`;
  const b = Buffer.alloc(8);
  b.writeUInt32BE(i, 0);
  return b;
}

function indexOf(data: Buffer, isBinary: boolean): number {
  return isBinary ? data.readUInt32BE(0) : Number(data.toString('latin1').split(':')[1]);
}

interface PageEvents {
  sessions: number;
  resumed: number;
  closes: number;
  errors: number;
  resets: string[];
}

interface ExchangeResult {
  acked: number;
  ackedInOrder: boolean;
  rejected: string[];
  received: number[];
  seqMismatch: number;
  redelivered: number;
  wrongType: number;
  events: PageEvents;
  unacknowledged: number;
  ms: number;
}

interface RequestsResult {
  answers: Array<[number, number]>;
  errors: string[];
  held: { result?: { n: number }; at?: number; error?: string };
  events: PageEvents;
}

describe.skipIf(!available)('ws6455/browser in headless Chromium, sessions across server-side cuts', () => {
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function setup(): Promise<{ server: PageServer; page: Page }> {
    const server = await startPageServer({ sessions: { ackDelay: 10 } });
    onCleanup(() => server.close());
    const page = await openPage(browser, server, pageErrors);
    onCleanup(() => page.close());
    return { server, page };
  }

  it(`${COUNT.toLocaleString('en')} messages each way with ${CUTS} cuts: none lost, none duplicated, in order, all acknowledged`, async () => {
    const { server, page } = await setup();
    const started = Date.now();
    const late = (): boolean => Date.now() - started > DEADLINE;

    // The server: one session expected; what it receives, what it sends, what was acknowledged.
    const toServer: number[] = [];
    let seqMismatch = 0;
    let redelivered = 0;
    let serverAcked = 0;
    let serverAckedInOrder = true;
    const serverRejected: string[] = [];
    const closed: string[] = [];
    let serverResumed = 0;
    const live: { current: Session | null } = { current: null };
    let sessions = 0;
    const send = async (session: Session): Promise<void> => {
      let inFlight = 0;
      for (let i = 0; i < COUNT && !late(); i++) {
        while (inFlight >= WINDOW && !late()) await delay(2);
        inFlight += 1;
        session.send(serverMessage(i)).then(
          () => {
            if (serverAcked !== i) serverAckedInOrder = false;
            serverAcked += 1;
            inFlight -= 1;
          },
          (err: Error & { code?: string }) => {
            serverRejected.push(`${i}: ${err.code}`);
            inFlight -= 1;
          },
        );
      }
    };
    let sending: Promise<void> = Promise.resolve();
    server.wss.on('session', (session: Session) => {
      sessions += 1;
      live.current = session;
      session.on('message', (data, isBinary, info) => {
        const i = indexOf(data, isBinary);
        if (info.seq !== i + 1) seqMismatch += 1;
        if (info.redelivered) redelivered += 1;
        toServer.push(i);
      });
      session.on('resumed', () => void (serverResumed += 1));
      session.on('close', (err) => closed.push(err.code));
      if (sessions === 1) sending = send(session);
    });

    // The page runs its side; meanwhile the server cuts the connection at spread-out points of
    // the exchange, each time once the session is connected again (so every cut is resumed).
    let pageDone = false;
    const result = page
      .evaluate(`page.exchange(${JSON.stringify({ url: server.wsUrl, count: COUNT, window: WINDOW, deadline: DEADLINE })})`)
      .finally(() => (pageDone = true)) as Promise<ExchangeResult>;
    let cuts = 0;
    for (let k = 0; k < CUTS && !pageDone && !late(); k++) {
      const target = Math.floor(((k + 1) * 2 * COUNT) / (CUTS + 2));
      await poll(() => pageDone || toServer.length + serverAcked >= target, DEADLINE);
      await poll(() => pageDone || live.current?.connected === true, DEADLINE);
      const socket = live.current?.socket;
      if (pageDone || socket == null) break;
      socket.terminate();
      cuts += 1;
    }
    const got = await result;
    await sending;
    // The page's last acknowledgements of the server's messages may still be on their way.
    await poll(() => serverAcked + serverRejected.length >= COUNT || late(), DEADLINE);

    const toPage = { sent: COUNT, acked: serverAcked, ...tally(COUNT, got.received) };
    const fromPage = { sent: COUNT, acked: got.acked, ...tally(COUNT, toServer) };
    const serverClosed = [...closed];
    console.log(
      `browser session: ${cuts} cuts, ${got.ms} ms; page->server ${JSON.stringify(fromPage)}; server->page ${JSON.stringify(toPage)}; ` +
        `page events ${JSON.stringify(got.events)}; server resumed ${serverResumed}`,
    );
    // The page's close() ends the session on the server too.
    await page.evaluate('page.closeClient()');
    await poll(() => closed.length > serverClosed.length, 10_000);

    expect(cuts).toBe(CUTS);
    expect(fromPage).toEqual({ sent: COUNT, acked: COUNT, received: COUNT, lost: 0, duplicated: 0, inOrder: true });
    expect(toPage).toEqual({ sent: COUNT, acked: COUNT, received: COUNT, lost: 0, duplicated: 0, inOrder: true });
    expect({ pageRejected: got.rejected, serverRejected, pageResets: got.events.resets, serverClosed }).toEqual({
      pageRejected: [],
      serverRejected: [],
      pageResets: [],
      serverClosed: [],
    });
    expect({ ackedInOrder: got.ackedInOrder, serverAckedInOrder, seqMismatch: got.seqMismatch + seqMismatch, wrongType: got.wrongType }).toEqual({
      ackedInOrder: true,
      serverAckedInOrder: true,
      seqMismatch: 0,
      wrongType: 0,
    });
    // Exactly once on a server that keeps running: nothing is flagged as a possible redelivery.
    expect(got.redelivered + redelivered).toBe(0);
    // One session, resumed after every cut, on both ends.
    expect({ sessions, serverResumed, pageSessions: got.events.sessions, pageResumed: got.events.resumed }).toEqual({
      sessions: 1,
      serverResumed: CUTS,
      pageSessions: CUTS + 1,
      pageResumed: CUTS,
    });
    expect(closed).toEqual(['WS_SESSION_ENDED']);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('router requests over the browser session: in flight across cuts, answered once; one sent before a cut answered after it', async () => {
    const { server, page } = await setup();
    const REQUESTS = 100;
    const calls: number[] = [];
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    type Api = { add: { payload: { a: number; b: number }; result: { sum: number } }; hold: { payload: { n: number }; result: { n: number } } };
    const router = new Router<Api>()
      .on('add', ({ a, b }) => {
        calls.push(a);
        return { sum: a + b };
      })
      .on('hold', async ({ n }) => {
        await held;
        return { n };
      });
    const live: { current: Session | null } = { current: null };
    let sessions = 0;
    server.wss.on('session', (session: Session) => {
      sessions += 1;
      live.current = session;
      router.attach(session);
    });

    let pageDone = false;
    const result = page
      .evaluate(`page.requests(${JSON.stringify({ url: server.wsUrl, count: REQUESTS, deadline: DEADLINE })})`)
      .finally(() => (pageDone = true)) as Promise<RequestsResult>;
    let cuts = 0;
    for (const threshold of [15, 35, 55, 75]) {
      await poll(() => pageDone || calls.length >= threshold, DEADLINE);
      await poll(() => pageDone || live.current?.connected === true, DEADLINE);
      const socket = live.current?.socket;
      if (pageDone || socket == null) break;
      socket.terminate();
      cuts += 1;
      // The held request was sent before this first cut: answer it once the session is back.
      if (cuts === 1) {
        await poll(() => live.current?.connected === true, DEADLINE);
        release();
      }
    }
    release();
    const got = await result;
    console.log(`browser router: ${cuts} cuts, ${got.answers.length} answers, ${calls.length} calls, page events ${JSON.stringify(got.events)}`);
    await page.evaluate('page.closeClient()');

    expect(cuts).toBe(4);
    expect(got.errors).toEqual([]);
    expect(got.answers.length).toBe(REQUESTS);
    expect(got.answers.filter(([j, sum]) => sum !== j + 1)).toEqual([]);
    // Each request handled once, though connections were cut while requests were in flight.
    expect([...calls].sort((x, y) => x - y)).toEqual(Array.from({ length: REQUESTS }, (_, k) => k));
    expect(got.held.result).toEqual({ n: -1 });
    expect(got.held.at).toBeGreaterThanOrEqual(1); // answered after a resumption
    expect({ sessions, resets: got.events.resets, resumed: got.events.resumed }).toEqual({ sessions: 1, resets: [], resumed: cuts });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('plain mode: sends queued before the first connection, text and binary echoed, a reconnection after a cut', async () => {
    const { server, page } = await setup();
    let cuts = 0;
    server.wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data, isBinary) => {
        if (!isBinary && String(data) === 'cut') {
          cuts += 1;
          ws.terminate();
        } else ws.send(data as Buffer, { binary: isBinary });
      });
    });
    const got = (await page.evaluate(`page.plain(${JSON.stringify({ url: server.wsUrl, deadline: DEADLINE })})`)) as { echoes: string[]; reconnects: number };
    await page.evaluate('page.closeClient()');
    expect(got).toEqual({ echoes: ['text a', 'binary 1,2,3', 'text b'], reconnects: 1 });
    expect(cuts).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('session mode against a server without sessions: Chromium fails the handshake (no subprotocol selected), retried as an unreachable server within maxAttempts', async () => {
    const { server, page } = await setup();
    // Another origin than the page's: allowed explicitly (same-origin only by default).
    const plainServer = await startPageServer({ allowedOrigins: [server.url.slice(0, -1)] });
    onCleanup(() => plainServer.close());
    let upgrades = 0;
    plainServer.wss.on('connection', () => void (upgrades += 1));
    const got = await page.evaluate(`page.misbehaving(${JSON.stringify({ url: plainServer.wsUrl, deadline: DEADLINE, maxAttempts: 2 })})`);
    // The server answered 101 without Sec-WebSocket-Protocol each time; Chromium failed the
    // connection and the page saw an error only (no close code, no way to tell it from a network
    // failure), so WS_SESSION_UNSUPPORTED cannot be reported there.
    expect(got).toEqual({
      errors: ['WS_ERR_CONNECTION', 'WS_ERR_CONNECTION', 'WS_ERR_CONNECTION'],
      closes: [{ code: 1006, reason: '', willReconnect: false }],
      sent: 'WS_SESSION_CLOSED',
      readyState: 3,
    });
    expect(upgrades).toBe(3);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a session protocol error from the server: the page closes with 1000 and the reason (it cannot send 1002)', async () => {
    const { server, page } = await setup();
    // A server that selects the session subprotocol but does not speak it: a data message where
    // the welcome belongs.
    const rogue = await startPageServer({ allowedOrigins: [server.url.slice(0, -1)], handleProtocols: (protocols: Set<string>) => (protocols.has(SESSION_PROTOCOL) ? SESSION_PROTOCOL : false) });
    onCleanup(() => rogue.close());
    const seen: Array<[number, string]> = [];
    rogue.wss.on('connection', (ws: WebSocket) => {
      ws.send('not a session message');
      ws.on('close', (code, reason) => seen.push([code, String(reason)]));
    });
    const got = await page.evaluate(`page.misbehaving(${JSON.stringify({ url: rogue.wsUrl, deadline: DEADLINE, maxAttempts: 0 })})`);
    for (let i = 0; i < 200 && seen.length === 0; i++) await delay(10);
    console.log(`browser session protocol error: page ${JSON.stringify(got)}; server saw ${JSON.stringify(seen)}`);
    // RFC 6455 §7.4.1 would say 1002; the WHATWG close() refuses it, so the client sends 1000
    // with the protocol error's reason, and the server sees that reason.
    const reason = 'Session data before the welcome';
    expect(got).toEqual({
      errors: ['WS_SESSION_UNEXPECTED'],
      closes: [{ code: 1000, reason, willReconnect: false }],
      sent: 'WS_SESSION_UNEXPECTED',
      readyState: 3,
    });
    expect(seen).toEqual([[1000, reason]]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
