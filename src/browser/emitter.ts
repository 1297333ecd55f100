/**
 * A small typed event emitter for the browser entry (Node's `events` is not there), with the
 * `on`/`off`/`once`/`emit` shape the router and Node code expect. A listener that throws does
 * not interrupt the client's state machine or the other listeners: its error is rethrown on a
 * later microtask, where the page's error handlers see it (as an `EventTarget` reports it).
 *
 * @module
 */

/** A map from event names to their argument lists. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** How listeners are stored: their arguments were checked by the typed methods. */
type Listener = (...args: unknown[]) => void;

/** The listener each `once` wrapper calls, so that `off(listener)` finds the wrapper. */
const onceOf = new WeakMap<Listener, Listener>();

/** The emitter; `E` maps each event name to its arguments. */
export class Emitter<E extends EventMap<E>> {
  private readonly listeners = new Map<keyof E, Listener[]>();

  /** Adds `listener` for `event`. */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, [listener as unknown as Listener]);
    else list.push(listener as unknown as Listener);
    return this;
  }

  /** Adds `listener` for the next `event` only (`off` with `listener` removes it before that). */
  once<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const wrapper = (...args: E[K]): void => {
      this.off(event, wrapper);
      listener(...args);
    };
    onceOf.set(wrapper as unknown as Listener, listener as unknown as Listener);
    return this.on(event, wrapper);
  }

  /** Removes `listener` (its most recent registration, by `on` or `once`) from `event`. */
  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    const target = listener as unknown as Listener;
    let at = list.length - 1;
    while (at >= 0 && list[at] !== target && onceOf.get(list[at] as Listener) !== target) at--;
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.listeners.delete(event);
    return this;
  }

  /** Listeners of `event`. */
  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Calls the listeners of `event` in order; returns whether there were any. */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (list === undefined) return false;
    for (const listener of [...list]) {
      try {
        listener(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return true;
  }
}
