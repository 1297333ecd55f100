// The API reference (`npm run docs` writes it to docs/, which is not committed) and its check
// (`npm run docs:check`, and test/docs.test.ts in `npm test`): every symbol reachable from a
// public entry point must carry a doc comment, and every {@link} must resolve.
//
// The entry points are read from package.json's "exports": every subpath listed there is
// documented, from src/<name>/index.ts ("." from src/index.ts). A new entry point is added to
// "exports" anyway, so it is in the reference without a change here; an entry whose source does
// not follow that layout gets one line in SOURCES.
import { readFileSync } from 'node:fs';

/** Subpaths whose source is not src/<name>/index.ts: subpath -> source file. */
const SOURCES = {
  '.': 'src/index.ts',
};

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
export const entryPoints = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => SOURCES[subpath] ?? `src/${subpath.slice(2)}/index.ts`);

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'ws6455',
  entryPoints,
  entryPointStrategy: 'resolve',
  plugin: ['./typedoc.plugin.mjs'],
  tsconfig: 'tsconfig.docs.json',
  // Types are checked by `npm run typecheck`; here only the comments are.
  skipErrorChecking: true,
  out: 'docs',
  readme: 'none',
  includeVersion: true,
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  excludeExternals: true,
  // Internal types that public signatures mention; users never name them.
  intentionallyNotExported: [
    // src/index.ts: the type of the WebSocket class value (the class and its statics).
    'WebSocketModule',
    // src/router/peer.ts: what a RouterPeer needs from its Router.
    'Dispatcher',
  ],
  sort: ['kind', 'instance-first', 'alphabetical-ignoring-documents'],
  githubPages: false,
  // No "Defined in" links: they need a public repository URL (a git remote TypeDoc recognises),
  // and a clone from a local path or a CI checkout has none, which TypeDoc warns about.
  disableSources: true,
  hideGenerator: true,
  validation: {
    notExported: true,
    invalidLink: true,
    invalidPath: true,
    rewrittenLink: true,
    notDocumented: true,
    unusedMergeModuleWith: true,
  },
  treatWarningsAsErrors: false,
  treatValidationWarningsAsErrors: true,
};
