/**
 * The WebSocket implementation under test, loaded by name: our library (src/index.ts) or the `ws` package as a
 * reference. Both expose the same API, which is all the echo server and the client driver use.
 *
 * Our library is imported through a computed specifier on purpose: the conformance tooling must type-check and run
 * its reference mode even while src/ is being written, and it only needs the ws-compatible surface typed below.
 */

/** The part of a ws-compatible socket the testees use. */
export interface TesteeSocket {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'open', listener: () => void): unknown;
  send(data: Buffer, options: { binary: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate?(): void;
}

/** The part of a ws-compatible server the echo server uses. */
export interface TesteeServer {
  on(event: 'connection', listener: (socket: TesteeSocket) => void): unknown;
  on(event: 'listening', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  address(): { port: number } | string | null;
  close(cb?: (err?: Error) => void): void;
  clients?: Set<TesteeSocket>;
}

/** A ws-compatible module. */
export interface TesteeModule {
  WebSocket: new (url: string, protocols?: string | string[], options?: Record<string, unknown>) => TesteeSocket;
  WebSocketServer: new (options: Record<string, unknown>, callback?: () => void) => TesteeServer;
}

/** Implementations the tooling knows. */
export type ImplName = 'ws6455' | 'ws';

/** True when our library's entry point exists (it is written in parallel with this tooling). */
export async function ourLibraryExists(): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  return existsSync(new URL('../src/index.ts', import.meta.url));
}

/** Loads an implementation. */
export async function loadImpl(name: ImplName): Promise<TesteeModule> {
  if (name === 'ws') {
    const mod = (await import('ws')) as unknown as { WebSocket: unknown; WebSocketServer: unknown };
    return { WebSocket: mod.WebSocket, WebSocketServer: mod.WebSocketServer } as TesteeModule;
  }
  const specifier = '../src/index.js';
  const mod = (await import(specifier)) as Partial<TesteeModule>;
  if (typeof mod.WebSocket !== 'function' || typeof mod.WebSocketServer !== 'function') {
    throw new Error('src/index.ts does not export WebSocket and WebSocketServer yet');
  }
  return mod as TesteeModule;
}
