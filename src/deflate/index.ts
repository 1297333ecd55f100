/**
 * permessage-deflate (RFC 7692): negotiation, settings and the codec that plugs into a
 * Connection as its MessageExtension.
 *
 * @module
 */
export { PerMessageDeflate, deflateWindowBits, inflateWindowBits } from './codec.js';
export { limiterLoad, runLimited, type LimitedJob } from './limiter.js';
export {
  EXTENSION_NAME,
  acceptServerResponse,
  buildClientOffer,
  negotiateServer,
  type NegotiatedParams,
  type ServerNegotiation,
} from './negotiate.js';
export {
  DEFAULT_CONCURRENCY_LIMIT,
  DEFAULT_POOL_MAX_BYTES,
  DEFAULT_THRESHOLD,
  resolveDeflateOptions,
  validateDeflateOptions,
  type PerMessageDeflateOptions,
} from './options.js';
export { POOL_IDLE_TIMEOUT, ZlibPool, zlibPool, type ZlibPoolStats } from './zlib-pool.js';
