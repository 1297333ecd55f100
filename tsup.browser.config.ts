import { defineConfig } from 'tsup';

/**
 * `ws6455/browser`: one standalone ES module for browsers (dist/browser.js and its declarations
 * dist/browser.d.ts), built after tsup.config.ts (npm run build runs `tsup` first, which cleans
 * dist/, then this config, then scripts/esm-entries.mjs, which leaves an entry built as an ES
 * module alone). A page can load it as is (`<script type="module">`), so it imports nothing:
 * no shared chunk, no Node built-in (test/browser/bundle.test.ts walks the built file).
 * Unminified, as the Node build, so that a stack trace reads as the source; its minified and
 * gzipped size is measured by that test and stated in the README.
 */
export default defineConfig({
  entry: { browser: 'src/browser/index.ts' },
  format: ['esm'],
  dts: true,
  // tsup.config.ts has just cleaned dist/ and written the Node build there.
  clean: false,
  sourcemap: false,
  platform: 'browser',
  // What current browsers all run (class fields, `??`, `?.`); no downlevelling beyond that.
  target: 'es2022',
  splitting: false,
  treeshake: true,
});
