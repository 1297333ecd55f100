/**
 * What this server sends to the others, in order and bounded. Records published in one
 * synchronous run (or while the previous entry is on its way) go into one entry; one entry is
 * in flight at a time, so entries reach Redis in the order they were made, and an entry that
 * failed is sent again, before any newer one, after a growing delay. A retry may store an entry
 * twice (Redis took it but the answer was lost): receivers drop the copy by its sequence number.
 *
 * The outbox holds at most `maxBytes`; a record that does not fit is not relayed (it was
 * delivered locally) and is counted, never queued without bound.
 *
 * @module
 */
import { Sleeper, retryDelay } from './backoff.js';
import { ClusterError, redisError } from './errors.js';
import { EntryWriter, HEADER_SIZE } from './wire.js';

/** What the outbox reports. @internal */
export interface OutboxHooks {
  error(err: ClusterError): void;
  /** An entry of `records` records was taken by Redis. */
  sent(records: number, bytes: number): void;
}

interface Sealed {
  entry: Buffer;
  records: number;
}

/** @internal */
export class Outbox {
  private writer = new EntryWriter();
  private readonly queue: Sealed[] = [];
  private inFlight = false;
  private scheduled = false;
  private closed = false;
  private failures = 0;
  private readonly sleeper = new Sleeper();
  private idleWaiters: Array<() => void> = [];
  /** Bytes waiting or in flight. */
  bytes = 0;
  /** Entries and records numbered so far (the wire format's `entrySeq` and `firstSeq`). */
  entrySeq = 0;
  recordSeq = 0;
  /** Records not relayed because the outbox was full. */
  dropped = 0;
  /** Whether the last record was refused (one error per episode). */
  private refusing = false;

  constructor(
    private readonly origin: Buffer,
    private readonly send: (entry: Buffer) => Promise<void>,
    private readonly command: string,
    private readonly maxBytes: number,
    private readonly maxEntryBytes: number,
    private readonly hooks: OutboxHooks,
  ) {}

  /** Records waiting (not yet taken by Redis). */
  get pending(): number {
    let n = this.writer.count;
    for (const s of this.queue) n += s.records;
    return n;
  }

  /**
   * Makes room for a record of `size` bytes and returns the writer to append it to, or `null`
   * (counted, reported) when the outbox is full or closed.
   */
  take(size: number): EntryWriter | null {
    if (this.closed) return null;
    if (this.bytes + size > this.maxBytes) {
      this.dropped++;
      if (!this.refusing) {
        this.refusing = true;
        this.hooks.error(
          new ClusterError(
            'WS_ERR_CLUSTER_OUTBOX_FULL',
            `Cluster outbox full (${this.bytes} of ${this.maxBytes} bytes waiting for Redis): messages are delivered on this server only`,
          ),
        );
      }
      return null;
    }
    this.refusing = false;
    if (this.writer.count > 0 && this.writer.size + size > this.maxEntryBytes) this.seal();
    this.bytes += size;
    if (!this.scheduled) {
      this.scheduled = true;
      // After the current synchronous run (whose publishes join this entry), before the socket
      // writes of the local delivery that follows: the entry goes out as early as it can.
      process.nextTick(this.flush);
    }
    return this.writer;
  }

  /** Resolves once nothing waits (or after `ms`); for a graceful close. */
  idle(ms: number): Promise<void> {
    if (this.pending === 0 && !this.inFlight) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  /** Stops sending; what waits is dropped. */
  close(): void {
    this.closed = true;
    this.sleeper.cancel();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private seal(): void {
    const writer = this.writer;
    if (writer.count === 0) return;
    const firstSeq = this.recordSeq + 1;
    this.recordSeq += writer.count;
    const entry = writer.seal(this.origin, ++this.entrySeq, firstSeq);
    // Records were counted as they were taken; the header is counted now.
    this.bytes += HEADER_SIZE;
    this.queue.push({ entry, records: writer.count });
    this.writer = new EntryWriter(Math.min(entry.length, 1 << 20));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.inFlight || this.closed) return;
    if (this.queue.length === 0) this.seal();
    const next = this.queue[0];
    if (next === undefined) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.inFlight = true;
    this.send(next.entry).then(
      () => {
        this.inFlight = false;
        this.failures = 0;
        this.queue.shift();
        this.bytes -= next.entry.length;
        this.hooks.sent(next.records, next.entry.length);
        this.flush();
      },
      async (err: unknown) => {
        this.hooks.error(redisError(this.command, err));
        this.failures++;
        await this.sleeper.sleep(retryDelay(this.failures));
        this.inFlight = false;
        this.flush();
      },
    );
  };
}
