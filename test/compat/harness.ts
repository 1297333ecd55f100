/**
 * Compatibility harness: runs one scenario against `ws` and against ws6455 over real sockets on
 * 127.0.0.1 (port 0) and returns, for each, a transcript of plain events (names, arguments,
 * readyStates, thrown errors, callback results). Tests compare the two transcripts.
 *
 * - Every wait is bounded: a scenario that hangs records a `harness timeout` entry instead of
 *   stalling, and a scenario as a whole is cut after {@link SCENARIO_LIMIT} ms.
 * - Transcripts are compared per actor (`client`, `server`, `wss`, ...): the order of events of
 *   one actor is deterministic, the interleaving of two actors is not.
 * - Values are reduced by plain.ts; errors to their shape: the nearest built-in class
 *   (`SyntaxError`, `RangeError`, `TypeError`, else `Error`), the message and the `code`.
 *   Where `ws`'s error has no `code`, ours is not compared (our stable codes are additions).
 * - Peers that must be the same for both runs (a 404 server, a server answering a bad 101, a
 *   peer sending bad frames) are written by hand with wire.ts, not with either library.
 *
 * A test: `const r = await compare(async (ctx) => { ...drive ctx.impl, record with ctx.t... });
 * expectSame(r);` (expect-same.ts). Nothing here imports vitest, so child-process scenarios
 * (child.ts) use it too.
 */
import { spawn } from 'node:child_process';
import { once, EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as wsModule from 'ws';
import * as ours from '../../src/index.js';
import { type Plain, callbackArg, errorShape, isRecord, plain } from './plain.js';
import { selfSignedCert } from './tls-cert.js';
import { describeFrame, readClientFrames, serverFrame, write101 } from './wire.js';

// ---- implementation records ------------------------------------------------------------------

/** The part of a WebSocket both implementations are driven through. */
export interface WsLike extends EventEmitter {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
  readonly bufferedAmount: number;
  readonly isPaused: boolean;
  binaryType: string;
  onopen: unknown;
  onmessage: unknown;
  onclose: unknown;
  onerror: unknown;
  send(data: unknown, options?: unknown, cb?: unknown): unknown;
  ping(data?: unknown, mask?: unknown, cb?: unknown): unknown;
  pong(data?: unknown, mask?: unknown, cb?: unknown): unknown;
  close(code?: unknown, reason?: unknown): unknown;
  terminate(): unknown;
  pause(): unknown;
  resume(): unknown;
  addEventListener(type: string, listener: unknown, options?: unknown): unknown;
  removeEventListener(type: string, listener: unknown): unknown;
}

/** `new WebSocket(address, protocols?, options?)`, with the static readyState constants. */
export interface WebSocketCtor {
  new (address: unknown, protocols?: unknown, options?: unknown): WsLike;
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSING: number;
  readonly CLOSED: number;
  readonly prototype: WsLike;
}

/** The part of a WebSocketServer both implementations are driven through. */
export interface ServerLike extends EventEmitter {
  readonly clients: Set<WsLike> | undefined;
  address(): AddressInfo | string | null;
  close(cb?: (err?: Error) => void): void;
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WsLike, req: http.IncomingMessage) => void): void;
  shouldHandle(req: http.IncomingMessage): boolean;
}

export interface ServerCtor {
  new (options?: unknown, callback?: () => void): ServerLike;
}

/** What a scenario needs of an implementation. */
export interface Impl {
  readonly name: 'ws' | 'ws6455';
  readonly WebSocket: WebSocketCtor;
  readonly WebSocketServer: ServerCtor;
  createWebSocketStream(ws: WsLike, options?: Record<string, unknown>): Duplex;
}

export const WS: Impl = {
  name: 'ws',
  WebSocket: wsModule.WebSocket as unknown as WebSocketCtor,
  WebSocketServer: wsModule.WebSocketServer as unknown as ServerCtor,
  createWebSocketStream: wsModule.createWebSocketStream as unknown as Impl['createWebSocketStream'],
};

export const OURS: Impl = {
  name: 'ws6455',
  WebSocket: ours.WebSocket as unknown as WebSocketCtor,
  WebSocketServer: ours.WebSocketServer as unknown as ServerCtor,
  createWebSocketStream: ours.createWebSocketStream as unknown as Impl['createWebSocketStream'],
};

export const IMPLS: readonly Impl[] = [WS, OURS];

/** Implementation by name (child-process scenarios). */
export function implNamed(name: string): Impl {
  const impl = IMPLS.find((i) => i.name === name);
  if (impl === undefined) throw new Error(`unknown implementation ${name}`);
  return impl;
}

// ---- transcripts -----------------------------------------------------------------------------

export interface Entry {
  actor: string;
  event: string;
  args: Plain[];
}

/** Default bound of a wait inside a scenario (ms). */
export const WAIT = 2000;
/** Hard limit of one scenario (ms). */
export const SCENARIO_LIMIT = 4000;
/**
 * Per-test timeout of the compat files: a test runs its scenario twice (against `ws`, then
 * ws6455), each cut at {@link SCENARIO_LIMIT}, and child-process scenarios start Node twice.
 * Typical tests take 0.1-0.5 s; this bound only keeps a loaded machine from failing them.
 */
export const TEST_TIMEOUT = 20_000;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The events of one scenario run. */
export class Transcript {
  readonly entries: Entry[] = [];
  /** Called with every entry as it is added (child processes print them at once). */
  onEntry: ((entry: Entry) => void) | null = null;
  private waiters: Array<() => void> = [];

  add(actor: string, event: string, ...args: unknown[]): void {
    const entry = { actor, event, args: args.map((a) => plain(a)) };
    this.entries.push(entry);
    this.onEntry?.(entry);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Records `events` of `emitter` (with `readyState` when `ws` is given). */
  watch(emitter: EventEmitter, actor: string, events: readonly string[], ws?: WsLike): void {
    for (const event of events) {
      emitter.on(event, (...args: unknown[]) => {
        const mapped = event === 'error' ? args.map(errorShape) : args;
        if (ws) this.add(actor, event, ...mapped, `rs=${ws.readyState}`);
        else this.add(actor, event, ...mapped);
      });
    }
  }

  /** Records the usual events of a WebSocket, each with the readyState at that moment. */
  watchSocket(ws: WsLike, actor: string, events: readonly string[] = SOCKET_EVENTS): void {
    this.watch(ws, actor, events, ws);
  }

  /**
   * Calls `fn`, recording `call <label>` with `ok` or the thrown error's shape (only its class
   * when `kindOnly`: for argument checks, whose wording `ws` users do not match on).
   */
  call<T>(actor: string, label: string, fn: () => T, kindOnly = false): T | undefined {
    try {
      const value = fn();
      this.add(actor, `call ${label}`, 'ok');
      return value;
    } catch (err) {
      const shape = errorShape(err);
      this.add(actor, `call ${label}`, 'threw', kindOnly && isRecord(shape) ? { error: shape.error ?? null } : shape);
      return undefined;
    }
  }

  /** A callback that records `<label> cb` with its error argument. */
  callback(actor: string, label: string): (err?: unknown) => void {
    return (err?: unknown) => this.add(actor, `${label} cb`, callbackArg(err));
  }

  has(actor: string, event: string): boolean {
    return this.entries.some((e) => e.actor === actor && e.event === event);
  }

  count(actor: string, event: string): number {
    return this.entries.filter((e) => e.actor === actor && e.event === event).length;
  }

  /**
   * Resolves `true` once `predicate` holds, or records `harness timeout <label>` and resolves
   * `false` after `ms`: a hang shows in the transcript instead of stalling the test.
   */
  async until(predicate: () => boolean, label: string, ms = WAIT): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.add('harness', 'timeout', label);
        return false;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 20));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Waits for `actor`'s `event` (bounded). */
  untilEvent(actor: string, event: string, ms = WAIT): Promise<boolean> {
    return this.until(() => this.has(actor, event), `${actor} ${event}`, ms);
  }
}

/** Events recorded on every WebSocket by default (listening to these changes nothing in `ws`). */
export const SOCKET_EVENTS = ['open', 'message', 'ping', 'pong', 'close', 'error', 'upgrade'] as const;

/** One transcript line: `actor event [args]`, with loopback port numbers masked. */
export function line(entry: Entry): string {
  const text = entry.args.length === 0 ? `${entry.actor} ${entry.event}` : `${entry.actor} ${entry.event} ${JSON.stringify(entry.args)}`;
  return text.replace(/(127\.0\.0\.1|localhost|\[::1\]):\d+/g, '$1:<port>');
}

/** Lines grouped by actor (stable: the order within an actor is kept), actors sorted by name. */
export function lines(entries: readonly Entry[]): string[] {
  const actors = [...new Set(entries.map((e) => e.actor))].sort();
  return actors.flatMap((a) => entries.filter((e) => e.actor === a).map(line));
}

/**
 * Drops `code` from our error shapes where `ws`'s error at the same place has none: our stable
 * codes may be added to `ws`'s shapes, never the other way round.
 */
function alignCodes(wsValue: Plain, oursValue: Plain): Plain {
  if (Array.isArray(wsValue) && Array.isArray(oursValue)) {
    return oursValue.map((v, i) => (i < wsValue.length ? alignCodes(wsValue[i] as Plain, v) : v));
  }
  if (isRecord(wsValue) && isRecord(oursValue)) {
    const out: { [key: string]: Plain } = {};
    for (const [k, v] of Object.entries(oursValue)) {
      if (k === 'code' && 'error' in wsValue && 'error' in oursValue && !('code' in wsValue)) continue;
      out[k] = k in wsValue ? alignCodes(wsValue[k] as Plain, v) : v;
    }
    return out;
  }
  return oursValue;
}


function byActor(entries: readonly Entry[]): Entry[] {
  const actors = [...new Set(entries.map((e) => e.actor))].sort();
  return actors.flatMap((a) => entries.filter((e) => e.actor === a));
}

export interface Comparison {
  ws: string[];
  ours: string[];
  wsEntries: Entry[];
  oursEntries: Entry[];
}

function compareEntries(wsEntries: Entry[], oursEntries: Entry[]): Comparison {
  const a = byActor(wsEntries);
  const b = byActor(oursEntries);
  // The k-th `event` of an actor in ours is aligned with the k-th one in `ws`, so that a
  // reordering does not hide or invent a code difference.
  const occurrence = (entries: Entry[]): Map<string, Entry> => {
    const seen = new Map<string, number>();
    const out = new Map<string, Entry>();
    for (const e of entries) {
      const k = `${e.actor}\u0000${e.event}`;
      const n = seen.get(k) ?? 0;
      seen.set(k, n + 1);
      out.set(`${k}\u0000${n}`, e);
    }
    return out;
  };
  const refs = occurrence(a);
  const seen = new Map<string, number>();
  const aligned = b.map((entry) => {
    const k = `${entry.actor}\u0000${entry.event}`;
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    const ref = refs.get(`${k}\u0000${n}`);
    return ref === undefined ? entry : { ...entry, args: alignCodes(ref.args, entry.args) as Plain[] };
  });
  return { ws: a.map(line), ours: aligned.map(line), wsEntries: a, oursEntries: b };
}

// ---- scenarios -------------------------------------------------------------------------------

export interface OwnServer {
  wss: ServerLike;
  port: number;
  url: string;
  /** Server-side sockets accepted so far, in order. */
  accepted: WsLike[];
}

export interface HttpServerHandle {
  server: http.Server | https.Server | net.Server;
  port: number;
  /** Every TCP connection accepted, with whether it has closed. */
  connections: Array<{ socket: net.Socket | Duplex; closed: boolean }>;
}

/** What a scenario receives. */
export class Ctx {
  readonly impl: Impl;
  readonly t = new Transcript();
  private readonly cleanups: Array<() => unknown> = [];

  constructor(impl: Impl) {
    this.impl = impl;
  }

  /** Registers cleanup work (run last-first after the scenario, each bounded). */
  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await Promise.race([Promise.resolve(fn()), delay(1000)]);
      } catch {
        // One failing cleanup must not keep the others from running.
      }
    }
  }

  /** Lets trailing events (a late `error` or `close`) land in the transcript. */
  settle(ms = 50): Promise<void> {
    return delay(ms);
  }

  /**
   * The implementation's own WebSocketServer on 127.0.0.1 port 0. Accepted sockets are
   * recorded as `actor` (default `server`) unless `record` is false.
   */
  async ownServer(options: Record<string, unknown> = {}, actor: string | null = 'server'): Promise<OwnServer> {
    const wss = new this.impl.WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
    const accepted: WsLike[] = [];
    wss.on('connection', (ws: WsLike) => {
      accepted.push(ws);
      if (actor !== null) {
        this.t.add(actor, 'connection', `rs=${ws.readyState}`);
        this.t.watchSocket(ws, actor);
      }
    });
    wss.on('error', (err: unknown) => this.t.add('wss', 'error', errorShape(err)));
    this.defer(async () => {
      for (const ws of accepted) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });
    await Promise.race([once(wss, 'listening'), delay(WAIT)]);
    const port = (wss.address() as AddressInfo).port;
    return { wss, port, url: `ws://127.0.0.1:${port}`, accepted };
  }

  /** Events {@link client} records (a scenario may narrow them and record the rest itself). */
  socketEvents: readonly string[] = SOCKET_EVENTS;

  /** `new impl.WebSocket(...args)`, recorded as `actor` and terminated at cleanup. */
  client(actor: string, ...args: unknown[]): WsLike {
    const ws = new this.impl.WebSocket(args[0], ...(args.slice(1) as [unknown?, unknown?]));
    this.t.watchSocket(ws, actor, this.socketEvents);
    this.defer(() => ws.terminate());
    return ws;
  }

  /**
   * A plain `node:http` server on 127.0.0.1 port 0 (not a WebSocket library: the same for both
   * implementations), with `request` and `upgrade` handlers.
   */
  async httpServer(handlers: {
    request?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
    upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  }): Promise<HttpServerHandle> {
    const server = http.createServer(handlers.request ?? ((_req, res) => res.writeHead(404).end()));
    if (handlers.upgrade) server.on('upgrade', handlers.upgrade);
    return this.listen(server);
  }

  /**
   * A hand-written WebSocket server (same for both implementations): answers the upgrade with
   * a valid 101, records every frame the client sends as `actor frame [...]` and the client's
   * FIN as `actor end`, answers a close frame with its echo (unless `echoClose` is false: the
   * scenario sent its own close frame first) and then ends TCP, and
   * hands the socket to `onOpen` to send what the scenario needs.
   */
  async rawPeer(
    onOpen: (socket: Duplex, req: http.IncomingMessage) => void = () => {},
    options: {
      actor?: string;
      echoClose?: boolean;
      /** Record each frame's masking key too. */
      recordMask?: boolean;
      response?: (req: http.IncomingMessage, socket: Duplex) => void;
    } = {},
  ): Promise<HttpServerHandle & { url: string }> {
    const actor = options.actor ?? 'peer';
    const handle = await this.httpServer({
      upgrade: (req, socket) => {
        socket.on('error', () => {});
        if (options.response) options.response(req, socket);
        else write101(req, socket);
        readClientFrames(socket, (frame) => {
          const described = describeFrame(frame);
          if (options.recordMask) described.push(`mask=${frame.maskKey.toString('hex')}`);
          this.t.add(actor, 'frame', ...described);
          // RFC 6455 §7.1.1: the server closes TCP once both close frames have passed.
          if (frame.opcode === 8) {
            if (options.echoClose !== false) socket.write(serverFrame(8, frame.payload));
            socket.end();
          }
        });
        socket.on('end', () => {
          this.t.add(actor, 'end');
          socket.end();
        });
        onOpen(socket, req);
      },
    });
    return { ...handle, url: `ws://127.0.0.1:${handle.port}` };
  }

  /** A raw TCP server on 127.0.0.1 port 0: `onSocket` gets every connection. */
  async tcpServer(onSocket: (socket: net.Socket) => void): Promise<HttpServerHandle> {
    return this.listen(net.createServer(onSocket));
  }

  /**
   * One port that speaks TLS (self-signed certificate) and plain HTTP: the first byte of a
   * connection decides (0x16 is a TLS handshake record). Needed to redirect from `wss:` to `ws:`
   * on the same host and port.
   */
  async dualServer(handlers: {
    request: (req: http.IncomingMessage, res: http.ServerResponse, secure: boolean) => void;
    upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer, secure: boolean) => void;
  }): Promise<HttpServerHandle> {
    const { key, cert } = selfSignedCert();
    const tlsSide = https.createServer({ key, cert }, (req, res) => handlers.request(req, res, true));
    const plainSide = http.createServer((req, res) => handlers.request(req, res, false));
    if (handlers.upgrade) {
      const upgrade = handlers.upgrade;
      tlsSide.on('upgrade', (req, socket: Duplex, head: Buffer) => upgrade(req, socket, head, true));
      plainSide.on('upgrade', (req, socket: Duplex, head: Buffer) => upgrade(req, socket, head, false));
    }
    tlsSide.on('tlsClientError', () => {});
    const front = net.createServer((socket) => {
      socket.once('data', (first: Buffer) => {
        socket.pause();
        (first[0] === 0x16 ? tlsSide : plainSide).emit('connection', replay(socket, first));
      });
    });
    this.defer(() => {
      tlsSide.closeAllConnections();
      plainSide.closeAllConnections();
    });
    return this.listen(front);
  }

  private async listen<S extends net.Server>(server: S): Promise<HttpServerHandle> {
    const connections: HttpServerHandle['connections'] = [];
    server.on('connection', (socket: net.Socket) => {
      const record = { socket, closed: false };
      connections.push(record);
      socket.on('close', () => {
        record.closed = true;
      });
      socket.on('error', () => {});
    });
    this.defer(
      () =>
        new Promise<void>((resolve) => {
          for (const c of connections) c.socket.destroy();
          if (server instanceof http.Server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    server.listen(0, '127.0.0.1');
    await Promise.race([once(server, 'listening'), delay(WAIT)]);
    return { server, port: (server.address() as AddressInfo).port, connections };
  }
}

/** A socket whose first chunk was already read, as a Duplex that replays it first. */
function replay(socket: net.Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  socket.on('error', () => {});
  duplex.push(first);
  return duplex;
}

export type Scenario = (ctx: Ctx) => Promise<void>;

/** Runs `scenario` against `impl`: its transcript, whatever happened (bounded in time). */
export async function runScenario(impl: Impl, scenario: Scenario, limit = SCENARIO_LIMIT): Promise<Entry[]> {
  const ctx = new Ctx(impl);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      scenario(ctx).catch((err: unknown) => ctx.t.add('harness', 'scenario threw', errorShape(err))),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          ctx.t.add('harness', 'scenario limit', limit);
          resolve();
        }, limit);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await ctx.cleanup();
  }
  return ctx.t.entries;
}

/** Runs `scenario` against `ws`, then against ws6455. */
export async function compare(scenario: Scenario, limit?: number): Promise<Comparison> {
  const wsEntries = await runScenario(WS, scenario, limit);
  const oursEntries = await runScenario(OURS, scenario, limit);
  return compareEntries(wsEntries, oursEntries);
}

// ---- scenarios in a child process ------------------------------------------------------------

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs the named scenario of child.ts in a fresh Node process (for outcomes that end a
 * process: an uncaught exception). Its transcript ends with `process exit [code]`; an
 * uncaught exception is recorded as `process uncaughtException [shape]`. Killed after 10 s.
 */
export function runChild(impl: Impl, scenario: string): Promise<Entry[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, impl.name, scenario], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('close', (code, signal) => {
      const entries: Entry[] = [];
      for (const text of out.split('\n')) {
        if (text.startsWith('{')) entries.push(JSON.parse(text) as Entry);
      }
      entries.push({ actor: 'process', event: 'exit', args: [signal ?? code ?? -1] });
      if (code !== 0 && !entries.some((e) => e.event === 'uncaughtException')) {
        entries.push({ actor: 'process', event: 'stderr', args: [err.split('\n').slice(0, 5).join('\n')] });
      }
      resolve(entries);
    });
  });
}

/** {@link runChild} for `ws`, then for ws6455. */
export async function compareInChild(scenario: string): Promise<Comparison> {
  return compareEntries(await runChild(WS, scenario), await runChild(OURS, scenario));
}
