/**
 * Locates ws6455 and makes it importable by the echo server.
 *
 * By default it is bundled with tsup (ESM, node20, no .d.ts) into benchmarks/results/.build/, because
 * that is the code users run: the same bundler the package ships with, and no tsx loader between the
 * benchmark and the library. It deliberately does not write dist/ (the real build, with clean and
 * dts, belongs to `npm run build`), and skipping dts keeps a type error in work-in-progress code from
 * blocking a benchmark. `--ours=tsx` imports src/index.ts through tsx instead (no build step; the
 * transform is esbuild's either way, so the speed should match: a gap between the two is a finding).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where ours comes from for this run. */
export interface OursBuild {
  /** Absolute path to import, or null when src/index.ts does not exist yet. */
  modulePath: string | null;
  how: 'tsup' | 'tsx' | 'absent';
  note: string;
}

/** Builds (or points at) ws6455; never throws: a failed build is reported and falls back to tsx. */
export function prepareOurs(root: string, prefer: 'build' | 'tsx'): OursBuild {
  const entry = join(root, 'src/index.ts');
  if (!existsSync(entry)) return { modulePath: null, how: 'absent', note: 'src/index.ts does not exist yet' };
  if (prefer === 'tsx') return { modulePath: entry, how: 'tsx', note: 'src/index.ts via tsx' };
  const outDir = join(root, 'benchmarks/results/.build/ours');
  const tsup = join(root, 'node_modules/.bin/tsup');
  try {
    execFileSync(
      tsup,
      [entry, '--no-config', '--format', 'esm', '--target', 'node20', '--platform', 'node', '--out-dir', outDir, '--silent'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
    );
    const built = join(outDir, 'index.js');
    if (existsSync(built)) return { modulePath: built, how: 'tsup', note: 'tsup bundle of src/index.ts (ESM)' };
    throw new Error(`tsup produced no ${built}`);
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err);
    return { modulePath: entry, how: 'tsx', note: `tsup build failed, using tsx: ${stderr.slice(0, 300)}` };
  }
}

/**
 * Builds ws6455 as it was at a git revision (`--baseline REF`), so that a change is measured
 * against its parent in the same run, alternating with the current code: before/after pairs on
 * the same machine state instead of two runs minutes apart. The revision's `src/` is extracted
 * with `git archive` into benchmarks/results/.build/ (once per commit) and bundled as above.
 *
 * @returns The bundle and the commit it was built from; throws when the revision or its build fails.
 */
export function prepareBaseline(root: string, ref: string): { modulePath: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const dir = join(root, 'benchmarks/results/.build', `baseline-${commit.slice(0, 12)}`);
  const built = join(dir, 'out/index.js');
  if (existsSync(built)) return { modulePath: built, commit };
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', commit, 'src'], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  execFileSync(
    join(root, 'node_modules/.bin/tsup'),
    [join(dir, 'src/index.ts'), '--no-config', '--format', 'esm', '--target', 'node20', '--platform', 'node', '--out-dir', join(dir, 'out'), '--silent'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
  );
  if (!existsSync(built)) throw new Error(`tsup produced no ${built}`);
  return { modulePath: built, commit };
}
