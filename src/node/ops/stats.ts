/**
 * Server statistics: plain counters, updated by the transports of a server through the
 * {@link TransportMonitor} hooks, and read as a snapshot with `server.stats()`.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { LOCAL_CLOSE_REASONS, type LocalCloseReason } from '../io/local-close.js';
import type { TransportMonitor } from '../io/monitor.js';
import type { Transport } from '../io/transport.js';

/** A snapshot of a server's counters, as returned by `server.stats()`. Counters only grow. */
export interface ServerStats {
  /** Connections open now. */
  connections: number;
  /** Handshakes answered with 101. */
  handshakesAccepted: number;
  /** Handshakes refused with an HTTP error. */
  handshakesRefused: number;
  /** Refused handshakes by HTTP status, e.g. `{ "429": 3, "503": 1 }`. */
  refusedByStatus: Record<string, number>;
  /**
   * Requests the server created for `port` answered itself before any WebSocket handshake: a
   * malformed head or one with a body (400), a head not complete in time (408), a request that
   * is not an upgrade (426, or 400 when it carries a `Sec-WebSocket-Key`), a head too large
   * (431), HTTP/2 or later (505). Always 0 with `server` or `noServer`, where `node:http` reads
   * the heads. Apart from `handshakesRefused`, which counts upgrade requests in every mode.
   */
  httpRefused: number;
  /** {@link ServerStats.httpRefused} by HTTP status, e.g. `{ "400": 2, "408": 1 }`. */
  httpRefusedByStatus: Record<string, number>;
  /** Data messages received (delivered or dropped by a rate limit). */
  messagesIn: number;
  /** Data messages handed to sockets (each recipient of a broadcast counts). */
  messagesOut: number;
  /** Bytes read from the sockets (frames and all), including closed connections. */
  bytesIn: number;
  /** Bytes written to the sockets, including closed connections. */
  bytesOut: number;
  /** Closed connections by the code of their `close` event (1006: no close frame came back). */
  closeCodes: Record<string, number>;
  /** Connections this end closed because of one of its policies, by reason. */
  localCloses: Record<LocalCloseReason, number>;
  /** Broadcast deliveries skipped by a hub backpressure policy. */
  broadcastDropped: number;
  /** Times a connection's outgoing data had to wait because its socket was full. */
  backpressureEvents: number;
  /** Messages dropped by a rate limit with `action: 'drop'`. */
  rateLimitedMessages: number;
}

/** The counters of one server; also the monitor of its connections that need nothing else. @internal */
export class ServerMetrics implements TransportMonitor {
  handshakesAccepted = 0;
  handshakesRefused = 0;
  readonly refusedByStatus = new Map<number, number>();
  httpRefused = 0;
  readonly httpRefusedByStatus = new Map<number, number>();
  messagesIn = 0;
  messagesOut = 0;
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  readonly closeCodes = new Map<number, number>();
  readonly localCloses = new Map<LocalCloseReason, number>();
  broadcastDrops = 0;
  backpressureEvents = 0;
  rateLimitedMessages = 0;

  /** Counts a refused handshake. */
  refused(status: number): void {
    this.handshakesRefused++;
    this.refusedByStatus.set(status, (this.refusedByStatus.get(status) ?? 0) + 1);
  }

  /** Counts a request the own HTTP front answered with an error before any handshake. */
  frontRefused(status: number): void {
    this.httpRefused++;
    this.httpRefusedByStatus.set(status, (this.httpRefusedByStatus.get(status) ?? 0) + 1);
  }

  messageIn(): boolean {
    this.messagesIn++;
    return true;
  }

  controlIn(): void {}

  messageOut(): void {
    this.messagesOut++;
  }

  backpressure(): void {
    this.backpressureEvents++;
  }

  broadcastDropped(): void {
    this.broadcastDrops++;
  }

  closed(transport: Transport, code: number, local: LocalCloseReason | null): void {
    const socket = transport.socket as Partial<Socket>;
    this.closedBytesIn += socket.bytesRead ?? 0;
    this.closedBytesOut += socket.bytesWritten ?? 0;
    this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
    if (local !== null) this.localCloses.set(local, (this.localCloses.get(local) ?? 0) + 1);
  }

  /** A snapshot; `live` are the transports of the connections open now. */
  snapshot(live: Iterable<Transport | null>, connections: number): ServerStats {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const transport of live) {
      if (transport === null) continue;
      const socket = transport.socket as Partial<Socket>;
      bytesIn += socket.bytesRead ?? 0;
      bytesOut += socket.bytesWritten ?? 0;
    }
    const localCloses = {} as Record<LocalCloseReason, number>;
    for (const reason of LOCAL_CLOSE_REASONS) localCloses[reason] = this.localCloses.get(reason) ?? 0;
    return {
      connections,
      handshakesAccepted: this.handshakesAccepted,
      handshakesRefused: this.handshakesRefused,
      refusedByStatus: toRecord(this.refusedByStatus),
      httpRefused: this.httpRefused,
      httpRefusedByStatus: toRecord(this.httpRefusedByStatus),
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn,
      bytesOut,
      closeCodes: toRecord(this.closeCodes),
      localCloses,
      broadcastDropped: this.broadcastDrops,
      backpressureEvents: this.backpressureEvents,
      rateLimitedMessages: this.rateLimitedMessages,
    };
  }
}

function toRecord(map: Map<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of [...map.keys()].sort((a, b) => a - b)) out[String(key)] = map.get(key) as number;
  return out;
}
