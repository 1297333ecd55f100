/**
 * The wire, written by hand for the compatibility tests (the same for both implementations):
 * server frames (RFC 6455 §5.2), the 101 answer (§4.2.2), a reader of the frames a client
 * sends, and raw HTTP requests for the server-side checks.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type Plain, plain } from './plain.js';

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Answers an upgrade request with a valid 101 (no subprotocol, no extension), plus `extra` bytes. */
export function write101(req: http.IncomingMessage, socket: Duplex, extra?: Buffer, acceptOverride?: string): void {
  const key = String(req.headers['sec-websocket-key'] ?? '');
  const accept = acceptOverride ?? acceptKey(key);
  const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
  socket.write(extra ? Buffer.concat([Buffer.from(head, 'latin1'), extra]) : head);
}

/** An unmasked server frame (RFC 6455 §5.2), payload under 64 KiB. */
export function serverFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), fin = true, rsv = 0): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head =
    body.length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | rsv | opcode, body.length])
      : Buffer.from([(fin ? 0x80 : 0) | rsv | opcode, 126, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([head, body]);
}

/** A close frame payload. */
export function closeBody(code: number, reason = ''): Buffer {
  const out = Buffer.alloc(2 + Buffer.byteLength(reason));
  out.writeUInt16BE(code, 0);
  out.write(reason, 2);
  return out;
}

/** A frame as a client sent it. */
export interface ClientFrame {
  opcode: number;
  fin: boolean;
  masked: boolean;
  maskKey: Buffer;
  payload: Buffer;
}

const OPCODES: Record<number, string> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

/** A client frame as transcript arguments: kind, then code and reason (close) or payload. */
export function describeFrame(frame: ClientFrame): Plain[] {
  const out: Plain[] = [OPCODES[frame.opcode] ?? `opcode ${frame.opcode}`];
  if (frame.opcode === 8) {
    if (frame.payload.length >= 2) out.push(frame.payload.readUInt16BE(0), frame.payload.subarray(2).toString('utf8'));
  } else {
    out.push(plain(frame.payload));
  }
  if (!frame.fin) out.push('fin=0');
  if (!frame.masked) out.push('unmasked');
  return out;
}

/** Reads client frames (masked) from a socket: opcode, fin, mask key and unmasked payload. */
export function readClientFrames(socket: Duplex, onFrame: (frame: ClientFrame) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const b1 = buf[1] as number;
      let len = b1 & 0x7f;
      let p = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        p = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        p = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const maskKey = masked ? Buffer.from(buf.subarray(p, p + 4)) : Buffer.alloc(0);
      if (masked) p += 4;
      if (buf.length < p + len) return;
      const payload = Buffer.from(buf.subarray(p, p + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] = (payload[i] as number) ^ (maskKey[i & 3] as number);
      onFrame({ opcode: (buf[0] as number) & 0x0f, fin: ((buf[0] as number) & 0x80) !== 0, masked, maskKey, payload });
      buf = buf.subarray(p + len);
    }
  });
}

// ---- raw HTTP requests -----------------------------------------------------------------------

export interface RawResponse {
  /** The status line, or null when no complete head arrived. */
  status: number | null;
  /** Response header names in lower case. */
  headers: Record<string, string>;
  /** Whether the server closed the connection within the wait. */
  closedByServer: boolean;
}

/** A valid upgrade request head for 127.0.0.1:`port` (`extra` lines replace or add headers). */
export function upgradeRequestText(port: number, extra: Record<string, string | null> = {}, path = '/'): string {
  const headers = new Map<string, string>([
    ['host', `Host: 127.0.0.1:${port}`],
    ['upgrade', 'Upgrade: websocket'],
    ['connection', 'Connection: Upgrade'],
    ['sec-websocket-key', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='],
    ['sec-websocket-version', 'Sec-WebSocket-Version: 13'],
  ]);
  for (const [name, value] of Object.entries(extra)) {
    if (value === null) headers.delete(name.toLowerCase());
    else headers.set(name.toLowerCase(), `${name}: ${value}`);
  }
  return `GET ${path} HTTP/1.1\r\n${[...headers.values()].join('\r\n')}\r\n\r\n`;
}

/**
 * Sends `request` over a new TCP connection and reads the response head; waits at most `ms`
 * for the server to close the connection after it.
 */
export function rawRequest(port: number, request: string, ms = 500): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let buf = Buffer.alloc(0);
    let closed = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const end = buf.indexOf('\r\n\r\n');
      const out: RawResponse = { status: null, headers: {}, closedByServer: closed };
      if (end >= 0) {
        const [statusLine = '', ...rest] = buf.subarray(0, end).toString('latin1').split('\r\n');
        out.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? NaN);
        for (const l of rest) {
          const i = l.indexOf(':');
          out.headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
      }
      resolve(out);
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      // A 101 keeps the connection: nothing more to wait for.
      if (buf.indexOf('\r\n\r\n') >= 0 && buf.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101') finish();
    });
    socket.on('end', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => {
      closed = true;
      finish();
    });
  });
}
