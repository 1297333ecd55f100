/**
 * `createWebSocketStream(ws)`: a WebSocket as a Node `Duplex`, so it can be piped. Each
 * received message becomes a chunk; each written chunk is sent as one message.
 *
 * @module
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import type { WebSocket } from './websocket.js';

/** Options of {@link createWebSocketStream}: Duplex options plus how chunks become messages. */
export interface WebSocketStreamOptions
  extends Omit<DuplexOptions, 'read' | 'write' | 'writev' | 'final' | 'destroy' | 'construct' | 'allowHalfOpen'> {
  /**
   * Send written Buffers as binary messages (default `true`). Written strings (with
   * `decodeStrings: false` or `writableObjectMode`) are always sent as text.
   */
  binary?: boolean;
}

/**
 * Wraps `ws` in a Duplex.
 *
 * - Reading: every message is pushed as one chunk (a Buffer; with `readableObjectMode`, text
 *   arrives as a string). When `push()` reports a full buffer the socket is paused, and resumed
 *   when the stream is read again, so a slow consumer slows the peer down.
 * - Writing: every chunk is sent as one message; the write callback runs once the bytes were
 *   handed to the socket, so the Duplex's own `highWaterMark` bounds what is in flight. Writes
 *   made while the socket is still connecting wait for `open`.
 * - `end()` starts the close handshake (1000). When the socket closes, the readable side ends;
 *   an `error` of the socket destroys the stream with that error. `destroy()` closes the
 *   socket (with an error: terminates it).
 */
export function createWebSocketStream(ws: WebSocket, options: WebSocketStreamOptions = {}): Duplex {
  const { binary = true, ...duplexOptions } = options;
  let pausedByUs = false;
  let closed = ws.readyState === 3;

  const duplex = new Duplex({
    ...duplexOptions,
    // A WebSocket has no half-close: the writable side ending closes the connection.
    allowHalfOpen: false,
    autoDestroy: true,
    emitClose: true,
    read(): void {
      if (pausedByUs) {
        pausedByUs = false;
        ws.resume();
      }
    },
    write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
      sendChunk(chunk, callback);
    },
    final(callback: (err?: Error | null) => void): void {
      closeWhenOpen();
      callback();
    },
    destroy(err: Error | null, callback: (err?: Error | null) => void): void {
      detach();
      if (!closed) {
        if (err || ws.readyState !== 1) ws.terminate();
        else ws.close(1000);
      }
      callback(err);
    },
  });

  /** Starts the close handshake, once the socket is open if it is still connecting. */
  function closeWhenOpen(): void {
    if (ws.readyState === 1) ws.close(1000);
    else if (ws.readyState === 0) ws.once('open', () => ws.close(1000));
  }

  function sendChunk(chunk: Buffer | string, callback: (err?: Error | null) => void): void {
    if (ws.readyState === 0) {
      const onOpen = (): void => {
        ws.off('close', onClose);
        sendChunk(chunk, callback);
      };
      const onClose = (): void => {
        ws.off('open', onOpen);
        callback(new Error('The WebSocket closed before it opened'));
      };
      ws.once('open', onOpen);
      ws.once('close', onClose);
      return;
    }
    const isText = typeof chunk === 'string';
    ws.send(chunk, { binary: isText ? false : binary }, (err) => callback(err ?? null));
  }

  const onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    const chunk = toChunk(data, isBinary, duplex.readableObjectMode);
    if (!duplex.push(chunk) && !ws.isPaused) {
      pausedByUs = true;
      ws.pause();
    }
  };
  const onError = (err: Error): void => {
    detach();
    duplex.destroy(err);
  };
  const onClose = (): void => {
    closed = true;
    detach();
    if (duplex.destroyed) return;
    duplex.push(null);
    // Nothing more can be sent: finish the writable side so the stream can close.
    if (!duplex.writableEnded) duplex.end();
  };
  function detach(): void {
    ws.off('message', onMessage);
    ws.off('error', onError);
    ws.off('close', onClose);
  }

  if (closed) {
    duplex.push(null);
    duplex.end();
  } else {
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
  }
  return duplex;
}

function toChunk(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean, objectMode: boolean): Buffer | string {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  return objectMode && !isBinary ? buf.toString('utf8') : buf;
}
