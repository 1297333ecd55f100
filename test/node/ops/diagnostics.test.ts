import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DIAGNOSTICS_CHANNELS,
  type CloseDiagnostic,
  type ErrorDiagnostic,
  type OpenDiagnostic,
} from '../../../src/index.js';
import { Op, openPair, RawClient, runCleanups, startServer, until, waitFor } from '../helpers.js';

const subscriptions: Array<[string, (message: unknown) => void]> = [];

function listen<T>(name: string): T[] {
  const seen: T[] = [];
  const fn = (message: unknown): void => {
    seen.push(message as T);
  };
  subscribe(name, fn);
  subscriptions.push([name, fn]);
  return seen;
}

afterEach(async () => {
  for (const [name, fn] of subscriptions.splice(0)) unsubscribe(name, fn);
  await runCleanups();
});

describe('node:diagnostics_channel events', () => {
  it('open (both roles, with the request on the server) and close (with wasClean and no local reason)', async () => {
    const opens = listen<OpenDiagnostic>(DIAGNOSTICS_CHANNELS.open);
    const closes = listen<CloseDiagnostic>(DIAGNOSTICS_CHANNELS.close);
    const { client, server } = await openPair();
    expect(opens.map((o) => o.role).sort()).toEqual(['client', 'server']);
    const serverOpen = opens.find((o) => o.role === 'server') as OpenDiagnostic;
    expect(serverOpen.websocket).toBe(server);
    expect(serverOpen.request?.headers.upgrade).toBe('websocket');
    expect(opens.find((o) => o.role === 'client')?.websocket).toBe(client);
    client.close(1000, 'done');
    await until(() => closes.length === 2);
    for (const c of closes) {
      expect(c).toMatchObject({ code: 1000, reason: 'done', wasClean: true, localReason: null });
    }
  });

  it('close carries the local reason (maxPayload), error carries the protocol error', async () => {
    const closes = listen<CloseDiagnostic>(DIAGNOSTICS_CHANNELS.close);
    const errors = listen<ErrorDiagnostic>(DIAGNOSTICS_CHANNELS.error);
    const { port } = await startServer({ maxPayload: 100 });
    const raw = await RawClient.open(port);
    raw.sendFrame({ opcode: Op.Binary, payload: Buffer.alloc(200) });
    await raw.readUntilClose();
    await until(() => closes.length === 1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ role: 'server', localReason: 'maxPayload' });
    expect((errors[0]?.error as { code?: string }).code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(closes[0]).toMatchObject({ role: 'server', localReason: 'maxPayload' });
  });

  it('close says heartbeat and shutdown when those ended the connection', async () => {
    const closes = listen<CloseDiagnostic>(DIAGNOSTICS_CHANNELS.close);
    const { port } = await startServer({ heartbeat: { interval: 50, timeout: 50 } });
    await RawClient.open(port); // never answers the ping
    await until(() => closes.some((c) => c.localReason === 'heartbeat'), 3000);
    expect(closes.find((c) => c.localReason === 'heartbeat')).toMatchObject({ role: 'server', code: 1006, reason: 'heartbeat timeout' });
    const other = await openPair();
    other.wss.close();
    await waitFor(other.client, 'close');
    await until(() => closes.some((c) => c.localReason === 'shutdown'));
    expect(closes.find((c) => c.localReason === 'shutdown')).toMatchObject({ role: 'server', code: 1001, wasClean: true });
    expect(closes.find((c) => c.role === 'client' && c.code === 1001)).toMatchObject({ localReason: null });
  });
});
