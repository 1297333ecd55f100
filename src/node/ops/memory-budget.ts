/**
 * A memory budget shared by many connections (pass the same instance to every server of the
 * process): bytes held for incoming messages not yet delivered (partial messages, input held
 * while paused or decoding) plus bytes waiting to be sent (socket buffer and send queue). One
 * timer measures them all; when the sum exceeds the budget, new handshakes are refused with 503
 * and the largest holders are closed with 1013 (try again later) until the rest fits.
 *
 * Inflate output is bounded separately: per connection by `maxPayload`, and across the process
 * by the zlib concurrency limit (permessage-deflate `concurrencyLimit`).
 *
 * @module
 */

/** Options of {@link MemoryBudget}. */
export interface MemoryBudgetOptions {
  /** Bytes all registered connections may hold together. */
  maxBytes: number;
  /** Milliseconds between measurements (default 100). */
  checkInterval?: number;
}

/** Default of {@link MemoryBudgetOptions.checkInterval} (ms). */
export const DEFAULT_BUDGET_CHECK_INTERVAL = 100;

/** A connection registered with a budget. @internal */
export interface BudgetMember {
  /** Position in the budget (managed by it). */
  budgetIndex: number;
  /** Bytes this connection holds now. */
  usage(): number;
  /** The connection is being closed for the budget (it still holds memory until it is gone). */
  readonly budgetClosing: boolean;
  /** Close it: the budget is exhausted and this is one of the largest holders. */
  overBudget(): void;
}

/**
 * A process-wide budget for buffered bytes, e.g. `new MemoryBudget({ maxBytes: 256 * 2 ** 20 })`,
 * passed as the `memoryBudget` option of one or more servers.
 */
export class MemoryBudget {
  /** The budget in bytes. */
  readonly maxBytes: number;
  /** Milliseconds between measurements. */
  readonly checkInterval: number;
  private readonly members: BudgetMember[] = [];
  private timer: NodeJS.Timeout | null = null;
  private used = 0;
  private over = false;
  private closedCount = 0;

  /** @throws RangeError for a non-positive `maxBytes` or `checkInterval` */
  constructor(options: MemoryBudgetOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError('memoryBudget.maxBytes must be a positive number');
    const interval = options.checkInterval ?? DEFAULT_BUDGET_CHECK_INTERVAL;
    if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError('memoryBudget.checkInterval must be a positive number');
    this.maxBytes = options.maxBytes;
    this.checkInterval = interval;
  }

  /** Bytes held at the last measurement. */
  get usedBytes(): number {
    return this.used;
  }

  /** The last measurement was over budget: new handshakes are refused. */
  get exhausted(): boolean {
    return this.over;
  }

  /** Connections registered now. */
  get connections(): number {
    return this.members.length;
  }

  /** Connections closed because the budget was exhausted, since creation. */
  get closedConnections(): number {
    return this.closedCount;
  }

  /**
   * Measures now (the timer does this every `checkInterval` ms). When over budget, closes the
   * largest holders until the bytes of the others fit. Returns the bytes held.
   */
  check(): number {
    const members = this.members;
    let total = 0;
    const holders: Array<[number, BudgetMember]> = [];
    for (const member of members) {
      const usage = member.usage();
      total += usage;
      if (usage > 0) holders.push([usage, member]);
    }
    this.used = total;
    this.over = total > this.maxBytes;
    if (!this.over) return total;
    let excess = total - this.maxBytes;
    // Memory of connections already being closed is about to be released.
    for (const [usage, member] of holders) if (member.budgetClosing) excess -= usage;
    holders.sort((a, b) => b[0] - a[0]);
    for (const [usage, member] of holders) {
      if (excess <= 0) break;
      if (member.budgetClosing) continue;
      member.overBudget();
      this.closedCount++;
      excess -= usage;
    }
    return total;
  }

  /** @internal */
  add(member: BudgetMember): void {
    member.budgetIndex = this.members.length;
    this.members.push(member);
    if (this.timer === null) {
      this.timer = setInterval(() => this.check(), this.checkInterval);
      this.timer.unref();
    }
  }

  /** @internal */
  remove(member: BudgetMember): void {
    const index = member.budgetIndex;
    const members = this.members;
    if (index < 0 || members[index] !== member) return;
    const last = members.pop() as BudgetMember;
    if (last !== member) {
      members[index] = last;
      last.budgetIndex = index;
    }
    member.budgetIndex = -1;
    if (members.length === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.used = 0;
      this.over = false;
    }
  }
}
