/**
 * Real headless Chromium against our server over HTTPS and HTTP/2: a page is served by an
 * `http2.createSecureServer` (self-signed certificate made at test time, trusted with
 * --ignore-certificate-errors), and the page's `new WebSocket('wss://…')` must go over HTTP/2:
 * the server sees the extended CONNECT (RFC 8441) as a stream of the very session that served
 * the page, and no TCP connection of its own. Chromium 156 does this without any flag once the
 * server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and a session to the origin is open.
 *
 * Chromium is Debian's /usr/bin/chromium, driven by playwright-core (no browser download). Without
 * it the tests are skipped, except under CI=true, where they fail (.ci/run installs it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http2, { type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from '../../src/index.js';
import { selfSignedCert } from '../compat/tls-cert.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs the chromium package`);

const PAGE = `<!doctype html><meta charset="utf-8"><title>ws6455 over HTTP/2</title>`;

/** The browser's WebSocket and location, as the page functions below use them (no DOM types here). */
interface PageSocket {
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: (() => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
}
interface PageGlobals {
  WebSocket: new (url: string) => PageSocket;
  location: { host: string };
}

interface StreamSeen {
  session: ServerHttp2Session;
  method: string;
  protocol: string | undefined;
  path: string;
}

describe.skipIf(!present)('Chromium opens a WebSocket over the HTTP/2 session of its page (RFC 8441)', () => {
  let server: http2.Http2SecureServer;
  let wss: WebSocketServer;
  let browser: BrowserContext;
  let profile: string;
  let origin: string;
  const streams: StreamSeen[] = [];
  let tcpConnections = 0;
  const accepted: Array<{ ws: WebSocket; httpVersion: string; method: string | undefined }> = [];

  beforeAll(async () => {
    const { key, cert } = selfSignedCert();
    server = http2.createSecureServer({ key, cert, allowHTTP1: true });
    server.on('connection', () => tcpConnections++);
    // Registered before the WebSocketServer's listener: every stream is seen, with its session.
    server.on('stream', (stream, headers) => {
      streams.push({
        session: stream.session as ServerHttp2Session,
        method: String(headers[':method']),
        protocol: headers[':protocol'] as string | undefined,
        path: String(headers[':path']),
      });
    });
    server.on('request', (req, res) => {
      if (req.url === '/') {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(PAGE);
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    wss = new WebSocketServer({ server, path: '/ws' });
    wss.on('connection', (ws, req) => {
      accepted.push({ ws, httpVersion: req.httpVersion, method: req.method });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary && data.toString() === 'close me') ws.close(4001, 'bye');
        else ws.send(data, { binary: isBinary });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://localhost:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'ws6455-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--ignore-certificate-errors',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }, 30_000);

  it('echoes 50 text and 50 binary messages on a stream of the page session, then closes cleanly both ways', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${origin}/`);
    expect(response?.status()).toBe(200);
    const connectionsAfterPage = tcpConnections;

    const result = await page.evaluate(
      (count) =>
        new Promise<{ texts: number; bytes: number; binaries: number; code: number; wasClean: boolean }>((resolve, reject) => {
          const page = globalThis as unknown as PageGlobals;
          const ws = new page.WebSocket(`wss://${page.location.host}/ws`);
          ws.binaryType = 'arraybuffer';
          let texts = 0;
          let binaries = 0;
          let bytes = 0;
          ws.onopen = () => {
            for (let i = 0; i < count; i++) {
              ws.send(`text ${i}`);
              ws.send(new Uint8Array([i, 255 - i, i ^ 0x55]));
            }
          };
          ws.onmessage = (event) => {
            if (typeof event.data === 'string') {
              if (event.data !== `text ${texts}`) reject(new Error(`out of order: ${event.data}`));
              texts++;
            } else {
              bytes += (event.data as ArrayBuffer).byteLength;
              binaries++;
            }
            if (texts === count && binaries === count) ws.close(1000, 'done');
          };
          ws.onerror = () => reject(new Error('WebSocket error'));
          ws.onclose = (event) => resolve({ texts, binaries, bytes, code: event.code, wasClean: event.wasClean });
        }),
      50,
    );
    expect(result).toEqual({ texts: 50, binaries: 50, bytes: 150, code: 1000, wasClean: true });

    // The server accepted it as a WebSocket over HTTP/2 ...
    expect(accepted.map((a) => [a.httpVersion, a.method])).toEqual([['2.0', 'CONNECT']]);
    // ... on a stream of the session that served the page, with no TCP connection of its own.
    const pageRequest = streams.find((s) => s.method === 'GET' && s.path === '/');
    const connect = streams.filter((s) => s.method === 'CONNECT');
    expect(connect.map((s) => [s.protocol, s.path])).toEqual([['websocket', '/ws']]);
    expect(connect[0]?.session).toBe(pageRequest?.session);
    expect(tcpConnections).toBe(connectionsAfterPage);
    await page.close();
  }, 60_000);

  it('a close started by the server reaches the page with its code and reason', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    const before = accepted.length;
    const result = await page.evaluate(
      () =>
        new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve, reject) => {
          const page = globalThis as unknown as PageGlobals;
          const ws = new page.WebSocket(`wss://${page.location.host}/ws`);
          ws.onopen = () => ws.send('close me');
          ws.onerror = () => reject(new Error('WebSocket error'));
          ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
        }),
    );
    expect(result).toEqual({ code: 4001, reason: 'bye', wasClean: true });
    expect(accepted.slice(before).map((a) => a.httpVersion)).toEqual(['2.0']);
    await page.close();
  }, 60_000);
});
