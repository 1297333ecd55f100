/**
 * The Hub's seam for a cluster: `sendTo`, `publishLocal` and the relay that gets every
 * `publish` and `broadcast` (and nothing else).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { Hub } from '../../src/hub/index.js';
import type { HubRelay } from '../../src/hub/relay.js';
import { collectMessages, runCleanups, startServer, trackClient, until, waitFor } from '../node/helpers.js';

afterEach(() => runCleanups());

async function setup(n: number): Promise<{ hub: Hub; clients: WebSocket[]; servers: WebSocket[] }> {
  const started = await startServer();
  const hub = new Hub();
  const servers: WebSocket[] = [];
  started.wss.on('connection', (ws: WebSocket) => servers.push(ws));
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i++) {
    const c = trackClient(new WebSocket(started.url));
    await waitFor(c, 'open');
    clients.push(c);
  }
  await until(() => servers.length === n);
  return { hub, clients, servers };
}

describe('hub relay seam', () => {
  it('relays publish and broadcast after the local delivery, with the payload and flags; sendTo and publishLocal are not relayed', async () => {
    const { hub, clients, servers } = await setup(3);
    const [a, b, c] = servers as [WebSocket, WebSocket, WebSocket];
    hub.join(a, 'r');
    hub.join(b, 'r');
    hub.add(c);
    const relayed: Array<[string | null, string, boolean, boolean]> = [];
    const relay: HubRelay = { relay: (room, payload, binary, compress) => relayed.push([room, payload.toString(), binary, compress]) };
    hub.setRelay(relay);
    expect(() => hub.setRelay({ relay: () => {} })).toThrow(/already/);
    const got = clients.map((cl) => collectMessages(cl));
    expect(hub.publish('r', 'one', { except: a })).toMatchObject({ recipients: 1, sent: 1 });
    hub.broadcast(Buffer.from('two'), { compress: false });
    expect(hub.sendTo([c, a], 'three')).toMatchObject({ recipients: 2, sent: 2 });
    expect(hub.publishLocal('r', 'four')).toMatchObject({ recipients: 2 });
    expect(hub.publishLocal(null, 'five', { binary: true })).toMatchObject({ recipients: 3 });
    expect(relayed).toEqual([
      ['r', 'one', false, true],
      [null, 'two', true, false],
    ]);
    await until(() => got[0]!.length === 4 && got[1]!.length === 4 && got[2]!.length === 3);
    expect(got.map((g) => g.map((m) => `${String(m[0])}${m[1] ? '(b)' : ''}`))).toEqual([
      ['two(b)', 'three', 'four', 'five(b)'],
      ['one', 'two(b)', 'four', 'five(b)'],
      ['two(b)', 'three', 'five(b)'],
    ]);
    hub.setRelay(null);
    hub.publish('r', 'six');
    expect(relayed).toHaveLength(2);
  });

  it('sendTo skips connections that are not in the hub', async () => {
    const { hub, servers } = await setup(2);
    hub.add(servers[0]!);
    expect(hub.sendTo(servers, 'x')).toMatchObject({ recipients: 1, sent: 1 });
  });
});
