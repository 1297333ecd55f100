/**
 * WHATWG-shaped event objects, so that code written for the browser `WebSocket`
 * (`onmessage = (event) => event.data`) runs unchanged.
 */

/** Base event passed to `addEventListener` listeners and `on*` handlers. */
export class WsEvent {
  /** The event type: `open`, `message`, `close` or `error`. */
  readonly type: string;
  /** The WebSocket that dispatched the event. */
  readonly target: unknown;

  constructor(type: string, target: unknown) {
    this.type = type;
    this.target = target;
  }
}

/** A received message: `data` is a string for text, else per `binaryType`. */
export class WsMessageEvent extends WsEvent {
  /** The message payload. */
  readonly data: unknown;

  constructor(data: unknown, target: unknown) {
    super('message', target);
    this.data = data;
  }
}

/** The connection closed. */
export class WsCloseEvent extends WsEvent {
  /** The close code (1005 when the close frame had none, 1006 when there was no close frame). */
  readonly code: number;
  /** The close reason as text. */
  readonly reason: string;
  /** `true` when the close handshake completed. */
  readonly wasClean: boolean;

  constructor(code: number, reason: string, wasClean: boolean, target: unknown) {
    super('close', target);
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

/** An error occurred. */
export class WsErrorEvent extends WsEvent {
  /** The error. */
  readonly error: Error;
  /** The error's message. */
  readonly message: string;

  constructor(error: Error, target: unknown) {
    super('error', target);
    this.error = error;
    this.message = error.message;
  }
}

/** Options accepted by `addEventListener`. */
export interface WsListenerOptions {
  /** Remove the listener after its first call. */
  once?: boolean;
}
