/**
 * The server side of benchmarks/session/compare.ts, in a process of its own (so that its CPU and
 * memory are its own): an HTTP server on 127.0.0.1 with a WebSocketServer that has sessions.
 * Plain connections echo with `ws.send`, sessions with `session.send`. It counts the bytes its
 * TCP sockets read and wrote and the messages it echoed, and measures its own memory after
 * forced GCs (run it with --expose-gc). Its argument is the module to take the library from.
 * Commands arrive over IPC from the parent:
 *
 * - `mark`: starts a measurement window (bytes and messages from now on);
 * - `report`: answers the window's counts;
 * - `memory`: answers heap used and RSS after two GCs, with the connection and session counts;
 * - `exit`.
 *
 * @module
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Session, WebSocket } from '../../src/index.js';

// The library as compare.ts built it (a tsup bundle: the code users run, no tsx loader in between).
const { WebSocketServer } = (await import(process.argv[2] ?? '../../src/index.js')) as typeof import('../../src/index.js');

const sockets = new Set<Socket>();
const base = new Map<Socket, { read: number; written: number }>();
let echoed = 0;
let markEchoed = 0;
/** Bytes of sockets that closed during the window. */
let closedRead = 0;
let closedWritten = 0;

const http = createServer();
const wss = new WebSocketServer({ server: http, sessions: { resumeWindow: 600_000, maxSessions: 1_000_000 }, maxPayload: 1024 * 1024 });

function track(req: IncomingMessage): void {
  const socket = req.socket;
  if (sockets.has(socket)) return;
  sockets.add(socket);
  socket.once('close', () => {
    const b = base.get(socket);
    if (b !== undefined) {
      closedRead += socket.bytesRead - b.read;
      closedWritten += socket.bytesWritten - b.written;
    }
    sockets.delete(socket);
    base.delete(socket);
  });
}

wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
  track(req);
  ws.on('message', (data, isBinary) => {
    echoed += 1;
    ws.send(data as Buffer, { binary: isBinary });
  });
});

wss.on('session', (session: Session, req: IncomingMessage) => {
  track(req);
  session.on('message', (data, isBinary) => {
    echoed += 1;
    void session.send(data, { binary: isBinary });
  });
});

async function gc(): Promise<void> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 2; i++) {
    collect();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

process.on('message', async (msg: { cmd: string }) => {
  if (msg.cmd === 'mark') {
    for (const socket of sockets) base.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
    closedRead = 0;
    closedWritten = 0;
    markEchoed = echoed;
    process.send?.({ cmd: 'mark' });
  } else if (msg.cmd === 'report') {
    let read = closedRead;
    let written = closedWritten;
    for (const socket of sockets) {
      const b = base.get(socket) ?? { read: 0, written: 0 };
      read += socket.bytesRead - b.read;
      written += socket.bytesWritten - b.written;
    }
    process.send?.({ cmd: 'report', read, written, echoed: echoed - markEchoed });
  } else if (msg.cmd === 'memory') {
    await gc();
    const m = process.memoryUsage();
    let connected = 0;
    for (const s of wss.sessions?.values() ?? []) if (s.connected) connected += 1;
    process.send?.({ cmd: 'memory', heapUsed: m.heapUsed, rss: m.rss, external: m.external, clients: wss.clients.size, sessions: wss.sessions?.size ?? 0, connected });
  } else if (msg.cmd === 'exit') {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    http.close();
    process.exit(0);
  }
});

http.listen(0, '127.0.0.1', () => process.send?.({ cmd: 'listening', port: (http.address() as AddressInfo).port }));
