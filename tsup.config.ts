import { defineConfig } from 'tsup';

/**
 * One entry per public subpath of package.json's "exports" (src/<name>/index.ts -> dist/<name>.*).
 * The code is built once, as CommonJS; scripts/esm-entries.mjs then writes the ES module entries
 * that re-export it (npm run build runs both). An entry for browsers (an ES module, no Node
 * built-ins) needs a config of its own (`format: ['esm']`, `clean: false`); that script leaves it
 * alone.
 */
const entry = {
  index: 'src/index.ts',
  hub: 'src/hub/index.ts',
  reconnect: 'src/reconnect/index.ts',
  router: 'src/router/index.ts',
  cluster: 'src/cluster/index.ts',
};

export default defineConfig({
  entry,
  format: ['cjs'],
  dts: true,
  clean: true,
  // No source maps: they doubled the package, and the shipped code is unminified, with the
  // source's names, so a stack trace into it reads as it is.
  sourcemap: false,
  target: 'node20',
  platform: 'node',
  // Code shared between entries goes into common chunks, so `ws6455/reconnect` uses the very same
  // WebSocket class as `ws6455`.
  splitting: true,
  treeshake: true,
});
