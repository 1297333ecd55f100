/**
 * The permessage-deflate codec (RFC 7692 §7.2) behind the core's MessageExtension seam:
 * one zlib stream per direction, taken on first use from the process-wide pool of reset
 * streams (zlib-pool.ts) or created, kept across messages while context takeover is allowed,
 * returned to the pool when no longer needed, and every job run through the process-wide
 * limiter.
 *
 * @module
 */
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import type { Role } from '../core/connection.js';
import { DEFAULT_MAX_PAYLOAD, RSV1 } from '../core/constants.js';
import { WebSocketError } from '../core/errors.js';
import type { MessageExtension, TransformCallback } from '../core/extension.js';
import { deflateMessage } from './deflate-job.js';
import { inflateMessage } from './inflate-job.js';
import { runLimited } from './limiter.js';
import { EXTENSION_NAME, type NegotiatedParams } from './negotiate.js';
import {
  DEFAULT_CONCURRENCY_LIMIT,
  DEFAULT_POOL_MAX_BYTES,
  DEFAULT_THRESHOLD,
  MAX_WINDOW_BITS,
  MIN_WINDOW_BITS,
  validateDeflateOptions,
  type PerMessageDeflateOptions,
} from './options.js';
import { SerialQueue } from './serial-queue.js';
import { deflateStreamBytes, destroyStream, inflateStreamBytes, zlibPool } from './zlib-pool.js';

/**
 * The zlib `windowBits` for compressing when the peer's window is 2^`bits` bytes.
 *
 * zlib cannot build a raw deflate stream with an 8-bit window (deflateInit2 rejects it;
 * Node silently turns 8 into 9). That is still safe for a peer limited to 256 bytes: zlib
 * never emits a match farther back than its window size minus MIN_LOOKAHEAD (262 bytes), so
 * with a 512-byte window no distance exceeds 250 (Node's zlib docs: windowBits 9 "results
 * in a compressed stream that effectively uses an 8-bit window only"). We ask for 9
 * ourselves rather than rely on the silent rewrite; a test inflates such output with a true
 * 256-byte window.
 */
export function deflateWindowBits(bits: number): number {
  return Math.max(bits, 9);
}

/**
 * The zlib `windowBits` for decompressing data compressed with a window of 2^`bits` bytes.
 * A larger window accepts everything a smaller one does; 9 instead of 8 also accepts peers
 * whose zlib silently compressed with 512 bytes after agreeing on 256.
 */
export function inflateWindowBits(bits: number): number {
  return Math.max(bits, 9);
}

function checkWindowBits(name: string, value: number): void {
  if (!Number.isInteger(value) || value < MIN_WINDOW_BITS || value > MAX_WINDOW_BITS) {
    throw new RangeError(`NegotiatedParams.${name} must be an integer from 8 to 15`);
  }
}

/**
 * permessage-deflate for one connection. Server role: decodes with the client's parameters
 * and encodes with the server's; client role: the reverse.
 *
 * Without context takeover in a direction, that direction's zlib stream is given back to the
 * pool after each message (so an idle connection holds no zlib memory) and taken again for
 * the next one. A stream whose job failed or was abandoned is destroyed, never pooled.
 */
export class PerMessageDeflate implements MessageExtension {
  /** `permessage-deflate`. */
  readonly name = EXTENSION_NAME;
  /** RFC 7692 §6: the "Per-Message Compressed" bit is RSV1. */
  readonly rsv = RSV1;
  /** The negotiated parameters. */
  readonly params: Readonly<NegotiatedParams>;
  /** Which end this is. */
  readonly role: Role;

  private readonly maxPayload: number;
  private readonly threshold: number;
  private readonly concurrencyLimit: number;
  private readonly inflateBits: number;
  private readonly inflateNoContextTakeover: boolean;
  private readonly deflateBits: number;
  private readonly deflateNoContextTakeover: boolean;
  private readonly options: PerMessageDeflateOptions;
  private readonly poolMaxBytes: number;
  /** Pool keys: the kind and every parameter the streams are created with. */
  private readonly inflateKey: string;
  private readonly deflateKey: string;
  private readonly inflateBytes: number;
  private readonly deflateBytes: number;

  private inflater: InflateRaw | null = null;
  private deflater: DeflateRaw | null = null;
  private readonly decodes = new SerialQueue();
  private readonly encodes = new SerialQueue();
  private abortDecode: (() => void) | null = null;
  private abortEncode: (() => void) | null = null;
  private disposed = false;

  /**
   * @param params - the negotiated parameters (`negotiateServer` or `acceptServerResponse`)
   * @param role - which end this is
   * @param options - the settings the negotiation used (threshold, zlib tuning, limiter)
   * @param maxPayload - the largest decoded message accepted, in bytes (default 1 MiB)
   * @throws RangeError or TypeError on invalid params or options
   */
  constructor(
    params: NegotiatedParams,
    role: Role,
    options: PerMessageDeflateOptions = {},
    maxPayload: number = DEFAULT_MAX_PAYLOAD,
  ) {
    validateDeflateOptions(options);
    checkWindowBits('serverMaxWindowBits', params.serverMaxWindowBits);
    checkWindowBits('clientMaxWindowBits', params.clientMaxWindowBits);
    this.params = { ...params };
    this.role = role;
    this.options = options;
    this.maxPayload = maxPayload;
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    this.concurrencyLimit = options.concurrencyLimit ?? DEFAULT_CONCURRENCY_LIMIT;
    const server = role === 'server';
    // RFC 7692 §7.1.1, §7.1.2: each direction follows its sender's parameters.
    this.inflateBits = server ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    this.inflateNoContextTakeover = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.deflateBits = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.deflateNoContextTakeover = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.poolMaxBytes = options.poolMaxBytes ?? DEFAULT_POOL_MAX_BYTES;
    const inflateBits = inflateWindowBits(this.inflateBits);
    const deflateBits = deflateWindowBits(this.deflateBits);
    const inflateChunk = options.zlibInflateOptions?.chunkSize;
    const { level, memLevel, strategy, chunkSize } = options.zlibDeflateOptions ?? {};
    this.inflateKey = `inflate ${inflateBits} ${inflateChunk ?? ''}`;
    this.deflateKey = `deflate ${deflateBits} ${level ?? ''} ${memLevel ?? ''} ${strategy ?? ''} ${chunkSize ?? ''}`;
    this.inflateBytes = inflateStreamBytes(inflateBits, inflateChunk);
    this.deflateBytes = deflateStreamBytes(deflateBits, memLevel, chunkSize);
  }

  /** Compress messages of at least `threshold` bytes. */
  shouldEncode(length: number): boolean {
    return length >= this.threshold;
  }

  /** Decodes one message (RFC 7692 §7.2.2). Calls back asynchronously, in call order. */
  decode(data: Buffer, callback: TransformCallback): void {
    this.decodes.push((done) => {
      runLimited((release) => {
        this.runDecode(data, (err, out) => {
          try {
            callback(err, out);
          } finally {
            release();
            done();
          }
        });
      }, this.concurrencyLimit);
    });
  }

  /**
   * Encodes one message, or one fragment of it when `fin` is false (RFC 7692 §7.2.1).
   * Calls back asynchronously, in call order.
   */
  encode(data: Buffer, fin: boolean, callback: TransformCallback): void {
    this.encodes.push((done) => {
      runLimited((release) => {
        this.runEncode(data, fin, (err, out) => {
          try {
            callback(err, out);
          } finally {
            release();
            done();
          }
        });
      }, this.concurrencyLimit);
    });
  }

  /**
   * Fails the jobs not finished yet with `WS_ERR_NOT_OPEN` and lets go of both zlib streams:
   * a stream with a job still running in zlib is destroyed, an idle one goes back to the pool.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const decoding = this.abortDecode !== null;
    const encoding = this.abortEncode !== null;
    this.abortDecode?.();
    this.abortEncode?.();
    this.releaseInflater(decoding);
    this.releaseDeflater(encoding);
  }

  /**
   * The decompressor for the next message: an idle one from the pool, or a new one.
   * @internal Overridden by tests to observe zlib.
   */
  protected takeInflater(windowBits: number): InflateRaw {
    return zlibPool.take<InflateRaw>(this.inflateKey) ?? this.createInflater(windowBits);
  }

  /**
   * The compressor for the next message: an idle one from the pool, or a new one.
   * @internal Overridden by tests to observe zlib.
   */
  protected takeDeflater(windowBits: number): DeflateRaw {
    return zlibPool.take<DeflateRaw>(this.deflateKey) ?? this.createDeflater(windowBits);
  }

  /**
   * Creates the decompressor.
   * @internal Overridden by tests to observe zlib.
   */
  protected createInflater(windowBits: number): InflateRaw {
    const chunkSize = this.options.zlibInflateOptions?.chunkSize;
    // Every write is flushed (Z_SYNC_FLUSH): a job needs no separate flush call (inflate-job.ts).
    const flush = zlibConstants.Z_SYNC_FLUSH;
    return createInflateRaw(chunkSize === undefined ? { windowBits, flush } : { windowBits, chunkSize, flush });
  }

  /**
   * Creates the compressor.
   * @internal Overridden by tests to observe zlib.
   */
  protected createDeflater(windowBits: number): DeflateRaw {
    const { level, memLevel, strategy, chunkSize } = this.options.zlibDeflateOptions ?? {};
    return createDeflateRaw({
      windowBits,
      // Every write is flushed (Z_SYNC_FLUSH): a job needs no separate flush call (deflate-job.ts).
      flush: zlibConstants.Z_SYNC_FLUSH,
      ...(level === undefined ? {} : { level }),
      ...(memLevel === undefined ? {} : { memLevel }),
      ...(strategy === undefined ? {} : { strategy }),
      ...(chunkSize === undefined ? {} : { chunkSize }),
    });
  }

  private runDecode(data: Buffer, finish: TransformCallback): void {
    if (this.disposed) {
      process.nextTick(finish, disposedError());
      return;
    }
    if (data.length === 0) {
      // Not valid DEFLATE data, but nothing to decode either. Feeding the lone tail to zlib
      // would leave it inside an unfinished stored block and break the next message.
      process.nextTick(finish, null, Buffer.alloc(0));
      return;
    }
    const stream = (this.inflater ??= this.takeInflater(inflateWindowBits(this.inflateBits)));
    this.abortDecode = inflateMessage(stream, data, this.maxPayload, (err, out, streamEnded) => {
      this.abortDecode = null;
      // RFC 7692 §7.1.1: without context takeover the next message starts on an empty window.
      // A busy connection resets the stream for the message already waiting; an idle one
      // gives it back (reset) to the pool, so idle connections hold no zlib memory. A stream
      // that failed, stopped a bomb mid-message or ended its DEFLATE stream is destroyed.
      if (err || streamEnded) this.releaseInflater(true);
      else if (this.inflateNoContextTakeover) {
        if (this.decodes.length > 0) stream.reset();
        else this.releaseInflater(false);
      }
      finish(err, out);
    });
  }

  private runEncode(data: Buffer, fin: boolean, finish: TransformCallback): void {
    if (this.disposed) {
      process.nextTick(finish, disposedError());
      return;
    }
    const stream = (this.deflater ??= this.takeDeflater(deflateWindowBits(this.deflateBits)));
    this.abortEncode = deflateMessage(stream, data, fin, (err, out) => {
      this.abortEncode = null;
      // Fragments of one message share the stream; the window is dropped only after the last.
      if (err) this.releaseDeflater(true);
      else if (fin && this.deflateNoContextTakeover) {
        if (this.encodes.length > 0) stream.reset();
        else this.releaseDeflater(false);
      }
      finish(err, out);
    });
  }

  /** Lets go of the decompressor: destroyed when `broken`, else back to the pool. */
  private releaseInflater(broken: boolean): void {
    const stream = this.inflater;
    if (stream === null) return;
    this.inflater = null;
    if (broken) destroyStream(stream);
    else zlibPool.give(this.inflateKey, stream, this.inflateBytes, this.poolMaxBytes);
  }

  /** Lets go of the compressor: destroyed when `broken`, else back to the pool. */
  private releaseDeflater(broken: boolean): void {
    const stream = this.deflater;
    if (stream === null) return;
    this.deflater = null;
    if (broken) destroyStream(stream);
    else zlibPool.give(this.deflateKey, stream, this.deflateBytes, this.poolMaxBytes);
  }
}

function disposedError(): WebSocketError {
  return new WebSocketError('WS_ERR_NOT_OPEN', 'The connection closed before the message was processed');
}
