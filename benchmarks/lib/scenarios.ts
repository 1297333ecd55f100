/**
 * The end-to-end scenarios (issue 7) and the time budget of a full and a quick run.
 *
 * Pipeline depth: (a) and (b) are given by the issue; (c) keeps (b)'s 8 so 16 B and 1 KiB differ only
 * in size. The large-message cases use fewer messages in flight because two or four outstanding
 * 64 KiB / 1 MiB messages already keep every socket busy, and more would mostly measure how much the
 * kernel and the server are willing to buffer.
 *
 * (h) runs with the deflate driver instead of the C generator (see measure-deflate.ts). 16 KiB of
 * JSON-like text shrinks to about a fifth on the wire, so zlib work in the server, not the socket,
 * sets the pace. 10 connections with 8 in flight already hold the server core at 100%; more (as
 * bench:deflate's 50) would mostly add zlib state, about 290 KiB per connection, not load.
 */

/** What a scenario measures and how its number is read ('deflate': compressed echo via the deflate driver). */
export type ScenarioKind = 'echo' | 'memory' | 'handshake' | 'deflate';

/** One row of the table. */
export interface Scenario {
  id: string;
  title: string;
  kind: ScenarioKind;
  /** Connections (echo), idle connections (memory) or concurrent dialers (handshake). */
  conns: number;
  inflight: number;
  size: number;
  unit: 'msg/s' | 'MiB/s' | 'kB/conn' | 'conn/s';
  higherIsBetter: boolean;
}

/** How long and how often each scenario runs. */
export interface Budget {
  rounds: number;
  warmup: number;
  duration: number;
  idleConns: number;
}

/** The scenarios, in table order. */
export const SCENARIOS: readonly Scenario[] = [
  { id: 'a', title: '1 conn, 64 in flight, 16 B', kind: 'echo', conns: 1, inflight: 64, size: 16, unit: 'msg/s', higherIsBetter: true },
  { id: 'b', title: '100 conns, 8 in flight, 16 B', kind: 'echo', conns: 100, inflight: 8, size: 16, unit: 'msg/s', higherIsBetter: true },
  { id: 'c', title: '100 conns, 8 in flight, 1 KiB', kind: 'echo', conns: 100, inflight: 8, size: 1024, unit: 'msg/s', higherIsBetter: true },
  { id: 'd', title: '10 conns, 4 in flight, 64 KiB', kind: 'echo', conns: 10, inflight: 4, size: 65536, unit: 'MiB/s', higherIsBetter: true },
  { id: 'e', title: '4 conns, 2 in flight, 1 MiB', kind: 'echo', conns: 4, inflight: 2, size: 1048576, unit: 'MiB/s', higherIsBetter: true },
  // conns is filled in from the budget (and the fd limit) at run time.
  { id: 'f', title: 'idle conns: RSS added per conn', kind: 'memory', conns: 0, inflight: 0, size: 0, unit: 'kB/conn', higherIsBetter: false },
  { id: 'g', title: 'handshakes (connect, upgrade, close), 32 dialers', kind: 'handshake', conns: 32, inflight: 0, size: 0, unit: 'conn/s', higherIsBetter: true },
  { id: 'h', title: 'permessage-deflate, 10 conns, 8 in flight, 16 KiB JSON', kind: 'deflate', conns: 10, inflight: 8, size: 16384, unit: 'msg/s', higherIsBetter: true },
];

/** `npm run bench`: three alternating rounds, enough time for the JIT to settle. About 15 minutes. */
export const FULL: Budget = { rounds: 3, warmup: 2, duration: 5, idleConns: 10_000 };

/** `npm run bench:quick`: one round of short windows, under two minutes; good for spotting big changes only. */
export const QUICK: Budget = { rounds: 1, warmup: 0.5, duration: 1.5, idleConns: 10_000 };
