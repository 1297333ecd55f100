/**
 * The Lua scripts of {@link RedisSessionStore}: each store call is one script, so the check of
 * the owner (fencing), the check of the sequence number and the change happen in one atomic
 * step on the Redis server. Scripts are run with `EVALSHA`; they are loaded with `SCRIPT LOAD`
 * ahead of the first call (on the same connection, so before it), and an `EVALSHA` that meets
 * an empty script cache (`NOSCRIPT`: Redis restarted, `SCRIPT FLUSH`) is sent again with `EVAL`
 * (see {@link ScriptRunner} for how the calls of a session stay in order).
 *
 * Keys of one session (`{id}` is a hash tag: both keys live in one slot of a Redis Cluster):
 *
 * ```
 * <prefix>:session:{<id>}      hash  o owner, s confirmed secret digest, p pending secret digest,
 *                                    r received, n sent, a acknowledged, e expiresAt ('' connected)
 * <prefix>:session:{<id>}:out  list  messages a+1 … n, each <tag byte><payload>
 *                                    (tag s: text given as a string, t: text given as bytes, b: binary)
 * ```
 *
 * Replies are integers (0 done, negative codes below) so that no client-specific error type
 * has to be parsed.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { SessionError } from '../session/errors.js';
import { redisError } from './errors.js';
import { text, type ClusterRedis, type RedisArg } from './redis.js';

/** Reply codes of the scripts. @internal */
export const Reply = { Ok: 0, Unknown: -1, Replaced: -2, NotNext: -3, Exists: -4, Expired: -5, Stale: -6 } as const;

/** Fencing shared by every write: the record exists and `ARGV[1]` owns it. */
const FENCE = `
local o = redis.call('HGET', KEYS[1], 'o')
if not o then return ${Reply.Unknown} end
if o ~= ARGV[1] then return ${Reply.Replaced} end
`;

/** One script: its body and SHA-1 (what `EVALSHA` names it by). @internal */
export class Script {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly body: string,
  ) {
    this.sha = createHash('sha1').update(body).digest('hex');
  }
}

/** The scripts, by store call. ARGV[1] is always the caller's owner for the fenced ones. @internal */
export const SCRIPTS = {
  /** ARGV: owner, secret digest, pending digest, received, sent, acknowledged, expiresAt, ttl, then (tag, payload) pairs. */
  create: new Script(
    'create',
    `
local o = redis.call('HGET', KEYS[1], 'o')
if o then
  if o == ARGV[1] then return ${Reply.Ok} end
  return ${Reply.Exists}
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'o', ARGV[1], 's', ARGV[2], 'p', ARGV[3], 'r', ARGV[4], 'n', ARGV[5], 'a', ARGV[6], 'e', ARGV[7])
for i = 9, #ARGV, 2 do redis.call('RPUSH', KEYS[2], ARGV[i] .. ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return ${Reply.Ok}
`,
  ),
  /**
   * ARGV: secret digest, fresh digest, now, owner, copy ('' for none), ttl.
   * Reply: {code} | {0, owner} (the copy stays) | {1, previous owner, r, n, a, messages}.
   */
  claim: new Script(
    'claim',
    `
local h = redis.call('HMGET', KEYS[1], 'o', 's', 'p', 'e')
local o = h[1]
if not o then return {${Reply.Unknown}} end
if h[4] and h[4] ~= '' and tonumber(ARGV[3]) >= tonumber(h[4]) then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {${Reply.Expired}}
end
if h[3] and h[3] ~= '' and h[3] == ARGV[1] then
  redis.call('HSET', KEYS[1], 's', h[3])
elseif not (h[2] and h[2] ~= '' and h[2] == ARGV[1]) then
  return {${Reply.Stale}}
end
redis.call('HSET', KEYS[1], 'p', ARGV[2], 'e', '')
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
if ARGV[5] ~= '' and o == ARGV[5] then return {0, o} end
redis.call('HSET', KEYS[1], 'o', ARGV[4])
local f = redis.call('HMGET', KEYS[1], 'r', 'n', 'a')
return {1, o, f[1], f[2], f[3], redis.call('LRANGE', KEYS[2], 0, -1)}
`,
  ),
  /** ARGV: owner, secret digest. */
  confirm: new Script(
    'confirm',
    `${FENCE}
if redis.call('HGET', KEYS[1], 'p') == ARGV[2] then redis.call('HSET', KEYS[1], 's', ARGV[2], 'p', '') end
return ${Reply.Ok}
`,
  ),
  /** ARGV: owner, seq, tag, payload. */
  append: new Script(
    'append',
    `${FENCE}
if tonumber(ARGV[2]) ~= tonumber(redis.call('HGET', KEYS[1], 'n')) + 1 then return ${Reply.NotNext} end
if redis.call('RPUSH', KEYS[2], ARGV[3] .. ARGV[4]) == 1 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
redis.call('HSET', KEYS[1], 'n', ARGV[2])
return ${Reply.Ok}
`,
  ),
  /** ARGV: owner, upTo. The list holds a+1 … n, so the first upTo - a messages go. */
  acknowledge: new Script(
    'acknowledge',
    `${FENCE}
local a = tonumber(redis.call('HGET', KEYS[1], 'a'))
local up = tonumber(ARGV[2])
if up <= a then return ${Reply.Ok} end
redis.call('HSET', KEYS[1], 'a', ARGV[2])
redis.call('LTRIM', KEYS[2], up - a, -1)
return ${Reply.Ok}
`,
  ),
  /** ARGV: owner, upTo. */
  received: new Script(
    'received',
    `${FENCE}
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'r')) then redis.call('HSET', KEYS[1], 'r', ARGV[2]) end
return ${Reply.Ok}
`,
  ),
  /** ARGV: owner, expiresAt ('' when back), ttl. */
  away: new Script(
    'away',
    `${FENCE}
redis.call('HSET', KEYS[1], 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return ${Reply.Ok}
`,
  ),
  /** ARGV: owner. */
  delete: new Script(
    'delete',
    `
if redis.call('HGET', KEYS[1], 'o') == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) end
return ${Reply.Ok}
`,
  ),
  /** ARGV: owner, ttl. Extends a connected session's keys; 1 when done, 2 when away, else a code. */
  refresh: new Script(
    'refresh',
    `${FENCE}
if redis.call('HGET', KEYS[1], 'e') ~= '' then return 2 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`,
  ),
  /** No ARGV. Reply: {} | {o, r, n, a, e, ttl, messages}. */
  read: new Script(
    'read',
    `
local h = redis.call('HMGET', KEYS[1], 'o', 'r', 'n', 'a', 'e')
if not h[1] then return {} end
return {h[1], h[2], h[3], h[4], h[5], redis.call('PTTL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
`,
  ),
} as const;

/** The name of a script. @internal */
export type ScriptName = keyof typeof SCRIPTS;

/** The calls of one session that are on their way. */
interface SessionCalls {
  /** Calls sent whose reply has not been handled yet (a retry on the wire counts as handled). */
  unsettled: number;
  /** The script epoch when its last call was sent. */
  epoch: number;
  /** The number of its last call sent. */
  last: number;
  /** Calls held back until the calls sent before Redis lost its scripts are handled. */
  queue: Array<() => void> | null;
}

function isNoScript(err: unknown): boolean {
  return /NOSCRIPT/.test(err instanceof Error ? err.message : String(err));
}

/**
 * Runs the scripts on one connection (the application's client), keeping the calls of each
 * session in the order they were made. Redis runs the commands of one connection in order, so
 * `EVALSHA` calls stay in order. When Redis lost its scripts (restarted, `SCRIPT FLUSH`), every
 * `EVALSHA` in flight is refused with `NOSCRIPT`; each is sent again with `EVAL` as its refusal
 * comes back, that is in the order of the calls, and a session's new calls wait until every
 * call it had in flight was sent again, so they follow them. One risk remains: a later call
 * of the same session that ran before a retry, because another server loaded the scripts in
 * between. The scripts make that harmless or visible: `received` and `acknowledge` only move
 * forward, `append` refuses a message that does not follow the last one stored (the session
 * then ends on this server and its client resumes it from the store), and `away`, the one call
 * whose late arrival could mark a connected session as away, is not sent again when calls of
 * its session followed it: it fails (`WS_SESSION_STORE_FAILED`), with the same outcome. @internal
 */
export class ScriptRunner {
  private loading = false;
  private loaded = false;
  /** Bumped each time Redis is found without the scripts. */
  private epoch = 0;
  private issued = 0;
  private readonly sessions = new Map<string, SessionCalls>();
  /** Times the scripts were loaded again, calls sent again with `EVAL`, calls failed for it. */
  readonly stats = { reloads: 0, retried: 0, refused: 0 };

  constructor(private readonly redis: ClusterRedis) {}

  /** Runs `script` on `keys` and `args` for session `id`. */
  run(id: string, script: Script, keys: readonly RedisArg[], args: readonly RedisArg[]): Promise<unknown> {
    if (!this.loaded) this.load();
    let calls = this.sessions.get(id);
    if (calls === undefined) {
      calls = { unsettled: 0, epoch: this.epoch, last: 0, queue: null };
      this.sessions.set(id, calls);
    }
    const session = calls;
    const tail: RedisArg[] = [String(keys.length), ...keys, ...args];
    return new Promise((resolve, reject) => {
      const send = (): void => this.send(id, session, script, tail, resolve, reject);
      if (session.queue !== null || (session.unsettled > 0 && session.epoch < this.epoch)) (session.queue ??= []).push(send);
      else send();
    });
  }

  private send(id: string, session: SessionCalls, script: Script, tail: RedisArg[], resolve: (value: unknown) => void, reject: (err: unknown) => void): void {
    const n = ++this.issued;
    const epoch = this.epoch;
    session.unsettled += 1;
    session.last = n;
    session.epoch = epoch;
    this.redis.command(['EVALSHA', script.sha, ...tail]).then(
      (value) => {
        this.handled(id, session);
        resolve(value);
      },
      (err: unknown) => {
        if (!isNoScript(err)) {
          this.handled(id, session);
          reject(redisError(`EVALSHA ${script.name}`, err));
          return;
        }
        if (epoch === this.epoch) {
          // The first refusal of this loss: load the scripts again before anything else is sent.
          this.epoch += 1;
          this.load(true);
        }
        if (script === SCRIPTS.away && session.last !== n) {
          this.handled(id, session);
          this.stats.refused += 1;
          reject(new SessionError('WS_SESSION_STORE_FAILED', 'Redis lost its scripts (NOSCRIPT) while later calls of the session were in flight', 1011));
          return;
        }
        this.stats.retried += 1;
        const retry = this.redis.command(['EVAL', script.body, ...tail]);
        this.handled(id, session); // the retry is on the wire: held-back calls may follow it
        retry.then(resolve, (err2: unknown) => reject(redisError(`EVAL ${script.name}`, err2)));
      },
    );
  }

  /** A call of `session` was answered or sent again: send what waited for it. */
  private handled(id: string, session: SessionCalls): void {
    session.unsettled -= 1;
    if (session.unsettled > 0) return;
    const queue = session.queue;
    session.queue = null;
    if (queue !== null) for (const send of queue) send();
    if (session.unsettled === 0 && session.queue === null && this.sessions.get(id) === session) this.sessions.delete(id);
  }

  /**
   * Sends `SCRIPT LOAD` for every script. Not awaited: commands of one connection run in
   * order, so the calls sent after it find the scripts; a failed load is tried again with the
   * next call (meanwhile the `EVAL` fallback covers).
   */
  private load(again = false): void {
    if (this.loading && !again) return;
    if (again) this.stats.reloads += 1;
    this.loading = true;
    this.loaded = true;
    const loads = Object.values(SCRIPTS).map((script) => this.redis.command(['SCRIPT', 'LOAD', script.body]));
    void Promise.allSettled(loads).then((results) => {
      this.loading = false;
      if (results.some((r) => r.status === 'rejected')) this.loaded = false;
    });
  }
}

/** A reply value as an integer. @internal */
export function int(value: unknown): number {
  return typeof value === 'number' ? value : Number(text(value));
}
