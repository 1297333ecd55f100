/** Called once when an extension finished transforming a message. */
export type TransformCallback = (err: Error | null, data?: Buffer) => void;

/**
 * The seam between the connection core and a negotiated extension such as permessage-deflate
 * (RFC 7692). The core knows extensions only through this interface: which RSV bit an extension
 * owns, and how it transforms whole messages in and out. Transforms may complete
 * asynchronously; the core keeps messages in order around them.
 */
export interface MessageExtension {
  /** The extension's registered name, e.g. `permessage-deflate`. */
  readonly name: string;
  /** RSV bits this extension owns, as on the wire (0x40 for RSV1). */
  readonly rsv: number;
  /**
   * Decodes a received message whose first frame carried this extension's RSV bit. Must call
   * back exactly once. Errors should be ProtocolErrors (1007 for bad data, 1009 when the
   * decoded size exceeds the limit).
   */
  decode(data: Buffer, callback: TransformCallback): void;
  /** Whether an outgoing data message of this size should be encoded. */
  shouldEncode(length: number): boolean;
  /**
   * Encodes an outgoing message, or one fragment of it when the application sends with
   * `fin: false`; `fin` marks the last fragment. Must call back exactly once, in call order.
   */
  encode(data: Buffer, fin: boolean, callback: TransformCallback): void;
  /** Releases resources (streams, buffers). Called once when the connection ends. */
  dispose(): void;
}
