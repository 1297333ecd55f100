/**
 * The types a {@link Connection} and its I/O binding share: the handler it reports to, its
 * settings, its send flags and states.
 *
 * @module
 */
import type { WebSocketError } from './errors.js';
import type { MessageExtension } from './extension.js';
import type { WriteCallback } from './frame-encoder.js';
import type { FragmentedMessage } from './fragmented-message.js';
import type { MaskGenerator } from './mask.js';

/** Which end of the connection this is. */
export type Role = 'client' | 'server';

/** Called once the bytes of a send were handed to the transport, or with the reason they were not. */
export type SendCallback = (err?: Error | null) => void;

/** What the I/O binding provides to a `Connection`: a frame sink and event handlers. */
export interface ConnectionHandler {
  /** Writes one whole frame to the peer (see FrameOutput.writeFrame); `cb` runs when it was flushed (or failed). */
  writeFrame(first: number, payloadLength: number, buffer: Buffer, start: number, end: number, payload: Buffer | null, cb?: WriteCallback): void;
  /**
   * Optional: takes a data frame with a payload above `FRAGMENT_THRESHOLD` (fragmented-message.ts), to be written
   * a fragment at a time (`message.writeNext(out, size)`), so that control frames can go out
   * between two fragments. Without it, such frames are written whole.
   */
  writeMessage?(message: FragmentedMessage): void;
  /** A complete data message (already decoded and validated). */
  onMessage(data: Buffer, isBinary: boolean): void;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** The peer's close frame arrived; `code` is 1005 when it carried none. */
  onCloseFrame(code: number, reason: Buffer): void;
  /** The peer broke the protocol; the close frame with `err.closeCode` has been queued. */
  onProtocolError(err: WebSocketError): void;
  /**
   * The close handshake allows ending TCP now: the server closes first (RFC 6455 §7.1.1), and
   * either side ends after failing the connection.
   */
  endTransport(): void;
  /** A close frame was sent and the peer's answer (or its FIN) is awaited: arm the close timer. */
  awaitClose(): void;
  /** Stop (false) or restart (true) reading from the transport; used while a message is decoded. */
  setReading(reading: boolean): void;
  /**
   * Optional: the input that was still held when `Connection.receiveEnd` returned `false`
   * has now been delivered, and the connection is closed.
   */
  inputFinished?(): void;
}

/**
 * Limits and switches of a `Connection`. A server passes one object shared by all its
 * connections, which keep a reference to it rather than copies of its fields.
 */
export interface ConnectionLimits {
  /** Largest message in bytes (default 1 MiB). */
  maxPayload?: number;
  /** Most frames per message (default 1,048,576). */
  maxFragments?: number;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /** Do not check received text and close reasons as UTF-8 (default false). */
  skipUTF8Validation?: boolean;
  /** Most input chunks one frame may span; one more fails with 1008 (default: no limit). */
  maxBufferedChunks?: number;
  /** Fills the masking key of each frame (client role) instead of the CSPRNG. */
  generateMask?: MaskGenerator | null;
  /**
   * Most automatic pongs waiting to be written; a ping beyond fails the connection with 1008
   * (default 60, as `ws`; 0: no limit, later pings are then coalesced, RFC 6455 §5.5.3).
   */
  maxPendingAutoPongs?: number;
}

/** Settings of a `Connection`: its role and extension, and (unless given apart) its limits. */
export interface ConnectionOptions extends ConnectionLimits {
  role: Role;
  /** The negotiated extension, if any. */
  extension?: MessageExtension | null;
}

/** Send flags for `Connection.send`. */
export interface SendFlags {
  binary: boolean;
  /** `false` to send a fragment; the next send continues the same message. */
  fin: boolean;
  /** Let the extension compress this message (if one was negotiated). */
  compress: boolean;
}

/** Readiness of a `Connection`, matching the WebSocket readyState values. */
export const ConnectionState = { Open: 1, Closing: 2, Closed: 3 } as const;
/** One of the {@link ConnectionState} values. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];
