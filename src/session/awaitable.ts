/**
 * Values that are either ready or promised. The memory store answers synchronously, a Redis
 * store with promises; the session code takes both and runs the synchronous path without
 * deferring (so in-memory sessions behave as plain function calls).
 *
 * @module
 */

/** A value or a promise of it. */
export type Awaitable<T> = T | PromiseLike<T>;

function isPromiseLike<T>(value: Awaitable<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs `ok` with the value of `action()` (at once when it is not a promise, later otherwise),
 * or `fail` with what it threw or rejected with. An error thrown by `ok` itself (an application
 * handler it ran, say) is not a store failure and is not given to `fail`: it propagates to the
 * caller on the synchronous path, and becomes an unhandled rejection on the asynchronous one,
 * as an exception in an event listener would.
 */
export function settle<T>(action: () => Awaitable<T>, ok: (value: T) => void, fail: (err: unknown) => void): void {
  let value: Awaitable<T>;
  try {
    value = action();
  } catch (err) {
    fail(err);
    return;
  }
  if (isPromiseLike(value)) value.then(ok, fail);
  else ok(value);
}
