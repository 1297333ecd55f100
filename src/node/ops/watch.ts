/**
 * The per-connection state of the optional features (heartbeat, idle timeout, rate limit,
 * memory budget): one small object, created only for connections of a server or client that
 * enabled at least one of them, installed as the transport's monitor.
 *
 * @module
 */
import { CloseCode } from '../../core/constants.js';
import type { Sweepable, ResolvedHeartbeat, Sweeper } from './heartbeat.js';
import type { BudgetMember, MemoryBudget } from './memory-budget.js';
import type { TransportMonitor } from '../io/monitor.js';
import type { LocalCloseReason } from '../io/local-close.js';
import { closeForPolicy, terminateForPolicy } from './policy-close.js';
import { TokenBucket, type ResolvedRateLimit } from './rate-limit.js';
import type { ServerMetrics } from './stats.js';
import type { Transport } from '../io/transport.js';
import type { WebSocket } from '../socket/websocket.js';

/** The features a server or client enabled; one object shared by all its connections. @internal */
export interface WatchConfig {
  heartbeat: ResolvedHeartbeat | null;
  /** Milliseconds without a message either way before closing (0: off). */
  idleTimeout: number;
  rateLimit: ResolvedRateLimit | null;
  /** Where heartbeat and idle checks run (set when either is on). */
  sweeper: Sweeper | null;
  budget: MemoryBudget | null;
}

/** Whether any per-connection feature is on. @internal */
export function needsWatch(config: WatchConfig): boolean {
  return config.heartbeat !== null || config.idleTimeout > 0 || config.rateLimit !== null || config.budget !== null;
}

const OPEN = 1;

/** One connection's feature state. @internal */
export class Watch implements TransportMonitor, Sweepable, BudgetMember {
  sweepIndex = -1;
  budgetIndex = -1;
  budgetClosing = false;
  private readonly ws: WebSocket;
  private readonly transport: Transport;
  private readonly metrics: ServerMetrics | null;
  private readonly config: WatchConfig;
  private readonly bucket: TokenBucket | null;
  /** Frames received: evidence that the peer is alive. */
  private received = 0;
  /** Messages received and sent: activity for the idle timeout. */
  private activity = 0;
  private evidence = -1;
  private aliveAt: number;
  private pingAt = 0;
  private activityMark = 0;
  private activeAt: number;
  /** Closing for the rate limit: later messages are dropped. */
  private dropping = false;

  constructor(ws: WebSocket, transport: Transport, metrics: ServerMetrics | null, config: WatchConfig, now: number = Date.now()) {
    this.ws = ws;
    this.transport = transport;
    this.metrics = metrics;
    this.config = config;
    this.aliveAt = now;
    this.activeAt = now;
    this.evidence = this.currentEvidence();
    this.bucket = config.rateLimit === null ? null : new TokenBucket(config.rateLimit, now);
    config.sweeper?.add(this);
    config.budget?.add(this);
  }

  // ---- TransportMonitor ----

  messageIn(data: Buffer): boolean {
    this.received++;
    this.activity++;
    this.metrics?.messageIn();
    if (this.dropping) return false;
    const bucket = this.bucket;
    if (bucket === null || bucket.take(data.length, Date.now())) return true;
    const limit = this.config.rateLimit as ResolvedRateLimit;
    if (limit.action === 'drop') {
      if (this.metrics !== null) this.metrics.rateLimitedMessages++;
      return false;
    }
    // RFC 6455 §7.4.1: 1008, "a message that violates its policy".
    this.dropping = true;
    closeForPolicy(this.ws, 'rateLimit', CloseCode.PolicyViolation, false);
    return false;
  }

  controlIn(): void {
    this.received++;
  }

  messageOut(): void {
    this.activity++;
    this.metrics?.messageOut();
  }

  backpressure(): void {
    this.metrics?.backpressure();
  }

  broadcastDropped(): void {
    this.metrics?.broadcastDropped();
  }

  closed(transport: Transport, code: number, local: LocalCloseReason | null): void {
    this.config.sweeper?.remove(this);
    this.config.budget?.remove(this);
    this.metrics?.closed(transport, code, local);
  }

  // ---- Sweepable: heartbeat and idle timeout ----

  sweep(now: number): void {
    if (this.ws.readyState !== OPEN) return;
    const heartbeat = this.config.heartbeat;
    if (heartbeat !== null) {
      const evidence = this.currentEvidence();
      if (evidence !== this.evidence) {
        this.evidence = evidence;
        this.aliveAt = now;
        this.pingAt = 0;
      } else if (this.pingAt !== 0) {
        if (now - this.pingAt >= heartbeat.timeout) {
          // The peer is gone (or its path is): no close handshake is possible; reported as 1006.
          terminateForPolicy(this.ws, 'heartbeat');
          return;
        }
      } else if (now - this.aliveAt >= heartbeat.interval) {
        // RFC 6455 §5.5.2: a ping "may serve either as a keepalive or as a means to verify
        // that the remote endpoint is still responsive"; the peer MUST answer with a pong.
        this.pingAt = now;
        this.ws.ping();
      }
    }
    const idle = this.config.idleTimeout;
    if (idle > 0) {
      if (this.activity !== this.activityMark) {
        this.activityMark = this.activity;
        this.activeAt = now;
      } else if (now - this.activeAt >= idle) {
        closeForPolicy(this.ws, 'idleTimeout', CloseCode.GoingAway, false);
      }
    }
  }

  // ---- BudgetMember ----

  usage(): number {
    const transport = this.transport;
    return transport.connection.bufferedInbound + transport.bufferedAmount;
  }

  overBudget(): void {
    this.budgetClosing = true;
    // RFC 6455 §7.4.1 (IANA registry): 1013, "Try Again Later".
    closeForPolicy(this.ws, 'memoryBudget', CloseCode.TryAgainLater, true);
  }

  /** Frames received plus bytes read: changes whenever anything arrives from the peer. */
  private currentEvidence(): number {
    const bytesRead = (this.transport.socket as { bytesRead?: number }).bytesRead;
    return this.received + (typeof bytesRead === 'number' ? bytesRead : 0);
  }
}
