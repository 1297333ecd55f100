/** Codes the router itself uses; handlers may throw a {@link RouterError} with any other code. */
export type BuiltinRouterErrorCode =
  /** The message was not valid JSON. */
  | 'invalid_json'
  /** The JSON was not an envelope `{ type, id?, payload }`. */
  | 'invalid_envelope'
  /** No handler for the type, and no fallback. */
  | 'unknown_type'
  /** A handler failed with an error that is not a RouterError (its message is not sent). */
  | 'internal_error'
  /** A request got no answer within its timeout. */
  | 'timeout'
  /** The connection closed (or the peer was detached) before the answer came. */
  | 'closed'
  /**
   * The session under a resumable socket was lost before the answer came (the request may or
   * may not have been handled); the cause is the session's error.
   */
  | 'reset';

/** A router error code: a built-in one or an application's own. */
export type RouterErrorCode = BuiltinRouterErrorCode | (string & {});

/**
 * An error that travels: thrown by a handler, its `code` and `message` are sent to the peer in
 * an error envelope, and `request()` rejects with it on the other side.
 */
export class RouterError extends Error {
  /** A stable machine-readable code. */
  readonly code: RouterErrorCode;

  constructor(code: RouterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RouterError';
    this.code = code;
  }
}
