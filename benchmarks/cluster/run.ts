/**
 * Cluster benchmark: 2 and 4 server processes sharing one room through Redis, 1,000 and 10,000
 * connections spread evenly over them, 1 KiB binary messages published to the room that holds
 * everyone. Side by side in the same run: ws6455's Hub + Cluster (Redis Streams), socket.io 4
 * with @socket.io/redis-streams-adapter, and the hand-written `ws` + Redis pub/sub loop.
 *
 *   npm run bench:cluster                 # full: about 10 minutes
 *   npm run bench:cluster -- --quick      # 1,000 connections, fewer messages: about 2 minutes
 *   options: --servers 2,4  --conns 1000,10000  --impls ours,socketio,ws-loop,ours-pubsub  --deliveries N
 *            --no-stall  --cpu-prof DIR (CPU profiles of the servers, written when they exit)
 *
 * Per run, a fresh redis-server (persistence off) and fresh server and receiver processes.
 * Pinning: all servers on core 0, redis-server and the receivers on core 1 (with taskset and at
 * least 2 cores). On a 2-core machine that means the 2 or 4 servers share one core: the numbers
 * compare what each implementation does with the same CPU, not how a cluster scales.
 * Measured:
 * - throughput: every server publishes its share of M messages, one per event-loop turn, in the
 *   same instant; deliveries per second until every connection has all M;
 * - latency: 40 messages, one every 50 ms (every 250 ms from 5,000 connections on), published by the servers in turn; for each delivery
 *   to a connection on another server than the publisher, arrival time minus publish time
 *   (same machine, same clock); p50 and p99;
 * - RSS of each server after the run, and its peak (max RSS);
 * - a stalled server: the last server is stopped (SIGSTOP) for 3 s while the others publish
 *   (paced, about 500,000 deliveries in all), then continued: how much its RSS grows while it
 *   catches up, and the deliveries that never arrive (`--no-stall` skips it).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, pinnedCommand } from '../lib/pinning.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const quick = process.argv.includes('--quick');
function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
type Impl = 'ours' | 'ours-pubsub' | 'socketio' | 'ws-loop';
const serverCounts = (option('servers') ?? '2,4').split(',').map(Number);
const connCounts = (option('conns') ?? (quick ? '1000' : '1000,10000')).split(',').map(Number);
const impls = (option('impls') ?? 'ours,socketio,ws-loop').split(',') as Impl[];
const DELIVERIES = Number(option('deliveries') ?? (quick ? 200_000 : 1_000_000));
const STALL = !process.argv.includes('--no-stall');
const STALL_MS = 3000;
const STALL_DELIVERIES = quick ? 200_000 : 500_000;
const LATENCY_MESSAGES = 40;
const LATENCY_EVERY_MS = 50;
const SIZE = 1024;
const SERVER_CPU = 0;
const OTHER_CPU = 1;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A child process with an inbox of IPC messages and bounded waits. */
class Child {
  private readonly inbox: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<() => void> = [];
  readonly proc: ChildProcess;
  exited: string | null = null;
  stderr = '';

  constructor(argv: string[], cpu: number | null) {
    const [cmd, ...args] = pinnedCommand(argv, cpu) as [string, ...string[]];
    this.proc = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-3000);
    });
    this.proc.on('message', (m) => {
      this.inbox.push(m as Record<string, unknown>);
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `exited (${code ?? signal})`;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(m: object): void {
    if (this.exited === null) this.proc.send(m);
  }

  async take(type: string, ms: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Record<string, unknown>;
      if (this.exited !== null) throw new Error(`child ${this.exited}: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type} (${ms} ms)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  kill(): void {
    if (this.exited === null) this.proc.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL if it has not exited within `ms`. */
  async stop(ms: number): Promise<void> {
    if (this.exited !== null) return;
    this.proc.kill('SIGTERM');
    const deadline = Date.now() + ms;
    while (this.exited === null && Date.now() < deadline) await sleep(50);
    this.kill();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ws6455-bench-redis-'));
  const argv = ['/usr/bin/redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
  const [cmd, ...args] = pinnedCommand(argv, OTHER_CPU) as [string, ...string[]];
  const proc = spawn(cmd, args, { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('connect', () => {
        s.write('PING\r\n');
      });
      s.on('data', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Result {
  impl: Impl;
  servers: number;
  conns: number;
  ok: boolean;
  note: string;
  messages: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  /** RSS after the run and peak RSS, MiB, per server. */
  rssMiB: number[];
  peakRssMiB: number[];
  /** Stall round: RSS growth of the stalled server (MiB) and deliveries that never arrived. */
  stallRssMiB: number;
  stallLost: number;
  /** CPU during the throughput round, % of one core: servers summed, receivers summed. */
  serverCpu: number;
  receiverCpu: number;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

async function measure(impl: Impl, servers: number, conns: number): Promise<Result> {
  const messages = Math.max(servers, Math.round(DELIVERIES / conns / servers) * servers);
  const result: Result = { impl, servers, conns, ok: false, note: '', messages, deliveriesPerSecond: NaN, p50: NaN, p99: NaN, rssMiB: [], peakRssMiB: [], serverCpu: NaN, receiverCpu: NaN, stallRssMiB: NaN, stallLost: NaN };
  const redis = await startRedis();
  const children: Child[] = [];
  try {
    const prefix = `bench${Date.now()}`;
    const serverProcs = Array.from({ length: servers }, (_, i) => {
      const prof = option('cpu-prof') === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${option('cpu-prof')}`];
      const c = new Child([process.execPath, ...prof, '--import', 'tsx', 'benchmarks/cluster/server.ts', '--impl', impl, '--redis', redis.url, '--prefix', prefix, '--index', String(i)], SERVER_CPU);
      children.push(c);
      return c;
    });
    const ports: number[] = [];
    for (const s of serverProcs) ports.push(Number((await s.take('listening', 30_000)).port));
    const parts = conns >= 5000 ? 2 : 1;
    const per = conns / parts;
    const receivers = Array.from({ length: parts }, (_, i) => {
      const c = new Child(
        [process.execPath, '--import', 'tsx', 'benchmarks/cluster/receiver.ts', '--ports', ports.join(','), '--conns', String(per), '--first', String(i * per), '--proto', impl === 'socketio' ? 'sio' : 'ws'],
        OTHER_CPU,
      );
      children.push(c);
      return c;
    });
    for (const r of receivers) await r.take('ready', 120_000);
    let joined = 0;
    for (const s of serverProcs) {
      s.send({ type: 'connections' });
      joined += Number((await s.take('connections', 10_000)).n);
    }
    if (joined !== conns) throw new Error(`${joined} of ${conns} connections in the room`);

    /** Publishes `count` per server and waits until every receiver has all; returns [t0, done]. */
    const round = async (countPerServer: number, every: number, stagger: number, ms: number): Promise<[number, number]> => {
      for (const r of receivers) r.send({ type: 'expect', expect: per * countPerServer * servers });
      for (const r of receivers) await r.take('expecting', 10_000);
      const t0 = performance.timeOrigin + performance.now();
      for (let i = 0; i < servers; i++) {
        const s = serverProcs[i] as Child;
        if (stagger > 0) setTimeout(() => s.send({ type: 'publish', count: countPerServer, size: SIZE, every }), i * stagger);
        else s.send({ type: 'publish', count: countPerServer, size: SIZE, every });
      }
      let done = 0;
      for (const r of receivers) done = Math.max(done, Number((await r.take('done', ms)).t));
      for (const s of serverProcs) await s.take('published', 10_000);
      return [t0, done];
    };
    const cpuOf = async (): Promise<{ servers: number[]; receivers: number[] }> => {
      const out = { servers: [] as number[], receivers: [] as number[] };
      for (const s of serverProcs) {
        s.send({ type: 'memory' });
        out.servers.push(Number((await s.take('memory', 10_000)).cpuMs));
      }
      for (const r of receivers) {
        r.send({ type: 'report' });
        out.receivers.push(Number((await r.take('report', 30_000)).cpuMs));
      }
      return out;
    };
    // Warm-up: a few messages through every server, then the counting rounds.
    await round(5, 0, 0, 60_000);
    const before = await cpuOf();
    const [t0, done] = await round(messages / servers, 0, 0, 240_000);
    const after = await cpuOf();
    const seconds = (done - t0) / 1000;
    result.deliveriesPerSecond = (conns * messages) / seconds;
    // CPU over the round, % of one core: all servers together (they share core 0) and the receivers.
    result.serverCpu = after.servers.reduce((a, v, i) => a + v - (before.servers[i] ?? 0), 0) / 10 / seconds;
    result.receiverCpu = after.receivers.reduce((a, v, i) => a + v - (before.receivers[i] ?? 0), 0) / 10 / seconds;
    // Latency: one message every LATENCY_EVERY_MS ms, the servers in turn.
    for (const r of receivers) {
      r.send({ type: 'report' });
      await r.take('report', 30_000);
    }
    // One message every 50 ms at 1,000 connections (20,000 deliveries/s), every 250 ms at 10,000
    // (40,000/s): a load every implementation is meant to carry, so latency is not a backlog.
    const every = conns >= 5000 ? LATENCY_EVERY_MS * 5 : LATENCY_EVERY_MS;
    await round(LATENCY_MESSAGES / servers, every * servers, every, 120_000);
    const lat: number[] = [];
    for (const r of receivers) {
      r.send({ type: 'report' });
      lat.push(...((await r.take('report', 30_000)).latencies as number[]));
    }
    lat.sort((a, b) => a - b);
    result.p50 = percentile(lat, 0.5);
    result.p99 = percentile(lat, 0.99);
    for (const s of serverProcs) {
      s.send({ type: 'memory' });
      const m = await s.take('memory', 10_000);
      result.rssMiB.push(Number(m.rss) / 2 ** 20);
      result.peakRssMiB.push(Number(m.maxRss) / 2 ** 20);
    }
    if (STALL) {
      // One server stops reading anything (SIGSTOP) while the others publish, then goes on.
      const stalled = serverProcs[servers - 1] as Child;
      stalled.send({ type: 'peak-reset' });
      const base = Number((await stalled.take('peak-reset', 10_000)).rss);
      const publishers = serverProcs.slice(0, servers - 1);
      const each = Math.max(1, Math.round(STALL_DELIVERIES / conns / publishers.length));
      const every = Math.max(1, Math.floor(STALL_MS / each));
      let before = 0;
      for (const r of receivers) {
        r.send({ type: 'report' });
        before += Number((await r.take('report', 30_000)).delivered);
      }
      for (const r of receivers) r.send({ type: 'expect', expect: per * each * publishers.length });
      for (const r of receivers) await r.take('expecting', 10_000);
      stalled.proc.kill('SIGSTOP');
      for (const s of publishers) s.send({ type: 'publish', count: each, size: SIZE, every });
      await sleep(STALL_MS);
      stalled.proc.kill('SIGCONT');
      let arrived = true;
      for (const r of receivers) {
        try {
          await r.take('done', 60_000);
        } catch {
          arrived = false;
        }
      }
      let delivered = 0;
      for (const r of receivers) {
        r.send({ type: 'report' });
        delivered += Number((await r.take('report', 30_000)).delivered);
      }
      result.stallLost = arrived ? 0 : Math.max(0, before + conns * each * publishers.length - delivered);
      stalled.send({ type: 'memory' });
      result.stallRssMiB = (Number((await stalled.take('memory', 10_000)).peak) - base) / 2 ** 20;
      for (const s of publishers) await s.take('published', 10_000).catch(() => undefined);
    }
    result.ok = true;
  } catch (err) {
    result.note = (err as Error).message.slice(0, 500);
  } finally {
    if (option('cpu-prof') !== undefined) await Promise.all(children.map((c) => c.stop(5000)));
    for (const c of children) c.kill();
    redis.stop();
    await sleep(500);
  }
  return result;
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const NAMES: Record<Impl, string> = {
  ours: 'ws6455 Hub + Cluster (Streams)',
  'ours-pubsub': 'ws6455 Hub + Cluster (pub/sub)',
  socketio: 'socket.io + redis-streams-adapter',
  'ws-loop': 'ws + Redis pub/sub loop',
};

async function main(): Promise<void> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  console.log(`cluster benchmark${quick ? ' (quick)' : ''}: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, commit ${commit}`);
  console.log(canPin() ? 'pinning: servers on core 0; redis-server and receivers on core 1' : 'pinning: not available (taskset missing or one core)');
  console.log(
    `${DELIVERIES.toLocaleString('en-US')} deliveries of ${SIZE} B per throughput round; latency: ${LATENCY_MESSAGES} messages, one every ${LATENCY_EVERY_MS} ms (${LATENCY_EVERY_MS * 5} ms from 5,000 connections)`,
  );
  console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other processes share this machine)\n`);
  const results: Result[] = [];
  for (const servers of serverCounts) {
    for (const conns of connCounts) {
      for (const impl of impls) {
        process.stdout.write(`  ${servers} servers, ${conns} conns, ${impl} ... `);
        const r = await measure(impl, servers, conns);
        results.push(r);
        console.log(
          r.ok
            ? `${fmt(r.deliveriesPerSecond)} deliveries/s, p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, CPU servers ${fmt(r.serverCpu)}% receivers ${fmt(r.receiverCpu)}%`
            : `FAILED: ${r.note}`,
        );
      }
    }
  }
  console.log('\n| servers | connections | implementation | deliveries/s | vs ours | p50 ms | p99 ms | RSS per server MiB (after / peak) | server CPU ms per 1,000 deliveries | stalled server: RSS growth MiB / deliveries lost |');
  console.log('| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const ours = results.find((x) => x.impl === 'ours' && x.servers === r.servers && x.conns === r.conns);
    const ratio = ours !== undefined && r.impl !== 'ours' && ours.ok && r.ok ? `${fmt(ours.deliveriesPerSecond / r.deliveriesPerSecond, 2)}x` : '';
    const rss = r.ok ? `${fmt(Math.max(...r.rssMiB))} / ${fmt(Math.max(...r.peakRssMiB))}` : '';
    console.log(
      `| ${r.servers} | ${r.conns.toLocaleString('en-US')} | ${NAMES[r.impl]} | ${r.ok ? fmt(r.deliveriesPerSecond) : `FAILED`} | ${ratio} | ${r.ok ? fmt(r.p50, 1) : ''} | ${r.ok ? fmt(r.p99, 1) : ''} | ${rss} | ${r.ok ? fmt((r.serverCpu * 10) / (r.deliveriesPerSecond / 1000), 1) : ''} | ${r.ok && STALL ? `${fmt(r.stallRssMiB, 1)} / ${fmt(r.stallLost)}` : ''} |`,
    );
  }
  console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('"vs ours": ours divided by that row (above 1: ours delivers more per second). RSS: the largest server.');
  for (const r of results) if (!r.ok) console.log(`FAILED ${r.impl} ${r.servers}x${r.conns}: ${r.note}`);
  const dir = join(root, 'benchmarks/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ quick, commit, deliveries: DELIVERIES, results }, null, 2));
  console.log(`\nresults: ${file}`);
}

await main();
