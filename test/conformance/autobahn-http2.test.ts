/**
 * The Autobahn catalogue over HTTP/2 (RFC 8441, h2c), both roles, at CI sizes: every case runs on a stream of an
 * HTTP/2 session (the peer frames HTTP/2 with Node's own `http2` module, see autobahn/peer/h2.ts) and must reach
 * exactly the verdict autobahn/expected-results.json gives it over TCP: the same verdicts, not merely none worse.
 * Protocol timeouts are stretched 2x, as in the TCP run.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../autobahn/catalogue/index.js';
import { readExpected, verdictKey } from '../../autobahn/expected.js';
import type { Testee } from '../../autobahn/expected.js';
import { testClient, testServer } from '../../autobahn/harness.js';
import type { CaseResult } from '../../autobahn/peer/case-runner.js';
import { summaryLine } from '../../autobahn/reporting/summary.js';
import { writeReports } from '../../autobahn/reporting/write.js';

const TIME_SCALE = 2;

async function check(testee: Testee, results: CaseResult[]): Promise<void> {
  const dir = process.env.AUTOBAHN_REPORTS;
  if (dir) await writeReports(`${dir}/http2/${testee === 'server' ? 'servers' : 'clients'}`, `CI conformance over HTTP/2 — ${testee} under test`, results);
  console.log(`${testee} under test over HTTP/2: ${summaryLine(results)}`);
  const expected = (await readExpected())[testee];
  const differences = results
    .filter((r) => verdictKey(r) !== expected[r.id])
    .map((r) => `${r.id}: over TCP ${expected[r.id] ?? 'absent'}, over HTTP/2 ${verdictKey(r)} — ${r.result} / ${r.resultClose}`);
  expect(results.map((r) => r.id).sort()).toEqual(Object.keys(expected).sort());
  expect(differences, 'cases whose verdict over HTTP/2 differs from expected-results.json').toEqual([]);
  // Every case really ran on a stream: its opening handshake was an extended CONNECT.
  const notH2 = results.filter((r) => !r.httpRequest.startsWith(':method: CONNECT\r\n:protocol: websocket')).map((r) => r.id);
  expect(notH2).toEqual([]);
}

describe('Autobahn conformance over HTTP/2 (RFC 8441, CI profile)', () => {
  it('our server: every case on a stream, the same verdicts as over TCP', async () => {
    const results = await testServer({ impl: 'ws6455', profile: 'ci', cases: CATALOGUE, agent: 'ws6455', timeScale: TIME_SCALE, http2: true });
    await check('server', results);
  }, 240_000);

  it('our client (http2: true): every case on a stream, the same verdicts as over TCP', async () => {
    const results = await testClient({ impl: 'ws6455', profile: 'ci', cases: CATALOGUE, agent: 'ws6455', timeScale: TIME_SCALE, http2: true });
    await check('client', results);
  }, 240_000);
});
