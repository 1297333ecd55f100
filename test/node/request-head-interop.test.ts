/**
 * Our request-head reader against node:http's on the same bytes: a few hundred generated
 * upgrade requests, valid and broken, each sent over loopback to an `http.Server` and to the
 * listener of a `{ port }` WebSocketServer (upgrade-front.ts). Whatever we accept, Node accepts
 * too and reads the same way (method, target, version, raw and combined headers); whatever Node
 * refuses, we refuse. We may refuse more (we are stricter on purpose), but never a head built
 * only from valid parts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { UpgradeFront } from '../../src/node/upgrade-front.js';
import { listen, onCleanup, runCleanups, TIMEOUT, withTimeout } from './helpers.js';
import { prng } from '../core/helpers.js';

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

// Parts of a head: the first entry of each list is valid, later ones may not be.
const METHODS = ['GET', 'GET', 'OPTIONS', 'GE(T', 'G\x01T'];
const TARGETS = ['/', '/chat?room=1', '/a%20b', '*', 'http://example.com/x', '/caf\xe9', '/a b', '/a\x01b', ''];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.10', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1'];
const VALID_FIELDS = [
  'X-Trace: abc',
  'X-Trace:abc',
  'X-Trace:   padded   ',
  'X-Tab: a\tb',
  'X-Empty:',
  'Cookie: a=1',
  'Cookie: b=2',
  'Set-Cookie: s=1',
  'Host: duplicate.example',
  'User-Agent: test/1.0',
  'X-Latin: caf\xe9',
  'Sec-WebSocket-Protocol: chat, superchat',
  'Sec-WebSocket-Protocol: extra',
  'Accept: */*',
  'Accept: text/plain',
];
const BROKEN_FIELDS = [
  'X-Space : value',
  ' X-Leading: value',
  'X-Fold: one\r\n two',
  'X\x01Name: value',
  'X-Nul: a\x00b',
  'X-Del: a\x7fb',
  'X-Lf: one\nX-Next: two',
  'X-Cr: one\rtwo',
  'NoColon',
  ': no-name',
];

interface Case {
  head: string;
  /** Built only from valid parts: we must accept it. */
  valid: boolean;
}

function generate(count: number): Case[] {
  const rand = prng(0x6455);
  const pick = <T>(list: readonly T[], validOnly: boolean, firstValid = 1): T =>
    list[validOnly ? Math.floor(rand() * firstValid) : Math.floor(rand() * list.length)] as T;
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const valid = rand() < 0.4;
    const method = pick(METHODS, valid, 3);
    const target = pick(TARGETS, valid, 5);
    const version = pick(VERSIONS, valid, 2);
    const sep = valid || rand() < 0.85 ? ' ' : '  ';
    const fields = ['Host: example.com', 'Upgrade: websocket', 'Connection: Upgrade'];
    const extra = Math.floor(rand() * 5);
    for (let k = 0; k < extra; k++) {
      const broken = !valid && rand() < 0.3;
      const field = broken ? pick(BROKEN_FIELDS, false) : pick(VALID_FIELDS, true, VALID_FIELDS.length);
      fields.splice(Math.floor(rand() * (fields.length + 1)), 0, field);
    }
    cases.push({ head: `${method}${sep}${target}${sep}${version}\r\n${fields.join('\r\n')}\r\n\r\n`, valid });
  }
  return cases;
}

/** Sends `head` on a fresh connection; resolves once the server answered or closed. */
function send(port: number, head: string): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from(head, 'latin1')));
      socket.on('data', () => socket.destroy());
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
    }),
    TIMEOUT,
    'head answered',
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
    const front = new UpgradeFront({
      handshakeTimeout: TIMEOUT,
      maxHeaderSize: 16 * 1024,
      onUpgrade: (req, socket) => {
        oursSaw = describeRequest(req);
        socket.destroy();
      },
    });
    onCleanup(() => new Promise<void>((resolve) => front.close(resolve)));
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    const ourPort = (front.server.address() as AddressInfo).port;

    const cases = generate(300);
    let accepted = 0;
    let strictOnly = 0;
    for (const { head, valid } of cases) {
      nodeSaw = { accepted: false };
      oursSaw = { accepted: false };
      await send(httpPort, head);
      await send(ourPort, head);
      const label = JSON.stringify(head);
      if (oursSaw.accepted) {
        accepted++;
        expect(nodeSaw, label).toEqual(oursSaw);
      } else if (nodeSaw.accepted) {
        strictOnly++;
        expect(valid, `refused a valid head: ${label}`).toBe(false);
      }
      if (valid) expect(oursSaw.accepted, `refused a valid head: ${label}`).toBe(true);
    }
    // The generator must exercise both sides: many accepted heads and many refused ones.
    expect(accepted).toBeGreaterThan(80);
    expect(cases.length - accepted - strictOnly).toBeGreaterThan(100);
  });
});
