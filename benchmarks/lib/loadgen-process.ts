/**
 * Builds and runs the load generator. The C generator is compiled at run time with the system `cc`
 * (so nothing binary is checked in and it always matches loadgen.c); without a compiler the suite
 * falls back to the Node generator and says so in every result.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LOADGEN_CPU, pinnedCommand } from './pinning.js';

/** Which generator runs and how to start it. */
export interface LoadgenTool {
  kind: 'c' | 'node';
  argv: string[];
  note: string;
}

/** The final JSON line of a generator run (see loadgen.c for the meaning of each field). */
export interface LoadgenResult {
  mode: 'echo' | 'idle' | 'handshake';
  measured: boolean;
  seconds: number;
  messages: number;
  bytes: number;
  msgsPerSec: number;
  mibPerSec: number;
  handshakes: number;
  handshakesPerSec: number;
  upgraded: number;
  openAtEnd: number;
  cpuUser: number;
  cpuSys: number;
  /** The generator's CPU time over the window as % of one core: far below 100 means it had time to spare. */
  cpuPct: number;
  errors: number;
  sizeMismatch: number;
  /** Handshake mode: cycles where the server had not closed TCP 1 s after its Close frame. */
  clientClosedFirst?: number;
  firstError: string;
}

/** Compiles loadgen.c (cc -O2) into the git-ignored results folder, or falls back to node-loadgen.ts. */
export function prepareLoadgen(root: string): LoadgenTool {
  const src = join(root, 'benchmarks/loadgen/loadgen.c');
  const outDir = join(root, 'benchmarks/results/.bin');
  const bin = join(outDir, 'loadgen');
  mkdirSync(outDir, { recursive: true });
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { kind: 'c', argv: [bin], note: 'C (cc -O2, epoll)' };
  } catch (err) {
    const why = (err as { code?: string }).code === 'ENOENT' ? 'no cc found' : `cc failed: ${String(err)}`;
    return {
      kind: 'node',
      argv: [process.execPath, '--import', 'tsx', join(root, 'benchmarks/loadgen/node-loadgen.ts')],
      note: `Node fallback (${why}): results may be capped by the generator`,
    };
  }
}

/** Hooks called on the generator's progress lines. */
export interface LoadgenHooks {
  /** Warm-up is over and the counting window starts. */
  onMeasureStart?: () => void;
  /** Idle mode: all connections are open; call `release` to let the generator close them and exit. */
  onReady?: (release: () => void) => void;
  /** The window is over and the result printed; the generator now closes its connections. */
  onResult?: (result: LoadgenResult) => void;
}

/** Runs the generator pinned to its core and resolves with its result line. */
export function runLoadgen(
  tool: LoadgenTool,
  args: string[],
  hooks: LoadgenHooks,
  timeoutMs: number,
  cwd: string,
): Promise<LoadgenResult> {
  const [cmd, ...rest] = pinnedCommand([...tool.argv, ...args], LOADGEN_CPU);
  const child = spawn(cmd as string, rest, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    let result: LoadgenResult | null = null;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`load generator did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: { event?: string } & Record<string, unknown>;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.event === 'measure-start') hooks.onMeasureStart?.();
      else if (msg.event === 'ready') hooks.onReady?.(() => child.stdin.end());
      else if (msg.event === 'result') {
        result = msg as unknown as LoadgenResult;
        hooks.onResult?.(result);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`load generator exited with code ${code} and no result\n${stderr.trim()}`));
    });
  });
}
