import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionHandler, type Role, type SendCallback } from '../../src/core/connection.js';
import type { WebSocketError } from '../../src/core/errors.js';
import { PerMessageDeflate } from '../../src/deflate/codec.js';
import { frameWriter } from '../core/helpers.js';
import { expectBytes, PARAMS, pseudoRandom, words, zeroBomb } from './helpers.js';

/** One end of an in-memory link: bytes written here arrive at `peer` on a later turn. */
class End implements ConnectionHandler {
  readonly conn: Connection;
  readonly ext: PerMessageDeflate;
  peer: End | null = null;
  readonly messages: Array<{ data: Buffer; isBinary: boolean }> = [];
  readonly errors: WebSocketError[] = [];
  readonly wire: Buffer[] = [];

  constructor(role: Role, maxPayload?: number) {
    this.ext = new PerMessageDeflate(PARAMS, role, { threshold: 100 }, maxPayload);
    this.conn = new Connection(this, { role, extension: this.ext, ...(maxPayload ? { maxPayload } : {}) });
  }

  readonly writeFrame = frameWriter((data, cb) => this.write(data, cb));

  write(data: Buffer, cb?: SendCallback): void {
    const copy = Buffer.from(data);
    this.wire.push(copy);
    setImmediate(() => {
      this.peer?.conn.receive(copy);
      cb?.(null);
    });
  }
  onMessage(data: Buffer, isBinary: boolean): void {
    this.messages.push({ data, isBinary });
  }
  onPing(): void {}
  onPong(): void {}
  onCloseFrame(): void {}
  onProtocolError(err: WebSocketError): void {
    this.errors.push(err);
  }
  endTransport(): void {}
  awaitClose(): void {}
  setReading(): void {}
}

function link(maxPayload?: number): { server: End; client: End } {
  const server = new End('server', maxPayload);
  const client = new End('client', maxPayload);
  server.peer = client;
  client.peer = server;
  return { server, client };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(check()).toBe(true);
}

describe('PerMessageDeflate inside a Connection', () => {
  it('carries compressed and plain messages, fragmented or not, in order, both ways', async () => {
    const { server, client } = link();
    const sent: Array<{ data: Buffer; isBinary: boolean }> = [];
    const send = (from: End, data: Buffer, isBinary: boolean, compress = true): void => {
      from.conn.send(data, { binary: isBinary, fin: true, compress });
      if (from === client) sent.push({ data, isBinary });
    };
    send(client, words(5000, 1), false);
    send(client, Buffer.from('small, sent plain'), false);
    send(client, pseudoRandom(3000, 2), true);
    send(client, words(5000, 1), false, false); // compress: false
    // A fragmented compressed message, with a plain one queued in between by the app.
    client.conn.send(words(700, 3), { binary: false, fin: false, compress: true });
    client.conn.send(words(700, 4), { binary: false, fin: false, compress: true });
    client.conn.send(words(700, 5), { binary: false, fin: true, compress: true });
    sent.push({ data: Buffer.concat([words(700, 3), words(700, 4), words(700, 5)]), isBinary: false });
    send(client, words(5000, 1), false); // context takeover: a back-reference
    await until(() => server.messages.length === sent.length);
    server.messages.forEach((m, i) => {
      expectBytes(m.data, (sent[i] as { data: Buffer }).data);
      expect(m.isBinary).toBe(sent[i]?.isBinary);
    });
    // RSV1 marks the first frame of compressed messages only (RFC 7692 §6).
    // (Each of the first two frames is small enough to go out as one write.)
    expect((client.wire[0]?.[0] ?? 0) & 0x40).toBe(0x40);
    expect((client.wire[1]?.[0] ?? 0) & 0x40).toBe(0);
    // Server to client.
    server.conn.send(words(4000, 9), { binary: false, fin: true, compress: true });
    await until(() => client.messages.length === 1);
    expectBytes(client.messages[0]?.data, words(4000, 9));
    expect(server.errors).toEqual([]);
    expect(client.errors).toEqual([]);
    server.conn.receiveEnd();
    client.conn.receiveEnd();
  });

  it('fails the connection with 1009 on a bomb', async () => {
    const server = new End('server', 64 * 1024);
    const bomb = await zeroBomb(8);
    // FIN + RSV1 + binary, masked with a zero key, 64-bit length.
    const header = Buffer.alloc(14);
    header[0] = 0xc2;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(bomb.length), 2);
    server.conn.receive(Buffer.concat([header, bomb]));
    await until(() => server.errors.length === 1);
    expect(server.errors[0]?.code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(server.messages).toEqual([]);
    server.conn.receiveEnd();
  });

  it('fails the connection with 1007 on invalid compressed data', async () => {
    const server = new End('server');
    server.conn.receive(Buffer.from([0xc1, 0x84, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    await until(() => server.errors.length === 1);
    expect(server.errors[0]?.code).toBe('WS_ERR_INVALID_COMPRESSED_DATA');
    server.conn.receiveEnd();
  });
});
