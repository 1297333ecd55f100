/**
 * Scenarios whose `ws` outcome ends the process (an uncaught exception), run one per child
 * process by `runChild` (harness.ts): `node --import tsx child.ts <ws|ws6455> <scenario>`.
 * Every transcript entry is printed as one JSON line as soon as it is recorded.
 */
import type { Duplex } from 'node:stream';
import net from 'node:net';
import { Ctx, delay, implNamed, type Scenario } from './harness.js';
import { errorShape } from './plain.js';
import { write101 } from './wire.js';

const [implName = '', scenarioName = ''] = process.argv.slice(2);
const ctx = new Ctx(implNamed(implName));
ctx.t.onEntry = (entry) => process.stdout.write(`${JSON.stringify(entry)}\n`);

process.on('uncaughtException', (err) => {
  ctx.t.add('process', 'uncaughtException', errorShape(err));
  process.exit(70);
});

/** Server A answers 302 to server B, which accepts the upgrade. */
async function redirectPair(): Promise<{ a: number; b: number }> {
  const b = await ctx.httpServer({ upgrade: (req, socket: Duplex) => write101(req, socket) });
  const a = await ctx.httpServer({
    request: (_req, res) => res.writeHead(302, { Location: `ws://127.0.0.1:${b.port}/` }).end(),
  });
  return { a: a.port, b: b.port };
}

const scenarios: Record<string, Scenario> = {
  /** A failed handshake with no `error` listener. */
  async 'unheard-error'(c) {
    const h = await c.tcpServer(() => {});
    await new Promise<void>((resolve) => h.server.close(() => resolve()));
    const ws = new c.impl.WebSocket(`ws://127.0.0.1:${h.port}`);
    c.t.watch(ws, 'client', ['open', 'close'], ws);
    await c.t.untilEvent('client', 'close');
    await c.settle();
  },

  /** A `redirect` listener that throws. */
  async 'redirect-listener-throws'(c) {
    const { a } = await redirectPair();
    const ws = c.client('client', `ws://127.0.0.1:${a}/`, { followRedirects: true });
    ws.on('redirect', () => {
      c.t.add('client', 'redirect');
      throw new Error('thrown by the redirect listener');
    });
    await c.t.untilEvent('client', 'close');
    await c.settle();
  },

  /** A `createConnection` that throws when called for the redirected request. */
  async 'create-connection-throws-on-redirect'(c) {
    const { a } = await redirectPair();
    let calls = 0;
    const createConnection = (options: net.NetConnectOpts & { port?: unknown; host?: string }): net.Socket => {
      calls++;
      c.t.add('client', 'createConnection', calls);
      if (calls > 1) throw new Error('thrown by createConnection');
      return net.connect({ port: Number(options.port), host: options.host ?? '127.0.0.1' });
    };
    c.client('client', `ws://127.0.0.1:${a}/`, { followRedirects: true, createConnection });
    await c.t.untilEvent('client', 'close');
    await c.settle();
  },
};

const scenario = scenarios[scenarioName];
if (scenario === undefined) {
  ctx.t.add('harness', 'unknown scenario', scenarioName);
  process.exit(2);
}
await Promise.race([scenario(ctx), delay(5000).then(() => ctx.t.add('harness', 'scenario limit'))]);
await ctx.cleanup();
process.exit(0);
