/**
 * The attacker's tools, run in the test runner against a fixture process: raw sockets that
 * write as fast as the kernel takes bytes (never reading unless asked), a hostile server for
 * attacks on the client, and a well-behaved echo server (from `ws`) for the client's health
 * check. Frames are built by test/node/helpers.ts, independently of src/.
 */
import net, { type AddressInfo } from 'node:net';
import { WebSocketServer as WsServer } from 'ws';
import { acceptFor, onCleanup, parseHead } from '../node/helpers.js';
import { bounded } from './harness.js';

/** Opens a raw TCP connection to 127.0.0.1 (half-open allowed); destroyed at cleanup. */
export async function connectRaw(port: number, ms = 10_000): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  onCleanup(() => socket.destroy());
  await bounded(new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => reject(new Error('connection closed before it was established')));
  }), ms, 'connect');
  return socket;
}

/**
 * Writes `chunk` to `socket` up to `times` times, each time once the kernel took the previous
 * one (waiting for `drain` at most `stallMs`); stops early when `stop()` holds, the socket
 * closes, or a drain does not come. Resolves with how many times `chunk` was written.
 */
export async function flood(socket: net.Socket, chunk: Buffer, times: number, stop: () => boolean = () => false, stallMs = 5000): Promise<number> {
  let written = 0;
  while (written < times && !stop() && !socket.destroyed && socket.writable) {
    const ok = socket.write(chunk);
    written++;
    if (!ok) {
      const drained = await new Promise<boolean>((resolve) => {
        const done = (value: boolean): void => {
          clearTimeout(timer);
          socket.off('drain', onDrain);
          socket.off('close', onClose);
          resolve(value);
        };
        const onDrain = (): void => done(true);
        const onClose = (): void => done(false);
        const timer = setTimeout(() => done(false), stallMs);
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
      if (!drained) break;
    }
  }
  return written;
}

/** `frame` repeated `n` times in one buffer: one write carries many frames. */
export function repeat(frame: Buffer, n: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, () => frame));
}

/** A raw server on 127.0.0.1 for attacks on the client. */
export interface HostileServer {
  port: number;
  url: string;
  /** Sockets upgraded so far. */
  sockets: net.Socket[];
}

/**
 * Listens on 127.0.0.1 and answers every upgrade request with a 101 (with `extensions` as
 * `Sec-WebSocket-Extensions` when given), then hands the socket, paused, to `attack`.
 */
export async function hostileServer(attack: (socket: net.Socket) => void, extensions?: string): Promise<HostileServer> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const parsed = parseHead(head);
      if (parsed === null) return;
      socket.off('data', onData);
      socket.pause();
      sockets.push(socket);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptFor(parsed.headers['sec-websocket-key'] ?? '')}\r\n` +
          (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
          '\r\n',
      );
      attack(socket);
    };
    socket.on('data', onData);
  });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { port, url: `ws://127.0.0.1:${port}/`, sockets };
}

/** A well-behaved echo server (`ws`) on 127.0.0.1: the client fixture's fresh peer. */
export async function echoServer(): Promise<string> {
  const wss = new WsServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
}
