/**
 * Errors of the cluster, each with a stable `code`.
 *
 * @module
 */

/** Stable codes of {@link ClusterError}. */
export type ClusterErrorCode =
  /** A Redis command failed (connection lost, refused, out of memory, no permission, …); `cause` holds the client's error. */
  | 'WS_ERR_CLUSTER_REDIS'
  /** A message could not be relayed because the bounded outbox was full (Redis unreachable or refusing for too long). */
  | 'WS_ERR_CLUSTER_OUTBOX_FULL'
  /** The cluster is closed (or not started) and cannot do this. */
  | 'WS_ERR_CLUSTER_CLOSED'
  /** The `redis` option is not a client this package can use. */
  | 'WS_ERR_CLUSTER_CLIENT';

/** An error of the cluster. */
export class ClusterError extends Error {
  /** Stable code. */
  readonly code: ClusterErrorCode;
  /** The Redis command that failed, for `WS_ERR_CLUSTER_REDIS`. */
  readonly command: string | undefined;

  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown; command?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClusterError';
    this.code = code;
    this.command = options?.command;
  }
}

/** Wraps what a Redis client threw. @internal */
export function redisError(command: string, cause: unknown): ClusterError {
  const text = cause instanceof Error ? cause.message : String(cause);
  return new ClusterError('WS_ERR_CLUSTER_REDIS', `Redis ${command} failed: ${text}`, { cause, command });
}
