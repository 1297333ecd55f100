/**
 * The shape of src/: imports run one way. Reads every module's imports with TypeScript's own
 * parser (type-only imports do not count: they vanish from the build) and fails on an import
 * circle, or on a room that imports upward (see ARCHITECTURE.md and the README's Layout).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** Whether an import or export statement brings anything that exists at run time. */
function isRuntime(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return false;
    const clause = node.exportClause;
    if (clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0) {
      return clause.elements.some((e) => !e.isTypeOnly);
    }
    return true;
  }
  const clause = node.importClause;
  if (clause === undefined) return true; // a side-effect import
  if (clause.isTypeOnly) return false;
  if (clause.name !== undefined) return true;
  const bindings = clause.namedBindings;
  if (bindings === undefined) return false;
  if (ts.isNamespaceImport(bindings)) return true;
  return bindings.elements.length === 0 || bindings.elements.some((e) => !e.isTypeOnly);
}

interface Edge {
  to: string;
  runtime: boolean;
}

/** Every module (relative to src/, without extension) and what it imports. */
function graph(): Map<string, Edge[]> {
  const out = new Map<string, Edge[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false);
    const from = path.relative(SRC, file).replace(/\.ts$/, '');
    const edges: Edge[] = [];
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
      const spec = statement.moduleSpecifier;
      if (spec === undefined || !ts.isStringLiteral(spec)) continue;
      const target = spec.text;
      const to = target.startsWith('.') ? path.join(path.dirname(from), target).replace(/\.js$/, '') : target;
      edges.push({ to, runtime: isRuntime(statement) });
    }
    out.set(from, edges);
  }
  return out;
}

/** The room of a module: its top folder, or its folder under node/. */
function roomOf(module: string): string {
  const parts = module.split('/');
  if (parts.length === 1) return parts[0] as string;
  return parts[0] === 'node' && parts.length > 2 ? `node/${parts[1] as string}` : (parts[0] as string);
}

/** A circle of runtime imports, or `null`. */
function findCircle(modules: Map<string, Edge[]>): string[] | null {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (module: string): string[] | null => {
    state.set(module, 'active');
    stack.push(module);
    for (const edge of modules.get(module) ?? []) {
      if (!edge.runtime || !modules.has(edge.to)) continue;
      const seen = state.get(edge.to);
      if (seen === 'active') return [...stack.slice(stack.indexOf(edge.to)), edge.to];
      if (seen === undefined) {
        const circle = visit(edge.to);
        if (circle !== null) return circle;
      }
    }
    stack.pop();
    state.set(module, 'done');
    return null;
  };
  for (const module of modules.keys()) {
    if (state.has(module)) continue;
    const circle = visit(module);
    if (circle !== null) return circle;
  }
  return null;
}

/**
 * Which rooms each room may import at run time (its own always). A room not listed may import
 * nothing of ours but what is listed for it.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  session: [],
  deflate: ['core'],
  'node/io': ['core', 'deflate'],
  'node/ops': ['core', 'node/io'],
  'node/client': ['core', 'deflate', 'node/io', 'node/ops'],
  'node/socket': ['core', 'deflate', 'node/io', 'node/ops', 'node/client'],
  'node/server': ['core', 'deflate', 'session', 'node/io', 'node/ops', 'node/socket'],
  hub: ['core', 'deflate', 'session', 'node/io', 'node/ops', 'node/socket', 'node/server'],
  cluster: ['core', 'hub', 'node/io', 'node/ops'],
  reconnect: ['core', 'session', 'node/socket', 'node/client'],
  router: ['core'],
  browser: ['core', 'session', 'reconnect', 'router'],
  index: ['core', 'deflate', 'session', 'node/io', 'node/ops', 'node/client', 'node/socket', 'node/server'],
};

/** Rooms that run in browsers too: no Node built-in behind an import. */
const NODE_FREE = ['session', 'browser'];

/** The modules of other rooms that a browser build reuses: the same rule, and their imports too. */
const NODE_FREE_MODULES = ['reconnect/policy', 'reconnect/backoff', 'reconnect/send-queue', 'reconnect/errors'];

describe('architecture (imports run one way)', () => {
  const modules = graph();

  it('reads every module of src/ (a sanity check of this test)', () => {
    expect(modules.size).toBeGreaterThan(80);
    expect(modules.get('node/socket/websocket')?.some((e) => e.to === 'node/io/transport' && e.runtime)).toBe(true);
  });

  it('has no circle of runtime imports', () => {
    expect(findCircle(modules)).toBeNull();
  });

  it('finds a circle when there is one (so the check above can fail)', () => {
    const circular = new Map<string, Edge[]>([
      ['a', [{ to: 'b', runtime: true }]],
      ['b', [{ to: 'c', runtime: true }]],
      ['c', [{ to: 'a', runtime: true }]],
    ]);
    expect(findCircle(circular)).toEqual(['a', 'b', 'c', 'a']);
    circular.set('c', [{ to: 'a', runtime: false }]);
    expect(findCircle(circular)).toBeNull();
  });

  it('imports downward only: every room imports at run time only the rooms it may', () => {
    const wrong: string[] = [];
    for (const [module, edges] of modules) {
      const room = roomOf(module);
      const allowed = ALLOWED[room];
      for (const edge of edges) {
        if (!edge.runtime || !modules.has(edge.to)) continue;
        const target = roomOf(edge.to);
        if (target === room) continue;
        if (allowed === undefined || !allowed.includes(target)) wrong.push(`${module} -> ${edge.to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps Node built-ins out of the rooms and modules that run in browsers, and out of what they import', () => {
    const wrong: string[] = [];
    const seen = new Set<string>();
    const check = (module: string): void => {
      if (seen.has(module)) return;
      seen.add(module);
      for (const edge of modules.get(module) ?? []) {
        if (!edge.runtime) continue;
        if (edge.to.startsWith('node:') || edge.to === 'buffer' || edge.to === 'events') wrong.push(`${module} -> ${edge.to}`);
        else if (modules.has(edge.to)) check(edge.to);
      }
    };
    for (const module of modules.keys()) if (NODE_FREE.includes(roomOf(module))) check(module);
    for (const module of NODE_FREE_MODULES) {
      expect(modules.has(module), module).toBe(true);
      check(module);
    }
    expect(wrong).toEqual([]);
  });
});
