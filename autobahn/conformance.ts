/**
 * The conformance CLI.
 *
 *   npx tsx autobahn/conformance.ts [options]
 *     --testee server|client|both   which side to test (default both)
 *     --impl ws6455|ws              implementation of the in-process testee (default ws6455; ws = reference run)
 *     --full                        the suite's full sizes: section 9 sizes, 1000 messages per 12.x/13.x case
 *                                   (default: CI sizes)
 *     --url ws://127.0.0.1:PORT     test this server instead of starting an echo server
 *     --listen PORT                 fuzzing server port for an external client under test (waits for it)
 *     --cases "1.*,6.4.*"           include patterns (default "*");  --exclude "12.*,13.*"
 *     --agent NAME                  agent name in reports (default: the impl name)
 *     --out DIR                     report root (default autobahn/reports, or autobahn/reports/reference-<impl>)
 *     --time-scale N                stretch protocol timeouts on slow machines (default 1)
 *     --http2                       every case on a stream of an HTTP/2 session (RFC 8441, h2c), both roles
 *                                   (ws6455 only; reports under reports/http2/; the same expected verdicts)
 *     --no-check                    do not compare with the expected verdicts
 *     --write-expected              store this run's verdicts as the expected ones (keeps known issues)
 * Expected verdicts: autobahn/expected-results.json for our library (exit 1 when a case is worse),
 * autobahn/expected-results-ws.json for the ws reference (exit 1 when any case differs).
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { selectCases } from './catalogue/index.js';
import { EXPECTED_PATH, REFERENCE_WS_PATH, compareWithExpected, describeComparison, readExpected, writeExpected } from './expected.js';
import type { Testee } from './expected.js';
import { testClient, testServer } from './harness.js';
import type { ImplName } from './impl.js';
import type { CaseResult } from './peer/case-runner.js';
import { summaryLine } from './reporting/summary.js';
import { writeReports } from './reporting/write.js';

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      args.set(a.slice(2), next);
      i++;
    } else args.set(a.slice(2), 'true');
  }
  return args;
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const impl = (args.get('impl') ?? 'ws6455') as ImplName;
  if (impl !== 'ws6455' && impl !== 'ws') throw new Error('--impl must be ws6455 or ws');
  const which = args.get('testee') ?? 'both';
  const testees: Testee[] = which === 'both' ? ['server', 'client'] : [which as Testee];
  const profile = args.has('full') ? 'full' : 'ci';
  const cases = selectCases(list(args.get('cases')) ?? ['*'], list(args.get('exclude')) ?? []);
  const agent = args.get('agent') ?? impl;
  const url = args.get('url');
  const listen = args.get('listen');
  const timeScale = Number(args.get('time-scale') ?? 1);
  const http2 = args.has('http2');
  if (http2 && impl !== 'ws6455') throw new Error('--http2 runs our library only: ws has no WebSockets over HTTP/2');
  const root =
    args.get('out') ?? join(fileURLToPath(new URL('.', import.meta.url)), 'reports', impl === 'ws6455' ? (http2 ? 'http2' : '') : `reference-${impl}`);
  const externalTarget = (url !== undefined && testees.includes('server')) || (listen !== undefined && testees.includes('client'));
  const check = !externalTarget && !args.has('no-check');
  // Our library must not get worse than expected-results.json; the ws reference must match its file exactly.
  const expectedPath = impl === 'ws6455' ? EXPECTED_PATH : REFERENCE_WS_PATH;
  const log = (line: string) => console.log(line);

  console.log(
    `conformance: ${cases.length} cases, profile ${profile}, impl ${impl}${http2 ? ', over HTTP/2 (RFC 8441)' : ''}${url ? `, server ${url}` : ''}${listen ? `, listening on ${listen}` : ''}`,
  );
  let failed = false;
  for (const testee of testees) {
    const t0 = Date.now();
    let results: CaseResult[];
    if (testee === 'server') {
      results = await testServer({ impl, profile, cases, agent, timeScale, log, http2, ...(url ? { url } : {}) });
    } else {
      results = await testClient({
        impl,
        profile,
        cases,
        agent,
        timeScale,
        log,
        http2,
        ...(listen ? { listen: Number(listen), external: true, onListening: (u: string) => console.log(`fuzzing server listening on ${u}; run the client under test against it`) } : {}),
      });
    }
    const dir = join(root, testee === 'server' ? 'servers' : 'clients');
    await writeReports(dir, `Autobahn conformance — ${testee} under test`, results);
    console.log(`${testee} under test (${results[0]?.agent ?? agent}): ${summaryLine(results)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`  reports: ${dir}/index.html, summary.md, index.json`);
    if (args.has('write-expected')) {
      await writeExpected(testee, results, expectedPath);
      console.log(`  wrote expected verdicts for the ${testee} role to ${fileURLToPath(expectedPath)}`);
    } else if (check) {
      const comparison = compareWithExpected(await readExpected(expectedPath), testee, results);
      for (const line of describeComparison(testee, comparison)) console.log(`  ${line}`);
      if (comparison.regressions.length > 0 || (impl !== 'ws6455' && comparison.improvements.length > 0)) failed = true;
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
