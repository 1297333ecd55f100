/**
 * Liveness checks without a timer per connection: every watched connection of a server sits in
 * one {@link Sweeper}, whose single interval visits them all and lets each compare the clock
 * with the few numbers it keeps (when it last heard from its peer, when it pinged). Clients
 * share one process-wide sweeper.
 *
 * A sweep costs a few comparisons per connection; at the default resolution (a quarter of the
 * shortest period, at most once a second) 10,000 connections cost well under a millisecond per
 * tick, and no timer is created, re-armed or cleared per message.
 *
 * @module
 */

/** Settings of the heartbeat: `heartbeat: { interval, timeout }` on servers and clients. */
export interface HeartbeatOptions {
  /**
   * Milliseconds without anything received from the peer after which it is pinged (default
   * 30,000). Any frame or byte received counts as a sign of life, so busy connections are not
   * pinged at all.
   */
  interval?: number;
  /**
   * Milliseconds to wait, after the ping, for anything from the peer (its pong, or any other
   * frame). A peer silent for that long is terminated: its socket is destroyed and the `close`
   * event reports 1006 with the reason `heartbeat timeout` (default 10,000).
   */
  timeout?: number;
}

/** Default of {@link HeartbeatOptions.interval} (ms). */
export const DEFAULT_HEARTBEAT_INTERVAL = 30_000;
/** Default of {@link HeartbeatOptions.timeout} (ms). */
export const DEFAULT_HEARTBEAT_TIMEOUT = 10_000;

/** Heartbeat settings with defaults applied. @internal */
export interface ResolvedHeartbeat {
  interval: number;
  timeout: number;
}

/** Validates `options` and applies the defaults; `null` when the heartbeat is off. @internal */
export function resolveHeartbeat(options: HeartbeatOptions | false | undefined): ResolvedHeartbeat | null {
  if (options === undefined || options === false) return null;
  const interval = options.interval ?? DEFAULT_HEARTBEAT_INTERVAL;
  const timeout = options.timeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
  if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError('heartbeat.interval must be a positive number of milliseconds');
  if (!(timeout > 0) || !Number.isFinite(timeout)) throw new RangeError('heartbeat.timeout must be a positive number of milliseconds');
  return { interval, timeout };
}

/** Checks an `idleTimeout` option: a non-negative number of milliseconds (0: off). @internal */
export function resolveIdleTimeout(value: number | undefined): number {
  if (value === undefined) return 0;
  if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError('idleTimeout must be a non-negative number of milliseconds');
  return value;
}

/** An entry of a {@link Sweeper}. @internal */
export interface Sweepable {
  /** Position in the sweeper (managed by it). */
  sweepIndex: number;
  /** Called on every tick with the current time (`Date.now()`). */
  sweep(now: number): void;
}

/** The tick period (ms) for the given periods: a quarter of the shortest, from 10 ms to 1 s. @internal */
export function sweepPeriod(...periods: number[]): number {
  const positive = periods.filter((p) => p > 0);
  if (positive.length === 0) return 1000;
  return Math.min(1000, Math.max(10, Math.floor(Math.min(...positive) / 4)));
}

/**
 * One interval for many connections. The interval runs only while entries exist and never
 * keeps the process alive (`unref`). @internal
 */
export class Sweeper {
  private readonly entries: Sweepable[] = [];
  private timer: NodeJS.Timeout | null = null;
  private period: number;

  constructor(period: number) {
    this.period = period;
  }

  /** Number of entries. */
  get size(): number {
    return this.entries.length;
  }

  /** Ticks at least every `period` ms from now on (a finer period replaces a coarser one). */
  refine(period: number): void {
    if (period >= this.period) return;
    this.period = period;
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.start();
    }
  }

  add(entry: Sweepable): void {
    entry.sweepIndex = this.entries.length;
    this.entries.push(entry);
    if (this.timer === null) this.start();
  }

  remove(entry: Sweepable): void {
    const index = entry.sweepIndex;
    const entries = this.entries;
    if (index < 0 || entries[index] !== entry) return;
    const last = entries.pop() as Sweepable;
    if (last !== entry) {
      entries[index] = last;
      last.sweepIndex = index;
    }
    entry.sweepIndex = -1;
    if (entries.length === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Visits every entry now. */
  tick(now: number = Date.now()): void {
    const entries = this.entries;
    // Backwards: an entry removed during the sweep is replaced by one already visited.
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      if (entry !== undefined) entry.sweep(now);
    }
  }

  private start(): void {
    this.timer = setInterval(() => this.tick(), this.period);
    this.timer.unref();
  }
}

let clientSweeper: Sweeper | null = null;

/** The sweeper shared by every client connection of the process. @internal */
export function sharedClientSweeper(period: number): Sweeper {
  if (clientSweeper === null) clientSweeper = new Sweeper(period);
  else clientSweeper.refine(period);
  return clientSweeper;
}
