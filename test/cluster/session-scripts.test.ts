/**
 * The script runner of the Redis session store against a connection the test answers by hand:
 * what goes on the wire, in which order, when Redis lost its scripts (`NOSCRIPT`) with calls of
 * a session in flight, and while more calls are made.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterRedis, RedisArg } from '../../src/cluster/redis.js';
import { SCRIPTS, ScriptRunner } from '../../src/cluster/session-scripts.js';

interface Pending {
  args: readonly RedisArg[];
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Records every command; the test answers them, oldest first. */
class ManualRedis implements ClusterRedis {
  readonly wire: string[] = [];
  readonly pending: Pending[] = [];

  command(args: readonly RedisArg[]): Promise<unknown> {
    const name = String(args[0]);
    const label = name === 'SCRIPT' ? 'LOAD' : name === 'EVALSHA' ? `sha:${String(args.at(-1))}` : name === 'EVAL' ? `eval:${String(args.at(-1))}` : name;
    this.wire.push(label);
    return new Promise((resolve, reject) => this.pending.push({ args, resolve, reject }));
  }
  duplicate(): Promise<ClusterRedis> {
    throw new Error('not used');
  }
  subscribe(): Promise<void> {
    throw new Error('not used');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Answers the oldest command: ok, or NOSCRIPT for an EVALSHA. */
  async answer(noScript: boolean): Promise<void> {
    const p = this.pending.shift();
    if (p === undefined) throw new Error('nothing pending');
    if (noScript && p.args[0] === 'EVALSHA') p.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    else p.resolve(0);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }

  /** Answers every load. */
  async answerLoads(): Promise<void> {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i] as Pending;
      if (p.args[0] === 'SCRIPT') {
        this.pending.splice(i, 1);
        p.resolve('sha');
      }
    }
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

const call = (runner: ScriptRunner, id: string, tag: string, script = SCRIPTS.append): Promise<unknown> => runner.run(id, script, ['k1', 'k2'], ['owner', tag]);

describe('ScriptRunner', () => {
  it('loads the scripts ahead of the first call, then uses EVALSHA', async () => {
    const redis = new ManualRedis();
    const runner = new ScriptRunner(redis);
    void call(runner, 's', 'a');
    expect(redis.wire).toEqual([...Object.values(SCRIPTS).map(() => 'LOAD'), 'sha:a']);
  });

  it('after NOSCRIPT: every call in flight is sent again with EVAL in order, and calls made meanwhile wait for them', async () => {
    const redis = new ManualRedis();
    const runner = new ScriptRunner(redis);
    const results: string[] = [];
    const track = (p: Promise<unknown>, tag: string): void => void p.then(() => results.push(tag), () => results.push(`failed ${tag}`));
    track(call(runner, 's', 'a'), 'a');
    await redis.answerLoads();
    redis.wire.length = 0;
    track(call(runner, 's', 'b'), 'b');
    track(call(runner, 's', 'c'), 'c');
    track(call(runner, 'other', 'x'), 'x');
    await redis.answer(false); // a: ran before the scripts were lost
    await redis.answer(true); // b: NOSCRIPT → load again, EVAL b
    expect(redis.wire).toEqual(['sha:b', 'sha:c', 'sha:x', ...Object.values(SCRIPTS).map(() => 'LOAD'), 'eval:b']);
    // d is made now: c (sent before the loss) is still in flight, so d waits for its retry.
    track(call(runner, 's', 'd'), 'd');
    // Another session with nothing in flight goes at once.
    track(call(runner, 'third', 'y'), 'y');
    expect(redis.wire.slice(-1)).toEqual(['sha:y']);
    await redis.answer(true); // c: NOSCRIPT → EVAL c, then d
    expect(redis.wire.slice(-3)).toEqual(['sha:y', 'eval:c', 'sha:d']);
    await redis.answer(true); // x: NOSCRIPT → EVAL x
    expect(redis.wire.slice(-1)).toEqual(['eval:x']);
    await redis.answerLoads();
    while (redis.pending.length > 0) await redis.answer(false);
    expect(results.sort()).toEqual(['a', 'b', 'c', 'd', 'x', 'y']);
    expect(runner.stats).toMatchObject({ reloads: 1, retried: 3, refused: 0 });
  });

  it('an away refused with NOSCRIPT is not sent again when later calls of its session were sent after it', async () => {
    const redis = new ManualRedis();
    const runner = new ScriptRunner(redis);
    void call(runner, 's', 'first');
    await redis.answerLoads();
    await redis.answer(false);
    const away = call(runner, 's', 'away', SCRIPTS.away);
    const after = call(runner, 's', 'after');
    await redis.answer(true);
    await expect(away).rejects.toMatchObject({ code: 'WS_SESSION_STORE_FAILED' });
    await redis.answer(true);
    expect(redis.wire.filter((w) => w.startsWith('eval:'))).toEqual(['eval:after']);
    await redis.answerLoads();
    await redis.answer(false);
    await after;
    expect(runner.stats.refused).toBe(1);
  });

  it('other errors are reported as ClusterError WS_ERR_CLUSTER_REDIS with the script named', async () => {
    const redis = new ManualRedis();
    const runner = new ScriptRunner(redis);
    const p = call(runner, 's', 'a');
    await redis.answerLoads();
    (redis.pending.shift() as Pending).reject(new Error('OOM command not allowed'));
    await expect(p).rejects.toMatchObject({ code: 'WS_ERR_CLUSTER_REDIS', command: 'EVALSHA append' });
  });
});
