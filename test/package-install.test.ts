/**
 * The package as users get it: `npm pack` of the built package, installed offline into a scratch
 * project in a temporary folder (no runtime dependencies, so no registry is needed), then a small
 * server and client for every entry point of package.json's "exports", once as an ES module
 * (`import`) and once as CommonJS (`require`), each a child process bounded in time. The tarball
 * is checked for what it ships (no source maps, the runtime once) and against the size budget
 * stated in the README.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisAvailable } from './cluster/redis-server.js';

/**
 * The budget the README states ("Install"): the check fails above it. `browser`: the bytes of
 * dist/browser.js as shipped (unminified; its minified and gzipped size has a budget of its own
 * in test/browser/bundle.test.ts).
 */
const BUDGET = { packed: 260_000, unpacked: 940_000, browser: 80_000 };

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; exports: Record<string, unknown> };

/** What `npm pack --json` reports. */
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string; size: number }>;
}

/**
 * One program per entry point: the names it takes from the entry, and a body that runs a server
 * and a client on 127.0.0.1 and prints one line. `WebSocket` and `WebSocketServer` come from
 * "ws6455" in every program; `REDIS_URL` and `REDIS_MODULE` (node-redis, from this repository's
 * devDependencies: the application's client) are set for the cluster.
 */
const PROGRAMS: Record<string, { names: string[]; body: string; prints: string }> = {
  '.': {
    names: ['CloseCode'],
    body: `
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
        const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        ws.on('open', () => ws.send('hello'));
        ws.on('message', (data) => ws.close(CloseCode.Normal, String(data)));
        ws.on('close', (code, reason) => { console.log(code, String(reason)); wss.close(); });
      });
      wss.on('connection', (ws) => ws.on('message', (data) => ws.send('echo ' + data)));`,
    prints: '1000 echo hello',
  },
  './hub': {
    names: ['Hub'],
    body: `
      const hub = new Hub();
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
        const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        ws.on('message', (data) => { console.log(String(data), hub.size('room')); ws.terminate(); wss.close(); });
      });
      wss.on('connection', (ws) => { hub.join(ws, 'room'); hub.publish('room', 'to the room'); });`,
    prints: 'to the room 1',
  },
  './reconnect': {
    names: ['ReconnectingWebSocket'],
    body: `
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
        const client = new ReconnectingWebSocket('ws://127.0.0.1:' + wss.address().port);
        client.send('queued while connecting');
        client.on('message', (data) => { console.log(String(data)); client.close(); wss.close(); });
      });
      wss.on('connection', (ws) => ws.on('message', (data) => ws.send('got ' + data)));`,
    prints: 'got queued while connecting',
  },
  './router': {
    names: ['Router'],
    body: `
      const router = new Router().on('add', ({ a, b }) => a + b);
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
        const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        ws.on('open', async () => {
          console.log(await new Router().attach(ws).request('add', { a: 2, b: 3 }));
          ws.close();
          wss.close();
        });
      });
      wss.on('connection', (ws) => router.attach(ws));`,
    prints: '5',
  },
  './browser': {
    // An ES module only (browsers load no CommonJS); on Node it runs on our WebSocket, given as
    // the WebSocket option (Node 20 has no global one).
    names: ['ReconnectingWebSocket'],
    body: `
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', sessions: true }, () => {
        const client = new ReconnectingWebSocket('ws://127.0.0.1:' + wss.address().port, { WebSocket, session: true });
        client.send('hello');
        client.on('message', (data, isBinary, info) => { console.log(data, info.seq); client.close(); wss.close(); });
      });
      wss.on('session', (session) => session.on('message', (data) => session.send('got ' + data)));`,
    prints: 'got hello 1',
  },
  './cluster': {
    names: ['Cluster'],
    body: `
      // Two servers, each with its hub and cluster on one Redis; a client of the second gets what
      // the first publishes.
      const { createClient } = require(process.env.REDIS_MODULE);
      const prefix = 'install-' + process.pid;
      const server = async () => {
        const redis = await createClient({ url: process.env.REDIS_URL }).connect();
        const hub = new Hub();
        const cluster = await new Cluster(hub, { redis, prefix }).start();
        const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
        await new Promise((resolve) => wss.once('listening', resolve));
        wss.on('connection', (ws) => hub.join(ws, 'room'));
        return { redis, hub, cluster, wss };
      };
      const [a, b] = [await server(), await server()];
      const ws = new WebSocket('ws://127.0.0.1:' + b.wss.address().port);
      await new Promise((resolve) => ws.once('open', resolve));
      while (b.hub.size('room') === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const received = new Promise((resolve) => ws.once('message', resolve));
      a.hub.publish('room', 'across servers');
      console.log(String(await received), (await a.cluster.servers()).length);
      ws.terminate();
      for (const s of [a, b]) { await s.cluster.close(); s.wss.close(); await s.redis.quit(); }`,
    prints: 'across servers 2',
  },
};

/** The prelude of a program: the entry's names, plus WebSocket and WebSocketServer. */
function prelude(subpath: string, names: string[], mode: 'import' | 'require'): string {
  const id = `${pkg.name}${subpath.slice(1)}`;
  const own = subpath === '.' ? ['WebSocket', 'WebSocketServer', ...names] : names;
  const lines =
    mode === 'import'
      ? [`import { ${own.join(', ')} } from '${id}';`, "import { createRequire } from 'node:module';", 'const require = createRequire(import.meta.url);']
      : [`const { ${own.join(', ')} } = require('${id}');`];
  if (subpath !== '.') {
    lines.push(mode === 'import' ? `import { WebSocket, WebSocketServer } from '${pkg.name}';` : `const { WebSocket, WebSocketServer } = require('${pkg.name}');`);
  }
  if (subpath === './cluster') {
    lines.push(mode === 'import' ? `import { Hub } from '${pkg.name}/hub';` : `const { Hub } = require('${pkg.name}/hub');`);
  }
  return lines.join('\n');
}

describe('the packed package, installed', () => {
  let dir = '';
  let app = '';
  let pack: PackResult;
  let redis: RedisServer | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ws6455-install-'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    pack = (JSON.parse(out) as PackResult[])[0]!;
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
    execFileSync('npm', ['install', join(dir, pack.filename), '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (redisAvailable()) redis = await RedisServer.start();
  }, 120_000);

  afterAll(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has a program for every entry point in "exports"', () => {
    const entries = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json');
    expect(Object.keys(PROGRAMS).sort()).toEqual(entries.sort());
  });

  for (const [subpath, program] of Object.entries(PROGRAMS)) {
    for (const mode of ['import', 'require'] as const) {
      if (subpath === './browser' && mode === 'require') {
        it(`refuses require() of ${pkg.name}/browser (an ES module only)`, () => {
          const out = execFileSync(process.execPath, ['-e', `try { require('${pkg.name}/browser'); console.log('loaded'); } catch (err) { console.log(err.code); }`], {
            cwd: app,
            encoding: 'utf8',
            timeout: 20_000,
          });
          expect(out.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
        });
        continue;
      }
      it(`runs a server and a client on ${pkg.name}${subpath.slice(1)} with ${mode}`, (context) => {
        if (subpath === './cluster' && redis === null) return context.skip();
        const file = join(app, `${subpath === '.' ? 'main' : subpath.slice(2)}.${mode === 'import' ? 'mjs' : 'cjs'}`);
        // CommonJS has no top-level await: the body runs in an async function in both modes.
        const body = `(async () => {${program.body}\n})().catch((err) => { console.error(err); process.exitCode = 1; });\n`;
        writeFileSync(file, `${prelude(subpath, program.names, mode)}\n${body}`);
        const out = execFileSync(process.execPath, [file], {
          cwd: app,
          encoding: 'utf8',
          timeout: 20_000,
          env: { ...process.env, REDIS_URL: redis?.url ?? '', REDIS_MODULE: createRequire(join(root, 'package.json')).resolve('redis') },
        });
        expect(out.trim()).toBe(program.prints);
      }, 30_000);
    }
  }

  it('resolves from the installed copy, not from this repository', () => {
    const resolved = execFileSync(process.execPath, ['-e', `console.log(require.resolve('${pkg.name}'))`], { cwd: app, encoding: 'utf8' }).trim();
    expect(resolved).toBe(join(app, 'node_modules', pkg.name, 'cjs', 'index.cjs'));
  });

  it('ships the runtime once, without source maps, sources or tests', () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths.filter((p) => p.endsWith('.map'))).toEqual([]);
    expect(paths.filter((p) => !/^(dist\/|cjs\/|README\.md$|LICENSE$|package\.json$)/.test(p))).toEqual([]);
    // Every ES module file is a re-export of the CommonJS file of the same name, but for the
    // browser bundle (standalone, checked by test/browser/bundle.test.ts).
    for (const file of pack.files.filter((f) => /^dist\/[^/]+\.js$/.test(f.path) && f.path !== 'dist/browser.js')) {
      const text = readFileSync(join(app, 'node_modules', pkg.name, file.path), 'utf8');
      expect(text, file.path).toContain(`from './${file.path.slice(5, -3)}.cjs'`);
      expect(file.size, file.path).toBeLessThan(4096);
    }
  });

  it(`stays within the size budget: ${BUDGET.packed / 1000} kB packed, ${BUDGET.unpacked / 1000} kB unpacked`, () => {
    expect(pack.size).toBeLessThanOrEqual(BUDGET.packed);
    expect(pack.unpackedSize).toBeLessThanOrEqual(BUDGET.unpacked);
    expect(pack.files.find((f) => f.path === 'dist/browser.js')?.size).toBeLessThanOrEqual(BUDGET.browser);
  });
});
