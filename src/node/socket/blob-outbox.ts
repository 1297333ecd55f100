/**
 * Sending `Blob`s in call order. A Blob's bytes can only be read asynchronously, so a
 * `send(blob)` cannot be handed to the connection at once; every send, ping, pong and close
 * made after it waits here until the Blob was read, so the peer receives them in the order the
 * application called them (as with `ws`). Created on a socket's first Blob send only.
 *
 * @internal
 * @module
 */

/** A step of the outbox: a plain command, or a command that needs a Blob's bytes first. */
interface Step {
  blob: Blob | null;
  run: (data: Buffer | null, err: Error | null) => void;
}

/** The commands of one WebSocket that wait behind a Blob being read. @internal */
export class BlobOutbox {
  private readonly steps: Step[] = [];
  private reading = false;
  /** Bytes of Blobs not read yet (reported in `bufferedAmount`). */
  pendingBytes = 0;

  /** `true` when nothing waits, so a command may run at once. */
  get idle(): boolean {
    return this.steps.length === 0 && !this.reading;
  }

  /** Queues `run`, to be called with the Blob's bytes (or the read error) in call order. */
  pushBlob(blob: Blob, run: (data: Buffer | null, err: Error | null) => void): void {
    this.pendingBytes += blob.size;
    this.steps.push({ blob, run });
    this.next();
  }

  /** Queues a command behind the Blobs before it. */
  push(run: () => void): void {
    this.steps.push({ blob: null, run: () => run() });
    this.next();
  }

  /** Forgets every waiting command (the socket was terminated). */
  clear(): void {
    this.steps.length = 0;
    this.pendingBytes = 0;
  }

  private next(): void {
    while (!this.reading && this.steps.length > 0) {
      const step = this.steps[0] as Step;
      const blob = step.blob;
      if (blob === null) {
        this.steps.shift();
        step.run(null, null);
        continue;
      }
      this.reading = true;
      blob.arrayBuffer().then(
        (bytes) => this.done(step, blob, Buffer.from(bytes), null),
        (err: unknown) => this.done(step, blob, null, err instanceof Error ? err : new Error(String(err))),
      );
    }
  }

  private done(step: Step, blob: Blob, data: Buffer | null, err: Error | null): void {
    this.reading = false;
    // clear() may have dropped the step while it was read.
    if (this.steps[0] !== step) return;
    this.steps.shift();
    this.pendingBytes -= blob.size;
    step.run(data, err);
    this.next();
  }
}

/**
 * Runs `run` with a payload's bytes in call order: at once, behind Blobs still being read, or,
 * for a Blob, once it was read (a read error goes to `cb`). Returns the outbox to keep (created
 * by the first Blob).
 */
export function runInOrder(
  outbox: BlobOutbox | null,
  data: Buffer | Blob,
  cb: ((err?: Error | null) => void) | undefined,
  run: (bytes: Buffer) => void,
): BlobOutbox | null {
  if (isBlob(data)) {
    const box = outbox ?? new BlobOutbox();
    box.pushBlob(data, (bytes, err) => {
      if (bytes !== null) run(bytes);
      else cb?.(err);
    });
    return box;
  }
  if (outbox !== null && !outbox.idle) outbox.push(() => run(data));
  else run(data);
  return outbox;
}

/** `true` for a `Blob` (Node 18+ has the global). */
export function isBlob(value: unknown): value is Blob {
  return BlobClass !== undefined && value instanceof BlobClass;
}

/** Read once: every `send()` asks whether its data is a Blob. */
const BlobClass: typeof Blob | undefined = typeof Blob === 'undefined' ? undefined : Blob;
