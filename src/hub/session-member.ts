/**
 * A resumable session as a hub member: its rooms outlive the connections underneath, and what
 * is published while the client is away waits in the session's resend buffer (bounded by the
 * session's `maxMessages`/`maxBytes`) and reaches it on resumption.
 *
 * @module
 */
import type { Session } from '../node/server/session.js';
import { Outcome } from './member.js';
import type { Outgoing } from './message.js';

/** A session added to a hub. @internal */
export class SessionMember {
  readonly session: Session;
  /** Its rooms: none, one (the common case, no Set), or several. */
  rooms: string | Set<string> | null = null;

  constructor(session: Session) {
    this.session = session;
  }

  /**
   * Hands `message` to the session: sent now when connected, held for the client otherwise.
   * A full resend buffer drops it (the session emits `overflow`); no hub policy applies, as the
   * session's own bounds hold the memory.
   */
  deliver(message: Outgoing): Outcome {
    switch (this.session.offer(message.payload, message.binary)) {
      case 'sent':
        return Outcome.Sent;
      case 'held':
        return Outcome.Queued;
      case 'full':
        return Outcome.Dropped;
      default:
        return Outcome.Skipped;
    }
  }
}
