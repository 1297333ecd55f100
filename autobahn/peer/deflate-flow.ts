/**
 * The flow of cases 12.x/13.x, as the suite's Case12_X_X runs it on an open connection:
 *
 * - permessage-deflate not negotiated → UNIMPLEMENTED, and a normal close at once;
 * - else FAILED ("did not finish") until proven otherwise, a close after the case's time limit, and `count` round
 *   trips: the next slice of the data set goes out (compressed, auto-fragmented) once the previous echo came back
 *   with the same type, length and content (SHA-1, as the suite compares); all echoes in → OK and a normal close.
 */
import { createHash } from 'node:crypto';
import type { Behavior, DeflateCase } from '../catalogue/types.js';
import { DataCursor, testData } from '../testdata/index.js';
import { sizeOf } from './bytes.js';
import type { Profile } from './bytes.js';
import type { FuzzSession } from './session.js';

const CLOSE_NORMAL = 1000;

const sha1 = (data: Uint8Array): string => createHash('sha1').update(data).digest('hex');

/** State and verdict of one 12.x/13.x case. */
export class DeflateFlow {
  behavior: Behavior = 'FAILED';
  result: string;
  private sent = 0;
  private expected: Buffer = Buffer.alloc(0);
  private readonly count: number;
  private readonly cursor: DataCursor;

  constructor(
    private readonly session: FuzzSession,
    private readonly flow: DeflateCase,
    profile: Profile,
  ) {
    this.count = sizeOf(flow.count, profile);
    this.cursor = new DataCursor(testData(flow.data), flow.messageSize);
    this.result = `Case did not finish within ${flow.waitSecs} seconds.`;
  }

  /** Called once the connection is open. */
  start(): void {
    this.session.wirelog.enabled = false;
    if (!this.session.deflate) {
      this.behavior = 'UNIMPLEMENTED';
      this.result = 'permessage-deflate was not negotiated.';
      this.session.wirelog.enabled = true;
      this.session.sendClose(CLOSE_NORMAL);
      return;
    }
    this.session.closeAfter(this.flow.waitSecs);
    this.sendOne();
  }

  private sendOne(): void {
    this.expected = this.cursor.next();
    this.sent++;
    this.session.sendMessage(this.expected, this.flow.binary, this.flow.autoFragmentSize);
  }

  /** An echoed message (already decompressed by the session). */
  onMessage(payload: Buffer, binary: boolean): void {
    const want = this.expected;
    let problem: string | null = null;
    if (binary !== this.flow.binary) {
      problem = `Echo'ed message type differs from what I sent (got binary ${binary}, expected binary ${this.flow.binary}).`;
    } else if (payload.length !== want.length) {
      problem = `Echo'ed message length differs from what I sent (got length ${payload.length}, expected length ${want.length}).`;
    } else if (!payload.equals(want)) {
      problem = `Echo'ed message contents differs from what I sent (got SHA1 ${sha1(payload)}, expected SHA1 ${sha1(want)}).`;
    }
    if (problem !== null) {
      this.behavior = 'FAILED';
      this.result = `${problem} (message ${this.sent} of ${this.count})`;
      this.finish();
    } else if (this.sent < this.count) {
      this.sendOne();
    } else {
      this.behavior = 'OK';
      this.result = "Ok, received all echo'ed messages in time.";
      this.finish();
    }
  }

  private finish(): void {
    this.session.wirelog.enabled = true;
    this.session.sendClose(CLOSE_NORMAL);
  }
}
