/**
 * Broadcast benchmark: one 1 KiB message to 1,000 and to 10,000 connections, ws6455's
 * `Hub.broadcast` (framed once) side by side with the usual `ws` loop
 * (`for (const c of wss.clients) c.send(data)`) and the same loop on ws6455, in the same run;
 * then the compression trade-off (shared vs per-recipient permessage-deflate).
 *
 *   npx tsx benchmarks/broadcast.ts            # about four minutes
 *   npx tsx benchmarks/broadcast.ts --quick    # 1,000 connections only, fewer messages
 *   options: --conns 1000,10000  --impls ours-hub,ws-loop,ours-loop  --no-deflate  --only-deflate
 *
 * Every process runs on 127.0.0.1: the server (one per run, with its open-file limit raised to
 * the hard limit), and receivers that open the connections by hand and only count frames, so
 * they cost the same whatever the server. Measured:
 * - time to deliver: from the broadcast call until every connection has the message (median
 *   and p90 of 10 single broadcasts);
 * - throughput: M broadcasts, one per event-loop turn; deliveries per second until every
 *   connection has all of them; server CPU per broadcast; server peak RSS.
 * Every wait is bounded; a run that does not finish in time is reported as such.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');
function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const connsOption = option('conns')?.split(',').map(Number);
const implsOption = option('impls')?.split(',') as Impl[] | undefined;
const TIMEOUT = 120_000;

type Impl = 'ours-hub' | 'ours-loop' | 'ws-loop';

interface Run {
  impl: Impl;
  conns: number;
  broadcasts: number;
  deflate: 'off' | 'shared' | 'own';
  /** Message size (default 1 KiB). */
  size?: number;
  /** Connections that never read (slow consumers), and the hub's drop high-water mark then. */
  stalled?: number;
  hwm?: number;
  /** A new Buffer per broadcast (as when each update is serialised) instead of 64 reused ones. */
  fresh?: boolean;
  /** Milliseconds between broadcasts in the throughput round (default: one per event-loop turn). */
  every?: number;
}

interface Result {
  run: Run;
  ok: boolean;
  note: string;
  latencyMedianMs: number;
  latencyP90Ms: number;
  deliveriesPerSecond: number;
  totalMs: number;
  cpuMsPerBroadcast: number;
  peakRssMiB: number;
  wireBytesPerMessage: number;
}

/** A child process with a queue of IPC messages and bounded waits. */
class Child {
  private readonly inbox: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<() => void> = [];
  readonly proc: ChildProcess;
  private exited: string | null = null;
  stderr = '';

  constructor(script: string, args: string[]) {
    // Node cannot raise its own open-file limit: the shell does it before exec.
    const command = `ulimit -n $(ulimit -Hn) 2>/dev/null; exec "${process.execPath}" --import tsx ${script} ${args.join(' ')}`;
    this.proc = spawn('sh', ['-c', command], { cwd: root, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.proc.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
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
    this.proc.send(m);
  }

  /** Removes and returns the first message matching `test`, waiting up to `ms`. */
  async take(test: (m: Record<string, unknown>) => boolean, ms = TIMEOUT): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex(test);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Record<string, unknown>;
      if (this.exited !== null) throw new Error(`child ${this.exited}: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Discards queued messages matching `test`. */
  drop(test: (m: Record<string, unknown>) => boolean): void {
    for (let i = this.inbox.length - 1; i >= 0; i--) if (test(this.inbox[i] as Record<string, unknown>)) this.inbox.splice(i, 1);
  }

  kill(): void {
    if (this.exited === null) this.proc.kill('SIGKILL');
  }
}

/**
 * 64 different messages of exactly 1 KiB of JSON-like text, used in turn: compressible as real
 * broadcasts are, and not identical to one another (a compressor that keeps context would
 * otherwise shrink a repeated message to a few bytes).
 */
function payloads(size: number): string[] {
  let seed = 42;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return Array.from({ length: 64 }, () => {
    let s = '{"type":"tick","items":[';
    for (let i = 0; s.length < size; i++) s += `{"id":${i},"price":${(100 + rand() * 50).toFixed(2)},"qty":${Math.floor(rand() * 1000)}},`;
    return `${s.slice(0, size - 2)}]}`;
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] ?? NaN;

async function measure(run: Run): Promise<Result> {
  const result: Result = {
    run,
    ok: false,
    note: '',
    latencyMedianMs: NaN,
    latencyP90Ms: NaN,
    deliveriesPerSecond: NaN,
    totalMs: NaN,
    cpuMsPerBroadcast: NaN,
    peakRssMiB: NaN,
    wireBytesPerMessage: NaN,
  };
  const serverArgs = ['--impl', run.impl, '--deflate', run.deflate === 'off' ? 'off' : 'on'];
  if (run.hwm !== undefined) serverArgs.push('--hwm', String(run.hwm));
  const server = new Child('benchmarks/lib/broadcast-server.ts', serverArgs);
  const receivers: Child[] = [];
  try {
    const { port } = (await server.take((m) => m.type === 'listening', 20_000)) as { port: number };
    const parts = run.conns >= 5000 ? 2 : 1;
    for (let i = 0; i < parts; i++) {
      const offer = run.deflate === 'off' ? 'none' : run.deflate;
      const stalled = i === 0 ? (run.stalled ?? 0) : 0;
      receivers.push(
        new Child('benchmarks/lib/broadcast-receiver.ts', ['--port', String(port), '--conns', String(run.conns / parts), '--offer', offer, '--stalled', String(stalled)]),
      );
    }
    for (const r of receivers) {
      const ready = await r.take((m) => m.type === 'ready', 60_000);
      if (run.deflate !== 'off' && ready.deflated !== run.conns / parts) throw new Error('permessage-deflate was not negotiated');
    }
    const texts = payloads(run.size ?? 1024);
    let k = 0;
    /** Broadcasts `count` messages and returns when each receiver reported all of them. */
    const cpuNow = async (): Promise<{ ms: number; peakRss: number }> => {
      server.send({ type: 'cpu' });
      return (await server.take((m) => m.type === 'cpu')) as { ms: number; peakRss: number };
    };
    /**
     * Broadcasts `count` messages and waits until every reading connection has them all, or
     * until nothing more arrives for 3 s (a drop policy skipped some): `reached` tells which.
     */
    const round = async (count: number, every = 0): Promise<{ t0: number; done: number; reached: number; cpuMs: number; peakRss: number }> => {
      const cpu = await cpuNow();
      server.send({ type: 'broadcast', count, payloads: texts, fresh: run.fresh === true, every });
      const start = k;
      const target = k + count;
      let done = 0;
      let reached = target;
      for (const r of receivers) {
        let last = { k: start, t: 0 };
        while (last.k < target) {
          try {
            last = (await r.take((m) => m.type === 'all', 3000)) as { k: number; t: number };
          } catch (err) {
            if ((err as Error).message !== 'timed out') throw err;
            break;
          }
        }
        done = Math.max(done, last.t);
        reached = Math.min(reached, last.k);
      }
      k = reached;
      const b = (await server.take((m) => m.type === 'broadcasted')) as { t0: number };
      // Server CPU (all threads, zlib's included) from the first broadcast until all arrived.
      const after = await cpuNow();
      return { t0: b.t0, done, reached: reached - start, cpuMs: after.ms - cpu.ms, peakRss: after.peakRss };
    };
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await round(1);
      latencies.push(r.done - r.t0);
    }
    result.latencyMedianMs = median(latencies);
    result.latencyP90Ms = p90(latencies);
    const before = await Promise.all(receivers.map(async (r) => (r.send({ type: 'bytes' }), (await r.take((m) => m.type === 'bytes')).bytes as number)));
    const t = await round(run.broadcasts, run.every ?? 0);
    const after = await Promise.all(receivers.map(async (r) => (r.send({ type: 'bytes' }), (await r.take((m) => m.type === 'bytes')).bytes as number)));
    const wire = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
    result.totalMs = t.done - t.t0;
    const readers = run.conns - (run.stalled ?? 0);
    // Deliveries that every reader got (a reader that missed some counts only up to its gap).
    result.deliveriesPerSecond = (t.reached * readers) / (result.totalMs / 1000);
    if (t.reached < run.broadcasts) result.note = `readers got ${t.reached} of ${run.broadcasts}`;
    result.cpuMsPerBroadcast = t.cpuMs / run.broadcasts;
    result.peakRssMiB = t.peakRss / 2 ** 20;
    result.wireBytesPerMessage = wire / (run.broadcasts * readers);
    result.ok = true;
  } catch (err) {
    result.note = (err as Error).message.split('\n')[0] ?? 'failed';
  } finally {
    for (const r of receivers) r.kill();
    server.kill();
  }
  return result;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
}

function table(results: Result[], extra = false): void {
  const head = ['impl', 'conns', 'deflate', 'deliver p50 ms', 'p90 ms', 'deliveries/s', 'total ms', 'CPU ms/broadcast', 'peak RSS MiB'];
  if (extra) head.push('wire B/msg');
  const rows = results.map((r) => {
    const row = [
      r.run.impl,
      fmt(r.run.conns),
      r.run.deflate,
      fmt(r.latencyMedianMs, 1),
      fmt(r.latencyP90Ms, 1),
      fmt(r.deliveriesPerSecond),
      fmt(r.totalMs),
      fmt(r.cpuMsPerBroadcast, 2),
      fmt(r.peakRssMiB),
    ];
    if (extra) row.push(fmt(r.wireBytesPerMessage, 0));
    if (r.note !== '') row.push(`(${r.note})`);
    return row;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

function ratios(results: Result[]): void {
  for (const conns of [...new Set(results.map((r) => r.run.conns))]) {
    const hub = results.find((r) => r.run.conns === conns && r.run.impl === 'ours-hub' && r.ok);
    const ws = results.find((r) => r.run.conns === conns && r.run.impl === 'ws-loop' && r.ok);
    if (hub === undefined || ws === undefined) continue;
    console.log(
      `${fmt(conns)} connections, Hub.broadcast / ws loop: deliveries/s ×${fmt(hub.deliveriesPerSecond / ws.deliveriesPerSecond, 2)}, ` +
        `time to deliver (p50) ×${fmt(hub.latencyMedianMs / ws.latencyMedianMs, 2)}, server CPU per broadcast ×${fmt(hub.cpuMsPerBroadcast / ws.cpuMsPerBroadcast, 2)}`,
    );
  }
}

async function main(): Promise<void> {
  const sizes = connsOption ?? (quick ? [1000] : [1000, 10_000]);
  const impls = implsOption ?? (['ours-hub', 'ws-loop', 'ours-loop'] as const);
  console.log(`Broadcast of 1 KiB (binary) on 127.0.0.1, Node ${process.version}${quick ? ', quick' : ''}\n`);
  const plain: Result[] = [];
  for (const conns of process.argv.includes('--only-deflate') ? [] : sizes) {
    const broadcasts = Math.max(50, Math.floor((quick ? 300_000 : 1_000_000) / conns));
    for (const impl of impls) {
      const r = await measure({ impl, conns, broadcasts, deflate: 'off' });
      plain.push(r);
      process.stdout.write('.');
    }
  }
  if (plain.length > 0) {
    console.log('\n');
    table(plain);
    console.log('');
    ratios(plain);
  }
  if (process.argv.includes('--no-deflate')) return;

  console.log('\npermessage-deflate, 1,000 connections: shared compression (clients agreed to server_no_context_takeover)');
  console.log('vs per-recipient compression (context takeover on our side: one zlib job per recipient)\n');
  const broadcasts = quick ? 100 : 300;
  const deflate: Result[] = [];
  for (const [impl, mode] of [
    ['ours-hub', 'shared'],
    ['ours-hub', 'own'],
    ['ws-loop', 'shared'],
    ['ws-loop', 'own'],
  ] as const) {
    deflate.push(await measure({ impl, conns: 1000, broadcasts, deflate: mode }));
    process.stdout.write('.');
  }
  console.log('\n');
  table(deflate, true);
  const shared = deflate[0];
  const own = deflate[1];
  if (shared?.ok && own?.ok) {
    console.log(
      `\nshared / per-recipient (ours): deliveries/s ×${fmt(shared.deliveriesPerSecond / own.deliveriesPerSecond, 1)}, ` +
        `server CPU per broadcast ×${fmt(shared.cpuMsPerBroadcast / own.cpuMsPerBroadcast, 3)}, ` +
        `wire bytes per message ${fmt(shared.wireBytesPerMessage)} vs ${fmt(own.wireBytesPerMessage)}`,
    );
    const wsShared = deflate[2];
    if (wsShared?.ok) {
      console.log(
        `Hub shared compression / ws loop (ws compresses per recipient even without context takeover): ` +
          `deliveries/s ×${fmt(shared.deliveriesPerSecond / wsShared.deliveriesPerSecond, 1)}, server CPU per broadcast ×${fmt(shared.cpuMsPerBroadcast / wsShared.cpuMsPerBroadcast, 3)}`,
      );
    }
  }
  if (process.argv.includes('--no-slow')) return;
  // Loopback lets a receiver that stopped reading absorb tens of MiB in kernel buffers (Linux
  // autotunes tcp_rmem up to 32 MiB), so the messages must be large for user space to notice.
  console.log('\nSlow consumers: 20 connections of which 4 never read; 3,000 new messages of 48 KiB, one every 2 ms (144 MiB');
  console.log('per connection). Both share each message between recipients; the ws loop keeps every message a stalled');
  console.log('recipient has not taken alive, the Hub (drop policy, 1 MiB high-water mark) stops queueing for it.\n');
  const slow: Result[] = [];
  for (const impl of ['ours-hub', 'ws-loop'] as const) {
    const run: Run = { impl, conns: 20, broadcasts: 3000, deflate: 'off', size: 48 * 1024, stalled: 4, hwm: 1024 * 1024, fresh: true, every: 2 };
    slow.push(await measure(run));
    process.stdout.write('.');
  }
  console.log('\n');
  table(slow);
  const [hubSlow, wsSlow] = slow;
  if (hubSlow?.ok && wsSlow?.ok) {
    console.log(
      `\nwith slow consumers, Hub / ws loop: peak RSS ×${fmt(hubSlow.peakRssMiB / wsSlow.peakRssMiB, 2)}, ` +
        `deliveries/s to the 16 readers ×${fmt(hubSlow.deliveriesPerSecond / wsSlow.deliveriesPerSecond, 2)}`,
    );
  }
}

await main();
