/**
 * The browser's own WebSocket as the browser client uses it: the few members it needs, typed
 * here so that the browser entry needs neither the DOM library nor Node's types.
 *
 * @module
 */

/** An event a browser WebSocket dispatches, with the members the client reads. */
export interface BrowserSocketEvent {
  /** `message`: a string (text) or an ArrayBuffer (binary, with `binaryType` `arraybuffer`). */
  readonly data?: unknown;
  /** `close`: the close code. */
  readonly code?: number;
  /** `close`: the close reason. */
  readonly reason?: string;
}

/** A WHATWG WebSocket (the browser's `WebSocket`), as far as the client uses it. */
export interface BrowserSocket {
  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  readonly readyState: number;
  /** The subprotocol the server selected ('' for none). */
  readonly protocol: string;
  /** Bytes queued by `send()` and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** How binary messages are delivered; the client sets `arraybuffer`. */
  binaryType: string;
  /** Queues one message: text for a string, binary otherwise. */
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  /** Starts the close handshake (browsers accept only 1000 and 3000-4999). */
  close(code?: number, reason?: string): void;
  /** Listens to `open`, `message`, `error` and `close`. */
  addEventListener(type: 'open' | 'message' | 'error' | 'close', listener: (event: BrowserSocketEvent) => void): void;
}

/** A constructor of {@link BrowserSocket}s: `globalThis.WebSocket` by default. */
export type BrowserSocketConstructor = new (url: string, protocols?: string | string[]) => BrowserSocket;
