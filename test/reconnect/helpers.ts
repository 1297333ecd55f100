/**
 * A WebSocketServer on 127.0.0.1 that can be killed and started again on the same port, for
 * the reconnecting client's tests.
 */
import net, { type AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket } from '../../src/index.js';
import { onCleanup, waitFor } from '../node/helpers.js';

/** Server options without the listening address. */
export type Options = Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'host'>;

/** A server that keeps its port across restarts. */
export class RestartableServer {
  port = 0;
  wss: WebSocketServer | null = null;
  /** Called for every accepted connection (each restart keeps it). */
  onConnection: (ws: WebSocket, server: RestartableServer) => void = () => {};
  /** Connections accepted since the first start, in order. */
  readonly connections: WebSocket[] = [];
  private readonly options: Options;

  constructor(options: Options = {}) {
    this.options = options;
    onCleanup(() => this.kill());
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Starts listening (on port 0 the first time, then on the same port). */
  async start(): Promise<void> {
    const wss = new WebSocketServer({ ...this.options, port: this.port, host: '127.0.0.1' });
    this.wss = wss;
    wss.on('connection', (ws: WebSocket) => {
      ws.on('error', () => {});
      this.connections.push(ws);
      this.onConnection(ws, this);
    });
    await waitFor(wss, 'listening');
    this.port = (wss.address() as AddressInfo).port;
  }

  /** Drops every connection without a close frame (as a crash would) and stops listening. */
  kill(): Promise<void> {
    const wss = this.wss;
    this.wss = null;
    if (wss === null) return Promise.resolve();
    for (const ws of wss.clients) ws.terminate();
    return new Promise((resolve) => wss.close(() => resolve()));
  }

  /** Graceful shutdown: every client gets 1001 and the server stops listening. */
  stop(): Promise<void> {
    const wss = this.wss;
    this.wss = null;
    if (wss === null) return Promise.resolve();
    return new Promise((resolve) => wss.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 with nothing listening (just released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
