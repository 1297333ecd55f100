/**
 * Real headless Chromium for the browser tests: Debian's `chromium` (/usr/bin/chromium) driven by
 * playwright-core (never a downloaded browser), and a page server of our own that serves the
 * built `ws6455/browser` bundle (dist/browser.js, as users get it) and the page fixtures, on
 * 127.0.0.1 port 0, with a WebSocketServer on the same HTTP server (same origin).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { WebSocketServer, type ServerOptions } from '../../src/index.js';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether the browser tests can run here. Under `CI=true` a missing Chromium fails them (`.ci/run`
 * installs it); elsewhere they are skipped.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI installs Debian's chromium package)`);
  return false;
}

/** Starts headless Chromium; the caller closes it. */
export function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests may run as root (containers, CI), where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
}

const FILES: Record<string, { url: URL; type: string }> = {
  '/browser.js': { url: new URL('../../dist/browser.js', import.meta.url), type: 'text/javascript' },
  '/session-page.js': { url: new URL('./fixture/session-page.js', import.meta.url), type: 'text/javascript' },
};

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>ws6455/browser</title>
<script type="module">
  import * as page from '/session-page.js';
  window.page = page;
  document.title = 'ready';
</script>
`;

/** An HTTP server for the page and its modules, with a WebSocketServer on it. */
export interface PageServer {
  /** The page's URL (http://127.0.0.1:port/). */
  readonly url: string;
  /** The WebSocket URL of the same server. */
  readonly wsUrl: string;
  readonly wss: WebSocketServer;
  close(): Promise<void>;
}

/** Starts a page server with a WebSocketServer built with `options` (plus `server`). */
export async function startPageServer(options: Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'host'>): Promise<PageServer> {
  const http: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const file = FILES[path];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE);
    } else if (file !== undefined) {
      res.writeHead(200, { 'content-type': `${file.type}; charset=utf-8`, 'cache-control': 'no-store' }).end(readFileSync(file.url));
    } else {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ ...options, server: http });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    wsUrl: `ws://127.0.0.1:${port}/`,
    wss,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Opens the page of `server` in `browser` and waits until its module loaded the bundle; uncaught page errors go to `errors`. */
export async function openPage(browser: Browser, server: PageServer, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  // Console errors are not collected: Chromium logs one for every connection the server cuts.
  await page.goto(server.url, { timeout: 20_000 });
  await page.waitForFunction("document.title === 'ready'", undefined, { timeout: 20_000 });
  return page;
}
