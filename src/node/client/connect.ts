/**
 * The promise API of the client: `await WebSocket.connect(url, options)` resolves with the open
 * WebSocket or rejects with the handshake error, and an `AbortSignal` cancels the handshake.
 *
 * @module
 */
import type { ClientOptions } from './options.js';
import type { WebSocket } from '../socket/websocket.js';

/** Options of `WebSocket.connect`: the client options plus subprotocols and a cancel signal. */
export interface ConnectOptions extends ClientOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: string | string[];
  /**
   * Cancels the opening handshake: the socket is terminated and the promise rejects with the
   * signal's reason. Has no effect once the connection is open.
   */
  signal?: AbortSignal;
}

/**
 * Splits {@link ConnectOptions} into what the WebSocket constructor takes. `signal` must not
 * reach `http.request`, which would tie the upgraded socket's life to it.
 */
export function splitConnectOptions(options: ConnectOptions | undefined): {
  protocols: string[];
  client: ClientOptions;
  signal: AbortSignal | undefined;
} {
  const { protocols, signal, ...client } = options ?? {};
  const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
  return { protocols: list, client, signal };
}

/**
 * Creates a WebSocket with `create` and resolves once it is open. Rejects with the error that
 * failed the handshake (network errors keep Node's code, e.g. `ECONNREFUSED`), or with
 * `signal.reason` when `signal` aborts first; an already aborted signal dials nothing. Argument
 * errors that the constructor would throw (invalid URL or subprotocol) reject as well.
 *
 * Messages that arrive together with the handshake response are held until the macrotask after
 * the promise resolved, so listeners added right after `await` see the first message. The hold
 * ends early when the application calls `pause()` or `resume()` itself.
 */
export function connectWith(create: () => WebSocket, signal: AbortSignal | undefined): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const ws = create();
    let failure: Error | null = null;
    const onError = (err: Error): void => {
      failure ??= err;
    };
    const onAbort = (): void => {
      failure = (signal?.reason as Error | undefined) ?? new Error('The operation was aborted');
      ws.terminate();
    };
    const cleanup = (): void => {
      ws.off('open', onOpen);
      ws.off('error', onError);
      ws.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onOpen = (): void => {
      cleanup();
      holdUntilNextTurn(ws);
      resolve(ws);
    };
    const onClose = (): void => {
      cleanup();
      reject(failure ?? new Error('The connection closed before it opened'));
    };
    ws.on('open', onOpen);
    ws.on('error', onError);
    ws.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Pauses `ws` until the next macrotask. Bytes that came with the 101 response are parsed on the
 * next tick, before promise continuations run; without the hold their messages would be emitted
 * before `await connect()` returned and nobody could have subscribed yet. A `pause()` or
 * `resume()` call by anyone else during the hold takes over, and is not undone.
 */
function holdUntilNextTurn(ws: WebSocket): void {
  if (ws.isPaused) return;
  const self = ws as WebSocket & { pause: () => void; resume: () => void };
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    // Drop the own properties: the prototype's methods show through again.
    delete (self as Partial<typeof self>).pause;
    delete (self as Partial<typeof self>).resume;
  };
  const proto = Object.getPrototypeOf(ws) as { pause: () => void; resume: () => void };
  self.pause = function pause(this: WebSocket): void {
    release();
    proto.pause.call(this);
  };
  self.resume = function resume(this: WebSocket): void {
    release();
    proto.resume.call(this);
  };
  proto.pause.call(ws);
  setImmediate(() => {
    if (!held) return;
    release();
    ws.resume();
  });
}
