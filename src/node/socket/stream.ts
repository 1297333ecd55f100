/**
 * `createWebSocketStream(ws)`: a WebSocket as a Node `Duplex`, so it can be piped. Each
 * received message becomes a chunk; each written chunk is sent as one message. The Duplex's
 * states and events follow `ws`'s `createWebSocketStream`, so code written for it behaves the
 * same (see the function's comment).
 *
 * @module
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { transportOf } from '../io/internals.js';
import type { WebSocket } from './websocket.js';

/** Options of {@link createWebSocketStream}: Duplex options plus how chunks become messages. */
export interface WebSocketStreamOptions
  extends Omit<DuplexOptions, 'read' | 'write' | 'writev' | 'final' | 'destroy' | 'construct' | 'allowHalfOpen'> {
  /**
   * Send written Buffers as binary messages (default `true`). Written strings (with
   * `decodeStrings: false`) are always sent as text.
   */
  binary?: boolean;
}

const CONNECTING = 0;
const CLOSED = 3;

/**
 * Wraps `ws` in a Duplex, as `ws` does:
 *
 * - Reading: every message is pushed as one chunk (a Buffer; with `readableObjectMode`, text
 *   arrives as a string). When `push()` reports a full buffer the socket is paused, and resumed
 *   when the stream is read again, so a slow consumer slows the peer down.
 * - Writing: every chunk is sent as one message; the write callback runs once the bytes were
 *   handed to the socket. Writes made while the socket is connecting wait for `open`.
 * - `end()` starts the close handshake (a close frame without a code, as in `ws`); the writable
 *   side finishes when our side of TCP is ended, and the Duplex is destroyed once both sides
 *   are done.
 * - The socket closing ends the readable side only: the writable side stays open, and a write
 *   then fails with the socket's own error (`WS_ERR_NOT_OPEN`). An `error` of the socket
 *   destroys the Duplex with that error. `destroy()` terminates the socket, and the Duplex
 *   emits `close` once the socket has closed.
 */
export function createWebSocketStream(ws: WebSocket, options: WebSocketStreamOptions = {}): Duplex {
  const { binary = true, ...duplexOptions } = options;
  let pausedByUs = false;
  // A socket error already closes the connection (with the right close code): destroying the
  // Duplex for it must not terminate the socket before that close frame is written.
  let terminateOnDestroy = true;

  const duplex = new Duplex({
    ...duplexOptions,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
    read(): void {
      if (pausedByUs) {
        pausedByUs = false;
        ws.resume();
      }
    },
    write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
      writeChunk(chunk, callback);
    },
    final(callback: (err?: Error | null) => void): void {
      finish(callback);
    },
    destroy(err: Error | null, callback: (err?: Error | null) => void): void {
      if (ws.readyState === CLOSED) {
        callback(err);
        process.nextTick(emitClose, duplex);
        return;
      }
      let called = false;
      ws.once('error', (wsError: Error) => {
        called = true;
        callback(wsError);
      });
      ws.once('close', () => {
        if (!called) callback(err);
        process.nextTick(emitClose, duplex);
      });
      if (terminateOnDestroy) ws.terminate();
    },
  });

  function writeChunk(chunk: Buffer | string, callback: (err?: Error | null) => void): void {
    if (ws.readyState === CONNECTING) {
      // Unlike `ws`, a write waiting for `open` is called back when the handshake fails, so
      // that a caller awaiting it does not hang.
      const onOpen = (): void => {
        ws.off('close', onClose);
        writeChunk(chunk, callback);
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

  function finish(callback: (err?: Error | null) => void): void {
    if (ws.readyState === CONNECTING) {
      ws.once('open', () => finish(callback));
      return;
    }
    const transport = transportOf(ws);
    // The handshake failed: its `error` destroys the Duplex.
    if (transport === null) return;
    const socket = transport.socket;
    if (socket.writableFinished) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
      return;
    }
    // Finished once our side of TCP is ended, after the close handshake; the readable side
    // ends when the socket closes, and the `end` listener below destroys the Duplex then.
    socket.once('finish', () => callback());
    ws.close();
  }

  const onMessage = (data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean): void => {
    const chunk = toChunk(data, isBinary, duplex.readableObjectMode);
    if (chunk === null) {
      duplex.destroy(new TypeError("createWebSocketStream reads Buffers: binaryType 'blob' is not supported"));
      return;
    }
    if (!duplex.push(chunk) && !ws.isPaused) {
      pausedByUs = true;
      ws.pause();
    }
  };

  ws.on('message', onMessage);
  ws.once('error', (err: Error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(err);
  });
  ws.once('close', () => {
    ws.off('message', onMessage);
    if (!duplex.destroyed) duplex.push(null);
  });
  if (ws.readyState === CLOSED) duplex.push(null);

  // Both sides done: release the Duplex (autoDestroy is off, as in `ws`).
  duplex.on('end', function onEnd(this: Duplex): void {
    if (!this.destroyed && this.writableFinished) this.destroy();
  });
  // An error of the Duplex itself (a failed write) destroys it; without a listener of the
  // application's, it is thrown as an unhandled `error`, as with any stream.
  duplex.on('error', function onError(this: Duplex, err: Error): void {
    this.off('error', onError);
    this.destroy();
    if (this.listenerCount('error') === 0) this.emit('error', err);
  });
  return duplex;
}

function emitClose(duplex: Duplex): void {
  duplex.emit('close');
}

/** The chunk for a message; `null` for a Blob, which cannot be read synchronously. */
function toChunk(data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean, objectMode: boolean): Buffer | string | null {
  if (!isBinary) return objectMode ? (data as Buffer).toString('utf8') : (data as Buffer);
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return null;
}
