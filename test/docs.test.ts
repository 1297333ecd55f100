/**
 * The API reference's check, in `npm test` so that an undocumented export fails the run that
 * every change goes through (and CI): TypeDoc, with the settings of `npm run docs`
 * (typedoc.config.mjs), converts every entry point of package.json's "exports" and validates the
 * comments: a symbol reachable from an entry point without documentation, a `{@link}` that does
 * not resolve, or a public signature naming a type that is not exported is a warning, and the
 * config makes such warnings errors. One TypeDoc run, its JSON model written to a temporary file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };

describe('API reference (TypeDoc)', () => {
  let dir = '';
  let status: number | null = null;
  let output = '';
  let modules: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ws6455-docs-'));
    const json = join(dir, 'api.json');
    const run = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typedoc/bin/typedoc'), '--options', 'typedoc.config.mjs', '--json', json, '--logLevel', 'Warn'],
      { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
    );
    status = run.status;
    output = `${run.stdout}${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    if (status === 0) {
      const model = JSON.parse(readFileSync(json, 'utf8')) as { children?: Array<{ name: string }> };
      modules = (model.children ?? []).map((m) => m.name);
    }
  }, 150_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('documents every exported symbol: no validation warning', () => {
    // The output names each undocumented symbol and where it is defined.
    expect(output.split('\n').filter((line) => /\[(warning|error)\]/.test(line))).toEqual([]);
    expect(status).toBe(0);
  });

  it('has one module per entry point in "exports", named as users import it (@module)', () => {
    const entries = Object.keys(pkg.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => `${pkg.name}${subpath.slice(1)}`);
    expect(modules.sort()).toEqual(entries.sort());
  });
});
