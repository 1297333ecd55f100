/**
 * What a WebSocketServer keeps about its connections beyond `clients`: statistics, connection
 * limits checked before a handshake allocates anything, the per-connection features
 * (heartbeat, idle timeout, rate limit, memory budget) and a drain in progress.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { Drain, type DrainOptions, type DrainResult } from '../ops/drain.js';
import { publishOpen } from '../ops/diagnostics.js';
import { resolveHeartbeat, resolveIdleTimeout, sweepPeriod, Sweeper } from '../ops/heartbeat.js';
import { transportOf } from '../io/internals.js';
import { resolveRateLimit } from '../ops/rate-limit.js';
import type { ServerOptions } from './options.js';
import { ServerMetrics, type ServerStats } from '../ops/stats.js';
import { needsWatch, Watch, type WatchConfig } from '../ops/watch.js';
import type { CloseHook, WebSocket } from '../socket/websocket.js';

/** A handshake refusal decided by the limits. @internal */
export interface Refusal {
  status: 429 | 503;
  message: string;
}

function checkLimit(name: string, value: number | undefined): number {
  if (value === undefined) return Infinity;
  if (!(value >= 0)) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}

/** The connection bookkeeping of one server. @internal */
export class ServerRuntime implements CloseHook {
  /** Counters behind `server.stats()`. */
  readonly metrics = new ServerMetrics();
  /** Every open connection of the server (also `server.clients` when `clientTracking` is on). */
  readonly live: Set<WebSocket>;
  private readonly maxConnections: number;
  private readonly maxPerAddress: number;
  private readonly perAddress: Map<string, number> | null;
  private readonly watch: WatchConfig | null;
  private drainRun: Drain | null = null;
  /** The peer address of each connection, kept only while per-address limits apply. */
  private addresses: WeakMap<WebSocket, string> | null = null;
  private readonly onClosed: (ws: WebSocket) => void;

  /** @throws RangeError or TypeError on invalid options */
  constructor(options: ServerOptions, live: Set<WebSocket>, onClosed: (ws: WebSocket) => void) {
    this.onClosed = onClosed;
    this.live = live;
    this.maxConnections = checkLimit('maxConnections', options.maxConnections);
    this.maxPerAddress = checkLimit('maxConnectionsPerAddress', options.maxConnectionsPerAddress);
    this.perAddress = this.maxPerAddress === Infinity ? null : new Map();
    const heartbeat = resolveHeartbeat(options.heartbeat);
    const idleTimeout = resolveIdleTimeout(options.idleTimeout);
    const config: WatchConfig = {
      heartbeat,
      idleTimeout,
      rateLimit: resolveRateLimit(options.rateLimit),
      sweeper: null,
      budget: options.memoryBudget ?? null,
    };
    if (heartbeat !== null || idleTimeout > 0) {
      config.sweeper = new Sweeper(sweepPeriod(heartbeat?.interval ?? 0, heartbeat?.timeout ?? 0, idleTimeout));
    }
    this.watch = needsWatch(config) ? config : null;
  }

  /** `true` once `drain()` was called: new handshakes are refused. */
  get draining(): boolean {
    return this.drainRun !== null;
  }

  /**
   * Whether a new handshake from `req` must be refused, checked before anything is allocated
   * for it: 503 while draining, while the memory budget is exhausted or at `maxConnections`;
   * 429 at `maxConnectionsPerAddress` for the request's remote address.
   */
  admission(req: IncomingMessage): Refusal | null {
    if (this.drainRun !== null) return { status: 503, message: 'Server is draining' };
    if (this.watch?.budget?.exhausted === true) return { status: 503, message: 'Server memory budget exhausted' };
    if (this.live.size >= this.maxConnections) return { status: 503, message: 'Too many connections' };
    const perAddress = this.perAddress;
    if (perAddress !== null && (perAddress.get(req.socket.remoteAddress ?? '') ?? 0) >= this.maxPerAddress) {
      // RFC 6585 §4: 429 Too Many Requests.
      return { status: 429, message: 'Too many connections from this address' };
    }
    return null;
  }

  /**
   * Takes on an accepted connection: counts it, installs its monitor, and makes itself the
   * connection's close hook (so `onClosed` runs when it closes, before its `close` listeners).
   */
  attach(ws: WebSocket, req: IncomingMessage): void {
    const transport = transportOf(ws);
    this.live.add(ws);
    this.metrics.handshakesAccepted++;
    const perAddress = this.perAddress;
    if (perAddress !== null) {
      const address = req.socket.remoteAddress ?? '';
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      (this.addresses ??= new WeakMap()).set(ws, address);
    }
    if (transport !== null) {
      transport.monitor = this.watch === null ? this.metrics : new Watch(ws, transport, this.metrics, this.watch);
    }
    ws.closeHook = this;
    publishOpen(ws, 'server', req);
  }

  /** @internal A connection closed (see WebSocket.closeHook): before its `close` listeners run. */
  connectionClosed(ws: WebSocket): void {
    this.live.delete(ws);
    const perAddress = this.perAddress;
    const address = this.addresses?.get(ws);
    if (perAddress !== null && address !== undefined) {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    }
    this.drainRun?.check();
    this.onClosed(ws);
  }

  /** A snapshot of the statistics. */
  stats(): ServerStats {
    const transports: Array<ReturnType<typeof transportOf>> = [];
    for (const ws of this.live) transports.push(transportOf(ws));
    return this.metrics.snapshot(transports, this.live.size);
  }

  /** Starts (or joins) the drain. */
  drain(options?: DrainOptions): Promise<DrainResult> {
    if (this.drainRun === null) this.drainRun = new Drain(this.live, options);
    return this.drainRun.done;
  }
}
