/**
 * The client side of the soak run: one process (pinned to its own core) that keeps the
 * configured number of peers (peers.ts) connected to the server under test, churns them, and
 * answers the runner over IPC. Every wait is bounded in time and every loop in count.
 *
 * Requests (`{ id, cmd, ... }`), each answered with `{ id, ... }`:
 * - `start` `{ port, options }`: opens the connections (at most 200 handshakes at a time),
 *   then starts the load and the churn; answers once all are open (60 s at most).
 * - `snapshot`: the counters so far and this process's own RSS and CPU.
 * - `stop`: stops sending and churning, closes every connection as a retiring peer does
 *   (drain, close 1000) and answers with the final counters.
 *
 *   node --import tsx benchmarks/soak/driver.ts   (started by benchmarks/soak.ts)
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { rng } from '../deflate/wire.js';
import type { SoakOptions } from './options.js';
import { buildMessageSet, newTotals, Peer, type MessageSet, type PeerKind, type PeerTotals } from './peers.js';

const TICK_MS = 50;
/** Handshakes in flight at most, so the server's accept queue stays short. */
const MAX_OPENING = 200;
const KINDS: PeerKind[] = ['normal', 'slow', 'stalled'];

/** The driver's answer to `snapshot` and `stop`. */
export interface DriverSnapshot {
  atMs: number;
  totals: PeerTotals;
  /** Peers by kind, open now. */
  open: Record<PeerKind, number>;
  opening: number;
  closing: number;
  rss: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  loopDelayMaxMs: number;
}

const run = {
  options: null as SoakOptions | null,
  port: 0,
  set: null as MessageSet | null,
  peers: [] as Peer[],
  totals: newTotals(),
  targets: { normal: 0, slow: 0, stalled: 0 } as Record<PeerKind, number>,
  spawned: 0,
  compressedSpawned: 0,
  sending: false,
  churning: false,
  churnCredit: 0,
  lastChurn: 0,
  random: rng(1),
  lastTick: performance.now(),
};

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

function remove(peer: Peer): void {
  const last = run.peers.pop();
  if (last !== undefined && last !== peer) {
    run.peers[peer.slot] = last;
    last.slot = peer.slot;
  }
  peer.slot = -1;
}

function spawn(kind: PeerKind): void {
  const options = run.options as SoakOptions;
  const i = run.spawned++;
  // The compressed share is spread evenly over the connections opened.
  const compressed = Math.floor((i + 1) * options.compressShare) > Math.floor(i * options.compressShare);
  const verify = !compressed || run.compressedSpawned % Math.max(1, options.verifyEvery) === 0;
  if (compressed) run.compressedSpawned++;
  const peer = new Peer(kind, compressed, verify, run.port, run.set as MessageSet, options, run.totals, remove);
  peer.slot = run.peers.length;
  run.peers.push(peer);
}

function counts(): { open: Record<PeerKind, number>; live: Record<PeerKind, number>; opening: number; closing: number } {
  const open = { normal: 0, slow: 0, stalled: 0 };
  const live = { normal: 0, slow: 0, stalled: 0 };
  let opening = 0;
  let closing = 0;
  for (const p of run.peers) {
    if (p.state === 'open') open[p.kind]++;
    if (p.state === 'opening') opening++;
    if (p.state === 'closing') closing++;
    else live[p.kind]++;
  }
  return { open, live, opening, closing };
}

function tick(): void {
  const now = performance.now();
  const dt = Math.min(1, (now - run.lastTick) / 1000);
  run.lastTick = now;
  const { live, opening } = counts();
  // Replace what retired or failed, within the handshake budget.
  let budget = MAX_OPENING - opening;
  for (const kind of KINDS) {
    for (let n = run.targets[kind] - live[kind]; n > 0 && budget > 0; n--, budget--) spawn(kind);
  }
  // Peers may end (and leave the list) during their tick: walk a copy.
  for (const peer of [...run.peers]) {
    if (peer.expired(now)) peer.retire(true, now);
    else peer.tick(now, dt, run.sending);
  }
}

function churn(): void {
  if (!run.churning) return;
  const options = run.options as SoakOptions;
  // By the clock, not by timer fires, so that timer jitter does not lower the churn rate; but
  // a driver that was stalled (a busy machine) catches up one second's worth at most, not
  // with a reconnect storm.
  const now = performance.now();
  const perInterval = options.conns * options.churnShare;
  const catchUp = Math.max(1, 1000 / options.churnInterval) * perInterval;
  run.churnCredit = Math.min(run.churnCredit + (perInterval * (now - run.lastChurn)) / options.churnInterval, catchUp);
  run.lastChurn = now;
  const candidates = run.peers.filter((p) => p.state === 'open' && p.kind !== 'stalled');
  // Bounded by the number of candidates.
  while (run.churnCredit >= 1 && candidates.length > 0) {
    run.churnCredit -= 1;
    const i = Math.floor(run.random() * candidates.length);
    const peer = candidates[i] as Peer;
    candidates[i] = candidates[candidates.length - 1] as Peer;
    candidates.pop();
    peer.retire(run.random() < options.abruptShare, now);
  }
}

let tickTimer: NodeJS.Timeout | null = null;
let churnTimer: NodeJS.Timeout | null = null;

async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function start(req: { port: number; options: SoakOptions }) {
  const options = req.options;
  run.options = options;
  run.port = req.port;
  run.random = rng(options.seed);
  run.set = await buildMessageSet(options.noContextTakeover);
  run.targets = { normal: options.conns - options.slow - options.stalled, slow: options.slow, stalled: options.stalled };
  const t0 = performance.now();
  run.lastTick = t0;
  tickTimer = setInterval(tick, TICK_MS);
  const all = await until(() => {
    const { open } = counts();
    return open.normal + open.slow + open.stalled >= options.conns;
  }, 60_000);
  run.sending = true;
  run.churning = true;
  run.lastChurn = performance.now();
  churnTimer = setInterval(churn, options.churnInterval);
  return { opened: run.totals.opened, allOpen: all, ms: performance.now() - t0, handshakeFailures: run.totals.handshakeFailures };
}

function snapshot(): DriverSnapshot {
  const { open, opening, closing } = counts();
  const cpu = process.cpuUsage();
  const maxDelay = loop.max / 1e6;
  loop.reset();
  return {
    atMs: performance.now(),
    totals: { ...run.totals, unexpectedCodes: { ...run.totals.unexpectedCodes }, problems: [...run.totals.problems] },
    open,
    opening,
    closing,
    rss: process.memoryUsage().rss,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    loopDelayMaxMs: maxDelay,
  };
}

async function stop() {
  const options = run.options as SoakOptions;
  run.sending = false;
  run.churning = false;
  if (churnTimer) clearInterval(churnTimer);
  run.targets = { normal: 0, slow: 0, stalled: 0 };
  const now = performance.now();
  for (const peer of [...run.peers]) peer.retire(false, now);
  const ended = await until(() => run.peers.length === 0, 2 * options.drainTimeout + 5000);
  const left = run.peers.length;
  for (const peer of [...run.peers]) peer.conn.destroy();
  if (tickTimer) clearInterval(tickTimer);
  return { ...snapshot(), allEnded: ended, notEnded: left };
}

process.on('unhandledRejection', (err) => {
  // An echo that could not even be inflated: count it as altered rather than crash the driver.
  run.totals.mismatches++;
  if (run.totals.problems.length < 10) run.totals.problems.push(`unhandled: ${err instanceof Error ? err.message : String(err)}`);
});

type Request = { id: number; cmd: string } & Record<string, unknown>;
const handlers: Record<string, (req: never) => unknown> = { start, snapshot, stop };

process.on('message', (msg: Request) => {
  const handler = handlers[msg.cmd];
  if (!handler) {
    process.send?.({ id: msg.id, error: `unknown command ${msg.cmd}` });
    return;
  }
  Promise.resolve()
    .then(() => handler(msg as never))
    .then(
      (result) => process.send?.({ id: msg.id, ...(result as object) }),
      (err: unknown) => process.send?.({ id: msg.id, error: err instanceof Error ? err.stack : String(err) }),
    );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
