/**
 * Requests this server sent to the others and is collecting answers for: each resolves when
 * every server listed alive at the time answered, or at its timeout with what arrived.
 *
 * @module
 */
import type { ClusterAnswer } from './types.js';

interface Pending {
  /** Servers expected to answer; `null` when the list could not be read (wait for the timeout). */
  expected: Set<string> | null;
  answers: ClusterAnswer[];
  resolve: (answers: ClusterAnswer[]) => void;
  timer: NodeJS.Timeout;
}

/** @internal */
export class Requests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Requests that ended at their timeout with answers missing. */
  timeouts = 0;
  answers = 0;

  /** Registers a request; the promise resolves with the answers. */
  open(expected: Set<string> | null, timeout: number): { id: number; done: Promise<ClusterAnswer[]> } {
    this.nextId = (this.nextId + 1) >>> 0;
    const id = this.nextId;
    const done = new Promise<ClusterAnswer[]>((resolve) => {
      const timer = setTimeout(() => {
        this.timeouts++;
        this.finish(id);
      }, timeout);
      this.pending.set(id, { expected, answers: [], resolve, timer });
    });
    if (expected !== null && expected.size === 0) this.finish(id);
    return { id, done };
  }

  /** An answer arrived. */
  answer(id: number, answer: ClusterAnswer): void {
    const p = this.pending.get(id);
    if (p === undefined) return; // late: its request already ended
    this.answers++;
    p.answers.push(answer);
    if (p.expected !== null) {
      p.expected.delete(answer.server);
      if (p.expected.size === 0) this.finish(id);
    }
  }

  /** Ends a request now with what arrived. */
  finish(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(p.answers);
  }

  /** Ends every request (the cluster closed). */
  finishAll(): void {
    for (const id of [...this.pending.keys()]) this.finish(id);
  }
}
