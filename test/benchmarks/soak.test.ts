/**
 * The soak run (benchmarks/soak.ts) for a few seconds at a small size: the runner, the server
 * under test in its own process and the driver in another, as `npm run soak` runs them. The
 * full run (10,000 connections, 30 minutes) is not for CI; this checks that the driver churns,
 * compresses, pings and counts, and that a lost echo fails the run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'ws6455-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SoakResult {
  code: number | null;
  output: string;
  json: {
    options: { conns: number };
    points: Array<{ t: number; server: { rss: number; heapUsed: number; fds: number; open: number; loopDelay: { p99: number } } }>;
    final: {
      totals: {
        opened: number;
        openedCompressed: number;
        closedClean: number;
        stalledEnded: number;
        sent: number;
        received: number;
        verified: number;
        lost: number;
        duplicates: number;
        mismatches: number;
        unexpectedEnds: number;
        handshakeFailures: number;
        pingsSent: number;
        pongsReceived: number;
      };
    };
    end: { open: number; closed: number; accepted: number; fds: number };
    verdict: { failures: string[]; slopes: { rss: { points: number } | null } };
  } | null;
}

/** Runs the soak with `args` (60 s at most) and reads its JSON. */
function soak(name: string, args: string[]): Promise<SoakResult> {
  const json = join(dir, `${name}.json`);
  const dist = join(root, 'dist/index.js');
  // The build `npm test` made (pretest); otherwise the runner bundles src/ itself.
  const env = existsSync(dist) ? { ...process.env, WS6455_MODULE: dist } : { ...process.env };
  const child = spawn(process.execPath, ['--import', 'tsx', 'benchmarks/soak.ts', ...args, '--json', json], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolveRun) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output, json: existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as SoakResult['json']) : null });
    });
  });
}

// Small and short: 60 connections (2 slow, 2 never reading), 40% compressed, 10% churn every
// 200 ms, pings every second, 5 s of load.
const SMALL = [
  '--conns', '60', '--duration', '5', '--rate', '10', '--churn-share', '0.1', '--compress-share', '0.4',
  '--slow', '2', '--stalled', '2', '--stalled-messages', '64', '--ping-interval', '1000', '--drain-timeout', '2000',
  '--verify-every', '2',
];

describe('soak run', () => {
  it('churns, compresses, pings and counts every echo for a few seconds', async () => {
    const { code, output, json } = await soak('ok', SMALL);
    expect(json, output).not.toBeNull();
    if (json === null) return;
    expect(json.verdict.failures, output).toEqual([]);
    expect(code, output).toBe(0);
    const t = json.final.totals;
    // Churn: more connections opened than kept open, and most of them closed cleanly.
    expect(t.opened).toBeGreaterThan(json.options.conns);
    expect(t.closedClean).toBeGreaterThan(0);
    expect(t.openedCompressed).toBeGreaterThan(0);
    expect(t.openedCompressed).toBeLessThan(t.opened);
    expect(t.stalledEnded).toBeGreaterThanOrEqual(2);
    // Every message counted: nothing lost, duplicated or altered, and echoes checked.
    expect(t.received).toBeGreaterThan(1000);
    expect(t.verified).toBeGreaterThan(0);
    expect([t.lost, t.duplicates, t.mismatches, t.unexpectedEnds, t.handshakeFailures]).toEqual([0, 0, 0, 0, 0]);
    expect(t.pingsSent).toBeGreaterThan(0);
    expect(t.pongsReceived).toBeGreaterThan(0);
    // The curves were sampled from the server process, and it is back to no connection.
    expect(json.points.length).toBeGreaterThanOrEqual(3);
    for (const p of json.points) {
      expect(p.server.rss).toBeGreaterThan(0);
      expect(p.server.fds).toBeGreaterThan(json.options.conns);
    }
    expect(json.verdict.slopes.rss?.points).toBeGreaterThanOrEqual(3);
    expect(json.end.open).toBe(0);
    expect(json.end.closed).toBe(json.end.accepted);
    expect(json.end.fds).toBeLessThan(json.options.conns);
  }, 90_000);

  it('fails when the server leaves echoes unanswered, and counts them lost', async () => {
    const { code, output, json } = await soak('drop', [...SMALL, '--duration', '3', '--drop-every', '97']);
    expect(code, output).toBe(1);
    expect(json, output).not.toBeNull();
    expect(json?.final.totals.lost).toBeGreaterThan(0);
    expect(json?.verdict.failures.some((f) => f.endsWith('echoes lost')), output).toBe(true);
  }, 90_000);
});
