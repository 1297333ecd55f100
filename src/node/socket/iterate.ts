/**
 * `for await (const message of ws)`: messages as an async iterator with a bounded buffer. When
 * the consumer falls behind, the WebSocket is paused, so TCP backpressure slows the peer down;
 * it resumes once the consumer has caught up.
 *
 * @module
 */
import type { WebSocket } from './websocket.js';

/** One received message, as yielded by the iterator. */
export interface WebSocketMessage {
  /** The payload: a Buffer for text and for binary with `binaryType` 'nodebuffer', else per `binaryType`. */
  data: Buffer | ArrayBuffer | Buffer[];
  /** `true` for a binary message, `false` for text. */
  isBinary: boolean;
}

/** Options of `ws.messages()`. */
export interface MessageIteratorOptions {
  /** Messages buffered before the socket is paused (default 16, at least 1). */
  highWaterMark?: number;
  /** Bytes buffered before the socket is paused (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Stops the iteration: the next `next()` rejects with `signal.reason`. The socket stays open. */
  signal?: AbortSignal;
}

/** Default of {@link MessageIteratorOptions.highWaterMark}. */
export const DEFAULT_ITERATOR_HIGH_WATER_MARK = 16;
/** Default of {@link MessageIteratorOptions.maxBufferedBytes}. */
export const DEFAULT_ITERATOR_MAX_BYTES = 1024 * 1024;

type Waiter = { resolve: (r: IteratorResult<WebSocketMessage>) => void; reject: (err: unknown) => void };

/**
 * Creates the iterator behind `ws.messages()` and `ws[Symbol.asyncIterator]()`.
 *
 * - Messages are buffered up to `highWaterMark` messages or `maxBufferedBytes` bytes; at that
 *   point `ws.pause()` is called, and `ws.resume()` once the buffer is down to half of both.
 * - The iteration ends (`done`) when the socket closes and the buffer is drained; if the socket
 *   reported an `error` before closing, that error is thrown instead.
 * - `break`/`return()` or an aborted signal detach the iterator and resume the socket if the
 *   iterator had paused it. Only one iterator should consume a socket at a time.
 */
export function iterateMessages(ws: WebSocket, options: MessageIteratorOptions = {}): AsyncIterableIterator<WebSocketMessage> {
  const highWaterMark = Math.max(1, Math.floor(options.highWaterMark ?? DEFAULT_ITERATOR_HIGH_WATER_MARK));
  const maxBytes = Math.max(1, options.maxBufferedBytes ?? DEFAULT_ITERATOR_MAX_BYTES);
  const signal = options.signal;
  const buffer: WebSocketMessage[] = [];
  let bufferedBytes = 0;
  let waiter: Waiter | null = null;
  let pausedByUs = false;
  let ended = false;
  let failure: unknown = null;
  let detached = false;

  const onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    const message: WebSocketMessage = { data, isBinary };
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      w.resolve({ value: message, done: false });
      return;
    }
    buffer.push(message);
    bufferedBytes += sizeOf(data);
    if ((buffer.length >= highWaterMark || bufferedBytes >= maxBytes) && !ws.isPaused) {
      pausedByUs = true;
      ws.pause();
    }
  };
  const onError = (err: Error): void => {
    failure ??= err;
  };
  const onClose = (): void => {
    ended = true;
    detach();
    settleWaiter();
  };
  const onAbort = (): void => {
    failure = signal?.reason ?? new Error('The operation was aborted');
    buffer.length = 0;
    bufferedBytes = 0;
    ended = true;
    detach();
    settleWaiter();
  };

  function detach(): void {
    if (detached) return;
    detached = true;
    ws.off('message', onMessage);
    ws.off('error', onError);
    ws.off('close', onClose);
    signal?.removeEventListener('abort', onAbort);
    if (pausedByUs) {
      pausedByUs = false;
      ws.resume();
    }
  }

  function settleWaiter(): void {
    const w = waiter;
    if (w === null) return;
    waiter = null;
    if (failure !== null) {
      const err = failure;
      failure = null;
      w.reject(err);
    } else {
      w.resolve({ value: undefined, done: true });
    }
  }

  function take(): WebSocketMessage | undefined {
    const message = buffer.shift();
    if (message === undefined) return undefined;
    bufferedBytes -= sizeOf(message.data);
    // The consumer caught up: let the peer send again.
    if (pausedByUs && buffer.length <= highWaterMark / 2 && bufferedBytes <= maxBytes / 2) {
      pausedByUs = false;
      ws.resume();
    }
    return message;
  }

  if (signal?.aborted) onAbort();
  else if (ws.readyState === 3) ended = true;
  else {
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  }

  const iterator: AsyncIterableIterator<WebSocketMessage> = {
    next(): Promise<IteratorResult<WebSocketMessage>> {
      const message = take();
      if (message !== undefined) return Promise.resolve({ value: message, done: false });
      if (ended) {
        if (failure !== null) {
          const err = failure;
          failure = null;
          return Promise.reject(err);
        }
        return Promise.resolve({ value: undefined, done: true });
      }
      if (waiter !== null) return Promise.reject(new Error('next() called before the previous call settled'));
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    return(): Promise<IteratorResult<WebSocketMessage>> {
      ended = true;
      failure = null;
      buffer.length = 0;
      bufferedBytes = 0;
      detach();
      settleWaiter();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

function sizeOf(data: Buffer | ArrayBuffer | Buffer[]): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}
