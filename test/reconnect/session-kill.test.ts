/**
 * The client's session mode against a server that dies: a WebSocketServer with sessions and
 * the memory store in a child process, killed with SIGKILL twice while a ReconnectingWebSocket
 * in session mode sends about one message per millisecond, and started again on the same port.
 * The new server does not know the session: the client must be told (`reset`,
 * WS_SESSION_UNKNOWN), start a new session, and reject every send the lost session had not
 * had acknowledged. What each server delivered is in a file it wrote before acknowledging, so
 * the test counts: acknowledged and delivered, acknowledged and lost (must be 0), rejected,
 * neither (silently lost, must be 0), delivered twice (must be 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionError } from '../../src/index.js';
import { ReconnectingWebSocket, type RejectedSend } from '../../src/reconnect/index.js';
import { delay, onCleanup, runCleanups, until } from '../node/helpers.js';

afterEach(runCleanups);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixture/session-server.ts', import.meta.url));

/** Starts the fixture server on `port` (0: any), appending to `log`; resolves with it and its port. */
async function startServer(port: number, log: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), LOG: log },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  onCleanup(() => proc.kill('SIGKILL'));
  // tsx compiles the sources first and the machine may be busy: a generous bound.
  const listening = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fixture server did not start within 30 s')), 30_000);
    proc.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the fixture server exited (${String(code)})`));
    });
  });
  return { proc, port: listening };
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGKILL');
  await exited;
}

describe('session mode against a server killed with SIGKILL (memory store)', () => {
  it('reset WS_SESSION_UNKNOWN twice; nothing acknowledged lost, nothing silently lost, nothing doubled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws6455-kill-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'delivered.log');
    let server = await startServer(0, log);
    const port = server.port;

    const rws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}`, { minDelay: 10, maxDelay: 100, session: { ackDelay: 5 } });
    rws.on('error', () => {});
    onCleanup(() => rws.close());
    const resets: Array<{ code: string; rejected: number[]; sessionId: string | null }> = [];
    rws.on('reset', (err: SessionError, rejected: readonly RejectedSend[]) => {
      resets.push({ code: err.code, rejected: rejected.map((r) => Number(String(r.data).slice(2))), sessionId: rws.sessionId });
    });
    const sessions: Array<{ id: string; resumed: boolean }> = [];
    rws.on('session', (info) => sessions.push(info));
    /** Echoes from the server: per session id, their sequence numbers. */
    const echoes: Array<{ session: string | null; seq: number; text: string }> = [];
    rws.on('message', (data, _isBinary, info) => echoes.push({ session: rws.sessionId, seq: info?.seq ?? -1, text: String(data) }));

    const TOTAL = 3000;
    const KILL_AT = [1000, 2000];
    const acknowledged = new Set<number>();
    const rejected = new Map<number, string>();
    const settled: Array<Promise<void>> = [];
    const deadline = Date.now() + 120_000; // a bound on the loop, not a timing assertion
    let restarting: Promise<void> = Promise.resolve();
    let kills = 0;
    for (let i = 0; i < TOTAL && Date.now() < deadline; i++) {
      if (KILL_AT.includes(i)) {
        await restarting;
        // Killed, down for a while, then back on the same port; the client keeps sending meanwhile.
        const dying = server.proc;
        kills += 1;
        restarting = kill(dying).then(async () => {
          await delay(50);
          server = await startServer(port, log);
        });
      }
      // About one message per millisecond, held back while the resend buffer is half full.
      while (rws.unacknowledged >= 500 && Date.now() < deadline) await delay(5);
      settled.push(
        rws.send(`c:${i}`).then(
          () => void acknowledged.add(i),
          (err: SessionError) => void rejected.set(i, err.code),
        ),
      );
      if (i % 4 === 0) await delay(1);
    }
    await restarting;
    await Promise.race([Promise.all(settled), delay(30_000)]);
    await until(() => rws.unacknowledged === 0, 10_000, 'the last acknowledgements');
    await kill(server.proc);

    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    const delivered = lines.map((l) => Number(l.slice(2)));
    const deliveredSet = new Set(delivered);
    const ackedLost = [...acknowledged].filter((i) => !deliveredSet.has(i));
    const silent: number[] = [];
    for (let i = 0; i < TOTAL; i++) if (!acknowledged.has(i) && !rejected.has(i)) silent.push(i);
    const rejectedDelivered = [...rejected.keys()].filter((i) => deliveredSet.has(i));
    const bySession = new Map<string, number[]>();
    for (const e of echoes) bySession.set(e.session ?? '', [...(bySession.get(e.session ?? '') ?? []), e.seq]);
    const echoSeqBroken = [...bySession.values()].filter((seqs) => !seqs.every((seq, k) => seq === k + 1)).length;
    const result = {
      kills,
      sent: TOTAL,
      acknowledged: acknowledged.size,
      delivered: deliveredSet.size,
      acknowledgedLost: ackedLost.length,
      rejected: rejected.size,
      rejectedButDelivered: rejectedDelivered.length,
      silentlyLost: silent.length,
      duplicated: delivered.length - deliveredSet.size,
      resets: resets.map((r) => `${r.code} (${r.rejected.length} rejected)`),
      sessions: sessions.length,
      resumed: sessions.filter((s) => s.resumed).length,
      echoes: echoes.length,
      echoSeqBroken,
    };
    console.log(`session mode, server killed twice: ${JSON.stringify(result)}`);
    // Nothing acknowledged was lost; nothing was left unsettled; nothing arrived twice.
    expect(ackedLost).toEqual([]);
    expect(silent).toEqual([]);
    expect(result.duplicated).toBe(0);
    expect(delivered.every((v, k) => k === 0 || v > (delivered[k - 1] as number))).toBe(true);
    // Told twice that the session could not be resumed, with the code, and a new session each time.
    expect(resets.map((r) => r.code)).toEqual(['WS_SESSION_UNKNOWN', 'WS_SESSION_UNKNOWN']);
    expect(sessions.filter((s) => !s.resumed).length).toBe(3);
    expect(new Set(sessions.map((s) => s.id)).size).toBe(3);
    // What each reset rejected is exactly what was rejected, all with its code.
    expect(resets.flatMap((r) => r.rejected).sort((a, b) => a - b)).toEqual([...rejected.keys()].sort((a, b) => a - b));
    expect([...new Set(rejected.values())]).toEqual(['WS_SESSION_UNKNOWN']);
    expect(rejected.size).toBeGreaterThan(0);
    expect(acknowledged.size + rejected.size).toBe(TOTAL);
    expect(echoSeqBroken).toBe(0);
    expect(kills).toBe(2);
  }, 200_000);
});
