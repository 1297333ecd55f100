/**
 * The browser entry (`ws6455/browser`) for the page, as one ES module that imports nothing:
 * the package's own `dist/browser.js` when `npm run build` made it (served as is), else the
 * same entry bundled from the source at start with esbuild (a devDependency), so that
 * `npm ci && npm start` needs no build step.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The module's text and where it came from (`dist/browser.js` or `src/browser/index.ts`). */
export async function browserBundle(): Promise<{ code: string; from: string }> {
  const built = `${root}dist/browser.js`;
  if (existsSync(built)) return { code: readFileSync(built, 'utf8'), from: 'dist/browser.js' };
  const { build, stop } = await import('esbuild');
  const out = await build({
    entryPoints: [`${root}src/browser/index.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  await stop(); // its helper process is not needed any more
  return { code: out.outputFiles[0]?.text ?? '', from: 'src/browser/index.ts' };
}
