/**
 * The option and callback types of a WebSocket, and what the server or the dialer hands it
 * once the handshake succeeded.
 *
 * @module
 */
import type { MessageExtension } from '../../core/extension.js';
import type { ConnectionSettings } from '../io/connection-options.js';

/** Options of `WebSocket.send`. */
export interface SendOptions {
  /** Send as a binary message (default: `true` unless `data` is a string). */
  binary?: boolean;
  /** Compress when permessage-deflate was negotiated (default `true`). */
  compress?: boolean;
  /** `false` sends a fragment; the message continues with the next `send` (default `true`). */
  fin?: boolean;
  /** Accepted for `ws` compatibility and ignored: clients always mask, servers never do. */
  mask?: boolean;
}

/** Callback of `send`, `ping` and `pong`: called once the data was written, or with an error. */
export type SendCallback = (err?: Error | null) => void;

/** What the server or the client dialer passes to a WebSocket once the handshake succeeded. */
export interface AttachOptions {
  role: 'client' | 'server';
  protocol: string;
  extensions: string;
  extension: MessageExtension | null;
  settings: ConnectionSettings;
}
