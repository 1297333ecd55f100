/**
 * Failover of resumable sessions across servers on a real redis-server: three server processes
 * share a RedisSessionStore and a Cluster; a session client sends 2,400 messages (and receives
 * what the servers send) while the server holding its session is killed with SIGKILL six times,
 * and resumes on another server each time. Counted in both directions, against the README's
 * promise when a server dies:
 *
 * - Client → server: nothing the client was told is acknowledged is lost (a message is
 *   acknowledged only once the store recorded it), and nothing is lost at all (what is not
 *   acknowledged stays in the client's buffer and is resent). A message the dead server had
 *   delivered to its application but not yet recorded is delivered again by the next server,
 *   flagged `redelivered` with its seq: a repeat is never unflagged; order is kept once flagged
 *   repeats are removed.
 * - Server → client: a message is written to the socket only after the store recorded it, so the
 *   client never gets one twice; nothing whose `send()` resolved (the client acknowledged it) is
 *   lost; a send the dead server made and the store had not recorded is lost with it, and its
 *   promise never resolved (it is counted here as unconfirmed, never silently as delivered).
 *
 * Also: the same kill with the memory store (the client is told it could not resume), a session
 * resumed on the server it left (exactly once, nothing flagged), and a session moved to another
 * server while the first one still holds its connection (release on claim, through the cluster).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStats } from '../../src/cluster/index.js';
import { RedisServer, redisAvailable } from './redis-server.js';
import { countDown, countUp, readServerLog, SessionFixture, SessionPeer, sleep, type SessionFixtureConfig } from './session-helpers.js';

const available = redisAvailable();
let redis: RedisServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ws6455-failover-'));
  if (available) redis = await RedisServer.start();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface RunOptions {
  client: 'redis' | 'ioredis';
  store: 'redis' | 'memory';
  /** Client messages in all. */
  messages: number;
  /** Kills of the server holding the session, spread over the run. */
  kills: number;
  /** Client-side cuts with a resumption on the same server (no kill). */
  cuts?: number;
  /**
   * Moves: the client leaves its connection open (the holder notices nothing) and resumes on
   * another server, which claims the session; the holder must close the old connection (4001).
   */
  moves?: number;
  servers?: number;
  /** Stop as soon as the client was reset (the memory store comparison). */
  untilReset?: boolean;
}

let runs = 0;

/** Drives one run; returns the peer and the logs of every server process that took part. */
async function run(options: RunOptions) {
  const tag = `${options.store}-${options.client}-${++runs}`;
  let generation = 0;
  const fixtures: SessionFixture[] = [];
  const start = (): Promise<SessionFixture> => {
    const name = `${tag}-p${++generation}`;
    const config: SessionFixtureConfig = {
      name,
      log: join(dir, `${name}.log`),
      redisUrl: redis.url,
      client: options.client,
      store: options.store,
      cluster: options.store === 'redis',
      resumeWindow: 60_000,
      maxSends: 100_000,
    };
    return SessionFixture.start(config).then((f) => {
      fixtures.push(f);
      return f;
    });
  };
  const servers = options.servers ?? 3;
  await Promise.all(Array.from({ length: servers }, () => start()));
  const peer = new SessionPeer();
  let holder = fixtures[0] as SessionFixture;
  await peer.connect(holder.url);
  const cuts = options.cuts ?? 0;
  const moves = options.moves ?? 0;
  const steps = options.kills + cuts + moves;
  /** Close codes of the connections left open by moves, once they closed. */
  const left: Array<Promise<number>> = [];
  /** The server a move leaves (the next connection goes elsewhere). */
  let avoid: SessionFixture | null = null;
  const thresholds = Array.from({ length: steps }, (_, k) => Math.floor(((k + 1) * options.messages) / (steps + 1)));
  let step = 0;
  let killAt = 0;
  let kills = 0;
  let quiesced = false;
  const replacements: Array<Promise<SessionFixture>> = [];
  /** The cluster stats of the servers alive at the end. */
  const stats: ClusterStats[] = [];
  let lastStates = '';
  const deadline = Date.now() + 100_000;
  try {
    for (let loop = 0; ; loop++) {
      if (Date.now() > deadline || loop > 1_000_000) throw new Error(`run did not finish: sent ${peer.sent}, acked ${peer.acked}, failed ${peer.failed.length}, step ${step}, open ${peer.open}, quiesced ${quiesced}, received ${peer.received.length}, unack ${peer.session.unacknowledged}, closes ${peer.closeCodes.join(',')}, states ${lastStates}`);
      // A few messages per turn (not a burst per acknowledgement): the holder always has some
      // delivered that its next acknowledgement (every 32 messages or 100 ms) will record.
      for (let k = 0; k < 3 && peer.sent < options.messages && peer.session.unacknowledged < 200; k++) peer.sendNext();
      // A kill or a cut once the session runs on its holder and the client has sent enough.
      // (A kill waits until another server is up, so that the client has somewhere to go.)
      const others = fixtures.filter((f) => f.alive && f !== holder).length;
      const needsOther = step < options.kills || step >= options.kills + cuts;
      if (killAt === 0 && step < steps && peer.open && peer.sent >= (thresholds[step] as number) && peer.received.length > 0 && (!needsOther || others > 0)) {
        // A little later, at a point of its own: the holder is then usually in the middle of
        // the burst just sent, with messages delivered and not yet recorded.
        killAt = Date.now() + 1 + Math.floor(Math.random() * 12);
      }
      if (killAt !== 0 && Date.now() >= killAt) {
        killAt = 0;
        step += 1;
        if (step <= options.kills) {
          const dead = holder;
          kills += 1;
          await dead.kill();
          // A new process takes its place, so that servers stay available.
          replacements.push(start());
        } else if (step <= options.kills + cuts) {
          await peer.cut();
        } else {
          const old = peer.drop();
          if (old !== null) left.push(new Promise<number>((resolve) => old.once('close', (code) => resolve(code))));
          avoid = holder;
        }
      }
      if (options.untilReset === true && peer.resets.length > 0) break;
      if (peer.socket === null) {
        // Reconnect: the server it left if alive (after a cut), else another live one.
        let connected = false;
        let lastError = '';
        const until = Date.now() + 30_000;
        for (let attempt = 0; !connected && Date.now() < until; attempt++) {
          const order = (avoid === null ? [holder, ...fixtures.filter((f) => f !== holder)] : fixtures.filter((f) => f !== avoid)).filter((f) => f.alive);
          const target = order[attempt % Math.max(1, order.length)];
          if (target === undefined) {
            await sleep(50);
            continue;
          }
          try {
            await peer.connect(target.url);
            holder = target;
            avoid = null;
            connected = true;
          } catch (err) {
            lastError = `${target.name}: ${err instanceof Error ? err.message : String(err)}`;
            await sleep(20);
          }
        }
        if (!connected) throw new Error(`could not reconnect to any server (${lastError}) ${fixtures.map((f) => `${f.name} alive=${f.alive} ${f.stderr}`).join(' | ')}`);
      }
      if (!quiesced && peer.sent === options.messages && peer.acked + peer.failed.length === options.messages && step === steps) {
        await Promise.all(fixtures.filter((f) => f.alive).map((f) => f.call('quiesce')));
        quiesced = true;
      }
      if (quiesced && peer.open) {
        const states = await Promise.all(
          fixtures.filter((f) => f.alive).map((f) => f.call<{ sessions: Array<{ unacknowledged: number }>; stats: ClusterStats | null }>('state')),
        );
        lastStates = JSON.stringify(states.map((x) => x.sessions));
        if (states.every((s) => s.sessions.every((x) => x.unacknowledged === 0))) {
          for (const st of states) if (st.stats !== null) stats.push(st.stats);
          break;
        }
      }
      await sleep(2);
    }
  } finally {
    await Promise.allSettled(replacements);
    await Promise.all(fixtures.map((f) => f.stop()));
    peer.socket?.terminate();
  }
  // Bounded: a connection a move left open that was never closed counts as -1.
  const leftCodes = await Promise.all(left.map((p) => Promise.race([p, sleep(10_000).then(() => -1)])));
  const logs = fixtures.map((f) => readServerLog(f.name, f.config.log));
  return { peer, logs, kills, cuts, leftCodes, stats, processes: fixtures.length };
}

describe.skipIf(!available)('session failover across servers (real redis-server, SIGKILL)', () => {
  for (const client of ['redis', 'ioredis'] as const) {
    it(`${client}: the holder killed 6 times, the session resumes on another server each time`, { timeout: 240_000 }, async () => {
      const { peer, logs, kills, processes } = await run({ client, store: 'redis', messages: 2400, kills: 6 });
      const up = countUp(peer, logs);
      const down = countDown(peer, logs);
      const restored = logs.reduce((n, l) => n + l.opened.filter((o) => o.how === 'restored').length, 0);
      console.log(`[session-failover] ${client} kills=${kills} processes=${processes} restored=${restored} resets=${peer.resets.length}`);
      console.log(`[session-failover] ${client} client→server ${JSON.stringify(up)}`);
      console.log(`[session-failover] ${client} server→client ${JSON.stringify(down)}`);
      expect(kills).toBe(6);
      expect(peer.resets).toEqual([]);
      expect(restored).toBe(6);
      // Client → server: every message acknowledged, none lost; a repeat is always flagged.
      expect(up.acked).toBe(2400);
      expect(peer.failed).toEqual([]);
      expect(up.lost).toBe(0);
      expect(up.unflaggedRepeat).toBe(0);
      expect(up.wrongSeq).toBe(0);
      expect(up.outOfOrder).toBe(0);
      expect(up.corrupt).toBe(0);
      expect(up.duplicated).toBeLessThanOrEqual(up.flagged);
      // Server → client: nothing acknowledged lost, nothing twice, in order.
      expect(down.acked).toBeGreaterThan(0);
      expect(down.lost).toBe(0);
      expect(down.duplicated).toBe(0);
      expect(down.outOfOrder).toBe(0);
      // What a killed server had stored reached the client: a loss only at the end of its sends.
      expect(down.holes).toBe(0);
      // Everything the client got was sent by a server application: acknowledged, or sent by a
      // server killed before its promise settled (stored, then resent by the next server).
      expect(down.received).toBe(down.acked + down.unconfirmedReceived + down.failedReceived);
      expect(down.unconfirmed).toBeGreaterThan(0);
    });
  }

  it('redis: moved to another server while the first still holds the connection, the first closes it (4001) and lets the session go', { timeout: 150_000 }, async () => {
    const { peer, logs, leftCodes, stats } = await run({ client: 'redis', store: 'redis', messages: 1200, kills: 0, moves: 4, servers: 2 });
    const up = countUp(peer, logs);
    const down = countDown(peer, logs);
    const replacedCloses = logs.reduce((n, l) => n + l.closes.filter((c) => c === 'WS_SESSION_REPLACED').length, 0);
    const claims = stats.reduce((n, x) => n + x.sessionClaims, 0);
    const releases = stats.reduce((n, x) => n + x.sessionReleases, 0);
    console.log(`[session-failover] moves=4 left=${JSON.stringify(leftCodes)} replaced=${replacedCloses} claims=${claims} releases by the cluster=${releases}`);
    console.log(`[session-failover] moves client→server ${JSON.stringify(up)} server→client ${JSON.stringify(down)}`);
    // Every connection left behind was closed by its server with 4001, and that copy ended.
    expect(leftCodes).toEqual([4001, 4001, 4001, 4001]);
    expect(replacedCloses).toBe(4);
    expect(claims).toBe(4);
    // The cluster notice or a refused store write, whichever came first: never both.
    expect(releases).toBeLessThanOrEqual(4);
    expect(peer.resets).toEqual([]);
    expect(up).toMatchObject({ acked: 1200, lost: 0, unflaggedRepeat: 0, outOfOrder: 0, corrupt: 0, wrongSeq: 0 });
    expect(down).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, holes: 0, unconfirmed: 0 });
    expect(down.received).toBe(down.acked + down.failedReceived);
  });

  it('redis: resumed on the server it left (cuts, no kill), the session continues exactly once, nothing flagged', { timeout: 150_000 }, async () => {
    const { peer, logs, cuts } = await run({ client: 'redis', store: 'redis', messages: 1500, kills: 0, cuts: 8, servers: 1 });
    const up = countUp(peer, logs);
    const down = countDown(peer, logs);
    const local = logs.reduce((n, l) => n + l.opened.filter((o) => o.how === 'local').length, 0);
    console.log(`[session-failover] same server cuts=${cuts} local resumptions=${local} client→server ${JSON.stringify(up)} server→client ${JSON.stringify(down)}`);
    expect(local).toBe(8);
    expect(peer.resets).toEqual([]);
    expect(up).toMatchObject({ acked: 1500, lost: 0, duplicated: 0, flagged: 0, unflaggedRepeat: 0, outOfOrder: 0, corrupt: 0 });
    expect(up.deliveries).toBe(1500);
    expect(down).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, holes: 0 });
    // Exactly once: what the server sent and saw acknowledged is what the client received.
    expect(down.received).toBe(down.acked);
  });

  it('memory store: the same kill, and the client is told it could not resume (a new session, WS_SESSION_UNKNOWN)', { timeout: 120_000 }, async () => {
    const { peer, logs } = await run({ client: 'redis', store: 'memory', messages: 600, kills: 1, untilReset: true, servers: 2 });
    const up = countUp(peer, logs);
    console.log(`[session-failover] memory store: resets=${JSON.stringify(peer.resets)} ready=${JSON.stringify(peer.ready.map((r) => r.resumed))} failed sends=${peer.failed.length} client→server ${JSON.stringify(up)}`);
    expect(peer.resets).toEqual(['WS_SESSION_UNKNOWN']);
    // The first session, then a new one instead of a resumption.
    expect(peer.ready.map((r) => r.resumed)).toEqual([false, false]);
    expect(peer.ready[0]?.id).not.toBe(peer.ready[1]?.id);
    // What was acknowledged reached the dead server's application; the rest is reported failed, with the reason.
    expect(up.lost).toBe(0);
    expect(peer.failed.length).toBe(up.sent - up.acked);
    expect(peer.failed.every((c) => c === 'WS_SESSION_UNKNOWN')).toBe(true);
  });
});
