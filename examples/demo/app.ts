/**
 * The demo's server: the page and its files, a chat with rooms on resumable sessions, the
 * statistics the page's panel shows, the Prometheus text, and the slow reader.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, WebSocketServer, type Session, type WebSocket } from '../../src/index.js';
import { Hub } from '../../src/hub/index.js';
import type { Cluster } from '../../src/cluster/index.js';
import { ChatState, type ChatLine } from './chat-state.js';
import { FileSessionStore } from './file-store.js';
import { browserBundle } from './bundle.js';
import { StatsSampler } from './sampler.js';
import { SlowReader, type SlowPolicy } from './slow-reader.js';

/** What the demo server is started with. */
export interface DemoOptions {
  port: number;
  host: string;
  /** Folder of the session journal and the chat's state (per port). */
  data: string;
  /** A Redis URL: join the other servers of `--cluster` through it. */
  redis?: string;
}

/** How long a session waits for its client (ms). */
const RESUME_WINDOW = 120_000;
/** Longest chat message, in characters; longer ones are cut. */
const MAX_TEXT = 2000;
const ROOM = /^[\w-]{1,32}$/;

const here = fileURLToPath(new URL('.', import.meta.url));
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
  // Browsers ask for /favicon.ico whatever the page says.
  '/favicon.ico': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/** Starts the demo server; resolves once it listens. */
export async function startDemo(options: DemoOptions): Promise<{ url: string; library: string; close: () => Promise<void> }> {
  // Per address, so that a restart on the same port finds its sessions; a free port (0) is new every time.
  const dataDir = join(options.data, options.port === 0 ? `${options.host}-0-${process.pid}` : `${options.host}-${options.port}`);
  const store = new FileSessionStore(join(dataDir, 'sessions.jsonl'), RESUME_WINDOW);
  const state = new ChatState(join(dataDir, 'chat.json'));
  const bundle = await browserBundle();

  const hub = new Hub({ backpressure: { policy: 'drop', highWaterMark: 256 * 1024 } });
  let cluster: Cluster | null = null;
  let redisQuit: (() => Promise<unknown>) | null = null;
  if (options.redis !== undefined) {
    const [{ createClient }, { Cluster }] = await Promise.all([import('redis'), import('../../src/cluster/index.js')]);
    const redis = await createClient({ url: options.redis })
      .on('error', (err: Error) => console.error('redis:', err.message))
      .connect();
    redisQuit = () => redis.quit();
    cluster = new Cluster(hub, { redis });
    cluster.on('error', (err) => console.error(`cluster: ${err.code} ${err.message}`));
    // How many members a room has here: the other servers ask before showing a total.
    cluster.onRequest('members', (data) => String(localMembers(data.toString())));
    await cluster.start();
  }

  const http = createServer((req, res) => route(req, res));
  const wss = new WebSocketServer({
    server: http,
    sessions: { store, resumeWindow: RESUME_WINDOW },
    path: '/chat',
    maxPayload: 64 * 1024,
    // A page whose machine went to sleep is noticed within 30 s; its session waits for it.
    heartbeat: { interval: 20_000, timeout: 10_000 },
  });
  const sampler = new StatsSampler(() => wss.stats());
  const slow = new SlowReader(hub);
  let label = '';

  function localMembers(room: string): number {
    return hub.sessions(room).length;
  }

  async function members(room: string): Promise<number> {
    let n = localMembers(room);
    if (cluster !== null) {
      const answers = await cluster.request('members', room, { timeout: 500 }).catch(() => []);
      for (const a of answers) n += Number(a.data.toString()) || 0;
    }
    return n;
  }

  /** Tells a room how many members it has now (on every server). */
  async function announce(room: string): Promise<void> {
    hub.publish(room, JSON.stringify({ t: 'presence', room, members: await members(room) }));
  }

  function sendTo(session: Session, message: object): void {
    // A send that cannot be delivered (the session ended) rejects; nothing to do about it here.
    session.send(JSON.stringify(message)).catch(() => {});
  }

  function enterRoom(session: Session, name: string, room: string): void {
    const before = state.member(session.id)?.room;
    if (before !== undefined && before !== room && hub.leave(session, before)) void announce(before);
    hub.join(session, room);
    state.setMember(session.id, name, room);
    sendTo(session, { t: 'joined', room, history: state.recent(room), server: label });
    void announce(room);
  }

  wss.on('session', (session: Session) => {
    // A session restored from the journal after a restart goes back to its room.
    const known = state.member(session.id);
    if (known !== undefined) hub.join(session, known.room);
    session.on('message', (data, isBinary) => {
      if (isBinary) return;
      let m: { t?: unknown; room?: unknown; name?: unknown; text?: unknown; id?: unknown };
      try {
        m = JSON.parse(data.toString()) as typeof m;
      } catch {
        return;
      }
      const name = typeof m.name === 'string' && m.name.trim() !== '' ? m.name.trim().slice(0, 32) : 'guest';
      if (typeof m.room !== 'string' || !ROOM.test(m.room)) return;
      if (m.t === 'join') {
        enterRoom(session, name, m.room);
      } else if (m.t === 'say' && typeof m.text === 'string' && typeof m.id === 'string') {
        const text = m.text.trim().slice(0, MAX_TEXT);
        if (text === '') return; // an empty message is not a message
        if (!hub.rooms(session).includes(m.room)) enterRoom(session, name, m.room);
        const id = m.id.slice(0, 64);
        // Sent again after a restart (the journal had not recorded it as received): once is enough.
        if (state.seen(m.room, id)) return;
        const line: ChatLine = { t: 'msg', room: m.room, id, from: name, text, server: label, at: Date.now() };
        // To the room on every server, the author included (its page shows what the room got).
        hub.publish(m.room, JSON.stringify(line));
        state.add(line);
      }
    });
    session.on('close', (err) => {
      // Over for good (closed by its page, expired, ended): out of the chat's memory too.
      const room = state.member(session.id)?.room;
      state.forget(session.id);
      if (room !== undefined) void announce(room);
      if (err.code !== 'WS_SESSION_CLOSED' && err.code !== 'WS_SESSION_ENDED') console.log(`session ${session.id.slice(0, 8)} over: ${err.code}`);
    });
  });

  // Plain connections: only the slow reader's (the page uses a session).
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    if (!slow.adopt(ws, req)) ws.close(1008, 'The chat needs the session subprotocol');
  });

  function route(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const file = STATIC[path];
    if (req.method === 'GET' && file !== undefined) {
      const body = readFileSync(join(here, 'public', file.file));
      res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
      res.end(body);
    } else if (req.method === 'GET' && path === '/lib/ws6455-browser.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Content-Length': Buffer.byteLength(bundle.code) });
      res.end(bundle.code);
    } else if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
      res.end(renderPrometheus(wss.stats(), { labels: { server: label } }));
    } else if (req.method === 'GET' && path === '/stats.json') {
      const body = JSON.stringify({
        server: { label, cluster: cluster !== null, pid: process.pid, startedAt: sampler.startedAt, restored: store.restored },
        ...sampler.snapshot(),
        sessions: wss.sessions?.size ?? 0,
        hub: hub.stats(),
        slow: slow.report(),
      });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(body);
    } else if (req.method === 'POST' && path === '/slow') {
      const policy = new URL(req.url ?? '/', 'http://x').searchParams.get('policy') ?? 'drop';
      if (policy !== 'drop' && policy !== 'queue' && policy !== 'close') {
        res.writeHead(400).end('policy: drop, queue or close');
        return;
      }
      const started = slow.start(policy as SlowPolicy, `ws://${options.host}:${port}`);
      res.writeHead(started ? 202 : 409, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(slow.report()));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Not found');
    }
  }

  await new Promise<void>((resolve) => http.listen(options.port, options.host, resolve));
  const port = (http.address() as AddressInfo).port;
  label = cluster !== null ? `:${port} (${cluster.id.slice(0, 6)})` : `:${port}`;
  const url = `http://${options.host}:${port}`;

  return {
    url,
    library: bundle.from,
    close: async () => {
      slow.stop();
      sampler.stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await cluster?.close();
      await redisQuit?.();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      if (options.port === 0) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `true` when the page's files are present (a check for the launcher). */
export function pageReady(): boolean {
  return existsSync(join(here, 'public', 'index.html'));
}
