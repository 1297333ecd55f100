/**
 * How a socket leads to its {@link Transport}: the transport rides on the socket under a symbol,
 * and one shared function per socket event finds it there. Five closures (and their context)
 * per connection would cost more memory than an idle connection's whole protocol state.
 *
 * @module
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { bufferView } from '../../core/views.js';
import { readIntoSharedInput } from './shared-input.js';
import type { Transport } from './transport.js';

/** The socket property that leads the shared listeners below to their transport. */
const kTransport = Symbol('ws6455.transport');

/** A socket carrying its transport. */
type TransportSocket = Duplex & { [kTransport]: Transport };

/** `true` when `socket` already carries a WebSocket connection. @internal */
export function isTransportSocket(socket: Duplex): boolean {
  return (socket as Partial<TransportSocket>)[kTransport] !== undefined;
}

/**
 * Attaches `transport` to `socket` and listens for the socket's events on its behalf; with
 * `sharedInput`, the socket reads into the shared input buffer where it can (shared-input.ts).
 * Returns `true` when it does. @internal
 */
export function linkSocket(socket: Duplex, transport: Transport, sharedInput: boolean): boolean {
  (socket as TransportSocket)[kTransport] = transport;
  const shared = sharedInput && readIntoSharedInput(socket as TransportSocket, onSocketRead);
  // Also where reads go to the shared buffer: bytes unshifted into the stream come as `data`.
  socket.on('data', onSocketData);
  listenForEnd(socket);
  socket.on('close', onSocketClose);
  socket.on('error', onSocketError);
  socket.on('drain', onSocketDrain);
  return shared;
}

/** Stops delivering the socket's chunks to its transport (the transport reads what is left itself). @internal */
export function stopData(socket: Duplex): void {
  socket.off('data', onSocketData);
}

function onSocketData(this: TransportSocket, chunk: Buffer): void {
  this[kTransport].connection.receive(chunk);
}

/** A read into the shared input buffer; `false` makes Node stop reading the socket. */
function onSocketRead(this: TransportSocket, length: number, buffer: Buffer): boolean {
  return this[kTransport].receiveShared(bufferView(buffer, 0, length));
}

function onSocketEnd(this: TransportSocket): void {
  this[kTransport].onEnd();
}

/**
 * The `end` listener every `net.Socket` is born with, found once from a socket without a handle;
 * `null` when this Node adds none, `undefined` until looked for.
 */
let netEndListener: ((this: Duplex) => void) | null | undefined;

/**
 * Listens for the end of input. A `net.Socket` already has one `end` listener of Node's own, and
 * a second one turns the socket's single listener into an array (about 64 bytes per connection);
 * so where Node's is the only one, it is replaced by one shared function that calls it first and
 * then ours: same order, one listener.
 */
function listenForEnd(socket: Duplex): void {
  // Looked for once: a Node without such a listener must not build a socket per connection.
  netEndListener ??= (new Socket().listeners('end')[0] as ((this: Duplex) => void) | undefined) ?? null;
  if (netEndListener !== null && socket.listenerCount('end') === 1 && socket.listeners('end')[0] === netEndListener) {
    socket.removeListener('end', netEndListener);
    socket.on('end', onNetSocketEnd);
  } else {
    socket.on('end', onSocketEnd);
  }
}

function onNetSocketEnd(this: TransportSocket): void {
  (netEndListener as (this: Duplex) => void).call(this);
  this[kTransport].onEnd();
}

function onSocketClose(this: TransportSocket): void {
  this[kTransport].onClose();
}

function onSocketError(this: TransportSocket): void {
  this[kTransport].onSocketError();
}

function onSocketDrain(this: TransportSocket): void {
  this[kTransport].onSocketDrain();
}
