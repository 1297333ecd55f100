/**
 * The client side of the liveness features: `heartbeat` and `idleTimeout` on client options.
 * Every client connection of the process that uses them shares one sweeper (one timer).
 *
 * @module
 */
import type { ClientOptions } from './options.js';
import { publishOpen } from '../ops/diagnostics.js';
import { resolveHeartbeat, resolveIdleTimeout, sharedClientSweeper, sweepPeriod } from '../ops/heartbeat.js';
import { transportOf } from '../io/internals.js';
import { Watch, type WatchConfig } from '../ops/watch.js';
import type { WebSocket } from '../socket/websocket.js';

/**
 * The features a client asked for, validated; `null` when none. Call it when dialling, so
 * that an invalid value throws from the constructor. @internal
 *
 * @throws RangeError on an invalid `heartbeat` or `idleTimeout`
 */
export function clientWatchConfig(options: ClientOptions): WatchConfig | null {
  const heartbeat = resolveHeartbeat(options.heartbeat);
  const idleTimeout = resolveIdleTimeout(options.idleTimeout);
  if (heartbeat === null && idleTimeout === 0) return null;
  const sweeper = sharedClientSweeper(sweepPeriod(heartbeat?.interval ?? 0, heartbeat?.timeout ?? 0, idleTimeout));
  return { heartbeat, idleTimeout, rateLimit: null, sweeper, budget: null };
}

/** Called once a client connection is open: installs its features and publishes `open`. @internal */
export function clientOpened(ws: WebSocket, options: ClientOptions): void {
  const transport = transportOf(ws);
  const config = clientWatchConfig(options);
  if (transport !== null && config !== null) transport.monitor = new Watch(ws, transport, null, config);
  publishOpen(ws, 'client');
}
