/**
 * Settings of the soak run (`npm run soak -- --name value ...`), shared by the runner, the
 * driver and the server so every process reads the same numbers. Every setting has a default;
 * the defaults are the full run of issue 13 (10,000 connections, 30 minutes).
 *
 * @module
 */

/** Everything a soak run is configured with. */
export interface SoakOptions {
  /** `ours` (ws6455) or `ws` behind the same echo server. */
  impl: 'ours' | 'ws';
  /** Connections kept open (normal + slow + stalled peers). */
  conns: number;
  /** Seconds of load, from the moment every connection is open (ramp-up not counted). */
  duration: number;
  /** Seconds at the start of the load excluded from the slopes. */
  warmup: number;
  /** Seconds between samples of the server (and the driver). */
  sample: number;
  /** Every `churnInterval` ms, this share of the connections closes and is replaced. */
  churnShare: number;
  churnInterval: number;
  /** Share of the churned connections that vanish (socket destroyed) instead of closing. */
  abruptShare: number;
  /** Share of the connections that negotiate permessage-deflate. */
  compressShare: number;
  /** Offer `server_no_context_takeover; client_no_context_takeover` instead of the defaults. */
  noContextTakeover: boolean;
  /** The server's `perMessageDeflate.poolMaxBytes` (ws6455; -1: the library's default). */
  poolMaxBytes: number;
  /** Messages per second each normal connection sends (open loop). */
  rate: number;
  /** Most echoes a connection waits for before it skips a send (the skip is counted). */
  maxInFlight: number;
  /** Milliseconds between pings of each connection (0: none). */
  pingInterval: number;
  /** Server heartbeat interval in ms (ws6455 only; 0: off). Its timeout is a third of it. */
  heartbeat: number;
  /** Peers that never read: each sends `stalledMessages`, then waits `stalledLife` ms and vanishes. */
  stalled: number;
  stalledMessages: number;
  stalledLife: number;
  /** Peers that read at most `slowReadKiBps` KiB/s while sending `slowRate` messages/s. */
  slow: number;
  slowReadKiBps: number;
  slowRate: number;
  slowMaxInFlight: number;
  /** Compressed peers of which one in `verifyEvery` inflates and checks every echo. */
  verifyEvery: number;
  /** Milliseconds a closing peer waits for its outstanding echoes before counting them lost. */
  drainTimeout: number;
  /** Fail the run when the RSS slope after warm-up exceeds this many MB/h (0: report only). */
  maxSlope: number;
  /**
   * Seconds to wait after every connection closed before sampling the server once more (idle
   * zlib streams of ws6455's pool are destroyed after 60 s).
   */
  settle: number;
  /** Read /proc/self/smaps in the server every this many samples (0: never). */
  smapsEvery: number;
  /** Extra environment for the server process, e.g. `MALLOC_ARENA_MAX=2`. */
  serverEnv: Record<string, string>;
  /** Where to write the JSON (default benchmarks/results/soak-<time>.json). */
  json: string | null;
  /** Random seed (which peers churn). */
  seed: number;
  /** Testing the soak itself: the server leaves every Nth message unanswered (0: never). */
  dropEvery: number;
}

/** The full run of issue 13. */
export const DEFAULTS: SoakOptions = {
  impl: 'ours',
  conns: 10_000,
  duration: 1800,
  warmup: 300,
  sample: 10,
  churnShare: 0.01,
  churnInterval: 200,
  abruptShare: 0.05,
  compressShare: 0.2,
  noContextTakeover: false,
  poolMaxBytes: -1,
  rate: 1,
  maxInFlight: 32,
  pingInterval: 10_000,
  heartbeat: 30_000,
  stalled: 5,
  stalledMessages: 512,
  stalledLife: 20_000,
  slow: 5,
  slowReadKiBps: 32,
  slowRate: 50,
  slowMaxInFlight: 2048,
  verifyEvery: 10,
  drainTimeout: 10_000,
  maxSlope: 0,
  settle: 70,
  smapsEvery: 3,
  serverEnv: {},
  json: null,
  seed: 1,
  dropEvery: 0,
};

const NUMERIC = Object.keys(DEFAULTS).filter((k) => typeof DEFAULTS[k as keyof SoakOptions] === 'number');

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Reads `--kebab-name value` pairs (and the flag `--no-context-takeover`) from `argv`. Warm-up
 * and the sample interval follow a short `--duration` unless given: a quarter of the run
 * (at most 300 s: malloc's arenas take about four minutes to reach their working set at
 * 2,000 connections) and a sixtieth of it (1 to 10 s); runs under 10 minutes do not settle.
 *
 * @throws Error on an unknown option or a value that is not a number where one is needed
 */
export function parseSoakOptions(argv: readonly string[]): SoakOptions {
  const out: SoakOptions = { ...DEFAULTS, serverEnv: {} };
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.slice(2);
    if (name === 'no-context-takeover') {
      out.noContextTakeover = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (name === 'impl') {
      if (value !== 'ours' && value !== 'ws') throw new Error('--impl is ours or ws');
      out.impl = value;
    } else if (name === 'server-env') {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new Error('--server-env takes NAME=VALUE');
      out.serverEnv[value.slice(0, eq)] = value.slice(eq + 1);
    } else if (name === 'json') {
      out.json = value;
    } else {
      const key = NUMERIC.find((k) => kebab(k) === name);
      const n = Number(value);
      if (key === undefined) throw new Error(`unknown option ${arg}`);
      if (!Number.isFinite(n) || (n < 0 && key !== 'poolMaxBytes')) throw new Error(`${arg} must be a number >= 0`);
      (out as unknown as Record<string, number>)[key] = n;
      given.add(key);
    }
  }
  if (!given.has('warmup')) out.warmup = Math.min(DEFAULTS.warmup, out.duration / 4);
  if (!given.has('sample')) out.sample = Math.min(DEFAULTS.sample, Math.max(1, out.duration / 60));
  if (!given.has('settle') && out.duration < 600) out.settle = 0;
  if (out.conns < out.stalled + out.slow + 1) throw new Error('--conns must exceed --stalled + --slow');
  return out;
}
