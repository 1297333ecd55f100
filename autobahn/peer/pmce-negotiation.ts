/**
 * permessage-deflate negotiation of the conformance peer, following the suite's endpoint (Autobahn|Python 0.10):
 *
 * - As a client it offers `permessage-deflate; client_no_context_takeover; client_max_window_bits` plus
 *   `server_no_context_takeover` / `server_max_window_bits=N` for what the case requests, one element per offer.
 *   It accepts any well-formed answer and uses the parameters the server chose.
 * - As a server it reads every permessage-deflate offer (a malformed one fails the handshake), then tries the
 *   case's acceptances in order: the first offer that allows what an acceptance asks of the client wins. The
 *   answer grants what that offer requested and adds the acceptance's client parameters.
 *
 * Parameter rules are RFC 7692 §7.1: known names only, no repeats, no value on the *_no_context_takeover params,
 * window bits a decimal 8-15 (required for server_max_window_bits, optional for client_max_window_bits in an offer).
 */
import type { DeflateRequest } from '../catalogue/types.js';
import { parseExtensionsHeader } from './extensions-header.js';
import type { ExtensionElement } from './extensions-header.js';

/** The registered extension name (RFC 7692 §7). */
export const PMCE_NAME = 'permessage-deflate';

/** The agreed parameters with defaults filled in (window bits 15, context takeover allowed). */
export interface DeflateParams {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  readonly serverMaxWindowBits: number;
  readonly clientMaxWindowBits: number;
}

/** A parsed client offer, in the suite's terms. */
interface Offer {
  /** The client allows the server to ask for client_no_context_takeover (the suite assumes it always does). */
  readonly acceptNoContextTakeover: boolean;
  /** The client sent client_max_window_bits, so the server may bound the client's window. */
  readonly acceptMaxWindowBits: boolean;
  readonly requestNoContextTakeover: boolean;
  /** 0: no server_max_window_bits requested. */
  readonly requestMaxWindowBits: number;
}

const WINDOW_BITS = /^(?:[89]|1[0-5])$/;
const KNOWN = new Set(['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits', 'client_max_window_bits']);

/** One value per param, each checked; returns an error text or the values. */
function readParams(element: ExtensionElement, isResponse: boolean): Map<string, string | true> | string {
  const out = new Map<string, string | true>();
  for (const [name, values] of element.params) {
    if (!KNOWN.has(name)) return `illegal extension parameter '${name}' for extension '${PMCE_NAME}'`;
    if (values.length > 1) return `multiple occurrence of extension parameter '${name}' for extension '${PMCE_NAME}'`;
    const value = values[0] as string | true;
    const bits = name.endsWith('_max_window_bits');
    const valueOptional = name === 'client_max_window_bits' && !isResponse;
    if (!bits && value !== true) return `illegal extension parameter value '${value}' for parameter '${name}'`;
    if (bits && !(value === true && valueOptional) && (value === true || !WINDOW_BITS.test(value))) {
      return `illegal extension parameter value '${String(value)}' for parameter '${name}'`;
    }
    out.set(name, value);
  }
  return out;
}

const ELEMENT_SEPARATOR = ', ';

/** Client role: the Sec-WebSocket-Extensions request value for the case's offers. */
export function formatOffers(offers: readonly DeflateRequest[]): string {
  return offers
    .map((o) => {
      let s = `${PMCE_NAME}; client_no_context_takeover; client_max_window_bits`;
      if (o.noContextTakeover) s += '; server_no_context_takeover';
      if (o.maxWindowBits !== 0) s += `; server_max_window_bits=${o.maxWindowBits}`;
      return s;
    })
    .join(ELEMENT_SEPARATOR);
}

/**
 * Client role: reads the server's answer. `null` when the server did not select permessage-deflate; an error text
 * when the answer must fail the handshake (another extension, several permessage-deflate elements, bad params).
 */
export function readServerResponse(header: string | undefined): { params: DeflateParams } | { error: string } | null {
  if (header === undefined || header.trim() === '') return null;
  let found: DeflateParams | null = null;
  for (const element of parseExtensionsHeader(header)) {
    if (element.name !== PMCE_NAME) return { error: `server wants to use extension '${element.name}' we did not request` };
    if (found) return { error: 'multiple occurrence of a permessage-compress extension' };
    const p = readParams(element, true);
    if (typeof p === 'string') return { error: p };
    const bits = (name: string): number => {
      const v = p.get(name);
      return typeof v === 'string' ? Number(v) : 15;
    };
    found = {
      serverNoContextTakeover: p.has('server_no_context_takeover'),
      clientNoContextTakeover: p.has('client_no_context_takeover'),
      serverMaxWindowBits: bits('server_max_window_bits'),
      clientMaxWindowBits: bits('client_max_window_bits'),
    };
  }
  return found ? { params: found } : null;
}

/** Server role: every permessage-deflate offer of a request, or the error that fails the handshake. */
export function readClientOffers(header: string | undefined): Offer[] | string {
  const offers: Offer[] = [];
  for (const element of parseExtensionsHeader(header ?? '')) {
    if (element.name !== PMCE_NAME) continue; // unknown extensions are simply not accepted
    const p = readParams(element, false);
    if (typeof p === 'string') return p;
    const serverBits = p.get('server_max_window_bits');
    offers.push({
      acceptNoContextTakeover: true, // as the suite: it takes every client to allow client_no_context_takeover
      acceptMaxWindowBits: p.has('client_max_window_bits'),
      requestNoContextTakeover: p.has('server_no_context_takeover'),
      requestMaxWindowBits: typeof serverBits === 'string' ? Number(serverBits) : 0,
    });
  }
  return offers;
}

/** Server role: the answer to the offers under the case's acceptances; `null` declines permessage-deflate. */
export function acceptOffers(offers: readonly Offer[], accepts: readonly DeflateRequest[]): { response: string; params: DeflateParams } | null {
  for (const want of accepts) {
    for (const offer of offers) {
      if (want.noContextTakeover && !offer.acceptNoContextTakeover) continue;
      if (want.maxWindowBits !== 0 && !offer.acceptMaxWindowBits) continue;
      let response = PMCE_NAME;
      if (offer.requestNoContextTakeover) response += '; server_no_context_takeover';
      if (offer.requestMaxWindowBits !== 0) response += `; server_max_window_bits=${offer.requestMaxWindowBits}`;
      if (want.noContextTakeover) response += '; client_no_context_takeover';
      if (want.maxWindowBits !== 0) response += `; client_max_window_bits=${want.maxWindowBits}`;
      return {
        response,
        params: {
          serverNoContextTakeover: offer.requestNoContextTakeover,
          clientNoContextTakeover: want.noContextTakeover,
          serverMaxWindowBits: offer.requestMaxWindowBits || 15,
          clientMaxWindowBits: want.maxWindowBits || 15,
        },
      };
    }
  }
  return null;
}
