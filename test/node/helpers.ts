/**
 * Shared helpers for the Node binding tests: servers on 127.0.0.1 port 0 with cleanup, bounded
 * waits for events, and a raw TCP client that performs the opening handshake by hand and reads
 * and writes frames built here byte by byte (independent of src/core), so the tests check what
 * really goes over the wire.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WebSocket as WebSocketClass, WebSocketServer, type ServerOptions, type WebSocket } from '../../src/index.js';

/** Default bound for every wait, in milliseconds. */
export const TIMEOUT = 3000;

// ---- cleanup -------------------------------------------------------------------------------

const cleanups: Array<() => unknown> = [];

/** Registers `fn` to run in {@link runCleanups} (last registered runs first). */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** Runs every registered cleanup; call it from `afterEach`. */
export async function runCleanups(): Promise<void> {
  const fns = cleanups.splice(0).reverse();
  for (const fn of fns) {
    try {
      await withTimeout(Promise.resolve(fn()), TIMEOUT, 'cleanup');
    } catch {
      // A cleanup that fails must not hide the others.
    }
  }
}

// ---- bounded waits -------------------------------------------------------------------------

/** Rejects when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms = TIMEOUT, label = 'wait'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${label}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Resolves with the arguments of the next `event` of `emitter`, or rejects after `ms`. Unlike
 * `events.once` it does not reject on `error`, which many tests expect before `close`.
 */
export function waitFor<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, ms = TIMEOUT): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`Timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    emitter.once(event, listener);
  });
}

/** Resolves once `predicate` holds (polled), or rejects after `ms`. */
export async function until(predicate: () => boolean, ms = TIMEOUT, label = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${label}`);
    await delay(5);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Records `error` events and resolves with the `close` arguments of a WebSocket. */
export function watchClose(ws: WebSocket): { errors: Error[]; close: Promise<[number, Buffer]> } {
  const errors: Error[] = [];
  ws.on('error', (err: Error) => errors.push(err));
  const close = withTimeout(
    new Promise<[number, Buffer]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason]))),
    TIMEOUT,
    'close',
  );
  // Keep an unobserved rejection from failing an unrelated test.
  close.catch(() => {});
  return { errors, close };
}

/** Collects `message` events as [data, isBinary]. */
export function collectMessages<T = Buffer>(ws: EventEmitter): Array<[T, boolean]> {
  const out: Array<[T, boolean]> = [];
  ws.on('message', (data: T, isBinary: boolean) => out.push([data, isBinary]));
  return out;
}

// ---- servers -------------------------------------------------------------------------------

export interface StartedServer {
  wss: WebSocketServer;
  port: number;
  url: string;
}

/**
 * Starts a WebSocketServer on 127.0.0.1, port 0, and waits for `listening`. Cleanup terminates
 * every connection it accepted and closes it.
 */
export async function startServer(options: Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'host'> = {}): Promise<StartedServer> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  trackServer(wss);
  await waitFor(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** Cleanup for a WebSocketServer: terminate its connections (tracked or not), then close it. */
export function trackServer(wss: WebSocketServer): void {
  const accepted = new Set<WebSocket>();
  wss.on('connection', (ws: WebSocket) => accepted.add(ws));
  onCleanup(async () => {
    for (const ws of accepted) ws.terminate();
    for (const ws of wss.clients ?? []) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
}

/** Listens on 127.0.0.1 port 0; cleanup drops every connection and closes the server. */
export async function listen<S extends net.Server>(server: S): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => sockets.add(s));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (server instanceof http.Server) server.closeAllConnections();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
      }),
  );
  server.listen(0, '127.0.0.1');
  await waitFor(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Terminates a client WebSocket at cleanup. */
export function trackClient<T extends { terminate(): void }>(ws: T): T {
  onCleanup(() => ws.terminate());
  return ws;
}

// ---- frames, written from RFC 6455 §5.2 without src/core -----------------------------------

export const Op = { Cont: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  /** Default true. */
  fin?: boolean;
  /** RSV bits as on the wire (0x40, 0x20, 0x10). */
  rsv?: number;
  /** Mask with a random key (default true: a client's frame), a given key, or not at all. */
  mask?: boolean | Buffer;
}

/** Builds one frame. */
export function buildFrame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'utf8') : (spec.payload ?? Buffer.alloc(0));
  const fin = spec.fin ?? true;
  const maskKey = spec.mask === false ? null : Buffer.isBuffer(spec.mask) ? spec.mask : randomBytes(4);
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (maskKey ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (spec.rsv ?? 0) | spec.opcode;
  const maskBit = maskKey ? 0x80 : 0;
  if (lenBytes === 0) head[1] = maskBit | len;
  else if (lenBytes === 2) {
    head[1] = maskBit | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!maskKey) return Buffer.concat([head, payload]);
  maskKey.copy(head, 2 + lenBytes);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = (payload[i] as number) ^ (maskKey[i & 3] as number);
  return Buffer.concat([head, body]);
}

/** A close frame payload: code (network order) and UTF-8 reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const out = Buffer.alloc(2 + Buffer.byteLength(reason));
  out.writeUInt16BE(code, 0);
  out.write(reason, 2);
  return out;
}

export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
  /** Bytes the frame took on the wire. */
  size: number;
}

/** Parses one frame at the start of `buf`; `null` if incomplete. */
export function parseFrame(buf: Buffer): Frame | null {
  if (buf.length < 2) return null;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  let len = b1 & 0x7f;
  let p = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    p = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    p = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  const key = masked ? buf.subarray(p, p + 4) : null;
  if (masked) p += 4;
  if (buf.length < p + len) return null;
  const payload = Buffer.from(buf.subarray(p, p + len));
  if (key) for (let i = 0; i < len; i++) payload[i] = (payload[i] as number) ^ (key[i & 3] as number);
  return { fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload, size: p + len };
}

// ---- raw HTTP ------------------------------------------------------------------------------

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export function newKey(): string {
  return randomBytes(16).toString('base64');
}

export interface RequestSpec {
  path?: string;
  method?: string;
  /** HTTP version, default `1.1`. */
  version?: string;
  /** Header lines replacing the defaults with the same name (case-insensitive); `null` removes one. */
  headers?: Record<string, string | null>;
  key?: string;
}

/** An upgrade request's text: GET, Host, Upgrade, Connection, version 13 and a key by default. */
export function upgradeRequest(port: number, spec: RequestSpec = {}): string {
  const key = spec.key ?? newKey();
  const fields = new Map<string, [string, string]>([
    ['host', ['Host', `127.0.0.1:${port}`]],
    ['upgrade', ['Upgrade', 'websocket']],
    ['connection', ['Connection', 'Upgrade']],
    ['sec-websocket-version', ['Sec-WebSocket-Version', '13']],
    ['sec-websocket-key', ['Sec-WebSocket-Key', key]],
  ]);
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    if (value === null) fields.delete(name.toLowerCase());
    else fields.set(name.toLowerCase(), [name, value]);
  }
  let text = `${spec.method ?? 'GET'} ${spec.path ?? '/'} HTTP/${spec.version ?? '1.1'}\r\n`;
  for (const [name, value] of fields.values()) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

export interface HttpResponse {
  statusLine: string;
  status: number;
  /** Header names in lower case; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  /** The server ended or closed the connection (before our timeout). */
  closedByServer: boolean;
}

/** Splits a response head from what follows; `null` until the blank line arrived. */
export function parseHead(buf: Buffer): { statusLine: string; status: number; headers: Record<string, string>; rest: Buffer } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0] ?? '';
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? NaN);
  return { statusLine, status, headers, rest: buf.subarray(end + 4) };
}

/**
 * Sends `request` over a fresh TCP connection and reads until the server ends the
 * connection (or `ms` passed: then `closedByServer` is false).
 */
export function rawHttp(port: number, request: string | Buffer, ms = TIMEOUT): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const head = parseHead(Buffer.concat(chunks));
      if (head === null) {
        reject(new Error(`No complete response head (closedByServer=${closedByServer}): ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
        return;
      }
      resolve({ statusLine: head.statusLine, status: head.status, headers: head.headers, body: head.rest.toString('utf8'), closedByServer });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

// ---- raw WebSocket client ------------------------------------------------------------------

/**
 * A TCP client that speaks WebSocket by hand. It records every byte received and when the
 * server's FIN arrived (`endOffset`: how many bytes had arrived by then), so tests can check the
 * order of frames and TCP events.
 */
export class RawClient {
  readonly socket: net.Socket;
  /** Every byte received after the handshake response head (the response itself is in `response`). */
  buffer: Buffer = Buffer.alloc(0);
  /** Bytes of `buffer` already returned by {@link readFrame}. */
  private consumed = 0;
  /** What `buffer` is a view of, with room to grow (see append). */
  private store: Buffer | null = null;
  response: HttpResponse | null = null;
  /** Bytes received in total before the server's FIN, or null while it has not arrived. */
  endOffset: number | null = null;
  closed = false;
  /** Bytes received in total, including the handshake response. */
  totalReceived = 0;
  private headDone = false;
  private discard = false;
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.endOffset = this.totalReceived;
      // Half-open sockets let us see when the server's FIN arrived; then we end our side too,
      // as a well-behaved client does once the server closed the connection (RFC 6455 §7.1.1).
      if (!socket.writableEnded) socket.end();
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const client = new RawClient(socket);
    onCleanup(() => socket.destroy());
    await waitFor(socket, 'connect');
    return client;
  }

  /** Connects and completes the opening handshake; `extra` bytes go in the same TCP write. */
  static async open(port: number, spec: RequestSpec = {}, extra?: Buffer): Promise<RawClient> {
    const client = await RawClient.connect(port);
    const key = spec.key ?? newKey();
    const res = await client.handshake({ ...spec, key }, extra);
    if (res.status !== 101) throw new Error(`Handshake refused: ${res.statusLine}`);
    if (res.headers['sec-websocket-accept'] !== acceptFor(key)) throw new Error('Bad Sec-WebSocket-Accept');
    return client;
  }

  /** Sends the upgrade request (plus `extra` in the same write) and reads the response head. */
  async handshake(spec: RequestSpec = {}, extra?: Buffer): Promise<HttpResponse> {
    const port = this.socket.remotePort as number;
    const request = Buffer.from(upgradeRequest(port, spec), 'latin1');
    this.socket.write(extra ? Buffer.concat([request, extra]) : request);
    await this.waitUntil(() => this.headDone, 'handshake response');
    return this.response as HttpResponse;
  }

  private onData(chunk: Buffer): void {
    this.totalReceived += chunk.length;
    if (this.discard) return;
    this.append(chunk);
    if (!this.headDone) {
      const head = parseHead(this.buffer);
      if (head !== null) {
        this.headDone = true;
        this.response = { statusLine: head.statusLine, status: head.status, headers: head.headers, body: '', closedByServer: false };
        this.buffer = Buffer.from(head.rest);
        this.store = null;
      }
    }
    this.wake();
  }

  /**
   * Appends to `buffer` in a backing store grown by doubling: a client that keeps tens of MiB
   * copies each byte a few times, not once per later chunk (Buffer.concat per chunk is O(n²),
   * seconds of copying for 32 MiB). `buffer` stays a view of the bytes so far.
   */
  private append(chunk: Buffer): void {
    const length = this.buffer.length;
    const need = length + chunk.length;
    if (this.store === null || need > this.store.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.store?.length ?? 0), 64 * 1024));
      this.buffer.copy(grown);
      this.store = grown;
    }
    chunk.copy(this.store, length);
    this.buffer = this.store.subarray(0, need);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async waitUntil(predicate: () => boolean, label: string, ms = TIMEOUT): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${ms} ms: ${label}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  /** Sends a frame (masked unless `mask: false`). */
  sendFrame(spec: FrameSpec): void {
    this.socket.write(buildFrame(spec));
  }

  /** Reads the next frame, waiting up to `ms`. */
  async readFrame(ms = TIMEOUT): Promise<Frame> {
    const found: { frame: Frame | null } = { frame: null };
    await this.waitUntil(
      () => {
        found.frame = parseFrame(this.buffer.subarray(this.consumed));
        return found.frame !== null || this.closed;
      },
      'frame',
      ms,
    );
    const frame = found.frame;
    if (frame === null) throw new Error('Connection closed before a complete frame arrived');
    this.consumed += frame.size;
    return frame;
  }

  /**
   * Reads one data message, however it was fragmented (RFC 6455 §5.4): its frames in order and
   * the joined payload. Control frames between the fragments are returned apart.
   */
  async readMessage(ms = TIMEOUT): Promise<{ opcode: number; frames: Frame[]; control: Frame[]; payload: Buffer }> {
    const frames: Frame[] = [];
    const control: Frame[] = [];
    for (;;) {
      const frame = await this.readFrame(ms);
      if (frame.opcode >= Op.Close) {
        control.push(frame);
        if (frame.opcode === Op.Close) throw new Error('Close frame inside a message');
        continue;
      }
      frames.push(frame);
      if (frame.fin) break;
    }
    const opcode = (frames[0] as Frame).opcode;
    return { opcode, frames, control, payload: Buffer.concat(frames.map((f) => f.payload)) };
  }

  /** Reads frames until a close frame; returns the frames before it and the close code/reason. */
  async readUntilClose(ms = TIMEOUT): Promise<{ before: Frame[]; code: number | null; reason: string; frame: Frame }> {
    const before: Frame[] = [];
    for (;;) {
      const frame = await this.readFrame(ms);
      if (frame.opcode === Op.Close) {
        const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
        return { before, code, reason: frame.payload.subarray(2).toString('utf8'), frame };
      }
      before.push(frame);
    }
  }

  /** Waits for the server's FIN. */
  async waitEnd(ms = TIMEOUT): Promise<void> {
    await this.waitUntil(() => this.endOffset !== null || this.closed, 'server FIN', ms);
  }

  /** Waits for the socket to be fully closed. */
  async waitClosed(ms = TIMEOUT): Promise<void> {
    await this.waitUntil(() => this.closed, 'socket close', ms);
  }

  /** Bytes of {@link buffer} not yet read as frames. */
  get unread(): number {
    return this.buffer.length - this.consumed;
  }

  /** Stops reading from the socket (TCP backpressure builds up at the server). */
  pauseReading(): void {
    this.socket.pause();
  }

  /** Reads again, counting but not keeping the bytes. */
  resumeDiscarding(): void {
    this.discard = true;
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ---- connected pairs -----------------------------------------------------------------------

export interface Pair extends StartedServer {
  /** Our client. */
  client: WebSocket;
  /** The server's side of the connection. */
  server: WebSocket;
}

/** Starts a server and connects our client to it; resolves once both sides are open. */
export async function openPair(
  serverOptions: Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'host'> = {},
  clientOptions: ConstructorParameters<typeof WebSocketClass>[2] = {},
): Promise<Pair> {
  const started = await startServer(serverOptions);
  const connection = waitFor<[WebSocket]>(started.wss, 'connection');
  const client = trackClient(new WebSocketClass(started.url, [], clientOptions));
  client.on('error', () => {});
  await waitFor(client, 'open');
  const [server] = await connection;
  return { ...started, client, server };
}
