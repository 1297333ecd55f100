/**
 * Scenario h, compressed echo, inside the main suite. The C generator does not speak
 * permessage-deflate, so this row borrows the pair of `bench:deflate`: deflate/server.ts (ws6455 or
 * `ws` with `perMessageDeflate: true`, default parameters, the usual echo handler) and the raw
 * net + node:zlib driver (deflate/driver.ts), which replays frames compressed once up front and so
 * leaves all the zlib work of the exchange to the server.
 *
 * Conventions are the other rows': a fresh server and a fresh driver for every measurement, pinned
 * to the server and generator cores, figures taken over a counting window after the warm-up.
 */
import { type Child, type DriverMark, type EchoStartReply, type EchoStopReply, type ServerHandle, sleep, startDriver, startServer } from '../deflate/procs.js';
import { readCpuTimes } from './cpu-load.js';
import { emptyRecord, recordForeignCpu, type RunRecord } from './measure.js';
import type { Budget, Scenario } from './scenarios.js';
import type { ServerSpec } from './server-process.js';

/** Distinct messages the driver cycles through; the same as bench:deflate's default. */
const SEQUENCE = 64;

/** Anything with a clock and CPU counters: the server's stats and the driver's marks both are. */
interface CpuSample {
  atMs: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

/** CPU used between two samples of one process, % of one core over its own clock. */
function cpuPct(a: CpuSample, b: CpuSample): number {
  const wallMs = b.atMs - a.atMs;
  return wallMs > 0 ? ((b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1000 / wallMs) * 100 : 0;
}

/** Starts the deflate server for `spec`, once more after 5 s if the first start fails (as withServer does). */
async function startFor(spec: ServerSpec, oursPath: string, root: string, rec: RunRecord): Promise<ServerHandle> {
  const impl = spec.deflateImpl;
  if (!impl) throw new Error(`${spec.label} does not compress; scenario h does not apply`);
  try {
    return await startServer(root, impl, oursPath, { env: spec.env });
  } catch (err) {
    rec.notes.push(`first start failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    await sleep(5000);
    return startServer(root, impl, oursPath, { env: spec.env });
  }
}

/**
 * One compressed-echo measurement: messages/s (or payload MiB/s) echoed over the window. A run
 * fails when an echo arrives uncompressed, differs from what was sent (the first connection inflates
 * and compares every echo), a connection drops, or the echoes do not drain after the window.
 */
export async function measureDeflate(
  scenario: Scenario,
  spec: ServerSpec,
  round: number,
  budget: Budget,
  oursPath: string,
  root: string,
): Promise<RunRecord> {
  const rec = emptyRecord(scenario, spec, round);
  let server: ServerHandle | null = null;
  let driver: Child | null = null;
  try {
    server = await startFor(spec, oursPath, root, rec);
    driver = await startDriver(root);
    if (spec.deflateImpl === 'ws') rec.extra.bufferutilLoaded = server.addons.bufferutil ? 1 : 0;
    const start = { port: server.port, conns: scenario.conns, inflight: scenario.inflight, size: scenario.size, sequence: SEQUENCE, noContextTakeover: false };
    const opened = await driver.request<EchoStartReply>('echo-start', start, 60_000);
    if (opened.error) throw new Error(opened.error);
    if (opened.failed > 0) throw new Error(`${opened.failed} of ${scenario.conns} connections failed to open: ${opened.firstFailure}`);

    await sleep(budget.warmup * 1000);
    const c0 = readCpuTimes();
    const [s0, d0] = await Promise.all([server.stats(false), driver.request<DriverMark>('mark')]);
    await sleep(budget.duration * 1000);
    const [s1, d1] = await Promise.all([server.stats(false), driver.request<DriverMark>('mark')]);
    const c1 = readCpuTimes();
    const stop = await driver.request<EchoStopReply>('echo-stop', {}, 60_000);

    const messages = d1.messages - d0.messages;
    const msgsPerSec = (messages / (d1.atMs - d0.atMs)) * 1000;
    const mibPerSec = (msgsPerSec * scenario.size) / 1048576;
    rec.serverCpuPct = cpuPct(s0, s1);
    rec.driver = {
      cpuPct: cpuPct(d0, d1),
      messages,
      compressedEchoes: d1.compressedEchoes - d0.compressedEchoes,
      wireRatio: messages > 0 ? (d1.wireBytesIn - d0.wireBytesIn) / (messages * scenario.size) : null,
      verified: stop.verified,
      mismatches: stop.mismatches,
    };
    recordForeignCpu(rec, c0, c1);
    rec.extra = { ...rec.extra, msgsPerSec, mibPerSec, serverRssKb: s1.rss / 1024 };

    const last = await server.stats(false);
    rec.serverMaxRssKb = last.peak.rss / 1024;
    rec.serverErrors = last.errors;
    if (last.errors > 0) rec.notes.push(`server saw ${last.errors} connection errors; first: ${last.firstError}`);
    if (stop.notClosed > 0) rec.notes.push(`${stop.notClosed} connections did not close within 10 s of the Close frame`);

    const problems: string[] = [];
    if (messages === 0) problems.push('no echoes in the window');
    if (rec.driver.compressedEchoes !== messages) problems.push(`${messages - rec.driver.compressedEchoes} echoes were not compressed`);
    if (stop.verified === 0) problems.push('no echo was inflated and checked');
    if (stop.mismatches > 0) problems.push(`${stop.mismatches} echoes differ from what was sent`);
    if (stop.errors > 0) problems.push(`${stop.errors} connection errors: ${stop.firstError}`);
    if (!stop.drained) problems.push('echoes still missing 10 s after the window');
    if (problems.length > 0) throw new Error(problems.join('; '));
    rec.value = scenario.unit === 'MiB/s' ? mibPerSec : msgsPerSec;
  } catch (err) {
    rec.value = null;
    rec.error = err instanceof Error ? err.message : String(err);
  }
  if (server?.child.exited) {
    rec.value = null;
    rec.error = `server ${server.child.exited} during the run${rec.error ? ` (${rec.error.split('\n')[0]})` : ''}; last output:\n${server.child.output}`;
  }
  await driver?.stop();
  await server?.child.stop();
  return rec;
}
