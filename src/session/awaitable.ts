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
 * or `fail` with what it threw or rejected with. An error thrown by `ok` itself propagates on
 * the synchronous path and is reported to `fail` on the asynchronous one.
 */
export function settle<T>(action: () => Awaitable<T>, ok: (value: T) => void, fail: (err: unknown) => void): void {
  let value: Awaitable<T>;
  try {
    value = action();
  } catch (err) {
    fail(err);
    return;
  }
  if (isPromiseLike(value)) {
    value.then(
      (v) => {
        try {
          ok(v);
        } catch (err) {
          fail(err);
        }
      },
      fail,
    );
  } else {
    ok(value);
  }
}
