/**
 * One connection seen by the router: decodes incoming envelopes, answers requests through the
 * router's handlers, and correlates the answers to its own requests by id.
 *
 * @module
 */
import { ERROR_TYPE, RESPONSE_TYPE, encodeEnvelope, parseEnvelope, toErrorPayload, type Envelope, type RequestId } from './envelope.js';
import { RouterError } from './errors.js';
import type { PayloadOf, RawData, RequestOptions, ResultOf, ResumableRouterSocket, RouterPeerLike, RouterSocket, TypeOf } from './types.js';

/** What a peer needs from its router. */
export interface Dispatcher<S> {
  /** Default request timeout in milliseconds. */
  readonly requestTimeout: number;
  /** Runs the handler for `envelope`; resolves with the response payload. */
  dispatch(envelope: Envelope, peer: RouterPeer<S>): Promise<unknown>;
  /** Turns a handler failure into what is sent to the peer (and reports it locally). */
  describeError(err: unknown, envelope: Envelope | null, peer: RouterPeer<S>): RouterError;
  /** Reports an error envelope that answers none of our requests. */
  remoteError(err: RouterError, peer: RouterPeer<S>): void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

/** A socket attached to a router. Create it with `router.attach(socket)`. */
export class RouterPeer<S> implements RouterPeerLike<S> {
  /** The underlying socket. */
  readonly socket: RouterSocket;
  private readonly router: Dispatcher<S>;
  private readonly pending = new Map<RequestId, Pending>();
  private nextId = 1;
  private detached = false;
  private readonly onMessage = (data: RawData): void => this.receive(toText(data));
  private readonly onClose = (_code?: unknown, _reason?: unknown, willReconnect?: unknown): void => {
    // A resumable socket keeps requests and answers across its connections: only its end counts.
    if (this.resumable !== null && willReconnect === true) return;
    this.rejectPending(new RouterError('closed', 'The connection closed'));
  };
  private readonly onReset = (err: Error): void =>
    this.rejectPending(new RouterError('reset', 'The session was lost before the answer came', { cause: err }));
  /** The socket when it is resumable, else `null`. */
  private readonly resumable: ResumableRouterSocket | null;

  /** @internal Use `router.attach(socket)`. */
  constructor(router: Dispatcher<S>, socket: RouterSocket) {
    this.router = router;
    this.socket = socket;
    this.resumable = socket.resumable === true ? (socket as ResumableRouterSocket) : null;
    socket.on('message', this.onMessage);
    socket.on('close', this.onClose);
    this.resumable?.on('reset', this.onReset);
  }

  /** Requests still waiting for an answer. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * Sends a message without expecting an answer.
   *
   * @throws TypeError when `payload` cannot be serialised as JSON
   */
  send<K extends TypeOf<S>>(type: K, payload: PayloadOf<S, K>): void {
    this.write(encodeEnvelope(type, payload));
  }

  /**
   * Sends a request and resolves with the peer's response payload. Rejects with a
   * {@link RouterError}: the peer's error (its `code`), `timeout`, or `closed`; or with
   * `signal.reason` when aborted.
   */
  request<K extends TypeOf<S>>(type: K, payload: PayloadOf<S, K>, options: RequestOptions = {}): Promise<ResultOf<S, K>> {
    if (this.detached) return Promise.reject(new RouterError('closed', 'The peer is detached'));
    const state = this.socket.readyState;
    if (state === 2 || state === 3) return Promise.reject(new RouterError('closed', 'The connection is closed'));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    let text: string;
    try {
      text = encodeEnvelope(type, payload, id);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeout = options.timeout ?? this.router.requestTimeout;
    return new Promise<ResultOf<S, K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id)?.reject(new RouterError('timeout', `No answer to "${type}" within ${timeout} ms`));
      }, timeout);
      const onAbort = (): void => this.settle(id)?.reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      });
      try {
        this.write(text, (err) => this.settle(id)?.reject(err));
      } catch (err) {
        this.settle(id)?.reject(err);
      }
    });
  }

  /** Stops listening to the socket and rejects pending requests with `closed`. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.socket.off('message', this.onMessage);
    this.socket.off('close', this.onClose);
    this.resumable?.off('reset', this.onReset);
    this.rejectPending(new RouterError('closed', 'The peer was detached'));
  }

  private receive(text: string): void {
    const parsed = parseEnvelope(text);
    if (!parsed.ok) {
      this.answerError(parsed.error, parsed.id);
      return;
    }
    const envelope = parsed.envelope;
    if (envelope.type === RESPONSE_TYPE) {
      // A late answer (after a timeout) or one to no request of ours is dropped.
      if (envelope.id !== undefined) this.settle(envelope.id)?.resolve(envelope.payload);
      return;
    }
    if (envelope.type === ERROR_TYPE) {
      const { code, message } = toErrorPayload(envelope.payload);
      const err = new RouterError(code, message);
      const pending = envelope.id === undefined ? undefined : this.settle(envelope.id);
      // Never answered: two routers must not bounce error envelopes back and forth.
      if (pending !== undefined) pending.reject(err);
      else this.router.remoteError(err, this);
      return;
    }
    const id = envelope.id;
    this.router.dispatch(envelope, this).then(
      (result) => {
        if (id !== undefined) this.answer(RESPONSE_TYPE, result, id, envelope);
      },
      (err: unknown) => this.answerError(this.router.describeError(err, envelope, this), id),
    );
  }

  private answer(type: string, payload: unknown, id: RequestId, envelope: Envelope): void {
    let text: string;
    try {
      text = encodeEnvelope(type, payload, id);
    } catch (err) {
      this.answerError(this.router.describeError(err, envelope, this), id);
      return;
    }
    this.writeQuietly(text);
  }

  private answerError(err: RouterError, id: RequestId | undefined): void {
    this.writeQuietly(encodeEnvelope(ERROR_TYPE, { code: err.code, message: err.message }, id));
  }

  /** Writes an answer; a connection that went away meanwhile is not an error worth reporting. */
  private writeQuietly(text: string): void {
    if (this.detached) return;
    try {
      this.write(text, () => {});
    } catch {
      // The socket is not open (e.g. still connecting or closing): the answer is lost with it.
    }
  }

  /** Sends `text`; a rejected promise from the socket (a ReconnectingWebSocket) goes to `onFailure`. */
  private write(text: string, onFailure?: (err: unknown) => void): void {
    const result = this.socket.send(text);
    if (isPromiseLike(result)) result.then(undefined, onFailure ?? (() => {}));
  }

  private settle(id: RequestId): Pending | undefined {
    const pending = this.pending.get(id);
    if (pending === undefined) return undefined;
    this.pending.delete(id);
    pending.cleanup();
    return pending;
  }

  private rejectPending(err: RouterError): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(err);
  }
}

/** Decodes UTF-8 without Node's Buffer, so the router runs in browsers too. */
const decoder = new TextDecoder();

function toText(data: RawData): string {
  if (typeof data === 'string') return data;
  if (isChunkList(data)) {
    if (data.length === 1) return decoder.decode(data[0]);
    let length = 0;
    for (const chunk of data) length += chunk.byteLength;
    const whole = new Uint8Array(length);
    let at = 0;
    for (const chunk of data) {
      whole.set(chunk, at);
      at += chunk.byteLength;
    }
    return decoder.decode(whole);
  }
  return decoder.decode(data);
}

function isChunkList(data: RawData): data is readonly Uint8Array[] {
  return Array.isArray(data);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
