/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = {
  /** A fragment that continues the current message. */
  Continuation: 0x0,
  /** The first frame of a text message (UTF-8). */
  Text: 0x1,
  /** The first frame of a binary message. */
  Binary: 0x2,
  /** A close frame (control). */
  Close: 0x8,
  /** A ping (control). */
  Ping: 0x9,
  /** A pong (control): answers a ping, or a one-way heartbeat. */
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Close status codes (RFC 6455 §7.4.1 and the IANA registry). */
export const CloseCode = {
  /** The purpose of the connection was fulfilled. */
  Normal: 1000,
  /** An endpoint is going away: a server shutting down, a page navigated away. */
  GoingAway: 1001,
  /** The peer broke the protocol. */
  ProtocolError: 1002,
  /** A type of data the endpoint cannot accept (e.g. binary where only text is understood). */
  UnsupportedData: 1003,
  /** Reserved: reported locally when a close frame carried no code; never sent. */
  NoStatus: 1005,
  /** Reserved: reported locally when the connection ended without a close frame; never sent. */
  Abnormal: 1006,
  /** Data inconsistent with the message type, e.g. invalid UTF-8 in a text message. */
  InvalidPayload: 1007,
  /** A message (or behaviour) that violates the endpoint's policy; the generic refusal. */
  PolicyViolation: 1008,
  /** A message larger than the endpoint will take (`maxPayload`). */
  MessageTooBig: 1009,
  /** Sent by a client: the server did not negotiate an extension the client requires. */
  MandatoryExtension: 1010,
  /** The server met an unexpected condition. */
  InternalError: 1011,
  /** The server is restarting: reconnect (IANA registry). */
  ServiceRestart: 1012,
  /** Temporary overload: try again later (IANA registry). */
  TryAgainLater: 1013,
  /** A gateway got an invalid response from the server behind it (IANA registry). */
  BadGateway: 1014,
} as const;

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §5.5: control frame payloads are at most 125 bytes. */
export const MAX_CONTROL_PAYLOAD = 125;

/** A close reason may use what is left of 125 bytes after the 2-byte code. */
export const MAX_CLOSE_REASON = 123;

/** Default limit on one message's size in bytes (1 MiB). */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * Default limit on the number of frames one message may be split into.
 * Memory is bounded by `maxPayload`; this count only stops an endless stream of empty
 * fragments. It is high enough for a 4 MiB message in 64-byte fragments (65,536 frames).
 */
export const DEFAULT_MAX_FRAGMENTS = 1 << 20;

/** The RSV bits of the first header byte. */
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** Default wait for the peer's half of the close handshake, in milliseconds. */
export const DEFAULT_CLOSE_TIMEOUT = 30_000;
