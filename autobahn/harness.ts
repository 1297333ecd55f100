/**
 * Runs the catalogue in either role, in-process: the peer as a client against a server under test (our echo
 * server, the `ws` echo server, or any URL), or the peer as the fuzzing server with a client driver connecting
 * to it (ours, `ws`'s, or an external one). Used by the CLI (autobahn/conformance.ts) and the CI test.
 */
import type { CaseDef } from './catalogue/types.js';
import { runClientDriver } from './client.js';
import { startEchoServer } from './echo-server.js';
import type { ImplName } from './impl.js';
import type { Profile } from './peer/bytes.js';
import type { CaseResult } from './peer/case-runner.js';
import { runClientPeer } from './peer/client-peer.js';
import { startServerPeer } from './peer/server-peer.js';

/** Common options. */
export interface HarnessOptions {
  readonly impl: ImplName;
  readonly profile: Profile;
  readonly cases: readonly CaseDef[];
  readonly agent: string;
  readonly timeScale?: number;
  readonly log?: (line: string) => void;
  /** Run every case over HTTP/2 (RFC 8441, h2c): the peer and the testee on streams of HTTP/2 sessions. */
  readonly http2?: boolean;
}

function progress(log: ((line: string) => void) | undefined, label: string) {
  return (r: CaseResult, i: number, total: number): void => {
    if (r.behavior === 'FAILED' || (r.behaviorClose !== 'OK' && r.behaviorClose !== 'INFORMATIONAL')) {
      log?.(`  ${label} ${r.id}: ${r.behavior}/${r.behaviorClose} — ${r.result} / ${r.resultClose}`);
    }
    if ((i + 1) % 100 === 0 || i + 1 === total) log?.(`  ${label}: ${i + 1}/${total} cases`);
  };
}

/** Tests a server: `url` if given, else an echo server of `impl` started on 127.0.0.1, port 0. */
export async function testServer(options: HarnessOptions & { readonly url?: string }): Promise<CaseResult[]> {
  const echo = options.url ? null : await startEchoServer({ port: 0, host: '127.0.0.1', impl: options.impl, http2: options.http2 === true });
  try {
    return await runClientPeer({
      url: options.url ?? (echo as { url: string }).url,
      agent: options.agent,
      profile: options.profile,
      cases: options.cases,
      ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
      ...(options.http2 === true ? { http2: true } : {}),
      onResult: progress(options.log, 'server'),
    });
  } finally {
    await echo?.close();
  }
}

/**
 * Tests a client: starts the fuzzing server (port `listen`, default 0) and either runs the client driver of
 * `impl` against it, or — with `external` — waits for any client to run all cases and call /updateReports.
 */
export async function testClient(
  options: HarnessOptions & { readonly listen?: number; readonly external?: boolean; readonly onListening?: (url: string) => void },
): Promise<CaseResult[]> {
  let finishedAgent: (agent: string) => void = () => {};
  const finished = new Promise<string>((resolve) => (finishedAgent = resolve));
  let count = 0;
  const peer = await startServerPeer({
    port: options.listen ?? 0,
    host: '127.0.0.1',
    profile: options.profile,
    cases: options.cases,
    ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
    onResult: (r) => progress(options.log, 'client')(r, count++, options.cases.length),
    onUpdateReports: (agent) => finishedAgent(agent),
    ...(options.http2 === true ? { http2: true } : {}),
  });
  options.onListening?.(peer.url);
  try {
    let agent = options.agent;
    if (options.external) agent = await finished;
    else {
      await runClientDriver({ url: peer.url, agent, impl: options.impl, http2: options.http2 === true });
      await finished;
    }
    return [...(peer.results.get(agent)?.values() ?? [])];
  } finally {
    await peer.close();
  }
}
