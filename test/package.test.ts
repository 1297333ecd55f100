import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built package (dist/) is imported the way users import it, both as ESM and CommonJS,
// through the package's own "exports" map (self-reference by name).
const root = new URL('..', import.meta.url);

const EXPECTED = [
  'CloseCode',
  'DEFAULT_CLOSE_TIMEOUT',
  'DEFAULT_ITERATOR_HIGH_WATER_MARK',
  'DEFAULT_ITERATOR_MAX_BYTES',
  'DEFAULT_HANDSHAKE_TIMEOUT',
  'DEFAULT_MAX_FRAGMENTS',
  'DEFAULT_MAX_PAYLOAD',
  'Opcode',
  'ProtocolError',
  'WebSocket',
  'WebSocketError',
  'WebSocketServer',
  'WsCloseEvent',
  'WsErrorEvent',
  'WsEvent',
  'WsMessageEvent',
  'createWebSocketStream',
];

/** The public names of each subpath export. */
const SUBPATHS: Record<string, string[]> = {
  'ws6455/hub': ['Hub', 'DEFAULT_HUB_HIGH_WATER_MARK', 'DEFAULT_MAX_QUEUED_BYTES'],
  'ws6455/cluster': ['Cluster', 'ClusterError', 'CLUSTER_DEFAULTS', 'renderClusterPrometheus'],
  'ws6455/reconnect': ['Backoff', 'ReconnectError', 'ReconnectingWebSocket', 'backoffDelay'],
  'ws6455/router': ['Router', 'RouterError', 'RouterPeer', 'encodeEnvelope', 'parseEnvelope'],
};

/**
 * The text of a declaration file plus the declaration files it imports, transitively: the ES
 * module entries' declarations re-export the CommonJS ones (`from './index.cjs'` is
 * dist/index.d.cts), and the build splits declarations used by several entry points into common
 * files.
 */
function typesOf(path: string): string {
  const seen = new Set<string>();
  const read = (file: string): string[] => {
    if (seen.has(file)) return [];
    seen.add(file);
    const text = readFileSync(new URL(file, root), 'utf8');
    const imported = [...text.matchAll(/from '\.\/([^']+)\.(c?)js'/g)].map((m) => `dist/${m[1] as string}.d.${m[2] as string}ts`);
    return [text, ...imported.flatMap(read)];
  };
  return read(path.replace('./', '')).join('\n');
}

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

describe('built package', () => {
  it('exposes the public names through require()', () => {
    const out = run(['-e', "console.log(Object.keys(require('ws6455')).sort().join(','))"]);
    expect(out.split(',')).toEqual(expect.arrayContaining(EXPECTED));
  });

  it('exposes the public names through import', () => {
    const out = run([
      '--input-type=module',
      '-e',
      "const m = await import('ws6455'); console.log(Object.keys(m).sort().join(','))",
    ]);
    expect(out.split(',')).toEqual(expect.arrayContaining(EXPECTED));
  });

  it('gives both builds the same classes and constants', () => {
    const cjs = run(['-e', "const m=require('ws6455'); console.log(m.WebSocket.OPEN, m.CloseCode.MessageTooBig, typeof m.WebSocketServer)"]);
    const esm = run([
      '--input-type=module',
      '-e',
      "import { WebSocket, CloseCode, WebSocketServer } from 'ws6455'; console.log(WebSocket.OPEN, CloseCode.MessageTooBig, typeof WebSocketServer)",
    ]);
    expect(cjs).toBe('1 1009 function');
    expect(esm).toBe(cjs);
  });

  for (const [subpath, names] of Object.entries(SUBPATHS)) {
    it(`exposes ${subpath} through require() and import`, () => {
      const cjs = run(['-e', `console.log(Object.keys(require('${subpath}')).sort().join(','))`]);
      const esm = run(['--input-type=module', '-e', `const m = await import('${subpath}'); console.log(Object.keys(m).sort().join(','))`]);
      expect(cjs.split(',')).toEqual(expect.arrayContaining(names));
      expect(esm).toBe(cjs);
    });
  }

  it('keeps the toolkit out of "." and shares one WebSocket class between the entry points', () => {
    const main = run(['-e', "console.log(Object.keys(require('ws6455')).join(','))"]).split(',');
    expect(main).not.toContain('ReconnectingWebSocket');
    expect(main).not.toContain('Router');
    expect(main).not.toContain('Hub');
    expect(main).not.toContain('Cluster');
    const script = (mod: 'require' | 'import'): string =>
      [
        mod === 'require'
          ? "const { WebSocket } = require('ws6455'); const { ReconnectingWebSocket } = require('ws6455/reconnect');"
          : "const { WebSocket } = await import('ws6455'); const { ReconnectingWebSocket } = await import('ws6455/reconnect');",
        "const r = new ReconnectingWebSocket('ws://127.0.0.1:9', { maxAttempts: 0 });",
        "console.log(r.socket instanceof WebSocket, typeof WebSocket.connect, typeof WebSocket.prototype[Symbol.asyncIterator]);",
        'r.close();',
      ].join(' ');
    expect(run(['-e', script('require')])).toBe('true function function');
    expect(run(['--input-type=module', '-e', script('import')])).toBe('true function function');
  });

  it('ws6455/hub broadcasts to connections of the main entry point (one shared transport)', () => {
    const script = (mod: 'require' | 'import'): string =>
      [
        mod === 'require'
          ? "const { WebSocket, WebSocketServer } = require('ws6455'); const { Hub } = require('ws6455/hub');"
          : "const { WebSocket, WebSocketServer } = await import('ws6455'); const { Hub } = await import('ws6455/hub');",
        'const hub = new Hub();',
        "const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {",
        "  wss.on('connection', (ws) => { hub.join(ws, 'r'); hub.publish('r', 'hi'); });",
        '  const c = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);',
        "  c.on('message', (d) => { console.log(String(d), hub.size('r'), wss.stats().messagesOut); c.terminate(); wss.close(); });",
        '});',
      ].join(' ');
    expect(run(['-e', script('require')])).toBe('hi 1 1');
    expect(run(['--input-type=module', '-e', script('import')])).toBe('hi 1 1');
  });

  it('has no runtime dependencies and ships types for both formats', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      dependencies?: Record<string, string>;
      exports: Record<string, { import: { types: string }; require: { types: string } }>;
    };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
    const main = pkg.exports['.'];
    expect(Object.keys(main?.import ?? {})[0]).toBe('types');
    expect(typesOf(main!.import.types)).toContain('class WebSocketServer');
    // "." for require() is the hand-written `export =` over the CommonJS build's declarations.
    const cjsTypes = readFileSync(new URL(main!.require.types, root), 'utf8');
    expect(cjsTypes).toMatch(/^export = WebSocket;$/m);
    expect(typesOf('./dist/index.d.cts')).toContain('class WebSocket ');
    for (const [subpath, names] of Object.entries(SUBPATHS)) {
      const entry = pkg.exports[subpath.replace('ws6455', '.')];
      expect(Object.keys(entry?.import ?? {})[0]).toBe('types');
      expect(Object.keys(entry?.require ?? {})[0]).toBe('types');
      for (const types of [entry!.import.types, entry!.require.types]) {
        expect(typesOf(types)).toContain(`class ${names[0]}`);
      }
    }
  });
});

/** What `ws` also has: the scenario is run against both packages and must print the same. */
const PACKAGES = ['ws', 'ws6455'] as const;

describe('module shape, as ws', () => {
  it('require() is the WebSocket class, carrying Server, WebSocketServer, WebSocket and createWebSocketStream', () => {
    const script = (pkg: string): string =>
      [
        `const WebSocket = require('${pkg}');`,
        'const wss = new WebSocket.Server({ noServer: true });',
        'console.log(JSON.stringify({',
        "  isClass: typeof WebSocket === 'function' && /^class\\b/.test(Function.prototype.toString.call(WebSocket)),",
        '  self: WebSocket.WebSocket === WebSocket,',
        '  server: WebSocket.Server === WebSocket.WebSocketServer,',
        '  instance: wss instanceof WebSocket.WebSocketServer,',
        '  stream: typeof WebSocket.createWebSocketStream,',
        '  open: WebSocket.OPEN,',
        '  destructured: (({ WebSocketServer }) => WebSocketServer === WebSocket.Server)(WebSocket),',
        '}));',
        'wss.close();',
      ].join('\n');
    const expected = '{"isClass":true,"self":true,"server":true,"instance":true,"stream":"function","open":1,"destructured":true}';
    for (const pkg of PACKAGES) expect(run(['-e', script(pkg)]), pkg).toBe(expected);
  });

  it('the ESM default export is the named WebSocket, with the same statics (ws: only after a require)', () => {
    const script = (pkg: string): string =>
      [
        `import WebSocket, { WebSocket as Named, WebSocketServer, createWebSocketStream } from '${pkg}';`,
        'console.log(JSON.stringify({',
        '  same: WebSocket === Named,',
        '  server: WebSocket.Server === WebSocketServer && WebSocket.WebSocketServer === WebSocketServer,',
        '  stream: WebSocket.createWebSocketStream === createWebSocketStream,',
        '  self: WebSocket.WebSocket === WebSocket,',
        '}));',
      ].join('\n');
    expect(run(['--input-type=module', '-e', script('ws6455')])).toBe('{"same":true,"server":true,"stream":true,"self":true}');
    // ws's ES module wrapper exports the bare class: its statics are attached by its CommonJS
    // entry, so `WebSocket.Server` is undefined under import unless something also required 'ws'.
    // @types/ws's index.d.mts says the same. A superset here, so code written either way runs.
    expect(run(['--input-type=module', '-e', script('ws')])).toBe('{"same":true,"server":false,"stream":false,"self":false}');
  });

  it('every named export is reachable both ways: named through import, static through require()', () => {
    // For both packages: the statics of require() that are not named exports of the ES module,
    // the named exports that are not statics, and (ws6455) the values that differ between the two.
    const script = (pkg: string): string =>
      [
        "import { createRequire } from 'node:module';",
        `const esm = await import('${pkg}');`,
        `const cjs = createRequire(process.cwd() + '/')('${pkg}');`,
        "const named = Object.keys(esm).filter((n) => n !== 'default');",
        'const statics = Object.keys(cjs);',
        'const plain = (v) => typeof v === "function" ? `${typeof v} ${v.name}` : JSON.stringify(v);',
        'console.log(JSON.stringify({',
        '  onlyStatic: statics.filter((n) => !named.includes(n)).sort(),',
        '  onlyNamed: named.filter((n) => !statics.includes(n)),',
        '  differ: named.filter((n) => plain(esm[n]) !== plain(cjs[n])),',
        '  notOnDefault: named.filter((n) => esm.default[n] !== esm[n]),',
        '  count: named.length,',
        '}));',
      ].join('\n');
    const results = PACKAGES.map((pkg) => JSON.parse(run(['--input-type=module', '-e', script(pkg)])) as Record<string, unknown>);
    const ours = results[1]!;
    for (const result of results) {
      expect(result.onlyStatic).toEqual(['CLOSED', 'CLOSING', 'CONNECTING', 'OPEN', 'Server']);
      expect(result.onlyNamed).toEqual([]);
      expect(result.differ).toEqual([]);
    }
    // Through import, the default export carries every named export too. (ws's does only once
    // its CommonJS entry has run, as it has in this script; see the test above.)
    expect(ours.notOnDefault).toEqual([]);
    expect(ours.count).toBeGreaterThanOrEqual(EXPECTED.length);
  });

  it('loaded both ways in one process: one class, as in ws', () => {
    // The ES module entries re-export the CommonJS build (scripts/esm-entries.mjs), as ws's ES
    // module wrapper re-exports its CommonJS code: a process that both imports and requires the
    // package holds one copy of it (one WebSocket class, one zlib limiter), subpaths included.
    const script = (pkg: string, subpath: string, name: string): string =>
      [
        "import { createRequire } from 'node:module';",
        "const require = createRequire(process.cwd() + '/');",
        `const esm = (await import('${pkg}')).default;`,
        `const cjs = require('${pkg}');`,
        `const sub = (await import('${subpath}')).${name} === require('${subpath}').${name};`,
        'console.log(esm === cjs, esm.OPEN === cjs.OPEN, sub);',
      ].join('\n');
    expect(run(['--input-type=module', '-e', script('ws', 'ws', 'WebSocketServer')])).toBe('true true true');
    expect(run(['--input-type=module', '-e', script('ws6455', 'ws6455/hub', 'Hub')])).toBe('true true true');
  });

  it('declares as side effects exactly the files that attach the statics', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { sideEffects: string[]; files: string[] };
    const attaching = pkg.files
      .flatMap((dir) => readdirSync(new URL(`${dir}/`, root)).map((f) => `./${dir}/${f}`))
      .filter((f) => /\.c?js$/.test(f))
      .filter((f) => /Object\.assign\(\w+, statics, \{ WebSocket: \w+ \}\)/.test(readFileSync(new URL(f, root), 'utf8')));
    expect(attaching.sort()).toEqual([...pkg.sideEffects].sort());
  });
});

/**
 * Type-level checks: small TypeScript programs type-checked against the built declarations, in
 * CommonJS and ESM modes (module nodenext) and with the legacy node10 resolution. The programs
 * that use only what `ws` has are checked against `ws` + `@types/ws` too, and must type-check
 * both ways. In nodenext our declaration files are checked as well. One program per mode (in
 * beforeAll); each test reads the errors of its own folder.
 */
describe('types, as @types/ws', () => {
  const rootPath = fileURLToPath(root);
  let dir = '';
  /** The checker's output per mode: one line per error, each starting with the file's path. */
  const output: Record<'nodenext' | 'node10', string> = { nodenext: '', node10: '' };

  /** Code written for `ws`, by module format: `MOD` is replaced with the package name. */
  const SHARED: Record<string, string> = {
    'shape.cts': `
      import WebSocket = require('MOD');
      const wss: WebSocket.Server = new WebSocket.Server({ noServer: true });
      const other: WebSocket.WebSocketServer = new WebSocket.WebSocketServer({ port: 0 });
      const options: WebSocket.ServerOptions = { noServer: true, maxPayload: 1024 };
      const client: WebSocket = new WebSocket('ws://127.0.0.1:1', { handshakeTimeout: 1000 });
      const same: typeof WebSocket = WebSocket.WebSocket;
      client.on('message', (data: WebSocket.RawData, isBinary: boolean) => void [data, isBinary]);
      wss.on('connection', (ws: WebSocket) => ws.send('hi'));
      const duplex = WebSocket.createWebSocketStream(client);
      if (client.readyState === WebSocket.OPEN) client.close(1000);
      class MySocket extends WebSocket {}
      void [other, options, same, duplex, MySocket];
    `,
    'named.cts': `
      import { WebSocket, WebSocketServer, createWebSocketStream, type ServerOptions, type ClientOptions } from 'MOD';
      const server: WebSocketServer = new WebSocketServer({ noServer: true } satisfies ServerOptions);
      const client: WebSocket = new WebSocket('ws://127.0.0.1:1', { maxPayload: 1 } satisfies ClientOptions);
      createWebSocketStream(client);
      void server;
    `,
    'default-interop.cts': `
      import WebSocket from 'MOD';
      const wss: WebSocket.Server = new WebSocket.Server({ noServer: true });
      void wss;
    `,
    'require.cjs': `
      const WebSocket = require('MOD');
      const { WebSocketServer } = require('MOD');
      /** @type {WebSocket.Server} */
      const wss = new WebSocket.Server({ noServer: true });
      /** @type {WebSocket} */
      const client = new WebSocket('ws://127.0.0.1:1');
      void [wss, client, new WebSocketServer({ noServer: true })];
    `,
    'esm.mts': `
      import WebSocket, { WebSocketServer, createWebSocketStream, type RawData, type ServerOptions } from 'MOD';
      const wss: WebSocketServer = new WebSocketServer({ noServer: true } satisfies ServerOptions);
      const client: WebSocket = new WebSocket('ws://127.0.0.1:1');
      client.on('message', (data: WebSocket.RawData) => void data);
      const options: WebSocket.ServerOptions = { noServer: true };
      const payload: RawData = Buffer.alloc(0);
      createWebSocketStream(client);
      void [wss, options, payload];
    `,
  };

  /** The ES module's named exports with a value meaning and with a type meaning, from its declarations. */
  function esmExports(): { values: string[]; types: string[] } {
    const probe = join(dir, 'probe.mts');
    writeFileSync(probe, "import * as api from 'ws6455';\nvoid api;\n");
    const program = ts.createProgram([probe], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      noEmit: true,
      types: [],
    });
    const checker = program.getTypeChecker();
    const decl = program.getSourceFile(probe)!.statements[0] as ts.ImportDeclaration;
    const values: string[] = [];
    const types: string[] = [];
    for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(decl.moduleSpecifier)!)) {
      if (symbol.name === 'default') continue;
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      if (target.flags & ts.SymbolFlags.Value) values.push(symbol.name);
      if (target.flags & ts.SymbolFlags.Type) types.push(symbol.name);
    }
    return { values, types };
  }

  /** Writes the files under dir/<folder>/, returning their paths relative to dir. */
  function write(folder: string, files: Record<string, string>): string[] {
    mkdirSync(join(dir, folder));
    return Object.entries(files).map(([file, text]) => {
      writeFileSync(join(dir, folder, file), text);
      return `${folder}/${file}`;
    });
  }

  /**
   * The checker, run as a child process so that it is bounded in time: one TypeScript program
   * over the root files, reporting the errors of the root files and, with `ours`, of this
   * package's own declaration files. Other packages' declarations (@types/node, @types/ws) are
   * not checked, as with `skipLibCheck`: checking all of @types/node would cost several seconds.
   */
  const CHECKER = `
    const ts = require(process.env.TS_PATH);
    const { files: roots, options, ours } = JSON.parse(process.env.CHECK);
    const rootNames = roots.map((f) => ts.sys.resolvePath(f));
    const { options: compilerOptions, errors } = ts.convertCompilerOptionsFromJson(options, process.cwd());
    const program = ts.createProgram(rootNames, { ...compilerOptions, noEmit: true });
    const own = (file) => rootNames.includes(file.fileName) ||
      (ours && ts.sys.realpath(file.fileName).startsWith(process.env.PKG_ROOT) && !file.fileName.includes('/node_modules/'));
    const files = program.getSourceFiles().filter(own);
    const diagnostics = [...errors, ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(),
      ...files.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)])];
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\\n' };
    process.stdout.write(ts.formatDiagnostics(diagnostics, host));
  `;

  /** Type-checks `files` (paths relative to `dir`) with the options, returning the errors ('' when clean). */
  function compile(files: string[], compilerOptions: Record<string, unknown>, ours: boolean): string {
    const options = { strict: true, types: ['node'], target: 'es2022', ...compilerOptions };
    const env = {
      ...process.env,
      TS_PATH: join(rootPath, 'node_modules/typescript'),
      PKG_ROOT: `${rootPath.replace(/\/$/, '')}/`,
      CHECK: JSON.stringify({ files, options, ours }),
    };
    return execFileSync(process.execPath, ['-e', CHECKER], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
  }

  /** The errors reported for files under `folder` (paths are relative to `dir`). */
  function errorsOf(mode: 'nodenext' | 'node10', folder: string): string[] {
    return output[mode].split('\n').filter((line) => line.startsWith(`${folder}/`));
  }

  beforeAll(() => {
    // node_modules of the programs: the packages by name, as an application installs them.
    dir = mkdtempSync(join(tmpdir(), 'ws6455-types-'));
    mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
    symlinkSync(rootPath, join(dir, 'node_modules/ws6455'), 'dir');
    for (const pkg of ['ws', '@types/ws', '@types/node']) {
      symlinkSync(join(rootPath, 'node_modules', pkg), join(dir, 'node_modules', pkg), 'dir');
    }
    const nodenext: string[] = [];
    for (const pkg of PACKAGES) {
      nodenext.push(...write(`shared-${pkg}`, Object.fromEntries(Object.entries(SHARED).map(([f, t]) => [f, t.replaceAll('MOD', pkg)]))));
    }
    const { values, types } = esmExports();
    /** Type arguments for the generic type exports, which cannot be named bare. */
    const TYPE_ARGUMENTS: Record<string, string> = { Awaitable: '<void>' };
    nodenext.push(
      ...write('all-exports', {
        // Every named export of the ES module, through require(): values as statics (and as named
        // imports), types as members of the `export =` namespace.
        'all.cts': [
          "import ws = require('ws6455');",
          `import { ${values.join(', ')} } from 'ws6455';`,
          ...values.map((n) => `void ws.${n}; void ${n};`),
          ...types.map((n) => `export type T_${n} = ws.${n}${TYPE_ARGUMENTS[n] ?? ''};`),
        ].join('\n'),
        // Through import: every named value export is also a static of the default export, with
        // the same type, and the default export reaches `ws`'s types on it.
        'all.mts': [
          "import WebSocket, * as api from 'ws6455';",
          ...values.filter((n) => n !== 'WebSocket').map((n) => `export const s_${n}: typeof api.${n} = WebSocket.${n};`),
          'export const wss: WebSocket.Server = new WebSocket.Server({ noServer: true });',
          'export const options: WebSocket.ServerOptions = { noServer: true };',
          'export const data: WebSocket.RawData = Buffer.alloc(0);',
        ].join('\n'),
      }),
    );
    output.nodenext = compile(nodenext, { module: 'nodenext', moduleResolution: 'nodenext', esModuleInterop: true, allowJs: true, checkJs: true }, true);
    const node10 = write('node10', {
      'node10.ts': [
        "import WebSocket = require('ws6455');",
        ...Object.entries(SUBPATHS).map(([subpath, names]) => `import { ${names[0]} } from '${subpath}';`),
        'const wss: WebSocket.Server = new WebSocket.Server({ noServer: true });',
        `void [wss, ${Object.values(SUBPATHS).map((names) => names[0]).join(', ')}];`,
      ].join('\n'),
    });
    // This run is about resolution, so our declarations are not checked again here. (Checked, the
    // ones of ws6455/router report Router's @internal methods: stripped from the class, they are
    // still required by the interface it implements.)
    output.node10 = compile(node10, { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, false);
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const pkg of PACKAGES) {
    it(`code written for ws type-checks against ${pkg} (CommonJS, ESM, checkJs)`, () => {
      expect(errorsOf('nodenext', `shared-${pkg}`)).toEqual([]);
    });
  }

  it('reaches every named export of the ES module through require() types, and through the default export', () => {
    expect(errorsOf('nodenext', 'all-exports')).toEqual([]);
  });

  it('reports no other error: none in our declaration files, none in the setup', () => {
    const other = output.nodenext.split('\n').filter((line) => /^\S/.test(line) && !/^(shared-|all-exports\/)/.test(line));
    expect(other).toEqual([]);
  });

  it('resolves "." and every subpath with the legacy node10 resolution (typesVersions)', () => {
    expect(output.node10).toBe('');
  });
});
