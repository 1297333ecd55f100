import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

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
 * The text of a declaration file plus the shared declaration chunks it imports (the build
 * splits declarations used by several entry points into common files).
 */
function typesOf(path: string): string {
  const text = readFileSync(new URL(path.replace('./', ''), root), 'utf8');
  const chunks = [...text.matchAll(/from '\.\/([^']+)\.c?js'/g)].map((m) => m[1] as string);
  const ext = path.endsWith('.d.cts') ? '.d.cts' : '.d.ts';
  return [text, ...chunks.map((c) => readFileSync(new URL(`dist/${c}${ext}`, root), 'utf8'))].join('\n');
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
    expect(typesOf(main!.require.types)).toContain('class WebSocket ');
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
