/**
 * `ws6455/browser` as built (dist/browser.js): one ES module a page can load as is. Reads the
 * built file with TypeScript's parser and fails on anything a browser does not have: an import
 * of any module (a Node built-in, a package, a shared chunk of the Node build), `require`, or a
 * free reference to Node's globals (`Buffer`, `process`, `global`, `__dirname`, `setImmediate`,
 * ...). Also measures the bundle (raw, minified, gzipped) against the budget the README states.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { transformSync } from 'esbuild';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const BUNDLE = new URL('../../dist/browser.js', import.meta.url);

/** The README's budget ("Browser entry") for the bundle minified, then gzipped. */
const MIN_GZIP_BUDGET = 12_000;

/** Node's globals, which a browser does not define. */
const NODE_GLOBALS = new Set(['Buffer', 'process', 'global', '__dirname', '__filename', 'require', 'module', 'exports', 'setImmediate', 'clearImmediate']);

/** Whether `node` is an identifier used as a value of its own (not a property name, a declaration's name or a label). */
function isFreeReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if ((ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent)) && parent.getChildAt(2) === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent) || ts.isGetAccessor(parent) || ts.isSetAccessor(parent)) && parent.name === node) return false;
  return true;
}

/** What in `text` (an ES module) a browser could not load or run. */
function foreign(text: string): string[] {
  const file = ts.createSourceFile('bundle.js', text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const declared = new Set<string>();
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      found.push(`import of ${node.moduleSpecifier.getText(file)}`);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      found.push(`import(${node.arguments[0]?.getText(file) ?? ''})`);
    } else if (ts.isIdentifier(node)) {
      if ((ts.isVariableDeclaration(node.parent) || ts.isFunctionDeclaration(node.parent) || ts.isClassDeclaration(node.parent) || ts.isParameter(node.parent)) && node.parent.name === node) {
        declared.add(node.text);
      } else if (NODE_GLOBALS.has(node.text) && isFreeReference(node)) {
        found.push(`${node.text} (line ${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1})`);
      }
    } else if (ts.isStringLiteral(node) && node.text.startsWith('node:')) {
      found.push(`"${node.text}"`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  // A name the bundle declares itself (a local `process` function, say) is not Node's.
  return found.filter((f) => !declared.has(f.split(' ')[0] as string));
}

describe('ws6455/browser, as built', () => {
  const text = readFileSync(BUNDLE, 'utf8');

  it('imports nothing and uses none of Node: no module, no require, no Buffer or process', () => {
    expect(text.length).toBeGreaterThan(10_000);
    expect(foreign(text)).toEqual([]);
  });

  it('exports the client, the session mode and the router', () => {
    const file = ts.createSourceFile('bundle.js', text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
    const exported = file.statements
      .filter(ts.isExportDeclaration)
      .flatMap((s) => (s.exportClause !== undefined && ts.isNamedExports(s.exportClause) ? s.exportClause.elements.map((e) => e.name.text) : []));
    expect(exported).toEqual(expect.arrayContaining(['ReconnectingWebSocket', 'Router', 'RouterPeer', 'SessionError', 'ReconnectError', 'Backoff', 'SESSION_PROTOCOL']));
  });

  it('finds what a browser lacks when it is there (so the checks above can fail)', () => {
    expect(foreign("import { x } from 'node:events'; export { x };")).toEqual(["import of 'node:events'", '"node:events"']);
    expect(foreign("export * from './chunk-A.js';")).toEqual(["import of './chunk-A.js'"]);
    expect(foreign("const z = await import('node:zlib');")).toEqual(["import('node:zlib')", '"node:zlib"']);
    expect(foreign('const b = Buffer.from("x"); const r = require("events");\nprocess.nextTick(() => {});')).toEqual([
      'Buffer (line 1)',
      'require (line 1)',
      'process (line 2)',
    ]);
    // Property names and the bundle's own declarations are not Node's globals.
    expect(foreign('const o = { process: 1 }; o.process; a.Buffer; new ArrayBuffer(1); function require() {}')).toEqual([]);
  });

  it(`is within ${MIN_GZIP_BUDGET / 1000} kB minified and gzipped`, () => {
    const minified = transformSync(text, { minify: true, format: 'esm', target: 'es2022' }).code;
    const size = { raw: text.length, gzip: gzipSync(text, { level: 9 }).length, minified: minified.length, minifiedGzip: gzipSync(minified, { level: 9 }).length };
    console.log(`dist/browser.js: ${JSON.stringify(size)}`);
    expect(size.minifiedGzip).toBeLessThanOrEqual(MIN_GZIP_BUDGET);
  });
});
