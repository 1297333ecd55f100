/**
 * A process-wide pool of idle zlib streams, reset and ready for the next connection.
 *
 * Why: node:zlib allocates a stream's state (for a compressor with a 15-bit window and memLevel
 * 8, about 280 KiB in blocks of 64 KiB) lazily, on the libuv thread that runs its first job, so
 * it lands in that thread's malloc arena; closing the stream frees it from the main thread. A
 * compressing connection creates and destroys two streams, and without context takeover two
 * per message: allocation and initialisation work each time, and a stream of 64 KiB blocks
 * through glibc's thread arenas, which keep the address space they reached and fragment as
 * blocks of different lifetimes interleave. A released stream handed to the next connection
 * costs a reset instead (benchmarks/soak measures the difference).
 *
 * Reuse is exact: `reset()` (deflateReset / inflateReset) puts a stream in the state of a new
 * one with the same parameters, so RFC 7692 §7.1.1's context takeover rules hold: a
 * connection never sees another connection's window. Only streams whose last job completed
 * (no write in flight, all output read, no listener left) are accepted; a stream that failed,
 * stopped a bomb, ended its DEFLATE stream or was abandoned mid-job is destroyed instead.
 *
 * Cost: at most `maxBytes` (estimated per stream from its parameters, see
 * {@link deflateStreamBytes} and {@link inflateStreamBytes}) held by idle streams in the whole
 * process, each for a limited time: a stream idle for `idleTimeout` ms (default 60 s) is
 * destroyed by a timer that does not keep the process alive.
 *
 * @module
 */
import type { DeflateRaw, InflateRaw } from 'node:zlib';

/** A stream the pool holds. */
export type PooledStream = DeflateRaw | InflateRaw;

/** Milliseconds an idle stream stays in the pool before it is destroyed. */
export const POOL_IDLE_TIMEOUT = 60_000;

/** node:zlib's default output chunk size (zlib.constants.Z_DEFAULT_CHUNK). */
const DEFAULT_CHUNK = 16 * 1024;
/** zlib's internal state structs and Node's per-stream objects, rounded up. */
const STATE_BYTES = 8 * 1024;

/**
 * Estimated memory of a raw deflate stream: zlib's `(1 << (windowBits + 2)) + (1 << (memLevel
 * + 9))` (zconf.h), its state, and Node's output buffer.
 */
export function deflateStreamBytes(windowBits: number, memLevel = 8, chunkSize = DEFAULT_CHUNK): number {
  return (1 << (windowBits + 2)) + (1 << (memLevel + 9)) + STATE_BYTES + chunkSize;
}

/** Estimated memory of a raw inflate stream: its `1 << windowBits` window, state, output buffer. */
export function inflateStreamBytes(windowBits: number, chunkSize = DEFAULT_CHUNK): number {
  return (1 << windowBits) + STATE_BYTES + chunkSize;
}

interface IdleStream {
  stream: PooledStream;
  bytes: number;
  since: number;
}

/** Counters of a {@link ZlibPool}, for tests and diagnostics. */
export interface ZlibPoolStats {
  /** Streams idle in the pool now, and their estimated bytes. */
  idleStreams: number;
  idleBytes: number;
  /** Streams handed out again, taken back, and destroyed instead (full, unhealthy, idle too long). */
  reused: number;
  returned: number;
  discarded: number;
}

/** Destroys a stream; late errors of a discarded stream must not go unhandled. */
export function destroyStream(stream: PooledStream): void {
  stream.on('error', () => {});
  stream.destroy();
}

/** Whether nothing of the last job is left on the stream (see the module comment). */
function reusable(stream: PooledStream): boolean {
  return (
    !stream.destroyed &&
    stream.errored === null &&
    !stream.writableEnded &&
    !stream.readableEnded &&
    !stream.isPaused() &&
    stream.writableLength === 0 &&
    stream.readableLength === 0 &&
    stream.listenerCount('data') === 0 &&
    stream.listenerCount('error') === 0
  );
}

/**
 * Idle zlib streams by key (the kind and every parameter a stream is created with). The most
 * recently returned stream is handed out first, so the ones at the bottom age out.
 */
export class ZlibPool {
  private readonly idle = new Map<string, IdleStream[]>();
  private readonly counters: ZlibPoolStats = { idleStreams: 0, idleBytes: 0, reused: 0, returned: 0, discarded: 0 };
  private timer: NodeJS.Timeout | null = null;

  /**
   * @param idleTimeout - ms after which an idle stream is destroyed
   * @param now - the clock, in ms (tests pass their own)
   */
  constructor(
    private readonly idleTimeout: number = POOL_IDLE_TIMEOUT,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** An idle stream created with `key`'s parameters, already reset; null when there is none. */
  take<T extends PooledStream>(key: string): T | null {
    const list = this.idle.get(key);
    const entry = list?.pop();
    if (list === undefined || entry === undefined) return null;
    if (list.length === 0) this.idle.delete(key);
    this.counters.idleStreams--;
    this.counters.idleBytes -= entry.bytes;
    this.counters.reused++;
    return entry.stream as T;
  }

  /**
   * Takes back a stream whose last job completed. It is reset and kept when it is reusable
   * and the idle streams stay within `maxBytes` with it; otherwise it is destroyed.
   *
   * @param key - the parameters it was created with
   * @param stream - the stream; the caller must not use it again
   * @param bytes - its estimated memory
   * @param maxBytes - the most bytes idle streams may hold, counting this one
   * @returns whether the stream was kept
   */
  give(key: string, stream: PooledStream, bytes: number, maxBytes: number): boolean {
    if (this.counters.idleBytes + bytes > maxBytes || !reusable(stream)) {
      this.discard(stream);
      return false;
    }
    try {
      stream.reset();
    } catch {
      this.discard(stream);
      return false;
    }
    let list = this.idle.get(key);
    if (list === undefined) {
      list = [];
      this.idle.set(key, list);
    }
    list.push({ stream, bytes, since: this.now() });
    this.counters.idleStreams++;
    this.counters.idleBytes += bytes;
    this.counters.returned++;
    this.arm(this.idleTimeout);
    return true;
  }

  /** Destroys the streams idle for `idleTimeout` ms or longer. */
  sweep(): void {
    const now = this.now();
    let next = Infinity;
    for (const [key, list] of this.idle) {
      // Oldest first: streams are pushed in time order.
      let expired = 0;
      while (expired < list.length && now - (list[expired] as IdleStream).since >= this.idleTimeout) expired++;
      for (const entry of list.splice(0, expired)) {
        this.counters.idleStreams--;
        this.counters.idleBytes -= entry.bytes;
        this.discard(entry.stream);
      }
      const oldest = list[0];
      if (oldest === undefined) this.idle.delete(key);
      else next = Math.min(next, oldest.since + this.idleTimeout - now);
    }
    if (next !== Infinity) this.arm(next);
  }

  /** Destroys every idle stream. */
  clear(): void {
    for (const list of this.idle.values()) for (const entry of list) this.discard(entry.stream);
    this.idle.clear();
    this.counters.idleStreams = 0;
    this.counters.idleBytes = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Counters since the pool was made. */
  stats(): ZlibPoolStats {
    return { ...this.counters };
  }

  private discard(stream: PooledStream): void {
    this.counters.discarded++;
    destroyStream(stream);
  }

  private arm(delay: number): void {
    if (this.timer !== null) return;
    // Unref'd: idle streams never keep a process alive.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sweep();
    }, Math.max(delay, 1));
    this.timer.unref();
  }
}

/** The pool every permessage-deflate codec of this module instance shares. */
export const zlibPool: ZlibPool = new ZlibPool();
