/**
 * The types that tie a message type to its payload (and, for requests, to its result).
 *
 * A schema is an object type mapping each message type to `{ payload; result? }`:
 * ```ts
 * type Chat = {
 *   say: { payload: { text: string } };
 *   join: { payload: { room: string }; result: { members: string[] } };
 * };
 * ```
 * Both ends share one schema; each uses the types it receives and sends.
 *
 * @module
 */
import type { Envelope, RequestId } from './envelope.js';

/** What a schema says about one message type. */
export interface MessageSpec {
  /** The payload's type. */
  payload?: unknown;
  /** The result of a request of this type (what its handler returns). */
  result?: unknown;
}

/** The constraint on a schema type `S` (interfaces and type aliases both satisfy it). */
export type Schema<S> = { [K in keyof S]: MessageSpec };

/** The schema used when none is given: any type, any payload, any result. */
export type UntypedSchema = Record<
  string,
  {
    /** Any payload. */
    payload: unknown;
    /** Any result. */
    result: unknown;
  }
>;

/** The message types of `S`. */
export type TypeOf<S> = keyof S & string;

/** The payload type of message type `K`. */
export type PayloadOf<S, K extends keyof S> = S[K] extends {
  /** The payload type the schema gives `K`. */
  payload: infer P;
}
  ? P
  : undefined;

/** The result type of a request of type `K` (`void` when the schema names none). */
export type ResultOf<S, K extends keyof S> = S[K] extends {
  /** The result type the schema gives `K`. */
  result: infer R;
}
  ? R
  : void;

/** Anything a WebSocket delivers as message data. */
export type RawData = Buffer | ArrayBuffer | Buffer[] | string;

/**
 * The socket a router peer talks over: a server-side or client-side `WebSocket`, or a
 * `ReconnectingWebSocket` (its `send` promise is observed; its `close` fires per connection).
 */
export interface RouterSocket {
  /** Sends one text message. */
  send(data: string): unknown;
  /** Subscribes to messages. */
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): unknown;
  /** Subscribes to the end of the connection. */
  on(event: 'close', listener: () => void): unknown;
  /** Unsubscribes from messages. */
  off(event: 'message', listener: (data: RawData, isBinary: boolean) => void): unknown;
  /** Unsubscribes from the end of the connection. */
  off(event: 'close', listener: () => void): unknown;
  /** When present, CLOSING (2) and CLOSED (3) make `request()` fail at once. */
  readonly readyState?: number;
}

/** Passed to every handler along with the payload. */
export interface HandlerContext<S, K extends string = TypeOf<S>> {
  /** The message type. */
  type: K;
  /** The request id, when the sender expects an answer; `undefined` for a plain message. */
  id: RequestId | undefined;
  /** The connection the message came from: send back, or make requests, through it. */
  peer: RouterPeerLike<S>;
}

/** What handlers can do with the connection they were called for. */
export interface RouterPeerLike<S> {
  /** The underlying socket. */
  readonly socket: RouterSocket;
  /** Sends a message without expecting an answer. */
  send<K extends TypeOf<S>>(type: K, payload: PayloadOf<S, K>): void;
  /** Sends a request and resolves with its result. */
  request<K extends TypeOf<S>>(type: K, payload: PayloadOf<S, K>, options?: RequestOptions): Promise<ResultOf<S, K>>;
}

/**
 * Handles messages of type `K`. For a request, the returned value (or resolved promise) is the
 * response payload; throwing a `RouterError` answers with its code and message.
 */
export type Handler<S, K extends TypeOf<S>> = (
  payload: PayloadOf<S, K>,
  context: HandlerContext<S, K>,
) => ResultOf<S, K> | Promise<ResultOf<S, K>>;

/** Handles every type that has no handler of its own; gets the whole envelope. */
export type FallbackHandler<S> = (envelope: Envelope, context: HandlerContext<S, string>) => unknown;

/** Options of `request()`. */
export interface RequestOptions {
  /** Milliseconds to wait for the answer (default: the router's `requestTimeout`). */
  timeout?: number;
  /** Cancels the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}
