/**
 * What a compatibility transcript holds: event arguments reduced to plain, JSON-shaped data
 * that says what a user observes (an error's class, message and code; a Buffer's bytes; a
 * WHATWG event's fields), so that two implementations' transcripts compare with `toEqual`.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';

/** JSON-shaped data: what a transcript holds. */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

const ERROR_KINDS = [SyntaxError, RangeError, TypeError, Error] as const;

/** The shape of an error: nearest built-in class, message, `code` when it has one. */
export function errorShape(err: unknown): Plain {
  if (!(err instanceof Error)) return { thrownNonError: plain(err) };
  const kind = ERROR_KINDS.find((C) => err instanceof C)?.name ?? 'Error';
  const shape: { [key: string]: Plain } = { error: kind, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) shape.code = String(code);
  return shape;
}

/** A callback's error argument: `null` for none (`undefined` and `null` alike). */
export function callbackArg(err: unknown): Plain {
  return err === undefined || err === null ? null : errorShape(err);
}

function bufferText(buf: Buffer): string {
  // Long payloads are summarised: their length and a digest still tell any difference.
  if (buf.length > 64) return `${buf.length} bytes, sha1 ${createHash('sha1').update(buf).digest('hex').slice(0, 12)}`;
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) && !/[\u0000-\u0008\u000e-\u001f]/.test(text) ? text : `hex:${buf.toString('hex')}`;
}

/** Reduces an event argument to plain data that says what a user would observe. */
export function plain(value: unknown, depth = 0): Plain {
  if (value === undefined) return '<undefined>';
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : value;
  if (typeof value === 'function') return '<function>';
  if (typeof value !== 'object') return `<${typeof value}>`;
  if (Buffer.isBuffer(value)) return { Buffer: bufferText(value) };
  if (value instanceof ArrayBuffer) return { ArrayBuffer: bufferText(Buffer.from(value)) };
  if (ArrayBuffer.isView(value)) {
    return { [value.constructor.name]: bufferText(Buffer.from(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (typeof Blob !== 'undefined' && value instanceof Blob) return { Blob: value.size };
  if (value instanceof Error) return errorShape(value);
  if (value instanceof http.IncomingMessage) {
    return { IncomingMessage: value.statusCode ?? `${value.method ?? ''} ${value.url ?? ''}` };
  }
  if (value instanceof http.ClientRequest) return { ClientRequest: value.path };
  if (value instanceof net.Socket) return '<Socket>';
  if (value instanceof EventEmitter && 'readyState' in value && 'send' in value) return '<WebSocket>';
  if (depth > 3) return '<deep>';
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  if (isEventLike(value)) return eventShape(value, depth);
  const out: { [key: string]: Plain } = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v, depth + 1);
  return out;
}

function isEventLike(value: object): value is { type: string; target: unknown } {
  return typeof (value as { type?: unknown }).type === 'string' && 'target' in value;
}

/** A WHATWG event (`onmessage`, `addEventListener`): its public fields. */
function eventShape(event: { type: string; target: unknown }, depth: number): Plain {
  const e = event as unknown as Record<string, unknown>;
  const out: { [key: string]: Plain } = { type: event.type };
  for (const field of ['data', 'code', 'reason', 'wasClean', 'message', 'error']) {
    if (field in e) out[field] = plain(e[field], depth + 1);
  }
  return out;
}

/** A plain object (not an array, not null). */
export function isRecord(v: Plain): v is { [key: string]: Plain } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
