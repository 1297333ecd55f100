/**
 * The wire format of the router: one JSON object per WebSocket message,
 * `{ "type": string, "id"?: string | number, "payload": any }`. Answers to requests use the
 * reserved types `response` and `error`.
 *
 * @module
 */
import { RouterError, type RouterErrorCode } from './errors.js';

/** Correlates a request with its answer. */
export type RequestId = string | number;

/** One message on the wire. */
export interface Envelope<T extends string = string, P = unknown> {
  /** What the message is; selects the handler. */
  type: T;
  /** Present on requests, and echoed by their `response` or `error`. */
  id?: RequestId;
  /** The data, typed per message type (JSON `null` when absent). */
  payload: P;
}

/** The payload of an `error` envelope. */
export interface ErrorPayload {
  /** A stable code, e.g. `invalid_json`, `unknown_type` or an application's own. */
  code: RouterErrorCode;
  /** A human-readable message. */
  message: string;
}

/** Type of the envelope answering a request successfully. */
export const RESPONSE_TYPE = 'response';
/** Type of the envelope reporting a failure (to a request, or of an unparseable message). */
export const ERROR_TYPE = 'error';

/** Longest string id accepted, so a peer cannot make us echo megabytes. */
const MAX_ID_LENGTH = 128;

/** What {@link parseEnvelope} found: an envelope, or the error to answer with (and the id, if usable). */
export type ParseResult =
  | {
      /** The message is an envelope. */
      ok: true;
      /** The envelope. */
      envelope: Envelope;
    }
  | {
      /** The message is not an envelope. */
      ok: false;
      /** What to answer with (`invalid_json` or `invalid_envelope`). */
      error: RouterError;
      /** The message's request id, when it had a usable one: the error answers it. */
      id?: RequestId;
    };

/** Parses one message into an envelope; never throws. */
export function parseEnvelope(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: new RouterError('invalid_json', 'Message is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new RouterError('invalid_envelope', 'Message must be a JSON object') };
  }
  const record = value as Record<string, unknown>;
  const id = record.id;
  if (id !== undefined && !isRequestId(id)) {
    return { ok: false, error: new RouterError('invalid_envelope', 'Envelope "id" must be a string or a finite number') };
  }
  if (typeof record.type !== 'string' || record.type.length === 0) {
    const error = new RouterError('invalid_envelope', 'Envelope "type" must be a non-empty string');
    return id === undefined ? { ok: false, error } : { ok: false, error, id };
  }
  const envelope: Envelope = { type: record.type, payload: record.payload ?? null };
  if (id !== undefined) envelope.id = id;
  return { ok: true, envelope };
}

/** Serialises an envelope; `undefined` payloads become `null`. */
export function encodeEnvelope(type: string, payload: unknown, id?: RequestId): string {
  const envelope: Envelope = { type, payload: payload === undefined ? null : payload };
  if (id !== undefined) envelope.id = id;
  return JSON.stringify(envelope);
}

/** Whether `value` can be a request id. */
export function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length <= MAX_ID_LENGTH) || (typeof value === 'number' && Number.isFinite(value));
}

/** Reads an error payload defensively (it comes from the peer). */
export function toErrorPayload(payload: unknown): ErrorPayload {
  const record = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  const code = typeof record.code === 'string' ? record.code : 'internal_error';
  const message = typeof record.message === 'string' ? record.message : 'Remote error';
  return { code, message };
}
