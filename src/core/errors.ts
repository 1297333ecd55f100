/** Stable string codes carried by every error this library raises. */
export type WsErrorCode =
  | 'WS_ERR_INVALID_OPCODE'
  | 'WS_ERR_UNEXPECTED_RSV_1'
  | 'WS_ERR_UNEXPECTED_RSV_2_3'
  | 'WS_ERR_EXPECTED_FIN'
  | 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'
  | 'WS_ERR_EXPECTED_MASK'
  | 'WS_ERR_UNEXPECTED_MASK'
  | 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  | 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
  | 'WS_ERR_TOO_MANY_FRAGMENTS'
  | 'WS_ERR_TOO_MANY_BUFFERED_PARTS'
  | 'WS_ERR_TOO_MANY_PENDING_PONGS'
  | 'WS_ERR_INVALID_UTF8'
  | 'WS_ERR_INVALID_CLOSE_CODE'
  | 'WS_ERR_INVALID_CLOSE_PAYLOAD'
  | 'WS_ERR_UNEXPECTED_CONTINUATION'
  | 'WS_ERR_EXPECTED_CONTINUATION'
  | 'WS_ERR_INVALID_COMPRESSED_DATA'
  | 'WS_ERR_EXTENSION_FAILED'
  | 'WS_ERR_HANDSHAKE'
  | 'WS_ERR_HANDSHAKE_TIMEOUT'
  | 'WS_ERR_UNEXPECTED_RESPONSE'
  | 'WS_ERR_INVALID_URL'
  | 'WS_ERR_TOO_MANY_REDIRECTS'
  | 'WS_ERR_NOT_OPEN';

/** An error with a stable `code` string. */
export class WebSocketError extends Error {
  /** A stable machine-readable code, e.g. `WS_ERR_HANDSHAKE`. */
  readonly code: WsErrorCode;

  constructor(code: WsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebSocketError';
    this.code = code;
  }
}

/**
 * A violation by the peer that fails the connection (RFC 6455 §7.1.7).
 * `closeCode` is the status sent in the close frame: 1002, 1007, 1009 or 1011.
 */
export class ProtocolError extends WebSocketError {
  /** The close code this error sends to the peer. */
  readonly closeCode: number;

  constructor(code: WsErrorCode, closeCode: number, message: string) {
    super(code, message);
    this.name = 'ProtocolError';
    this.closeCode = closeCode;
  }
}

/** The error of a send, ping or pong that could not go out: the connection is not open. */
export function notOpenError(): WebSocketError {
  return new WebSocketError('WS_ERR_NOT_OPEN', 'WebSocket is not open: readyState is not OPEN');
}
