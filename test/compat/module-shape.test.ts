/**
 * Compatibility with `ws`: the shape of what the package exports, as far as `src/index.ts`
 * decides it (the built package's `require()` / `import` shape is tested with the build).
 * Code written for `ws` does `const WebSocket = require('ws'); new WebSocket.Server(...)`,
 * `import WebSocket, { WebSocketServer } from 'ws'`, and reads the readyState constants from
 * the class and from instances.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import * as wsEsm from 'ws';
import { describe, expect, it, vi } from 'vitest';
import * as ours from '../../src/index.js';
import { compare, type Ctx, TEST_TIMEOUT, type WsLike } from './harness.js';
import { expectSame } from './expect-same.js';

vi.setConfig({ testTimeout: TEST_TIMEOUT });

/** `require('ws')`: the WebSocket class carrying the other exports as statics. */
const wsCjs = createRequire(import.meta.url)('ws') as Record<string, unknown> & (new (...args: unknown[]) => unknown);
const oursClass = ours.WebSocket as unknown as Record<string, unknown>;

describe('module shape: the WebSocket class carries what require("ws") carries', () => {
  for (const name of ['Server', 'WebSocketServer', 'WebSocket', 'createWebSocketStream'] as const) {
    it(`WebSocket.${name}`, () => {
      const expected = { Server: ours.WebSocketServer, WebSocketServer: ours.WebSocketServer, WebSocket: ours.WebSocket, createWebSocketStream: ours.createWebSocketStream }[name];
      // The reference: ws's class has it.
      expect(wsCjs[name]).toBeTypeOf('function');
      expect(oursClass[name]).toBe(expected);
    });
  }

  it('new WebSocket.Server({ noServer: true }) works as with ws', () => {
    const Server = oursClass.Server as (new (options: unknown) => EventEmitter & { close(): void }) | undefined;
    expect(Server).toBeTypeOf('function');
    const server = new (Server as new (options: unknown) => EventEmitter & { close(): void })({ noServer: true });
    expect(server).toBeInstanceOf(ours.WebSocketServer);
    server.close();
  });
});

describe('module shape: ESM', () => {
  it('the default export is the WebSocket class, as in ws', () => {
    expect((wsEsm as unknown as { default: unknown }).default).toBe(wsEsm.WebSocket);
    expect((ours as unknown as { default?: unknown }).default).toBe(ours.WebSocket);
  });

  it("ws's public named exports exist (its internal Receiver and Sender excepted)", () => {
    for (const name of ['WebSocket', 'WebSocketServer', 'createWebSocketStream']) {
      expect(wsEsm).toHaveProperty(name);
      expect(ours).toHaveProperty(name);
    }
  });
});

describe('module shape: classes and constants', () => {
  it('readyState constants: static and on the prototype, enumerable, same values', () => {
    for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]] as const) {
      for (const target of [wsEsm.WebSocket, wsEsm.WebSocket.prototype, ours.WebSocket, ours.WebSocket.prototype]) {
        const descriptor = Object.getOwnPropertyDescriptor(target, name);
        expect(descriptor?.value, name).toBe(value);
        expect(descriptor?.enumerable, name).toBe(true);
      }
    }
  });

  it('both classes are EventEmitters', () => {
    expect(wsEsm.WebSocket.prototype).toBeInstanceOf(EventEmitter);
    expect(ours.WebSocket.prototype).toBeInstanceOf(EventEmitter);
    expect(wsEsm.WebSocketServer.prototype).toBeInstanceOf(EventEmitter);
    expect(ours.WebSocketServer.prototype).toBeInstanceOf(EventEmitter);
  });

  it("a connected WebSocket has ws's public members, of the same kinds", async () => {
    const MEMBERS = [
      'binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url',
      'onopen', 'onmessage', 'onclose', 'onerror', 'CONNECTING', 'OPEN', 'CLOSING', 'CLOSED',
      'close', 'pause', 'ping', 'pong', 'resume', 'send', 'terminate', 'addEventListener', 'removeEventListener',
    ];
    const r = await compare(async (ctx: Ctx) => {
      const { url } = await ctx.ownServer({}, null);
      const ws = ctx.client('client', url);
      await ctx.t.untilEvent('client', 'open');
      const describe = (target: WsLike): Record<string, string> =>
        Object.fromEntries(MEMBERS.map((m) => [m, m in target ? typeof (target as unknown as Record<string, unknown>)[m] : 'missing']));
      ctx.t.add('client', 'members', describe(ws));
      ws.close(1000);
      await ctx.t.untilEvent('client', 'close');
    });
    expectSame(r);
  });

  it("a WebSocketServer has ws's public members", () => {
    const MEMBERS = ['address', 'close', 'handleUpgrade', 'shouldHandle', 'clients', 'options'];
    const a = new wsEsm.WebSocketServer({ noServer: true });
    const b = new ours.WebSocketServer({ noServer: true });
    const kinds = (s: object): Record<string, string> =>
      Object.fromEntries(MEMBERS.map((m) => [m, m in s ? typeof (s as Record<string, unknown>)[m] : 'missing']));
    expect(kinds(b)).toEqual(kinds(a));
    a.close();
    b.close();
  });
});
