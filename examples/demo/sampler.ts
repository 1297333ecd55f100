/**
 * Samples `wss.stats()` once a second for the page's panel: the totals, the rates over the
 * last second, and the last minute of message rates for its sparkline.
 */
import type { ServerStats } from '../../src/index.js';

/** One second of traffic. */
export interface Rates {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

const KEEP = 60;

export class StatsSampler {
  readonly startedAt = Date.now();
  private last: { at: number; stats: ServerStats };
  private rates: Rates = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
  private readonly history: Rates[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly read: () => ServerStats) {
    this.last = { at: Date.now(), stats: read() };
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  /** Totals now, rates over the last complete second, and the last minute of rates (oldest first). */
  snapshot(): { stats: ServerStats; rates: Rates; history: Rates[] } {
    return { stats: this.read(), rates: this.rates, history: this.history };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const now = { at: Date.now(), stats: this.read() };
    const seconds = Math.max(0.001, (now.at - this.last.at) / 1000);
    const per = (key: keyof Rates): number => Math.round((now.stats[key] - this.last.stats[key]) / seconds);
    this.rates = { messagesIn: per('messagesIn'), messagesOut: per('messagesOut'), bytesIn: per('bytesIn'), bytesOut: per('bytesOut') };
    this.history.push(this.rates);
    if (this.history.length > KEEP) this.history.shift();
    this.last = now;
  }
}
