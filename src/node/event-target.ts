import type { EventEmitter } from 'node:events';
import { WsCloseEvent, WsErrorEvent, WsEvent, WsMessageEvent, type WsListenerOptions } from './events.js';

/** A WHATWG listener: a function, or an object with `handleEvent` (as `ws` and the DOM accept). */
export type WsEventListener = ((event: never) => void) | { handleEvent(event: never): void };

interface ListenerEntry {
  type: string;
  listener: WsEventListener;
  wrapper: (...args: unknown[]) => void;
}

const kOnHandler = Symbol('onHandler');

/**
 * The WHATWG-style listeners of one WebSocket (`addEventListener`, `onmessage`, ...), kept as
 * wrappers on its EventEmitter events so both styles see the same events in the same order.
 * Created only for sockets that use them.
 */
export class ListenerRegistry {
  private readonly target: EventEmitter;
  private readonly entries: ListenerEntry[] = [];

  constructor(target: EventEmitter) {
    this.target = target;
  }

  /** Adds `listener` for `type` unless it is already there; unknown types are ignored. */
  add(type: string, listener: WsEventListener, options?: WsListenerOptions): void {
    if (this.entries.some((e) => e.type === type && e.listener === listener)) return;
    const wrapper = eventWrapper(this.target, type, listener);
    if (wrapper === null) return;
    const entry: ListenerEntry = { type, listener, wrapper };
    this.entries.push(entry);
    if (options?.once) {
      entry.wrapper = (...args: unknown[]): void => {
        this.remove(type, listener);
        wrapper(...args);
      };
    }
    this.target.on(type, entry.wrapper);
  }

  /** Removes a listener added with {@link add}. */
  remove(type: string, listener: WsEventListener): void {
    const index = this.entries.findIndex((e) => e.type === type && e.listener === listener);
    if (index < 0) return;
    const [entry] = this.entries.splice(index, 1);
    if (entry) this.target.off(type, entry.wrapper);
  }

  /** The `on<type>` handler, if one is set. */
  handler<E>(type: string): ((event: E) => void) | null {
    const entry = this.entries.find((e) => e.type === type && (e.listener as { [kOnHandler]?: true })[kOnHandler]);
    return entry ? (entry.listener as unknown as (event: E) => void) : null;
  }

  /** Replaces the `on<type>` handler (`null` removes it). */
  setHandler<E>(type: string, fn: ((event: E) => void) | null): void {
    const current = this.handler(type);
    if (current) this.remove(type, current as (event: never) => void);
    if (typeof fn !== 'function') return;
    (fn as { [kOnHandler]?: true })[kOnHandler] = true;
    this.add(type, fn as (event: never) => void);
  }
}

/** Turns EventEmitter arguments into the WHATWG event object for `type`. */
function eventWrapper(
  target: EventEmitter,
  type: string,
  listener: WsEventListener,
): ((...args: unknown[]) => void) | null {
  // An object listener is called through its `handleEvent`, looked up at dispatch time (DOM
  // semantics, as in `ws`).
  const call = (event: WsEvent): void => {
    if (typeof listener === 'function') (listener as (event: WsEvent) => void).call(target, event);
    else if (typeof listener?.handleEvent === 'function') (listener.handleEvent as (event: WsEvent) => void).call(listener, event);
  };
  switch (type) {
    case 'open':
      return () => call(new WsEvent('open', target));
    case 'message':
      return (data, isBinary) => call(new WsMessageEvent(isBinary ? data : (data as Buffer).toString('utf8'), target));
    case 'close':
      return (code, reason) =>
        call(new WsCloseEvent(code as number, (reason as Buffer).toString('utf8'), code !== 1006, target));
    case 'error':
      return (err) => call(new WsErrorEvent(err as Error, target));
    default:
      return null;
  }
}
