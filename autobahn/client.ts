/**
 * Autobahn testee: the client driver for a fuzzing server (the official one or autobahn/peer/server-peer.ts).
 * It asks for the case count, runs every case by echoing each message back, then asks for the reports.
 *
 *   AUTOBAHN_URL=ws://127.0.0.1:9001 npm run autobahn:client       (our library)
 *   IMPL=ws AGENT=ws npm run autobahn:client                        (the `ws` package, as a reference)
 */
import { pathToFileURL } from 'node:url';
import { loadImpl } from './impl.js';
import type { ImplName, TesteeModule } from './impl.js';
import { MAX_PAYLOAD } from './echo-server.js';

/** Options of the client driver. */
export interface ClientDriverOptions {
  readonly url?: string;
  readonly agent?: string;
  readonly impl?: ImplName;
  /** Per-case time limit in seconds: the driver terminates a connection that outlives it. */
  readonly caseTimeoutSecs?: number;
  readonly log?: (line: string) => void;
  /** Dial every connection over HTTP/2 (RFC 8441, `http2: true`; ws6455 only). */
  readonly http2?: boolean;
}

/** Opens one connection, echoes every message, resolves when it closes (or the time limit ends it). */
function session(mod: TesteeModule, url: string, timeoutSecs: number, onMessage?: (data: Buffer) => void, http2 = false): Promise<void> {
  return new Promise((resolve) => {
    // permessage-deflate keeps the client default (offered with client_max_window_bits), which 12.x/13.x negotiate.
    const ws = new mod.WebSocket(url, undefined, http2 ? { maxPayload: MAX_PAYLOAD, http2: true } : { maxPayload: MAX_PAYLOAD });
    const timer = setTimeout(() => ws.terminate?.(), timeoutSecs * 1000);
    ws.on('message', (data, isBinary) => {
      if (onMessage) onMessage(data);
      else ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => {}); // the case verdict is the fuzzing server's business; 'close' always follows
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Runs all cases the fuzzing server offers; resolves with the number of cases run. */
export async function runClientDriver(options: ClientDriverOptions = {}): Promise<number> {
  const mod = await loadImpl(options.impl ?? 'ws6455');
  const base = (options.url ?? 'ws://127.0.0.1:9001').replace(/\/+$/, '');
  const agent = encodeURIComponent(options.agent ?? 'ws6455');
  const limit = options.caseTimeoutSecs ?? 600;
  let count = 0;
  const h2 = options.http2 === true;
  await session(mod, `${base}/getCaseCount`, 30, (data) => {
    count = Number.parseInt(data.toString('utf8'), 10);
  }, h2);
  if (!Number.isInteger(count) || count < 0) throw new Error('fuzzing server sent no case count');
  options.log?.(`running ${count} cases`);
  for (let i = 1; i <= count; i++) {
    await session(mod, `${base}/runCase?case=${i}&agent=${agent}`, limit, undefined, h2);
    if (i % 50 === 0 || i === count) options.log?.(`case ${i}/${count} done`);
  }
  await session(mod, `${base}/updateReports?agent=${agent}`, 60, undefined, h2);
  return count;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const impl = (process.env.IMPL ?? 'ws6455') as ImplName;
  const count = await runClientDriver({
    url: process.env.AUTOBAHN_URL ?? 'ws://127.0.0.1:9001',
    agent: process.env.AGENT ?? (impl === 'ws' ? 'ws' : 'ws6455'),
    impl,
    log: (line) => console.log(line),
  });
  console.log(`client driver finished ${count} cases`);
}
