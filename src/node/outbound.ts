/**
 * The seam between a transport and its send scheduler: every write of encoded bytes passes
 * through {@link routeOutbound}, which lets it go straight to the socket when nothing needs
 * scheduling (the common case, without allocating anything) and creates the scheduler the first
 * time something does.
 *
 * @internal
 * @module
 */
import type { Duplex } from 'node:stream';
import type { Connection, SendCallback } from '../core/connection.js';
import { DEFAULT_FRAGMENT_SIZE } from './fragmenter.js';
import { head, readHeader } from './frame-header.js';
import type { ConnectionSettings } from './connection-options.js';
import type { LocalCloseReason } from './local-close.js';
import type { TransportMonitor } from './monitor.js';
import { SendScheduler } from './send-scheduler.js';

/** What the scheduler needs from the transport that owns it. @internal */
export interface SchedulerHost {
  /** The scheduler in use, or `null` while every write can go straight to the socket. */
  scheduler: SendScheduler | null;
  /** The protocol state (role, whether the peer's close frame arrived). */
  readonly connection: Connection;
  /** The socket. */
  readonly socket: Duplex;
  /** Why this end is closing, if one of our policies is closing it. */
  readonly localClose: LocalCloseReason | null;
  /** Toolkit hooks, if any. */
  readonly monitor: TransportMonitor | null;
  /** The connection settings (`maxBufferedAmount`). */
  readonly settings: ConnectionSettings;
  /** The socket can take bytes without going above its high-water mark. */
  readonly socketWritable: boolean;
  /** Hands bytes to the socket, after everything handed over before. */
  passOut(buffer: Buffer, start: number, end: number, cb?: SendCallback): void;
  /** Ends the socket now that everything queued went out (see {@link SendScheduler.deferEnd}). */
  finishEnd(): void;
  /** Everything queued went out and the socket has room: the connection is writable again. */
  schedulerDrained(): void;
  /** More than `maxBufferedAmount` bytes wait to be sent: the peer does not read; close it. */
  outputOverflow(): void;
}

/**
 * Routes one write of encoded bytes: a whole frame that may go now (a control frame, or a data
 * frame small enough while the socket has room) is handed to the socket at once, without a
 * scheduler; anything else goes through the scheduler, created on first need. Returns `true`
 * (the bytes were taken).
 *
 * `smallWholeFrame` says the range is known to be one complete frame of at most a few KiB (the
 * encoder's slab frames, core/slab.ts), so its header need not be parsed again: the first byte
 * gives FIN and the opcode. @internal
 */
export function routeOutbound(
  host: SchedulerHost,
  buffer: Buffer,
  start: number,
  end: number,
  cb?: SendCallback,
  smallWholeFrame = false,
): boolean {
  const scheduler = host.scheduler;
  if (scheduler !== null) {
    scheduler.write(buffer, start, end, cb);
    return true;
  }
  let whole = smallWholeFrame;
  let fits = smallWholeFrame;
  if (!whole && readHeader(buffer, start, end) && head.headerLength + head.payloadLength === end - start) {
    whole = true;
    fits = head.payloadLength <= DEFAULT_FRAGMENT_SIZE;
  }
  if (whole) {
    const b0 = buffer[start] as number;
    const control = (b0 & 0x08) !== 0;
    if (control || (fits && host.socketWritable)) {
      if (!control && (b0 & 0x80) !== 0) host.monitor?.messageOut();
      host.passOut(buffer, start, end, cb);
      // This write may have filled the socket (`send` now returns false) in a way Node will not
      // follow with 'drain' (bytes still gathered for this tick): the scheduler watches for it.
      if (!host.socketWritable) createScheduler(host).watchDrain();
      return true;
    }
  }
  createScheduler(host).write(buffer, start, end, cb);
  return true;
}

function createScheduler(host: SchedulerHost): SendScheduler {
  const created = new SendScheduler(host, host.connection.role === 'client');
  host.scheduler = created;
  return created;
}
