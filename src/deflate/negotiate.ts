/**
 * permessage-deflate negotiation (RFC 7692 §7.1): what a server accepts and answers, what a
 * client offers and accepts. Pure functions over parsed `Sec-WebSocket-Extensions` values;
 * no zlib here.
 *
 * @module
 */
import { WebSocketError } from '../core/errors.js';
import { formatExtensions, type ExtensionOffer } from '../core/headers.js';
import { MAX_WINDOW_BITS, validateDeflateOptions, type PerMessageDeflateOptions } from './options.js';

/** The registered extension name (RFC 7692 §7). */
export const EXTENSION_NAME = 'permessage-deflate';

/** The agreed configuration of one connection, with every value concrete. */
export interface NegotiatedParams {
  /** The server compresses each message on its own (RFC 7692 §7.1.1.1). */
  serverNoContextTakeover: boolean;
  /** The client compresses each message on its own (RFC 7692 §7.1.1.2). */
  clientNoContextTakeover: boolean;
  /** Largest LZ77 window the server compresses with, 8-15 (RFC 7692 §7.1.2.1). */
  serverMaxWindowBits: number;
  /** Largest LZ77 window the client compresses with, 8-15 (RFC 7692 §7.1.2.2). */
  clientMaxWindowBits: number;
}

/** The server's decision on an offer: the agreed parameters and the header value to answer. */
export interface ServerNegotiation {
  params: NegotiatedParams;
  /** The `Sec-WebSocket-Extensions` response value, e.g. `permessage-deflate; client_max_window_bits=10`. */
  response: string;
}

/** One offer's or response's params, checked and typed. */
interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** `true`: given without a value, which only an offer may do (RFC 7692 §7.1.2.2). */
  clientMaxWindowBits: number | true | undefined;
}

// RFC 7692 §7.1.2.1/§7.1.2.2: "a decimal integer value without leading zeroes between 8 to 15".
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/**
 * Reads the params of one permessage-deflate element. Returns a reason string when RFC 7692
 * §7.1 says to decline the offer (server) or fail the connection (client): an unknown
 * param, a param given twice, or a bad value.
 */
function readParams(params: ExtensionOffer['params'], isResponse: boolean): DeflateParams | string {
  const out: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return `parameter "${name}" appears more than once`;
    seen.add(name);
    const shown = value === true ? name : `${name}=${value}`;
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        // RFC 7692 §7.1.1.1/§7.1.1.2: "This extension parameter has no value."
        if (value !== true) return `parameter "${shown}" must not have a value`;
        if (name === 'server_no_context_takeover') out.serverNoContextTakeover = true;
        else out.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits':
        // RFC 7692 §7.1.2.1: the value is required.
        if (value === true || !WINDOW_BITS.test(value)) return `parameter "${shown}" needs a value from 8 to 15`;
        out.serverMaxWindowBits = Number(value);
        break;
      case 'client_max_window_bits':
        // RFC 7692 §7.1.2.2: optional in an offer; a response must carry a value.
        if (value === true) {
          if (isResponse) return `parameter "${name}" needs a value from 8 to 15`;
          out.clientMaxWindowBits = true;
        } else if (WINDOW_BITS.test(value)) {
          out.clientMaxWindowBits = Number(value);
        } else {
          return `parameter "${shown}" needs a value from 8 to 15`;
        }
        break;
      default:
        return `unknown parameter "${name}"`;
    }
  }
  return out;
}

function formatResponse(
  serverNoContextTakeover: boolean,
  clientNoContextTakeover: boolean,
  serverMaxWindowBits: number | undefined,
  clientMaxWindowBits: number | undefined,
): string {
  const params: ExtensionOffer['params'] = [];
  if (serverNoContextTakeover) params.push(['server_no_context_takeover', true]);
  if (clientNoContextTakeover) params.push(['client_no_context_takeover', true]);
  if (serverMaxWindowBits !== undefined) params.push(['server_max_window_bits', String(serverMaxWindowBits)]);
  if (clientMaxWindowBits !== undefined) params.push(['client_max_window_bits', String(clientMaxWindowBits)]);
  return formatExtensions([{ name: EXTENSION_NAME, params }]);
}

/** The server's answer to one valid offer, or `null` when its settings cannot meet it. */
function answerOffer(offer: DeflateParams, options: PerMessageDeflateOptions): ServerNegotiation | null {
  // RFC 7692 §7.1.1.1: a server accepts server_no_context_takeover by answering it, and MAY
  // answer it unasked.
  if (offer.serverNoContextTakeover && options.serverNoContextTakeover === false) return null;
  const serverNoContextTakeover = offer.serverNoContextTakeover || options.serverNoContextTakeover === true;

  // RFC 7692 §7.1.1.2: the server MAY answer client_no_context_takeover; an offered one is a
  // promise from the client, binding whether or not it is echoed.
  const answerClientNoContextTakeover =
    options.clientNoContextTakeover === true ||
    (options.clientNoContextTakeover === undefined && offer.clientNoContextTakeover);
  const clientNoContextTakeover = answerClientNoContextTakeover || offer.clientNoContextTakeover;

  // RFC 7692 §7.1.2.1: an offered server_max_window_bits is accepted by answering "the same
  // or smaller value"; the server MAY also answer it unasked.
  if (offer.serverMaxWindowBits !== undefined && options.serverMaxWindowBits === false) return null;
  let serverMaxWindowBits = offer.serverMaxWindowBits;
  if (typeof options.serverMaxWindowBits === 'number') {
    serverMaxWindowBits = Math.min(serverMaxWindowBits ?? MAX_WINDOW_BITS, options.serverMaxWindowBits);
  }

  // RFC 7692 §7.1.2.2: the server may answer client_max_window_bits only if the client
  // offered it; an offered value is a promise the client keeps even when not echoed.
  const offeredClientBits = offer.clientMaxWindowBits;
  let answerClientBits: number | undefined;
  if (typeof options.clientMaxWindowBits === 'number') {
    // The server wants a bounded inflate window and cannot have one without the param.
    if (offeredClientBits === undefined) return null;
    const offered = offeredClientBits === true ? MAX_WINDOW_BITS : offeredClientBits;
    answerClientBits = Math.min(offered, options.clientMaxWindowBits);
  } else if (options.clientMaxWindowBits !== false && typeof offeredClientBits === 'number') {
    answerClientBits = offeredClientBits;
  }
  const clientMaxWindowBits =
    answerClientBits ?? (typeof offeredClientBits === 'number' ? offeredClientBits : MAX_WINDOW_BITS);

  return {
    params: {
      serverNoContextTakeover,
      clientNoContextTakeover,
      serverMaxWindowBits: serverMaxWindowBits ?? MAX_WINDOW_BITS,
      clientMaxWindowBits,
    },
    response: formatResponse(serverNoContextTakeover, answerClientNoContextTakeover, serverMaxWindowBits, answerClientBits),
  };
}

/**
 * Server side: picks the first acceptable permessage-deflate offer of a request's
 * `Sec-WebSocket-Extensions` (RFC 7692 §5). Offers that are invalid (unknown or repeated
 * params, bad values) or that the settings cannot meet are declined, which means skipped:
 * the handshake goes on, possibly without compression (RFC 7692 §7.1).
 *
 * @param offers - the parsed request header (`parseExtensions`); other extensions are ignored
 * @param options - the server's settings
 * @returns the agreed parameters and the response header value, or `null` to decline all
 * @throws TypeError or RangeError when `options` is invalid
 */
export function negotiateServer(offers: ExtensionOffer[], options: PerMessageDeflateOptions): ServerNegotiation | null {
  validateDeflateOptions(options);
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    const params = readParams(offer.params, false);
    if (typeof params === 'string') continue;
    const answer = answerOffer(params, options);
    if (answer !== null) return answer;
  }
  return null;
}

/**
 * Client side: the `Sec-WebSocket-Extensions` request value offering permessage-deflate
 * with the given settings (RFC 7692 §7.1), e.g. `permessage-deflate; client_max_window_bits`.
 *
 * @param options - the client's settings
 * @throws TypeError or RangeError when `options` is invalid
 */
export function buildClientOffer(options: PerMessageDeflateOptions): string {
  validateDeflateOptions(options);
  const params: ExtensionOffer['params'] = [];
  if (options.serverNoContextTakeover === true) params.push(['server_no_context_takeover', true]);
  if (options.clientNoContextTakeover === true) params.push(['client_no_context_takeover', true]);
  if (typeof options.serverMaxWindowBits === 'number') {
    params.push(['server_max_window_bits', String(options.serverMaxWindowBits)]);
  }
  if (typeof options.clientMaxWindowBits === 'number') {
    params.push(['client_max_window_bits', String(options.clientMaxWindowBits)]);
  } else if (options.clientMaxWindowBits !== false) {
    // RFC 7692 §7.1.2.2: without a value, this says the client can limit its window.
    params.push(['client_max_window_bits', true]);
  }
  return formatExtensions([{ name: EXTENSION_NAME, params }]);
}

function fail(reason: string): never {
  throw new WebSocketError('WS_ERR_HANDSHAKE', `Invalid permessage-deflate response: ${reason}`);
}

/**
 * Client side: checks the server's answer to {@link buildClientOffer} strictly (RFC 7692
 * §7.1: the client MUST fail the connection on an unknown or repeated param, a bad value, or
 * a configuration it did not offer).
 *
 * @param offers - the parsed response header (`parseExtensions`); elements naming other
 *   extensions are left to the caller, which must reject extensions it did not offer
 * @param options - the settings the offer was built from
 * @returns the agreed parameters, or `null` when the server declined (no permessage-deflate
 *   in its answer)
 * @throws WebSocketError `WS_ERR_HANDSHAKE` when the answer is not acceptable
 */
export function acceptServerResponse(offers: ExtensionOffer[], options: PerMessageDeflateOptions): NegotiatedParams | null {
  validateDeflateOptions(options);
  const answers = offers.filter((offer) => offer.name === EXTENSION_NAME);
  if (answers.length === 0) return null;
  // RFC 6455 §9.1: the server answers with at most one configuration per offered extension.
  if (answers.length > 1) fail('the extension was accepted more than once');
  const params = readParams((answers[0] as ExtensionOffer).params, true);
  if (typeof params === 'string') fail(params);

  // RFC 7692 §7.1.1.1: a requested server_no_context_takeover is accepted only by answering it.
  if (options.serverNoContextTakeover === true && !params.serverNoContextTakeover) {
    fail('server_no_context_takeover was requested but not granted');
  }
  // RFC 7692 §7.1.1.2: the server may ask for client_no_context_takeover (ws: unless refused).
  if (options.clientNoContextTakeover === false && params.clientNoContextTakeover) {
    fail('client_no_context_takeover is not accepted by this client');
  }
  // RFC 7692 §7.1.2.1: a requested server_max_window_bits is accepted with "the same or
  // smaller value"; an unrequested one only tells us the server's window is small.
  const requestedServerBits = options.serverMaxWindowBits;
  if (typeof requestedServerBits === 'number') {
    if (params.serverMaxWindowBits === undefined) {
      fail(`server_max_window_bits=${requestedServerBits} was requested but not granted`);
    }
    if (params.serverMaxWindowBits > requestedServerBits) {
      fail(`server_max_window_bits=${params.serverMaxWindowBits} exceeds the requested ${requestedServerBits}`);
    }
  }
  // RFC 7692 §7.1.2.2: the response MUST NOT carry client_max_window_bits unless offered.
  if (params.clientMaxWindowBits !== undefined && options.clientMaxWindowBits === false) {
    fail('client_max_window_bits was not offered');
  }
  // (A response's client_max_window_bits always has a value: readParams checked.)
  const answeredClientBits = typeof params.clientMaxWindowBits === 'number' ? params.clientMaxWindowBits : MAX_WINDOW_BITS;
  // An offered value is a promise the client keeps even if the server answers more.
  const offeredClientBits = typeof options.clientMaxWindowBits === 'number' ? options.clientMaxWindowBits : MAX_WINDOW_BITS;

  return {
    serverNoContextTakeover: params.serverNoContextTakeover,
    clientNoContextTakeover: params.clientNoContextTakeover || options.clientNoContextTakeover === true,
    serverMaxWindowBits: params.serverMaxWindowBits ?? MAX_WINDOW_BITS,
    clientMaxWindowBits: Math.min(answeredClientBits, offeredClientBits),
  };
}
