/**
 * WebSockets over HTTP/2 (RFC 8441) against HTTP/1.1 upgrades, in the same run: how fast sockets
 * open and how much server memory each holds, and echo throughput, ws6455 at both ends.
 *
 * - **open**: the driver opens `--sockets` WebSockets (at most `--concurrency` handshakes at a
 *   time) and keeps them open. HTTP/1.1: one TCP connection and upgrade each (the server's own
 *   `port` front). HTTP/2 (h2c): streams of `--sessions` sessions, one extended CONNECT each. Rows:
 *   sockets opened per second; server RSS and JS heap per open socket (after forced GCs, minus the
 *   reading before).
 * - **echo**: `--conns` sockets (HTTP/2: on `--sessions` sessions), each keeping `inflight` binary
 *   messages outstanding, 1 KiB × 8 and 64 KiB × 4; echoed messages/s and MiB/s over the window.
 *
 * Every measurement gets a fresh server (core 0) and a fresh driver (core 1); the two modes
 * alternate within a round (h1 first in even rounds, h2c first in odd ones), medians over rounds
 * with the spread (half the min-max range, in % of the median). The driver is ws6455's client, a
 * Node process: when its CPU is near 100% it, not the server, is the limit, so its CPU is shown.
 *
 *   npm run bench:http2 [-- --rounds 3 --sockets 2000 --sessions 4 --concurrency 64 --conns 10 --warmup 1 --duration 4]
 *
 * Writes benchmarks/results/http2-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Child, machine, median, oursModule, sleep, startChild } from './deflate/procs.js';
import { LOADGEN_CPU, SERVER_CPU } from './lib/pinning.js';
import type { Http2ServerStats } from './http2/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const ROUNDS = option('rounds', 3);
const SOCKETS = option('sockets', 2000);
const SESSIONS = option('sessions', 4);
const CONCURRENCY = option('concurrency', 64);
const CONNS = option('conns', 10);
const WARMUP_MS = option('warmup', 1) * 1000;
const WINDOW_MS = option('duration', 4) * 1000;
const ECHO = [
  { name: '1 KiB x 8', size: 1024, inflight: 8 },
  { name: '64 KiB x 4', size: 65536, inflight: 4 },
];

type Mode = 'h1' | 'h2c';
const MODES: Mode[] = ['h1', 'h2c'];

async function withProcesses<T>(mode: Mode, module: string, run: (server: Child, port: number, driver: Child) => Promise<T>): Promise<T> {
  const server = await startChild(
    `server ${mode}`,
    [process.execPath, '--expose-gc', '--import', 'tsx', join(root, 'benchmarks/http2/server.ts'), '--mode', mode, '--module', module],
    SERVER_CPU,
    root,
  );
  let driver: { child: Child } | null = null;
  try {
    driver = await startChild('driver', [process.execPath, '--import', 'tsx', join(root, 'benchmarks/http2/driver.ts'), '--module', module], LOADGEN_CPU, root);
    return await run(server.child, server.ready.port as number, driver.child);
  } finally {
    await driver?.child.stop();
    await server.child.stop();
  }
}

interface OpenResult {
  opensPerSecond: number;
  rssPerSocketKb: number;
  heapPerSocketKb: number;
  sessions: number;
  failed: number;
  serverCpuPct: number;
}

async function measureOpen(mode: Mode, module: string): Promise<OpenResult> {
  return withProcesses(mode, module, async (server, port, driver) => {
    const before = await server.request<Http2ServerStats>('stats', { gc: true });
    const opened = await driver.request<{ opened: number; failed: number; ms: number; firstError: string }>(
      'open',
      { port, mode, n: SOCKETS, sessions: SESSIONS, concurrency: CONCURRENCY },
      300_000,
    );
    const during = await server.request<Http2ServerStats>('stats', { gc: false });
    await sleep(500);
    const after = await server.request<Http2ServerStats>('stats', { gc: true });
    if (opened.failed > 0) console.log(`  ${mode}: ${opened.failed} sockets failed to open: ${opened.firstError}`);
    await driver.request('close-all', {}, 60_000);
    const n = Math.max(1, after.open);
    const cpuUs = during.cpuUserUs + during.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs;
    return {
      opensPerSecond: (opened.opened / opened.ms) * 1000,
      rssPerSocketKb: (after.rss - before.rss) / n / 1000,
      heapPerSocketKb: (after.heapUsed - before.heapUsed) / n / 1000,
      sessions: after.sessions,
      failed: opened.failed,
      serverCpuPct: (cpuUs / 1000 / opened.ms) * 100,
    };
  });
}

interface EchoResult {
  messagesPerSecond: number;
  mibPerSecond: number;
  serverCpuPct: number;
  driverCpuPct: number;
  wrong: number;
}

async function measureEcho(mode: Mode, module: string, size: number, inflight: number): Promise<EchoResult> {
  return withProcesses(mode, module, async (server, port, driver) => {
    const pending = driver.request<{ messages: number; seconds: number; bytes: number; wrong: number; cpuUs: number; error?: string }>(
      'echo',
      { port, mode, conns: CONNS, sessions: SESSIONS, inflight, size, warmupMs: WARMUP_MS, windowMs: WINDOW_MS },
      120_000,
    );
    // The server's CPU over (about) the driver's window: the open and the warm-up come first.
    await sleep(WARMUP_MS + 200);
    const s0 = await server.request<Http2ServerStats>('stats');
    const t0 = performance.now();
    await sleep(WINDOW_MS - 400);
    const s1 = await server.request<Http2ServerStats>('stats');
    const serverMs = performance.now() - t0;
    const r = await pending;
    if (r.error) throw new Error(`${mode} echo failed: ${r.error}`);
    return {
      messagesPerSecond: r.messages / r.seconds,
      mibPerSecond: r.bytes / r.seconds / 1048576,
      serverCpuPct: ((s1.cpuUserUs + s1.cpuSystemUs - s0.cpuUserUs - s0.cpuSystemUs) / 1000 / serverMs) * 100,
      driverCpuPct: (r.cpuUs / 1000 / (r.seconds * 1000)) * 100,
      wrong: r.wrong,
    };
  });
}

function spread(values: number[]): string {
  const m = median(values);
  if (values.length < 2 || !(m > 0)) return '';
  return `±${((((Math.max(...values) - Math.min(...values)) / 2) / m) * 100).toFixed(0)}%`;
}

function fmt(v: number, digits = 0): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const ours = oursModule(root);
  console.log(`WebSockets over HTTP/2 (RFC 8441) against HTTP/1.1 upgrades — ws6455 at both ends (${ours.note})`);
  console.log(
    `shared machine (2 cores, other developers' processes run too): numbers are noisy; ${ROUNDS} rounds, the modes alternating;` +
      ` ${SOCKETS} sockets (HTTP/2: on ${SESSIONS} sessions), ${CONCURRENCY} handshakes at a time; echo: ${CONNS} sockets, ${WINDOW_MS / 1000} s windows`,
  );
  const opens: Record<Mode, OpenResult[]> = { h1: [], h2c: [] };
  const echoes: Record<string, Record<Mode, EchoResult[]>> = {};
  for (const e of ECHO) echoes[e.name] = { h1: [], h2c: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const r = await measureOpen(mode, ours.path);
      opens[mode].push(r);
      console.log(`round ${round + 1} ${mode} open: ${fmt(r.opensPerSecond)}/s, ${fmt(r.rssPerSocketKb, 2)} kB RSS, ${fmt(r.heapPerSocketKb, 2)} kB heap per socket, ${r.sessions} sessions`);
    }
    for (const e of ECHO) {
      for (const mode of order) {
        const r = await measureEcho(mode, ours.path, e.size, e.inflight);
        echoes[e.name]?.[mode].push(r);
        console.log(`round ${round + 1} ${mode} echo ${e.name}: ${fmt(r.messagesPerSecond)} msg/s, ${fmt(r.mibPerSecond, 1)} MiB/s (server ${fmt(r.serverCpuPct)}%, driver ${fmt(r.driverCpuPct)}% CPU)`);
      }
    }
  }

  const rows: string[][] = [];
  const row = (label: string, unit: string, pick: (m: Mode) => number[], digits = 0): void => {
    const h1 = median(pick('h1'));
    const h2 = median(pick('h2c'));
    rows.push([label, unit, `${fmt(h1, digits)} ${spread(pick('h1'))}`, `${fmt(h2, digits)} ${spread(pick('h2c'))}`, `x${(h2 / h1).toFixed(2)}`]);
  };
  row('sockets opened per second', '/s', (m) => opens[m].map((r) => r.opensPerSecond));
  row('server RSS per open socket', 'kB', (m) => opens[m].map((r) => r.rssPerSocketKb), 2);
  row('server JS heap per open socket', 'kB', (m) => opens[m].map((r) => r.heapPerSocketKb), 2);
  row('server CPU while opening', '%', (m) => opens[m].map((r) => r.serverCpuPct));
  for (const e of ECHO) {
    const set = echoes[e.name] as Record<Mode, EchoResult[]>;
    row(`echo ${e.name}`, 'msg/s', (m) => set[m].map((r) => r.messagesPerSecond));
    row(`echo ${e.name}`, 'MiB/s', (m) => set[m].map((r) => r.mibPerSecond), 1);
    row(`  server CPU`, '%', (m) => set[m].map((r) => r.serverCpuPct));
    row(`  driver CPU`, '%', (m) => set[m].map((r) => r.driverCpuPct));
  }
  const header = ['', 'unit', 'HTTP/1.1', `HTTP/2 (h2c)`, 'h2c/h1'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log('');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`(medians of ${ROUNDS} rounds; ±: half the min-max range in % of the median; HTTP/2 sessions per open run: ${opens.h2c.map((r) => r.sessions).join(', ')})`);

  const out = join(root, 'benchmarks/results', `http2-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      { machine: machine(root), ours: ours.note, settings: { ROUNDS, SOCKETS, SESSIONS, CONCURRENCY, CONNS, WARMUP_MS, WINDOW_MS }, opens, echoes },
      null,
      2,
    ),
  );
  console.log(`results: ${relative(root, out)}`);
}

await main();
