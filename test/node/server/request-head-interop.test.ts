/**
 * Our request-head reader against node:http's on the same bytes: a few hundred generated
 * upgrade requests, valid and broken (test/core/request-head-cases.ts: malformed syntax,
 * bodies, CL.TE and TE.CL, odd Transfer-Encoding spellings, obs-fold, NUL and CR in values,
 * duplicate Host, absolute-form naming another host, bare LF line ends), each sent over loopback
 * to an `http.Server` and to the listener of a `{ port }` WebSocketServer (upgrade-front.ts).
 * Whatever we accept, Node accepts too and reads the same way (method, target, version, raw and
 * combined headers); whatever Node refuses, we refuse, at once (never by the 408 of the
 * timeout). We may refuse more (we are stricter on purpose: bodies, `*`, Host), but never a head
 * built only from valid parts. Every refusal is reported to `onRefused`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { UpgradeFront } from '../../../src/node/server/upgrade-front.js';
import { listen, onCleanup, runCleanups, TIMEOUT, withTimeout } from '../helpers.js';
import { generateHeads, singleFaultHeads } from '../../core/request-head-cases.js';

afterEach(runCleanups);

/** What a reader made of a head: the request it saw, or that it refused it. */
type Outcome = { accepted: true; method: string; url: string; version: string; raw: string[]; headers: Record<string, unknown> } | { accepted: false };

function describeRequest(req: IncomingMessage): Outcome {
  return {
    accepted: true,
    method: req.method ?? '',
    url: req.url ?? '',
    version: req.httpVersion,
    raw: [...req.rawHeaders],
    headers: { ...req.headers },
  };
}

/** Sends `head` on a fresh connection; resolves with the status answered (0: none) once the server answered or closed. */
function send(port: number, head: string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from(head, 'latin1')));
      let status = 0;
      socket.on('data', (chunk: Buffer) => {
        status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(chunk.toString('latin1'))?.[1] ?? -1);
        socket.destroy();
      });
      socket.on('error', () => resolve(status));
      socket.on('close', () => resolve(status));
    }),
    TIMEOUT,
    `answer to ${JSON.stringify(head)} on ${port}`,
  );
}

describe('request heads: our reader against node:http', () => {
  it('accepts only what node:http accepts, reads it the same way, and accepts every valid head', async () => {
    let nodeSaw: Outcome = { accepted: false };
    const httpServer = http.createServer((_req, res) => res.destroy());
    httpServer.on('upgrade', (req: IncomingMessage, socket: net.Socket) => {
      nodeSaw = describeRequest(req);
      socket.destroy();
    });
    httpServer.on('clientError', (_err, socket: net.Socket) => socket.destroy());
    const httpPort = await listen(httpServer);

    let oursSaw: Outcome = { accepted: false };
    const refusedWith = new Map<number, number>();
    const front = new UpgradeFront({
      // Far beyond the test's timeout: every refusal must come without waiting for it.
      handshakeTimeout: 60_000,
      maxHeaderSize: 16 * 1024,
      onRefused: (status) => refusedWith.set(status, (refusedWith.get(status) ?? 0) + 1),
      onUpgrade: (req, socket) => {
        oursSaw = describeRequest(req);
        socket.destroy();
      },
    });
    onCleanup(() => new Promise<void>((resolve) => front.close(resolve)));
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    const ourPort = (front.server.address() as AddressInfo).port;

    const cases = [...singleFaultHeads(), ...generateHeads(400)];
    let accepted = 0;
    let strictOnly = 0;
    const statuses = new Map<number, number>();
    for (const { head, valid } of cases) {
      nodeSaw = { accepted: false };
      oursSaw = { accepted: false };
      await send(httpPort, head);
      const status = await send(ourPort, head);
      const label = JSON.stringify(head);
      if (oursSaw.accepted) {
        accepted++;
        expect(nodeSaw, label).toEqual(oursSaw);
        continue;
      }
      if (nodeSaw.accepted) {
        strictOnly++;
        expect(valid, `refused a valid head: ${label}`).toBe(false);
      }
      if (valid) expect(oursSaw.accepted, `refused a valid head: ${label}`).toBe(true);
      expect([400, 505], `answer to ${label}`).toContain(status);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    // The generator must exercise both sides: many accepted heads and many refused ones.
    expect(accepted).toBeGreaterThan(100);
    expect(cases.length - accepted - strictOnly).toBeGreaterThan(120);
    expect(strictOnly).toBeGreaterThan(20);
    // Every refusal was counted, with its status.
    expect(refusedWith).toEqual(statuses);
  });
});
