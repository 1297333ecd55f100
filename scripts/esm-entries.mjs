// Writes the ES module entry points of the package, after `tsup` built the CommonJS code
// (npm run build runs both).
//
// The code ships once, as CommonJS (dist/<name>.cjs, shared chunks, types in .d.cts). For every
// subpath of package.json's "exports" whose `import` is dist/<name>.js and which tsup built only
// as CommonJS, this writes dist/<name>.js, re-exporting dist/<name>.cjs by name, and
// dist/<name>.d.ts, re-exporting its types. So `import` and `require()` load the very same module
// instances (one WebSocket class and one zlib limiter per process, as with `ws`), and the package
// holds one copy of the runtime instead of two. An ES module may import CommonJS; the reverse
// (require() of an ES module) is not available on every Node 20, hence this direction. An entry
// that tsup builds as an ES module itself (one for browsers) is left as built.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('../', import.meta.url);
const require = createRequire(root);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

let written = 0;
for (const [subpath, target] of Object.entries(pkg.exports)) {
  const esm = typeof target === 'object' ? target.import?.default : undefined;
  const match = typeof esm === 'string' ? /^\.\/dist\/([\w-]+)\.js$/.exec(esm) : null;
  if (match === null) continue;
  const name = match[1];
  const cjs = new URL(`dist/${name}.cjs`, root);
  if (existsSync(new URL(`dist/${name}.js`, root))) continue; // built as an ES module by tsup
  if (!existsSync(cjs)) throw new Error(`esm-entries: "${subpath}" imports ${esm}, but tsup built neither it nor dist/${name}.cjs`);
  const mod = require(cjs.pathname);
  const names = Object.keys(mod).filter((n) => n !== 'default');
  // The default export, if any, is also a named export: the declarations re-export that name.
  const defaultName = 'default' in mod ? names.find((n) => mod[n] === mod.default) : undefined;
  if ('default' in mod && defaultName === undefined) throw new Error(`esm-entries: the default export of dist/${name}.cjs is not also a named export`);
  const header = `// ES module entry of "${pkg.name}${subpath.slice(1)}": ${name}.cjs, re-exported (see scripts/esm-entries.mjs).\n`;
  const js =
    header +
    `import cjs from './${name}.cjs';\n` +
    `export const {\n${names.map((n) => `  ${n},\n`).join('')}} = cjs;\n` +
    (defaultName === undefined ? '' : `export default cjs.${defaultName};\n`);
  const dts =
    header +
    `export * from './${name}.cjs';\n` +
    (defaultName === undefined ? '' : `import { ${defaultName} } from './${name}.cjs';\nexport default ${defaultName};\n`);
  writeFileSync(new URL(`dist/${name}.js`, root), js);
  writeFileSync(new URL(`dist/${name}.d.ts`, root), dts);
  written++;
}
console.log(`esm-entries: ${written} ES module entries written to dist/`);
