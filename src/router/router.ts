/**
 * The JSON router: handlers by message type, a fallback for the rest, and error envelopes for
 * everything that goes wrong, so a bad message or a failing handler never crashes the process.
 *
 * @module
 */
import type { Envelope } from './envelope.js';
import { RouterError } from './errors.js';
import { RouterPeer, type Dispatcher } from './peer.js';
import type { FallbackHandler, Handler, HandlerContext, RouterSocket, Schema, TypeOf, UntypedSchema } from './types.js';

/** Options of {@link Router}. */
export interface RouterOptions<S> {
  /** Default timeout of `request()` in milliseconds (default 10,000). */
  requestTimeout?: number;
  /**
   * Send the `message` of any error a handler throws (default `false`: only a `RouterError`'s
   * code and message are sent; anything else is answered as `internal_error`).
   */
  exposeErrors?: boolean;
  /**
   * Hears about handler failures that are not RouterErrors, and error envelopes from the peer
   * that answer none of our requests. Nothing is thrown when it is absent.
   */
  onError?: (err: Error, peer: RouterPeer<S>) => void;
}

/** Default of {@link RouterOptions.requestTimeout}. */
export const DEFAULT_REQUEST_TIMEOUT = 10_000;

const RESERVED = new Set(['response', 'error']);

/**
 * Routes JSON envelopes `{ type, id?, payload }` to handlers. One router can serve many
 * sockets: attach each (server side: in `connection`; client side: after creating it).
 *
 * @typeParam S - the schema tying each message type to its payload and result (see `types.ts`)
 */
export class Router<S extends Schema<S> = UntypedSchema> implements Dispatcher<S> {
  /** Default request timeout in milliseconds. */
  readonly requestTimeout: number;
  private readonly exposeErrors: boolean;
  private readonly onError: ((err: Error, peer: RouterPeer<S>) => void) | undefined;
  private readonly handlers = new Map<string, (payload: unknown, context: HandlerContext<S, string>) => unknown>();
  private fallbackHandler: FallbackHandler<S> | null = null;

  constructor(options: RouterOptions<S> = {}) {
    this.requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.exposeErrors = options.exposeErrors ?? false;
    this.onError = options.onError;
  }

  /**
   * Sets the handler of message type `type` (replacing any earlier one).
   *
   * @throws TypeError for the reserved types `response` and `error`
   */
  on<K extends TypeOf<S>>(type: K, handler: Handler<S, K>): this {
    if (RESERVED.has(type)) throw new TypeError(`"${type}" is a reserved envelope type`);
    this.handlers.set(type, handler as (payload: unknown, context: HandlerContext<S, string>) => unknown);
    return this;
  }

  /** Removes the handler of `type`. */
  off(type: TypeOf<S>): this {
    this.handlers.delete(type);
    return this;
  }

  /** Sets the default handler, called for every type without a handler of its own. */
  fallback(handler: FallbackHandler<S> | null): this {
    this.fallbackHandler = handler;
    return this;
  }

  /** Starts routing the messages of `socket`; returns the peer to send and request through. */
  attach(socket: RouterSocket): RouterPeer<S> {
    return new RouterPeer<S>(this, socket);
  }

  /** @internal */
  dispatch(envelope: Envelope, peer: RouterPeer<S>): Promise<unknown> {
    const context: HandlerContext<S, string> = { type: envelope.type, id: envelope.id, peer };
    const handler = this.handlers.get(envelope.type);
    try {
      if (handler !== undefined) return Promise.resolve(handler(envelope.payload, context));
      const fallback = this.fallbackHandler;
      if (fallback !== null) return Promise.resolve(fallback(envelope, context));
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.reject(new RouterError('unknown_type', `No handler for message type "${envelope.type}"`));
  }

  /** @internal */
  describeError(err: unknown, _envelope: Envelope | null, peer: RouterPeer<S>): RouterError {
    if (err instanceof RouterError) return err;
    const error = err instanceof Error ? err : new Error(String(err));
    this.report(error, peer);
    return new RouterError('internal_error', this.exposeErrors ? error.message : 'Internal error');
  }

  /** @internal */
  remoteError(err: RouterError, peer: RouterPeer<S>): void {
    this.report(err, peer);
  }

  private report(err: Error, peer: RouterPeer<S>): void {
    try {
      this.onError?.(err, peer);
    } catch {
      // An error reporter that throws must not take the connection down with it.
    }
  }
}
