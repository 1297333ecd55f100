/**
 * A TCP proxy on 127.0.0.1 that a test cuts and restores: `cut()` ends every connection through
 * it in the middle of the traffic (the next chunk in a chosen direction is forwarded only in
 * part, then both sides are destroyed, some with a TCP reset), and `down` refuses new
 * connections until it is cleared. It counts what it did.
 */
import net, { type AddressInfo } from 'node:net';

/** What the proxy did. */
export interface ProxyCounts {
  /** Connections accepted and forwarded. */
  connections: number;
  /** Connections refused while down. */
  refused: number;
  /** Cuts asked for (each ends every live connection; a connection is counted once below). */
  cuts: number;
  /** Connections ended by a cut in the middle of a chunk going to the server. */
  midToServer: number;
  /** Connections ended by a cut in the middle of a chunk going to the client. */
  midToClient: number;
  /** Connections ended by a cut while no data was moving in the chosen direction. */
  idle: number;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  /** Armed by a cut: the direction whose next chunk is truncated. */
  cutting: 'toServer' | 'toClient' | null;
  timer: NodeJS.Timeout | null;
  /** Nothing more is forwarded (a truncated chunk was the last; TCP has no holes). */
  severed: boolean;
  done: boolean;
}

/** The proxy. */
export class CuttingProxy {
  port = 0;
  /** While true, new connections are closed at once. */
  down = false;
  readonly counts: ProxyCounts = { connections: 0, refused: 0, cuts: 0, midToServer: 0, midToClient: 0, idle: 0 };
  private readonly pairs = new Set<Pair>();
  private readonly server: net.Server;

  constructor(
    private readonly targetPort: number,
    private readonly random: () => number = Math.random,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Listens on 127.0.0.1, port 0. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Live connections. */
  get live(): number {
    return this.pairs.size;
  }

  /**
   * Ends every live connection: in the middle of the next chunk going one way (chosen at
   * random per connection), or after `idleMs` when nothing moves that way.
   */
  cut(idleMs = 20): void {
    this.counts.cuts += 1;
    for (const pair of this.pairs) {
      if (pair.cutting !== null) continue;
      pair.cutting = this.random() < 0.5 ? 'toServer' : 'toClient';
      pair.timer = setTimeout(() => {
        this.counts.idle += 1;
        this.end(pair);
      }, idleMs);
    }
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    for (const pair of this.pairs) this.end(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.down) {
      this.counts.refused += 1;
      client.destroy();
      return;
    }
    this.counts.connections += 1;
    const server = net.connect(this.targetPort, '127.0.0.1');
    server.on('error', () => {});
    const pair: Pair = { client, server, cutting: null, timer: null, severed: false, done: false };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => this.forward(pair, 'toServer', chunk));
    server.on('data', (chunk: Buffer) => this.forward(pair, 'toClient', chunk));
    client.on('close', () => this.end(pair));
    server.on('close', () => this.end(pair));
  }

  private forward(pair: Pair, direction: 'toServer' | 'toClient', chunk: Buffer): void {
    if (pair.severed) return;
    const to = direction === 'toServer' ? pair.server : pair.client;
    if (pair.cutting !== direction) {
      to.write(chunk);
      return;
    }
    pair.severed = true;
    // Part of the chunk only (at least one byte, never all of it when it has more than one).
    const keep = chunk.length > 1 ? 1 + Math.floor(this.random() * (chunk.length - 1)) : 0;
    if (keep > 0) to.write(chunk.subarray(0, keep));
    if (direction === 'toServer') this.counts.midToServer += 1;
    else this.counts.midToClient += 1;
    // Let the partial write reach the kernel before the sockets go.
    setImmediate(() => this.end(pair));
  }

  private end(pair: Pair): void {
    if (pair.done) return;
    pair.done = true;
    pair.severed = true;
    if (pair.timer !== null) clearTimeout(pair.timer);
    this.pairs.delete(pair);
    // Half of the cuts reset the connection (as a dead NAT or a crashed peer would), half close it.
    if (this.random() < 0.5) {
      pair.client.resetAndDestroy();
      pair.server.resetAndDestroy();
    } else {
      pair.client.destroy();
      pair.server.destroy();
    }
  }
}
