import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The built package (dist/) is imported the way users import it, both as ESM and CommonJS,
// through the package's own "exports" map (self-reference by name).
const root = new URL('..', import.meta.url);

const EXPECTED = [
  'CloseCode',
  'DEFAULT_CLOSE_TIMEOUT',
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
];

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

  it('has no runtime dependencies and ships types for both formats', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      dependencies?: Record<string, string>;
      exports: Record<string, { import: { types: string }; require: { types: string } }>;
    };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
    const main = pkg.exports['.'];
    expect(Object.keys(main?.import ?? {})[0]).toBe('types');
    expect(readFileSync(new URL(main!.import.types.replace('./', ''), root), 'utf8')).toContain('class WebSocketServer');
    expect(readFileSync(new URL(main!.require.types.replace('./', ''), root), 'utf8')).toContain('class WebSocket ');
  });
});
