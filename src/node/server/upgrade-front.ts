/**
 * The listener of a WebSocketServer created with the `port` option: a plain `net.Server` that
 * reads each connection's request head with our own parser (core/request-head.ts) and hands
 * upgrade requests over as `node:http` would, with an `IncomingMessage` built from the head.
 *
 * Why not `node:http`: it is built for request/response traffic, and a WebSocket server uses it
 * for one request per socket. Its per-socket setup (parser, listeners, connection tracking) cost
 * about a tenth of each handshake (paired runs: 5.7k -> 6.4k handshakes/s) and left about
 * 0.12 kB of JavaScript heap on every idle connection. Servers attached to an existing HTTP(S)
 * server (`server` option) or fed by `handleUpgrade` still take their requests from `node:http`.
 *
 * What a plain HTTP request gets: 426 Upgrade Required (400 when it carries a WebSocket key but
 * is not a valid upgrade; no body when it is a HEAD), then the connection closes. Malformed
 * heads get 400 (at the first bad line end, before the head is complete), heads with a body
 * (`Content-Length` other than 0, any `Transfer-Encoding`) get 400, an HTTP major version other
 * than 1 gets 505, a head above `maxHeaderSize` gets 431 and a head not complete within
 * `handshakeTimeout` gets 408. Each of these answers is reported to `onRefused`; upgrade
 * requests are the server's to accept or refuse.
 *
 * @internal
 * @module
 */
import { IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { hasToken } from '../../core/headers.js';
import { HEAD_INCOMPLETE, headersObject, isHeadError, parseRequestHead, scanRequestHead, type RequestHead } from '../../core/request-head.js';
import { abort, onHandshakeSocketError, plainRequestRefusal } from './http.js';

/** Settings of an {@link UpgradeFront}. @internal */
export interface UpgradeFrontOptions {
  /** Milliseconds a connection may take to send its request head; 0 for no limit. */
  handshakeTimeout: number;
  /** Largest request head accepted, in bytes. */
  maxHeaderSize: number;
  /** Called with every upgrade request, its socket (paused) and the bytes that followed the head. */
  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Called with the status of every answer the front gives itself (400, 408, 426, 431, 505). */
  onRefused?(status: number): void;
}

/** Bytes of a head that arrived in several reads. */
interface HeldHead {
  buffer: Buffer;
  length: number;
}

const EMPTY = Buffer.alloc(0);

/** A `net.Server` that answers HTTP requests only as far as a WebSocket server needs. @internal */
export class UpgradeFront {
  /** The listening server. */
  readonly server: Server;
  private readonly options: UpgradeFrontOptions;
  /**
   * Connections whose head has not arrived yet, with the time they must have it by: one map
   * entry and one shared sweep instead of a timer and a `close` listener per connection.
   */
  private readonly waiting = new Map<Socket, number>();
  /** Heads split across reads (rare: clients send the head in one write). */
  private held: Map<Socket, HeldHead> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly sweepPeriod: number;
  private readonly onData: (this: Socket, chunk: Buffer) => void;

  /** @throws RangeError when `maxHeaderSize` is not a positive number */
  constructor(options: UpgradeFrontOptions) {
    if (!(options.maxHeaderSize > 0)) throw new RangeError('maxHeaderSize must be a positive number');
    this.options = options;
    const timeout = options.handshakeTimeout;
    // The sweep also forgets sockets that closed while waiting, so it runs even without a timeout.
    this.sweepPeriod = timeout > 0 ? Math.min(1000, Math.max(10, Math.floor(timeout / 4))) : 1000;
    // One function per server (not per socket) that finds this front through its closure.
    const front = this;
    this.onData = function onHeadData(this: Socket, chunk: Buffer): void {
      front.receive(this, chunk);
    };
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Destroys the connections still sending their heads and stops listening; `cb` runs once every connection is gone. */
  close(cb: () => void): void {
    for (const socket of this.waiting.keys()) socket.destroy();
    this.waiting.clear();
    this.held = null;
    this.stopSweep();
    this.server.close(() => cb());
  }

  private accept(socket: Socket): void {
    socket.on('error', onHandshakeSocketError);
    socket.on('data', this.onData);
    const timeout = this.options.handshakeTimeout;
    this.waiting.set(socket, timeout > 0 ? Date.now() + timeout : Infinity);
    if (this.sweepTimer === null) {
      this.sweepTimer = setInterval(sweep, this.sweepPeriod, this);
      this.sweepTimer.unref();
    }
  }

  private receive(socket: Socket, chunk: Buffer): void {
    const max = this.options.maxHeaderSize;
    let data = chunk;
    let searched = 0;
    const held = this.held?.get(socket);
    if (held !== undefined) {
      searched = held.length;
      data = append(held, chunk, max);
    }
    const end = scanRequestHead(data, searched, max);
    if (end === HEAD_INCOMPLETE) {
      if (held === undefined) (this.held ??= new Map()).set(socket, holdFirst(chunk, max));
      return;
    }
    this.release(socket);
    if (typeof end !== 'number') {
      this.refuse(socket, end.status, end.message);
      return;
    }
    const parsed = parseRequestHead(data.toString('latin1', 0, end - 4));
    if (isHeadError(parsed)) {
      this.refuse(socket, parsed.status, parsed.message);
      return;
    }
    const req = requestOf(socket, parsed);
    const headers = req.headers;
    // As in node:http: an upgrade is a request with an Upgrade header and "upgrade" among the
    // Connection tokens (RFC 9110 §7.8); the WebSocket rules are checked by the server.
    if (headers.upgrade !== undefined && hasToken(headers.connection, 'upgrade')) {
      (req as IncomingMessage & { upgrade: boolean }).upgrade = true;
      // Nothing reads until the WebSocket takes the socket over, possibly after an async verifyClient.
      socket.pause();
      this.options.onUpgrade(req, socket, end === data.length ? EMPTY : data.subarray(end));
      return;
    }
    const refusal = plainRequestRefusal(req);
    this.refuse(socket, refusal.status, refusal.message, refusal.headers, parsed.method === 'HEAD');
  }

  /** Answers with an HTTP error, closes the connection and reports the status. */
  private refuse(socket: Socket, status: number, message: string, headers?: Record<string, string>, toHead = false): void {
    this.options.onRefused?.(status);
    abort(socket, status, message, headers, toHead);
  }

  /** The head is complete or refused: the socket no longer waits. */
  private release(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('error', onHandshakeSocketError);
    this.waiting.delete(socket);
    this.held?.delete(socket);
  }

  /** @internal Refuses the connections past their deadline and forgets the closed ones. */
  sweep(): void {
    const now = Date.now();
    for (const [socket, deadline] of this.waiting) {
      if (socket.destroyed) {
        this.release(socket);
      } else if (deadline <= now) {
        this.release(socket);
        this.refuse(socket, 408, 'Request head timed out');
      }
    }
    if (this.waiting.size === 0) this.stopSweep();
  }

  private stopSweep(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }
}

function sweep(front: UpgradeFront): void {
  front.sweep();
}

/** Starts holding a head's first bytes, with room for the rest up to the limit. */
function holdFirst(chunk: Buffer, max: number): HeldHead {
  const buffer = Buffer.allocUnsafe(Math.min(max + 4, Math.max(1024, chunk.length * 2)));
  chunk.copy(buffer);
  return { buffer, length: chunk.length };
}

/**
 * Appends `chunk` to a held head, growing its buffer by doubling (a head sent a byte at a time
 * is then copied O(n) times, not O(n²)), and returns the bytes held so far. What is held was at
 * most `max + 3` bytes before (or the head was refused), so this stays below `max + 3` plus one
 * read.
 */
function append(held: HeldHead, chunk: Buffer, max: number): Buffer {
  const need = held.length + chunk.length;
  if (need > held.buffer.length) {
    const grown = Buffer.allocUnsafe(Math.max(need, Math.min(max + 4, held.buffer.length * 2)));
    held.buffer.copy(grown, 0, 0, held.length);
    held.buffer = grown;
  }
  chunk.copy(held.buffer, held.length);
  held.length = need;
  return held.buffer.subarray(0, need);
}

/** The `IncomingMessage` a listener of `node:http` would receive for this head. */
function requestOf(socket: Socket, head: RequestHead): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.method = head.method;
  req.url = head.url;
  req.httpVersionMajor = head.versionMajor;
  req.httpVersionMinor = head.versionMinor;
  req.httpVersion = `${head.versionMajor}.${head.versionMinor}`;
  req.rawHeaders = head.rawHeaders;
  req.headers = headersObject(head.rawHeaders);
  return req;
}
