/**
 * The Autobahn catalogue against our library over 127.0.0.1, both sides, at CI sizes: fails when any case is
 * worse than autobahn/expected-results.json says. Protocol timeouts are stretched 2x (case pauses are not) so a
 * busy CI machine running other test files in parallel does not turn a slow echo into a verdict.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../autobahn/catalogue/index.js';
import { compareWithExpected, describeComparison, readExpected } from '../../autobahn/expected.js';
import type { Testee } from '../../autobahn/expected.js';
import { testClient, testServer } from '../../autobahn/harness.js';
import { ourLibraryExists } from '../../autobahn/impl.js';
import type { CaseResult } from '../../autobahn/peer/case-runner.js';
import { summaryLine } from '../../autobahn/reporting/summary.js';
import { writeReports } from '../../autobahn/reporting/write.js';

const TIME_SCALE = 2;
const present = await ourLibraryExists();

async function check(testee: Testee, results: CaseResult[]): Promise<void> {
  // Set AUTOBAHN_REPORTS=dir to keep the full reports of a CI run.
  const dir = process.env.AUTOBAHN_REPORTS;
  if (dir) await writeReports(`${dir}/${testee === 'server' ? 'servers' : 'clients'}`, `CI conformance — ${testee} under test`, results);
  const comparison = compareWithExpected(await readExpected(), testee, results);
  console.log(`${testee} under test: ${summaryLine(results)}`);
  for (const line of describeComparison(testee, comparison)) console.log(line);
  expect(comparison.missing, 'cases in expected-results.json that did not run').toEqual([]);
  expect(
    comparison.regressions.map((d) => `${d.id}: expected ${d.expected}, got ${d.actual} — ${d.why ?? ''}`),
    'cases worse than autobahn/expected-results.json',
  ).toEqual([]);
}

describe.skipIf(!present)('Autobahn conformance (CI profile)', () => {
  it('our server: no case worse than expected', async () => {
    const results = await testServer({ impl: 'ws6455', profile: 'ci', cases: CATALOGUE, agent: 'ws6455', timeScale: TIME_SCALE });
    await check('server', results);
  }, 240_000);

  it('our client: no case worse than expected', async () => {
    const results = await testClient({ impl: 'ws6455', profile: 'ci', cases: CATALOGUE, agent: 'ws6455', timeScale: TIME_SCALE });
    await check('client', results);
  }, 240_000);
});
