/**
 * The demo (examples/demo) in real headless Chromium, as a person uses it: two pages (one at
 * 1280x800, one phone-sized at 390x844) join a room and chat through the page's own form; the
 * server is killed (SIGKILL) and started again on the same port, then stopped gently (SIGTERM)
 * and started again, while both pages keep typing. Both pages resume their sessions and every
 * message arrives at both, once: sent, received, lost and duplicated are counted. The stats panel
 * is read before and after. Screenshots go to test/.output/demo/ (not committed).
 *
 * The server runs in a child process of its own (process group, killed at the end), on a free
 * port, with its session journal in a temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(root, 'test', '.output', 'demo');
/** The whole scenario's bound. */
const TIMEOUT = 120_000;

/** What a page exposes for tests (window.demo in examples/demo/public/app.js). */
interface PageState {
  state: string;
  sessionId: string | null;
  sent: string[];
  acknowledged: number;
  received: string[];
  duplicates: number;
  resumed: number;
  resets: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The demo server in a process group of its own. */
class DemoServer {
  out = '';
  private exited: Promise<void>;

  private constructor(readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  static async start(port: number, data: string): Promise<DemoServer> {
    const args = ['--import', 'tsx', 'examples/demo/server.ts', '--port', String(port), '--data', data];
    const server = new DemoServer(spawn(process.execPath, args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
    const deadline = Date.now() + 20_000;
    while (!server.out.includes('ws6455 demo on')) {
      if (server.proc.exitCode !== null || Date.now() > deadline) throw new Error(`the demo did not start:\n${server.out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return server;
  }

  /** Sends `signal` to the process group and waits (at most 10 s) for the server to exit. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.pid !== undefined) {
      try {
        process.kill(-this.proc.pid, signal);
      } catch {
        // gone already
      }
    }
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 10_000))]);
  }
}

const available = existsSync(CHROMIUM);

describe.skipIf(!available && process.env.CI !== 'true')('the demo in Chromium', () => {
  let browser: Browser;
  let server: DemoServer | null = null;
  let data: string;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing (CI installs the chromium package)`);
    mkdirSync(OUTPUT, { recursive: true });
    data = mkdtempSync(join(tmpdir(), 'ws6455-demo-test-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop('SIGKILL');
    if (data !== undefined) rmSync(data, { recursive: true, force: true });
  });

  async function open(base: string, name: string, viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, isMobile: viewport.width < 500 });
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(`${name}: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${name} console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${name}: ${r.status()} ${r.url()}`);
    });
    await page.goto(`${base}/?room=test&name=${name}`);
    return page;
  }

  const state = (page: Page): Promise<PageState> => page.evaluate(() => (globalThis as unknown as { demo: PageState }).demo);

  /** Types `text` into the page's message box and presses Enter, as a person would. */
  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#say-input', text);
    await page.press('#say-input', 'Enter');
  }

  /** Waits (bounded) until `check` holds for the page's state. */
  async function until(page: Page, what: string, check: (s: PageState) => boolean, ms = 20_000): Promise<PageState> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await state(page);
      if (check(s)) return s;
      if (Date.now() > deadline) throw new Error(`${what}: not reached in ${ms} ms; page state ${JSON.stringify({ ...s, stats: undefined })}\nserver:\n${server?.out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const text = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).textContent()) ?? '';

  /** Waits (bounded) until the text of `selector` satisfies `check`. */
  async function textUntil(page: Page, selector: string, check: (text: string) => boolean, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const t = await text(page, selector);
      if (check(t)) return t;
      if (Date.now() > deadline) throw new Error(`${selector}: ${JSON.stringify(t)} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('two pages chat; the server is killed and restarted twice; both resume and lose nothing; the stats move', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = await DemoServer.start(port, data);

    const ada = await open(base, 'ada', { width: 1280, height: 800 });
    const bob = await open(base, 'bob', { width: 390, height: 844 });
    const pages = [ada, bob];
    for (const page of pages) await until(page, 'open', (s) => s.state === 'open' && s.sessionId !== null);
    await textUntil(ada, '#members', (t) => t === '2 members');
    await textUntil(ada, '#s-connections', (t) => t === '2');
    const totalsBefore = await text(ada, '#s-totals');

    // An empty message is not sent.
    await say(ada, '   ');
    expect((await state(ada)).sent).toEqual([]);

    let n = 0;
    const round = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        await say(ada, `ada ${++n}`);
        await say(bob, `bob ${n}`);
      }
    };
    /** Every id either page sent, received by both pages. */
    const everyoneGotEverything = async (): Promise<void> => {
      const sent = (await Promise.all(pages.map(state))).flatMap((s) => s.sent);
      for (const page of pages) await until(page, `all ${sent.length} messages`, (s) => sent.every((id) => s.received.includes(id)));
    };

    await round(5);
    await everyoneGotEverything();
    // The panel's totals moved with the traffic (polled once a second).
    await textUntil(ada, '#s-totals', (t) => t !== totalsBefore);
    // A long message wraps instead of widening the page.
    await say(ada, `long ${'word '.repeat(150)}${'x'.repeat(300)}`);
    await everyoneGotEverything();
    for (const page of pages) {
      const overflow = await page.evaluate(() => {
        const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return root.scrollWidth - root.clientWidth;
      });
      expect(overflow).toBe(0);
    }
    await ada.screenshot({ path: join(OUTPUT, '1-chat-1280x800.png') });
    await bob.screenshot({ path: join(OUTPUT, '1-chat-390x844.png'), fullPage: true });

    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      await server.stop(signal);
      for (const page of pages) await until(page, `reconnecting after ${signal}`, (s) => s.state === 'reconnecting');
      // Typed while the server is down: kept by the pages' sessions.
      await round(3);
      expect((await state(ada)).acknowledged).toBeLessThan((await state(ada)).sent.length);
      if (signal === 'SIGKILL') {
        await ada.screenshot({ path: join(OUTPUT, '2-server-down-1280x800.png') });
      }
      server = await DemoServer.start(port, data);
      const resumed = signal === 'SIGKILL' ? 1 : 2;
      for (const page of pages) await until(page, `resumed after ${signal}`, (s) => s.resumed === resumed && s.state.startsWith('resumed'));
      await round(2);
      await everyoneGotEverything();
    }

    // Counted: every message sent by either page arrived at both, once, and was acknowledged.
    const [a, b] = await Promise.all(pages.map(state));
    const sent = [...(a as PageState).sent, ...(b as PageState).sent];
    const lost = pages.length * sent.length - [a, b].reduce((k, s) => k + sent.filter((id) => (s as PageState).received.includes(id)).length, 0);
    const duplicated = [a, b].reduce((k, s) => k + (s as PageState).duplicates + ((s as PageState).received.length - new Set((s as PageState).received).size), 0);
    expect({ sent: sent.length, lost, duplicated, resets: (a as PageState).resets + (b as PageState).resets }).toEqual({ sent: 2 * (5 + 3 + 2 + 3 + 2) + 1, lost: 0, duplicated: 0, resets: 0 });
    await until(ada, 'acknowledged', (s) => s.acknowledged === s.sent.length);
    await until(bob, 'acknowledged', (s) => s.acknowledged === s.sent.length);
    // The same sessions as before the restarts.
    expect((await state(ada)).sessionId).toBe(a?.sessionId);

    // The restarted server's panel counts the resumed connections and the 1001 of the gentle stop is not its own.
    await textUntil(ada, '#s-connections', (t) => t === '2');
    await textUntil(ada, '#s-totals', (t) => /^[1-9]/.test(t));

    // The slow reader: the drop policy skips messages, and the panel shows it.
    await ada.click('#slow-button');
    await textUntil(ada, '#slow-result', (t) => /^drop: .* [1-9]\d* dropped/.test(t), 15_000);
    await textUntil(ada, '#s-dropped', (t) => Number(t.replace(/,/g, '')) > 0);
    await ada.screenshot({ path: join(OUTPUT, '3-resumed-1280x800.png') });
    await bob.screenshot({ path: join(OUTPUT, '3-resumed-390x844.png'), fullPage: true });

    expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource|stats\.json/.test(e))).toEqual([]);
  }, TIMEOUT);
});
