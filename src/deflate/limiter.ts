/**
 * A process-wide first-in, first-out limiter for zlib jobs. Every asynchronous zlib call runs
 * on the libuv thread pool (4 threads by default), which file system and DNS work share;
 * without a bound, thousands of connections compressing at once would queue unbounded work
 * there and hold every input and output buffer at the same time.
 *
 * The state is two numbers and one array, so the ESM and CJS builds cannot disagree in any
 * way that matters.
 *
 * @module
 */
import { DEFAULT_CONCURRENCY_LIMIT } from './options.js';

/** A unit of work; it must call `done` exactly once when it no longer uses zlib. */
export type LimitedJob = (done: () => void) => void;

interface Waiting {
  job: LimitedJob;
  limit: number;
}

const waiting: Waiting[] = [];
let running = 0;
let draining = false;

function drain(): void {
  // Jobs that finish synchronously re-enter through done(); the loop below picks up their
  // slot instead of recursing.
  if (draining) return;
  draining = true;
  try {
    for (let next = waiting[0]; next !== undefined && running < next.limit; next = waiting[0]) {
      waiting.shift();
      running++;
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        running--;
        drain();
      };
      try {
        next.job(done);
      } catch (err) {
        // A job that throws must not keep its slot, nor stall the jobs behind it.
        done();
        queueMicrotask(drain);
        throw err;
      }
    }
  } finally {
    draining = false;
  }
}

/**
 * Runs `job` once fewer than `limit` jobs are running, after every job scheduled before it
 * (strict FIFO: a job waiting for its own lower limit holds back the ones behind it).
 *
 * @param job - the work; it receives the `done` callback that frees its slot
 * @param limit - the most jobs that may run at once, counting this one (default 10)
 */
export function runLimited(job: LimitedJob, limit: number = DEFAULT_CONCURRENCY_LIMIT): void {
  waiting.push({ job, limit: Math.max(1, limit) });
  drain();
}

/** Jobs running and waiting now; for tests and diagnostics. */
export function limiterLoad(): { running: number; waiting: number } {
  return { running, waiting: waiting.length };
}
