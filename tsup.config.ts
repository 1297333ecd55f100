import { defineConfig } from 'tsup';

export default defineConfig({
  // One entry per public subpath. Code shared between entries goes into common chunks (for CJS
  // too), so `ws6455/reconnect` uses the very same WebSocket class as `ws6455`.
  entry: {
    index: 'src/index.ts',
    hub: 'src/hub/index.ts',
    reconnect: 'src/reconnect/index.ts',
    router: 'src/router/index.ts',
    cluster: 'src/cluster/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: true,
  treeshake: true,
});
