import type { EventEmitter } from 'node:events';
import { WsCloseEvent, WsErrorEvent, WsEvent, WsMessageEvent, type WsListenerOptions } from './events.js';
import { closedCleanly } from '../io/internals.js';
import type { WebSocket } from './websocket.js';

/** A WHATWG listener: a function, or an object with `handleEvent` (as `ws` and the DOM accept). */
export type WsEventListener =
  | ((event: never) => void)
  | {
      /** Called with the event, `this` being the object. */
      handleEvent(event: never): void;
    };

interface ListenerEntry {
  type: string;
  listener: WsEventListener;
  wrapper: (...args: unknown[]) => void;
  /** Set through an `on<type>` attribute rather than `addEventListener`. */
  attribute: boolean;
}

/**
 * The WHATWG-style listeners of one WebSocket (`addEventListener`, `onmessage`, ...), kept as
 * wrappers on its EventEmitter events so both styles see the same events in the same order.
 * Created only for sockets that use them. As in the DOM (and `ws`), an `on<type>` handler is a
 * registration of its own: the same function added with `addEventListener` too is called twice,
 * and which function is a handler is this socket's business alone.
 */
export class ListenerRegistry {
  private readonly target: EventEmitter;
  private readonly entries: ListenerEntry[] = [];

  constructor(target: EventEmitter) {
    this.target = target;
  }

  /** Adds `listener` for `type` unless it was already added this way; unknown types are ignored. */
  add(type: string, listener: WsEventListener, options?: WsListenerOptions): void {
    if (this.find(type, listener, false) >= 0) return;
    this.register(type, listener, options?.once === true, false);
  }

  /** Removes a listener added with {@link add} (never an `on<type>` handler). */
  remove(type: string, listener: WsEventListener): void {
    this.drop(this.find(type, listener, false));
  }

  /** The `on<type>` handler, if one is set. */
  handler<E>(type: string): ((event: E) => void) | null {
    const entry = this.entries.find((e) => e.type === type && e.attribute);
    return entry ? (entry.listener as unknown as (event: E) => void) : null;
  }

  /** Replaces the `on<type>` handler (anything but a function removes it). */
  setHandler<E>(type: string, fn: ((event: E) => void) | null): void {
    this.drop(this.entries.findIndex((e) => e.type === type && e.attribute));
    if (typeof fn === 'function') this.register(type, fn as (event: never) => void, false, true);
  }

  private register(type: string, listener: WsEventListener, once: boolean, attribute: boolean): void {
    const wrapper = eventWrapper(this.target, type, listener);
    if (wrapper === null) return;
    const entry: ListenerEntry = { type, listener, wrapper, attribute };
    if (once) {
      entry.wrapper = (...args: unknown[]): void => {
        this.drop(this.entries.indexOf(entry));
        wrapper(...args);
      };
    }
    this.entries.push(entry);
    this.target.on(type, entry.wrapper);
  }

  private find(type: string, listener: WsEventListener, attribute: boolean): number {
    return this.entries.findIndex((e) => e.type === type && e.listener === listener && e.attribute === attribute);
  }

  private drop(index: number): void {
    if (index < 0) return;
    const [entry] = this.entries.splice(index, 1);
    if (entry) this.target.off(entry.type, entry.wrapper);
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
        call(new WsCloseEvent(code as number, (reason as Buffer).toString('utf8'), closedCleanly(target as WebSocket), target));
    case 'error':
      return (err) => call(new WsErrorEvent(err as Error, target));
    default:
      return null;
  }
}

/** Where a socket keeps its registry (created by its first WHATWG-style listener). */
const kListeners = Symbol('ws6455.listeners');

type WithListeners = EventEmitter & { [kListeners]?: ListenerRegistry };

/** The WHATWG-style listeners of `target`, created on first use. @internal */
export function listenersOf(target: EventEmitter): ListenerRegistry {
  return ((target as WithListeners)[kListeners] ??= new ListenerRegistry(target));
}

/** The WHATWG-style listeners of `target`, if it has any. @internal */
export function existingListenersOf(target: EventEmitter): ListenerRegistry | undefined {
  return (target as WithListeners)[kListeners];
}

/**
 * Defines the `onopen`, `onmessage`, `onclose` and `onerror` accessors on a prototype: each
 * handler is one registration of the socket's own (see {@link ListenerRegistry.setHandler}).
 * @internal
 */
export function defineHandlerProperties(prototype: object): void {
  for (const type of ['open', 'message', 'close', 'error']) {
    Object.defineProperty(prototype, `on${type}`, {
      enumerable: true,
      configurable: true,
      get(this: EventEmitter) {
        return existingListenersOf(this)?.handler(type) ?? null;
      },
      set(this: EventEmitter, fn: ((event: never) => void) | null) {
        listenersOf(this).setHandler(type, fn);
      },
    });
  }
}
