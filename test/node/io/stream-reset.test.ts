/**
 * `resetWithCancel` (RFC 8441 §5): `destroy()` of a WebSocket's HTTP/2 stream resets it with
 * CANCEL, as a TCP reset would end the connection; a destroy with an error keeps Node's code.
 */
import http2, { constants, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resetWithCancel } from '../../../src/node/io/stream-reset.js';
import { onCleanup, runCleanups, withTimeout } from '../helpers.js';

afterEach(runCleanups);

/** Opens a stream to a server that ends it with `end`; resolves with the client's RST_STREAM code. */
async function rstCodeWhen(end: (stream: ServerHttp2Stream) => void): Promise<number> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    resetWithCancel(stream);
    stream.respond({ ':status': 200 });
    end(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  session.on('error', () => {});
  onCleanup(async () => {
    session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const stream = session.request({ ':path': '/' }, { endStream: false });
  stream.on('error', () => {});
  stream.resume();
  await withTimeout(new Promise((resolve) => stream.on('close', resolve)), 5000, 'stream close');
  return stream.rstCode;
}

describe('resetWithCancel', () => {
  it('destroy() resets with CANCEL, not NO_ERROR', async () => {
    expect(await rstCodeWhen((stream) => stream.destroy())).toBe(constants.NGHTTP2_CANCEL);
  });

  it('destroy(err) keeps the code Node gives an error (INTERNAL_ERROR)', async () => {
    expect(await rstCodeWhen((stream) => stream.destroy(new Error('boom')))).toBe(constants.NGHTTP2_INTERNAL_ERROR);
  });

  it('without it, Node resets with NO_ERROR (what the wrapper changes)', async () => {
    const code = await rstCodeWhen((stream) => {
      // Put Node's own destroy back on this stream.
      stream.destroy = Object.getPrototypeOf(stream).destroy;
      stream.destroy();
    });
    expect(code).toBe(constants.NGHTTP2_NO_ERROR);
  });
});
