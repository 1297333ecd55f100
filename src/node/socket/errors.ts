/**
 * The errors of commands on a WebSocket that is not open, in the shapes `ws` users expect.
 *
 * @module
 */
import { WebSocketError } from '../../core/errors.js';

/**
 * What `send`, `ping` and `pong` throw while CONNECTING: a plain `Error`, as `ws` throws, with
 * our stable code.
 */
export function connectingError(): Error & { code: 'WS_ERR_NOT_OPEN' } {
  return Object.assign(new Error('WebSocket is not open: readyState 0 (CONNECTING)'), { code: 'WS_ERR_NOT_OPEN' as const });
}

/** The error a command's callback gets when the socket is CLOSING or CLOSED (`ws`'s message, our code). */
export function notOpenError(state: number): WebSocketError {
  const names = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
  return new WebSocketError('WS_ERR_NOT_OPEN', `WebSocket is not open: readyState ${state} (${names[state] ?? state})`);
}
