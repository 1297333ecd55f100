/**
 * Settings of the permessage-deflate extension (RFC 7692), with the names and meanings of
 * the `perMessageDeflate` option of the `ws` package, so that code moving from `ws` keeps its
 * configuration.
 *
 * @module
 */
import type { ZlibOptions } from 'node:zlib';

/**
 * permessage-deflate settings. The same object configures a server (what it accepts and
 * answers) and a client (what it offers and accepts). Every field is optional.
 */
export interface PerMessageDeflateOptions {
  /**
   * Context takeover of the server's compressor (RFC 7692 §7.1.1.1).
   *
   * - Server: `true` always answers `server_no_context_takeover` (the server compresses every
   *   message on its own); `false` declines offers that request it; unset (the default)
   *   honours a client's request.
   * - Client: `true` requests it, and the handshake fails if the server does not agree.
   *
   * Default: unset.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Context takeover of the client's compressor (RFC 7692 §7.1.1.2).
   *
   * - Server: `true` always answers `client_no_context_takeover`; `false` never does; unset
   *   (the default) answers it when the client offered it.
   * - Client: `true` offers it (and the client then never uses context takeover); `false`
   *   fails the handshake if the server asks for it; unset accepts the server's choice.
   *
   * Default: unset.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Window of the server's compressor, as base-2 logarithm 8-15 (RFC 7692 §7.1.2.1).
   *
   * - Server: a number caps the window: the answer carries
   *   `server_max_window_bits=min(n, offered)`; `false` declines offers that carry
   *   `server_max_window_bits`; unset or `true` (the default) honours the client's value.
   * - Client: a number requests `server_max_window_bits=n`, and the handshake fails unless the
   *   server answers with that value or less; unset, `true` or `false` request nothing.
   *
   * Default: unset (15 unless the client asks for less).
   */
  serverMaxWindowBits?: number | boolean;
  /**
   * Window of the client's compressor, as base-2 logarithm 8-15 (RFC 7692 §7.1.2.2).
   *
   * - Server: a number caps the client's window (and declines offers that do not allow the
   *   server to limit it); `false` never answers `client_max_window_bits`; unset or `true`
   *   (the default) echoes the value the client offered.
   * - Client: a number offers `client_max_window_bits=n` (the client never uses more);
   *   unset or `true` (the default) offers `client_max_window_bits` without a value;
   *   `false` does not offer it.
   *
   * Default: unset.
   */
  clientMaxWindowBits?: number | boolean;
  /**
   * Options for the compressor. Only `level`, `memLevel`, `strategy` and `chunkSize` are
   * used; the window size is always the negotiated one.
   *
   * Default: zlib's defaults.
   */
  zlibDeflateOptions?: ZlibOptions;
  /**
   * Options for the decompressor. Only `chunkSize` is used; the window size is always the
   * negotiated one.
   *
   * Default: zlib's defaults.
   */
  zlibInflateOptions?: ZlibOptions;
  /**
   * Messages smaller than this many bytes are sent uncompressed.
   *
   * Default: 1024.
   */
  threshold?: number;
  /**
   * Most zlib jobs (one compression or decompression of one message) run at once. The
   * limit is shared by every connection in the process, since they all share the libuv
   * thread pool.
   *
   * Default: 10.
   */
  concurrencyLimit?: number;
  /**
   * Most bytes of zlib memory kept in idle, reset streams for reuse by later connections and
   * messages (an estimate from each stream's parameters: about 280 KiB for a compressor with
   * a 15-bit window and memLevel 8, 56 KiB for a decompressor). The pool is shared by every
   * connection in the process; a stream given back when the pool would exceed this setting
   * (the releasing connection's) is destroyed, and a stream idle for 60 s is destroyed too.
   * `0` turns reuse off: every stream is destroyed when released.
   *
   * Default: 33554432 (32 MiB).
   */
  poolMaxBytes?: number;
}

/** Default of {@link PerMessageDeflateOptions.threshold}, in bytes. */
export const DEFAULT_THRESHOLD = 1024;

/** Default of {@link PerMessageDeflateOptions.concurrencyLimit}. */
export const DEFAULT_CONCURRENCY_LIMIT = 10;

/** Default of {@link PerMessageDeflateOptions.poolMaxBytes}: 32 MiB. */
export const DEFAULT_POOL_MAX_BYTES = 32 * 1024 * 1024;

/** RFC 7692 §7.1.2: window sizes are given as base-2 logarithms 8 to 15. */
export const MIN_WINDOW_BITS = 8;
/** The largest LZ77 window of DEFLATE, 2^15 = 32,768 bytes (RFC 1951 §2). */
export const MAX_WINDOW_BITS = 15;

function checkWindowBits(name: string, value: unknown): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_WINDOW_BITS || value > MAX_WINDOW_BITS) {
    throw new RangeError(`perMessageDeflate.${name} must be a boolean or an integer from 8 to 15`);
  }
}

function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`perMessageDeflate.${name} must be a boolean`);
  }
}

/**
 * Checks an options object and throws on a value that cannot be used. Call it when a server
 * or client is constructed so that a mistake surfaces there, not during a handshake.
 *
 * @param options - the settings to check
 * @throws TypeError or RangeError naming the offending field
 */
export function validateDeflateOptions(options: PerMessageDeflateOptions): void {
  checkBoolean('serverNoContextTakeover', options.serverNoContextTakeover);
  checkBoolean('clientNoContextTakeover', options.clientNoContextTakeover);
  checkWindowBits('serverMaxWindowBits', options.serverMaxWindowBits);
  checkWindowBits('clientMaxWindowBits', options.clientMaxWindowBits);
  const { threshold, concurrencyLimit, poolMaxBytes } = options;
  if (threshold !== undefined && (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < 0)) {
    throw new RangeError('perMessageDeflate.threshold must be a number >= 0');
  }
  if (
    concurrencyLimit !== undefined &&
    (typeof concurrencyLimit !== 'number' ||
      !(concurrencyLimit >= 1) ||
      (!Number.isInteger(concurrencyLimit) && concurrencyLimit !== Infinity))
  ) {
    throw new RangeError('perMessageDeflate.concurrencyLimit must be an integer >= 1');
  }
  if (poolMaxBytes !== undefined && (typeof poolMaxBytes !== 'number' || !(poolMaxBytes >= 0) || !Number.isFinite(poolMaxBytes))) {
    throw new RangeError('perMessageDeflate.poolMaxBytes must be a finite number >= 0');
  }
}

/**
 * Turns the `perMessageDeflate` option of a server or client into settings, as `ws` reads
 * it: `true` means the defaults, an object means those settings, `false` means disabled.
 *
 * @param value - the option as given by the user
 * @param enabledByDefault - what `undefined` means (`ws`: `false` for a server, `true` for a
 *   client)
 * @returns the validated settings, or `null` when permessage-deflate is disabled
 * @throws TypeError or RangeError on an invalid setting (see {@link validateDeflateOptions})
 */
export function resolveDeflateOptions(
  value: boolean | PerMessageDeflateOptions | undefined,
  enabledByDefault: boolean,
): PerMessageDeflateOptions | null {
  if (value === undefined) value = enabledByDefault;
  if (value === false) return null;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null) {
    throw new TypeError('perMessageDeflate must be a boolean or an object');
  }
  validateDeflateOptions(value);
  return value;
}
