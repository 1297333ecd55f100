/**
 * The reference ceiling: a bare `node:net` server that answers the WebSocket upgrade and then pipes
 * every byte straight back, doing no WebSocket work at all (no parsing, no unmasking). No pure-Node
 * library can beat it, so it shows how much of a library's time is protocol work versus Node's
 * socket machinery. Echoed client frames stay masked; the load generator accepts that. The one
 * exception to "no WebSocket work" is a single byte check that lets the handshake scenario close.
 */
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { arg, countError, newCounters, sendReady, startControl } from './control.js';

// RFC 6455 §1.3: the accept value is base64(SHA-1(key + this GUID)).
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD = 8192;
const EMPTY = Buffer.alloc(0);

const port = Number(arg('port', '0'));
const host = arg('host', '127.0.0.1');
const counters = newCounters();
startControl(counters);

function upgrade(socket: Socket, head: Buffer): Buffer | null {
  const end = head.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const text = head.subarray(0, end).toString('latin1');
  const key = /^sec-websocket-key:[ \t]*(\S+)/im.exec(text)?.[1];
  if (!key) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return Buffer.alloc(0);
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  return head.subarray(end + 4);
}

/**
 * Echoes the first bytes after the upgrade, then pipes the rest. The first byte after the upgrade is
 * the only frame boundary known without parsing; if it starts a Close frame (the handshake scenario
 * sends nothing else) the server ends TCP after echoing it, as RFC 6455 §7.1.1 asks a server to.
 */
function echo(socket: Socket, first: Buffer): void {
  if (first[0] === 0x88) {
    socket.end(first);
    return;
  }
  socket.write(first);
  // pipe() gives the echo real backpressure: reading pauses while the write side is full.
  socket.pipe(socket);
}

// Listeners are shared module-level functions and the request head is dropped after the upgrade,
// so an idle connection holds nothing of this harness: scenario f's "bare net" column is then the
// cost of Node's socket alone, the floor a library's per-connection memory is compared with.
function onClose(): void {
  counters.open--;
}

function onError(err: Error): void {
  countError(counters, err);
}

function onFirstData(this: Socket, first: Buffer): void {
  this.off('data', onFirstData);
  echo(this, first);
}

const server = createServer((socket) => {
  socket.setNoDelay(true); // as ws does, so small echoes are not held back by Nagle
  let head: Buffer = Buffer.alloc(0);
  const onHead = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const rest = upgrade(socket, head);
    if (rest === null) {
      if (head.length > MAX_HEAD) socket.destroy();
      return;
    }
    head = EMPTY;
    socket.off('data', onHead);
    if (socket.destroyed || socket.writableEnded) return;
    counters.accepted++;
    counters.open++;
    socket.on('close', onClose);
    if (rest.length > 0) echo(socket, rest);
    else socket.on('data', onFirstData);
  };
  socket.on('data', onHead);
  socket.on('error', onError);
});
server.on('error', (err) => {
  console.error('server error:', err);
  process.exit(1);
});
server.listen(port, host, () => sendReady(port, { impl: 'net' }));
