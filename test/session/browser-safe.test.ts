/**
 * src/session must run in browsers: no Node module, no Node global, no import from the Node
 * layers. Checked twice: by reading its imports, and by compiling it the way a browser build
 * would (ES2022 + DOM libraries, without @types/node), where any Node-only name fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../src/session/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(dir, f));

describe('src/session runs without Node', () => {
  it('imports only its own files', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const s of specifiers) expect(s, `${file}: ${s}`).toMatch(/^\.\/[a-z-]+\.js$/);
      // Names that exist only in Node (comments aside).
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\b(Buffer|process|require|setTimeout|setInterval|setImmediate|queueMicrotask|global)\b/);
    }
  });

  it('type-checks with the ES2022 and DOM libraries and no @types/node', () => {
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
    };
    const program = ts.createProgram(files, options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
    // The check can fail: the same compile of a file using Buffer reports it.
    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version) => (name.endsWith('probe.ts') ? ts.createSourceFile(name, 'export const b = Buffer.from("x");', version) : read(name, version));
    host.fileExists = ((exists) => (name: string) => name.endsWith('probe.ts') || exists(name))(host.fileExists.bind(host));
    const probe = ts.createProgram([join(dir, 'probe.ts')], options, host);
    expect(ts.getPreEmitDiagnostics(probe).length).toBeGreaterThan(0);
  });
});
