/** Stable codes of {@link ReconnectError}. */
export type ReconnectErrorCode =
  /** The send queue was full and its policy is `reject`. */
  | 'WS_ERR_QUEUE_FULL'
  /** The message was evicted by the `drop-oldest` policy, or is larger than the queue. */
  | 'WS_ERR_QUEUE_DROPPED'
  /** The client stopped (application close, final close code or attempts exhausted). */
  | 'WS_ERR_CLOSED'
  /** No pong arrived within the heartbeat timeout. */
  | 'WS_ERR_HEARTBEAT_TIMEOUT'
  /** The `onConnect` hook threw or rejected. */
  | 'WS_ERR_ON_CONNECT'
  /** A browser reported an error on a connection (browsers give no detail); a `close` follows. */
  | 'WS_ERR_CONNECTION';

/** An error of the reconnecting client, with a stable `code`. */
export class ReconnectError extends Error {
  /** A stable machine-readable code. */
  readonly code: ReconnectErrorCode;

  constructor(code: ReconnectErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconnectError';
    this.code = code;
  }
}
