/**
 * The per-connection settings that servers and clients share (limits, validation, event pacing,
 * masking), validated once — per server, or per `new WebSocket` — so that an invalid value
 * throws where the application passed it, and every accepted connection reuses one object.
 *
 * @module
 */
import { DEFAULT_MAX_PENDING_AUTO_PONGS } from '../../core/auto-pong.js';
import { DEFAULT_CLOSE_TIMEOUT, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD } from '../../core/constants.js';

/**
 * Default of `maxBufferedAmount`: output waiting for a peer that does not read is bounded (64
 * MiB is far above what an application that respects `send()`'s return value or `drain` ever
 * queues, and stops a naive echo to a peer that never reads).
 */
export const DEFAULT_MAX_BUFFERED_AMOUNT = 64 * 1024 * 1024;

/** Default of `maxBufferedChunks`, as in `ws`. */
export const DEFAULT_MAX_BUFFERED_CHUNKS = 256 * 1024;

/** The connection options a server or client may be given (see ServerOptions, ClientOptions). */
export interface ConnectionOptionsInput {
  maxPayload?: number;
  maxFragments?: number;
  maxBufferedChunks?: number;
  skipUTF8Validation?: boolean;
  allowSynchronousEvents?: boolean;
  autoPong?: boolean;
  maxPendingAutoPongs?: number;
  closeTimeout?: number;
  maxBufferedAmount?: number;
  generateMask?: (mask: Buffer) => void;
  sharedReadBuffer?: boolean;
}

/** The resolved settings of a connection (shared by every connection of a server). */
export interface ConnectionSettings {
  maxPayload: number;
  maxFragments: number;
  maxBufferedChunks: number;
  skipUTF8Validation: boolean;
  allowSynchronousEvents: boolean;
  autoPong: boolean;
  /** 0: no limit. */
  maxPendingAutoPongs: number;
  closeTimeout: number;
  /** Most bytes waiting to be sent (send queue and socket buffer); `Infinity` for no limit. */
  maxBufferedAmount: number;
  /** Only on the client role (servers never mask, RFC 6455 §5.1). */
  generateMask: ((mask: Buffer) => void) | null;
  /** TCP sockets read into the buffer shared by every connection (node/io/shared-input.ts). */
  sharedReadBuffer: boolean;
}

/**
 * Validates and fills in defaults.
 *
 * @throws RangeError for a limit that is not a non-negative integer (or a positive one where 0
 *   makes no sense), TypeError for a non-function `generateMask`
 */
export function resolveConnectionOptions(options: ConnectionOptionsInput): ConnectionSettings {
  const generateMask = options.generateMask ?? null;
  if (generateMask !== null && typeof generateMask !== 'function') throw new TypeError('generateMask must be a function');
  return {
    // 0 means no limit, as in `ws`.
    maxPayload: count('maxPayload', options.maxPayload, DEFAULT_MAX_PAYLOAD, 0) || Infinity,
    maxFragments: count('maxFragments', options.maxFragments, DEFAULT_MAX_FRAGMENTS, 1),
    // 0 means no limit, as in `ws`.
    maxBufferedChunks: count('maxBufferedChunks', options.maxBufferedChunks, DEFAULT_MAX_BUFFERED_CHUNKS, 0) || Infinity,
    skipUTF8Validation: options.skipUTF8Validation === true,
    allowSynchronousEvents: options.allowSynchronousEvents !== false,
    autoPong: options.autoPong !== false,
    maxPendingAutoPongs: count('maxPendingAutoPongs', options.maxPendingAutoPongs, DEFAULT_MAX_PENDING_AUTO_PONGS, 0),
    closeTimeout: count('closeTimeout', options.closeTimeout, DEFAULT_CLOSE_TIMEOUT, 0),
    // 0 means no limit.
    maxBufferedAmount: count('maxBufferedAmount', options.maxBufferedAmount, DEFAULT_MAX_BUFFERED_AMOUNT, 0) || Infinity,
    generateMask,
    sharedReadBuffer: options.sharedReadBuffer !== false,
  };
}

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min) || (!Number.isInteger(value) && value !== Infinity)) {
    throw new RangeError(`${name} must be an integer of at least ${min}; got ${String(value)}`);
  }
  return value;
}
