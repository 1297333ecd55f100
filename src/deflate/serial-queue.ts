/** A task of a {@link SerialQueue}; it calls `done` once, when the next task may start. */
export type SerialTask = (done: () => void) => void;

/**
 * Runs asynchronous tasks one at a time, in the order they were pushed. A zlib stream
 * holds one message's state at a time, so each direction of a connection runs its jobs
 * through one of these; the callbacks then fire in call order.
 */
export class SerialQueue {
  private readonly tasks: SerialTask[] = [];
  private running = false;

  /** Adds a task; it starts at once when the queue is idle. */
  push(task: SerialTask): void {
    this.tasks.push(task);
    if (!this.running) this.next();
  }

  /** Tasks waiting, not counting the one running. */
  get length(): number {
    return this.tasks.length;
  }

  private next(): void {
    const task = this.tasks.shift();
    if (task === undefined) {
      this.running = false;
      return;
    }
    this.running = true;
    let finished = false;
    task(() => {
      if (finished) return;
      finished = true;
      this.next();
    });
  }
}
