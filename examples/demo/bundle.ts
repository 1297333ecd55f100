/**
 * The browser entry (`ws6455/browser`) as one ES module for the page: the built package's
 * `dist/browser.js` when `npm run build` made it, else the same entry bundled from the source
 * at start (esbuild, which tsx brings along), so that `npm ci && npm start` needs no build.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export async function browserBundle(): Promise<{ code: string; from: string }> {
  const built = `${root}dist/browser.js`;
  const entry = existsSync(built) ? built : `${root}src/browser/index.ts`;
  const { build } = await import('esbuild');
  // Bundled even from dist/: its shared chunks become part of the one file the page imports.
  const out = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  return { code: out.outputFiles[0]?.text ?? '', from: entry.slice(root.length) };
}
