/**
 * The load driver of the deflate benchmarks: a child process (pinned to its own core) that runs
 * raw permessage-deflate clients (wire.ts) against one echo server and answers the runner over
 * IPC. Every wait here is bounded in time and every loop in count.
 *
 * Requests (`{ id, cmd, ... }`), each answered with `{ id, ... }`:
 * - `churn` `{ port, count, concurrency, messages, size }`: runs `count` connections, at most
 *   `concurrency` at once; each sends `messages` compressed messages and ends in one of four
 *   ways (see {@link CHURN_KINDS}).
 * - `echo-start` `{ port, conns, inflight, size, sequence, noContextTakeover }`, `mark`,
 *   `echo-stop`: the throughput load;
 *   `mark` returns cumulative counters and this process's CPU time, the runner diffs two marks.
 * - `idle-open` `{ port, count }`, `idle-exchange`, `idle-close`: idle connections for the
 *   per-connection memory figure.
 *
 *   node --import tsx benchmarks/deflate/driver.ts   (started by the deflate benchmarks)
 */
import { clientClose, clientFrame, compressSequence, EchoInflater, jsonMessage, OFFER, OFFER_NO_CONTEXT, RawConn } from './wire.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Messages of one size: the plain texts and their frames (compressed as one sequence). */
interface MessageSet {
  plain: Buffer[];
  frames: Buffer[];
}

const sets = new Map<string, MessageSet>();

async function messageSet(size: number, count: number, noContextTakeover = false): Promise<MessageSet> {
  const key = `${size}x${count}${noContextTakeover ? '-nct' : ''}`;
  const cached = sets.get(key);
  if (cached) return cached;
  const plain = Array.from({ length: count }, (_, i) => jsonMessage(size, i + 1));
  const payloads = await compressSequence(plain, noContextTakeover);
  const set = { plain, frames: payloads.map((p) => clientFrame(0x1, p, true)) };
  sets.set(key, set);
  return set;
}

/** Waits for `predicate` (polled every 5 ms) at most `ms`; returns whether it held. */
async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

// ---- churn: open, exchange, close, many times ------------------------------------------------

/**
 * How a churned connection ends, per 20 connections: most close cleanly; some vanish while the
 * server is still inflating and deflating for them; one makes the server fail the connection on
 * invalid compressed data (1007), one on a decompression bomb (1009: the inflater is stopped
 * mid-message); one ends TCP without a close frame. Each is a path on which the server must
 * release its zlib streams.
 */
export const CHURN_KINDS = { clean: 15, abrupt: 2, invalid: 1, bomb: 1, halfClose: 1 } as const;
type ChurnKind = keyof typeof CHURN_KINDS;

function kindOf(i: number): ChurnKind {
  const r = i % 20;
  return r < 15 ? 'clean' : r < 17 ? 'abrupt' : r === 17 ? 'invalid' : r === 18 ? 'bomb' : 'halfClose';
}

const INVALID = clientFrame(0x1, Buffer.from([0xff, 0xee, 0xdd, 0xcc]), true);
/**
 * 8 MiB of zeros compressed from a fresh window (about 8 KiB): valid after any history, and 8
 * times the server's 1 MiB limit once inflated.
 */
let bombFrame: Buffer | null = null;
async function bomb(): Promise<Buffer> {
  bombFrame ??= clientFrame(0x2, ((await compressSequence([Buffer.alloc(8 * 1024 * 1024)])) as Buffer[])[0] as Buffer, true);
  return bombFrame;
}
const CONN_TIMEOUT_MS = 15_000;

/** One churned connection; resolves with null on the expected outcome, else what went wrong. */
function churnOne(port: number, kind: ChurnKind, set: MessageSet, bombFrame: Buffer): Promise<string | null> {
  return new Promise((resolve) => {
    const conn = new RawConn(port);
    let echoes = 0;
    let closeCode: number | null = null;
    let settled = false;
    const total = set.frames.length;
    const finish = (problem: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => finish(`${kind}: timed out (echoes ${echoes}/${total}, close ${closeCode})`), CONN_TIMEOUT_MS);
    conn.handler = {
      onMessage: () => {
        echoes++;
        if (kind === 'abrupt' && echoes === 1) {
          // Gone while the server still inflates and deflates the others.
          finish(null);
        } else if (kind === 'invalid' && echoes === 1) {
          conn.write(INVALID);
        } else if (kind === 'bomb' && echoes === 1) {
          conn.write(bombFrame);
        } else if (echoes === total) {
          if (kind === 'clean') conn.write(clientClose(1000));
          else if (kind === 'halfClose') conn.socket.end();
        }
      },
      onClose: (code) => {
        closeCode = code;
        if (kind === 'clean' && code !== 1000) finish(`clean: close ${code}`);
        if (kind === 'invalid' && code !== 1007) finish(`invalid: close ${code}, expected 1007`);
        if (kind === 'bomb' && code !== 1009) finish(`bomb: close ${code}, expected 1009`);
      },
      onGone: (err) => {
        if (kind === 'clean') finish(echoes === total && closeCode === 1000 ? null : `clean: gone (${err?.message ?? 'closed'}) echoes ${echoes}, close ${closeCode}`);
        else if (kind === 'invalid') finish(closeCode === 1007 ? null : `invalid: gone, close ${closeCode}`);
        else if (kind === 'bomb') finish(closeCode === 1009 ? null : `bomb: gone, close ${closeCode}`);
        else if (kind === 'halfClose') finish(echoes === total ? null : `halfClose: gone after ${echoes} echoes`);
        else finish(`abrupt: gone before the first echo (${err?.message ?? 'closed'})`);
      },
    };
    conn.opened.then(
      () => {
        if (kind === 'invalid' || kind === 'bomb') conn.write(set.frames[0] as Buffer);
        else for (const f of set.frames) conn.write(f);
      },
      (err: Error) => finish(`${kind}: handshake failed: ${err.message}`),
    );
  });
}

async function churn(req: { port: number; count: number; concurrency: number; messages: number; size: number; offset: number }) {
  const set = await messageSet(req.size, req.messages);
  const bombFrame = await bomb();
  const t0 = performance.now();
  const problems: string[] = [];
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    // Bounded by req.count.
    while (next < req.count) {
      const i = next++;
      const problem = await churnOne(req.port, kindOf(req.offset + i), set, bombFrame);
      if (problem !== null) {
        failed++;
        if (problems.length < 5) problems.push(problem);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.count) }, worker));
  return { done: req.count, failed, problems, ms: performance.now() - t0 };
}

// ---- echo throughput ---------------------------------------------------------------------------

interface EchoConn {
  conn: RawConn;
  sent: number;
  received: number;
  inflater: EchoInflater | null;
}

const echo = {
  conns: [] as EchoConn[],
  set: null as MessageSet | null,
  inflight: 0,
  stopping: false,
  messages: 0,
  wireBytesIn: 0,
  compressedEchoes: 0,
  verified: 0,
  mismatches: 0,
  errors: 0,
  firstError: '',
};

function noteError(message: string): void {
  echo.errors++;
  if (!echo.firstError) echo.firstError = message;
}

async function echoStart(req: { port: number; conns: number; inflight: number; size: number; sequence: number; noContextTakeover: boolean }) {
  const set = await messageSet(req.size, req.sequence, req.noContextTakeover);
  const offer = req.noContextTakeover ? OFFER_NO_CONTEXT : OFFER;
  Object.assign(echo, { conns: [], set, inflight: req.inflight, stopping: false, messages: 0, wireBytesIn: 0, compressedEchoes: 0, verified: 0, mismatches: 0, errors: 0, firstError: '' });
  const frames = set.frames;
  const opened = await Promise.allSettled(
    Array.from({ length: req.conns }, async (_, i) => {
      // The first connection inflates and checks every echo; the others count them.
      const conn = new RawConn(req.port, { keepPayloads: i === 0, offer });
      const ec: EchoConn = { conn, sent: 0, received: 0, inflater: i === 0 ? new EchoInflater() : null };
      const answer = await conn.opened;
      if (req.noContextTakeover && !answer.includes('server_no_context_takeover')) throw new Error(`no context takeover refused: ${answer}`);
      conn.handler = {
        onMessage: (compressed, bytes, payload) => {
          const k = ec.received++;
          echo.messages++;
          echo.wireBytesIn += bytes;
          if (compressed) echo.compressedEchoes++;
          if (ec.inflater !== null && payload !== null) {
            const expected = set.plain[k % set.plain.length] as Buffer;
            ec.inflater.push(payload, compressed, (m) => {
              if (m.equals(expected)) echo.verified++;
              else echo.mismatches++;
            });
          }
          if (!echo.stopping) {
            conn.write(frames[ec.sent % frames.length] as Buffer);
            ec.sent++;
          }
        },
        onClose: (code) => {
          if (!echo.stopping) noteError(`server closed with ${code}`);
        },
        onGone: (err) => {
          if (!echo.stopping) noteError(`connection lost: ${err?.message ?? 'closed'}`);
        },
      };
      echo.conns.push(ec);
      return ec;
    }),
  );
  const failed = opened.filter((r) => r.status === 'rejected');
  for (const ec of echo.conns) {
    for (let j = 0; j < req.inflight; j++) {
      ec.conn.write(frames[ec.sent % frames.length] as Buffer);
      ec.sent++;
    }
  }
  return { opened: echo.conns.length, failed: failed.length, firstFailure: failed[0] ? String((failed[0] as PromiseRejectedResult).reason) : '' };
}

function mark() {
  const cpu = process.cpuUsage();
  return {
    atMs: performance.now(),
    messages: echo.messages,
    wireBytesIn: echo.wireBytesIn,
    compressedEchoes: echo.compressedEchoes,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    errors: echo.errors,
  };
}

async function closeAll(conns: RawConn[], ms: number): Promise<number> {
  for (const c of conns) c.write(clientClose(1000));
  await until(() => conns.every((c) => c.gone), ms);
  const left = conns.filter((c) => !c.gone).length;
  for (const c of conns) c.destroy();
  return left;
}

async function echoStop() {
  echo.stopping = true;
  const drained = await until(() => echo.conns.every((c) => c.received >= c.sent), 10_000);
  const checker = echo.conns[0]?.inflater;
  if (checker) await Promise.race([checker.settled(), sleep(10_000)]);
  checker?.close();
  const notClosed = await closeAll(
    echo.conns.map((c) => c.conn),
    10_000,
  );
  return {
    drained,
    notClosed,
    verified: echo.verified,
    mismatches: echo.mismatches,
    compressedEchoes: echo.compressedEchoes,
    messages: echo.messages,
    errors: echo.errors,
    firstError: echo.firstError,
  };
}

// ---- idle connections ------------------------------------------------------------------------

const idle = { conns: [] as RawConn[] };

async function idleOpen(req: { port: number; count: number }) {
  idle.conns = [];
  let failed = 0;
  let firstFailure = '';
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < req.count) {
      next++;
      const conn = new RawConn(req.port);
      try {
        await conn.opened;
        idle.conns.push(conn);
      } catch (err) {
        failed++;
        if (!firstFailure) firstFailure = (err as Error).message;
        conn.destroy();
      }
    }
  };
  // 100 handshakes in flight at a time keep the accept queue short.
  await Promise.all(Array.from({ length: Math.min(100, req.count) }, worker));
  return { opened: idle.conns.length, failed, firstFailure };
}

async function idleExchange(req: { size: number }) {
  const set = await messageSet(req.size, 1);
  let echoed = 0;
  for (const conn of idle.conns) {
    conn.handler = { onMessage: () => void echoed++ };
    conn.write(set.frames[0] as Buffer);
  }
  const ok = await until(() => echoed === idle.conns.length, 60_000);
  return { echoed, ok };
}

async function idleClose() {
  const notClosed = await closeAll(idle.conns, 30_000);
  idle.conns = [];
  return { notClosed };
}

// ---- IPC -------------------------------------------------------------------------------------

type Request = { id: number; cmd: string } & Record<string, unknown>;

const handlers: Record<string, (req: never) => Promise<unknown> | unknown> = {
  churn,
  'echo-start': echoStart,
  mark,
  'echo-stop': echoStop,
  'idle-open': idleOpen,
  'idle-exchange': idleExchange,
  'idle-close': idleClose,
};

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
