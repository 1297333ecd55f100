/**
 * An HTTP/2 stream as a WebSocket's transport (RFC 8441 §5): the stream stands for the TCP
 * connection of RFC 6455. An orderly TCP close is the stream's END_STREAM, which `stream.end()`
 * sends, as `socket.end()` sends a FIN; a TCP reset is a RST_STREAM with the CANCEL error code.
 *
 * Node's `Http2Stream.destroy()` without an error resets the stream with NO_ERROR, so a stream
 * that carries a WebSocket is given a `destroy` that resets with CANCEL first. Everything that
 * ends a connection abruptly (`terminate()`, the close timer, a policy that drops a peer) calls
 * `destroy()` on its socket, so this one place covers them all.
 *
 * @module
 */
import { constants, type Http2Stream } from 'node:http2';
import { Duplex } from 'node:stream';

const destroyDuplex = Duplex.prototype.destroy;

/** `destroy()` of a WebSocket's stream: RST_STREAM(CANCEL) unless an error says otherwise. */
function destroyWithCancel(this: Http2Stream, err?: Error): Http2Stream {
  // RFC 8441 §5: "RST exceptions are represented with the RST_STREAM frame with the CANCEL
  // error code". An error given by Node itself keeps Node's code (INTERNAL_ERROR).
  if (err === undefined && !this.closed && !this.destroyed) this.close(constants.NGHTTP2_CANCEL);
  return destroyDuplex.call(this, err) as Http2Stream;
}

/** Makes `destroy()` of `stream` reset it with CANCEL (RFC 8441 §5). @internal */
export function resetWithCancel(stream: Http2Stream): void {
  // An own property: Node's streams are created by Node, so there is no class to extend.
  stream.destroy = destroyWithCancel;
}
