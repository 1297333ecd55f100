/**
 * `ws6455/router`: typed JSON envelopes `{ type, id?, payload }` routed to handlers, with
 * request/response correlation, timeouts and error envelopes.
 *
 * @module ws6455/router
 */
export { Router, DEFAULT_REQUEST_TIMEOUT } from './router.js';
export type { RouterOptions } from './router.js';
export { RouterPeer } from './peer.js';
export { RouterError } from './errors.js';
export type { BuiltinRouterErrorCode, RouterErrorCode } from './errors.js';
export { ERROR_TYPE, RESPONSE_TYPE, encodeEnvelope, parseEnvelope } from './envelope.js';
export type { Envelope, ErrorPayload, ParseResult, RequestId } from './envelope.js';
export type {
  FallbackHandler,
  Handler,
  HandlerContext,
  MessageSpec,
  PayloadOf,
  RawData,
  RequestOptions,
  ResultOf,
  RouterPeerLike,
  RouterSocket,
  Schema,
  TypeOf,
  UntypedSchema,
} from './types.js';
