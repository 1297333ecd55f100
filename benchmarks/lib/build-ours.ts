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
import { existsSync } from 'node:fs';
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
