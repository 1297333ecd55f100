/**
 * One fuzzing connection after the opening handshake: the suite's endpoint semantics, reproduced so that verdicts
 * come out the way the suite computes them.
 *
 * - State OPEN → CLOSING (a close frame was sent) → CLOSED (TCP dropped or lost).
 * - Failing the connection drops TCP at once (the suite's default `failByDrop`): failedByMe, droppedByMe, unclean.
 * - A close received while CLOSING completes the handshake (clean); the server side then drops TCP, the client side
 *   waits up to 1 s for the server to drop it and otherwise drops it itself (unclean).
 * - A close received while OPEN is answered with 1000 (clean); the server side then closes TCP.
 * - Writes can be chopped into pieces or written one per event-loop turn ("sync"), in order, like the suite's
 *   send queue, so a testee sees the same TCP segmentation a case asks for.
 * - With permessage-deflate negotiated (`deflate`), every message sent is compressed (RSV1 on its first frame, the
 *   compressed payload split into frames), and compressed messages received are decompressed, then UTF-8 checked.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { closeCodeAllowed } from './close-rules.js';
import type { PeerDeflate } from './deflate-codec.js';
import { applyMask, encodeFrame, encodeHeader, newMask } from './frame-builder.js';
import { suiteFragments } from './fragments.js';
import { FrameReader } from './frame-reader.js';
import type { ReaderSink, ReceivedFrame } from './frame-reader.js';
import { hexPreview } from './bytes.js';
import { isValidUtf8 } from './utf8.js';
import { WireLog } from './wirelog.js';

/** Connection state, as the suite names it. */
export type State = 'OPEN' | 'CLOSING' | 'CLOSED';

/** What the case receives from the session. */
export interface SessionHandlers {
  message(payload: Buffer, binary: boolean): void;
  pong(payload: Buffer): void;
}

/** Timeouts of the suite's endpoint (seconds); `timeScale` stretches them on slow machines. */
export interface SessionOptions {
  readonly isServer: boolean;
  readonly timeScale?: number;
  /** permessage-deflate as negotiated in the opening handshake; absent when not negotiated. */
  readonly deflate?: PeerDeflate | null;
}

const CLOSE_HANDSHAKE_TIMEOUT = 1;
const SERVER_DROP_TIMEOUT = 1;

/** The closing facts the verdict is computed from. */
export interface CloseFacts {
  closedByMe: boolean;
  failedByMe: boolean;
  droppedByMe: boolean;
  wasClean: boolean;
  wasNotCleanReason: string | null;
  wasServerConnectionDropTimeout: boolean;
  wasCloseHandshakeTimeout: boolean;
  localCloseCode: number | null;
  localCloseReason: string | null;
  remoteCloseCode: number | null;
  remoteCloseReason: string | null;
}

/** A fuzzing endpoint on an open WebSocket connection. */
export class FuzzSession implements ReaderSink {
  state: State = 'OPEN';
  readonly facts: CloseFacts = {
    closedByMe: false,
    failedByMe: false,
    droppedByMe: false,
    wasClean: false,
    wasNotCleanReason: null,
    wasServerConnectionDropTimeout: false,
    wasCloseHandshakeTimeout: false,
    localCloseCode: null,
    localCloseReason: null,
    remoteCloseCode: null,
    remoteCloseReason: null,
  };
  readonly txFrameStats: Record<number, number> = {};
  readonly rxFrameStats: Record<number, number> = {};
  readonly wirelog = new WireLog();
  /** Resolves when TCP is gone (the suite's connectionLost). */
  readonly lost: Promise<void>;
  handlers: SessionHandlers = { message: () => {}, pong: () => {} };

  /** 'server' when the peer accepted the connection (it tests a client), 'client' when it dialled. */
  readonly role: 'server' | 'client';
  /** permessage-deflate of this connection, or null when it was not negotiated. */
  readonly deflate: PeerDeflate | null;
  private readonly isServer: boolean;
  private readonly scale: number;
  private readonly reader: FrameReader;
  private readonly queue: Array<{ data: Buffer; sync: boolean }> = [];
  private pumping = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closeHandshakeTimer: NodeJS.Timeout | null = null;
  private streamMask: Buffer | null = null;
  private streamOffset = 0;

  constructor(
    /** A TCP socket, or an HTTP/2 stream standing for one (h2.ts). */
    private readonly socket: Socket | Duplex,
    options: SessionOptions,
  ) {
    this.isServer = options.isServer;
    this.role = options.isServer ? 'server' : 'client';
    this.scale = options.timeScale ?? 1;
    this.deflate = options.deflate ?? null;
    this.reader = new FrameReader(this, this.isServer, this.deflate !== null);
    (socket as Partial<Socket>).setNoDelay?.(true);
    this.lost = new Promise((resolve) => {
      socket.on('close', () => {
        this.connectionLost();
        resolve();
      });
    });
    socket.on('error', () => {}); // 'close' follows; a reset is an outcome here, not an exception
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  /** Feeds bytes that arrived together with the handshake, or later from the socket. */
  receive(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.wirelog.octets('rx-octets', chunk);
    // The suite processes frames while OPEN or CLOSING and ignores everything once CLOSED.
    if (this.state !== 'CLOSED') this.reader.push(chunk);
  }

  // ---- sending -------------------------------------------------------------------------------------------------

  /** Sends one frame exactly as given (it may be invalid on purpose). */
  sendFrame(opcode: number, payload: Buffer, options: { fin?: boolean; rsv?: number; chop?: number; sync?: boolean } = {}): void {
    const fin = options.fin ?? true;
    const rsv = options.rsv ?? 0;
    const mask = this.isServer ? null : newMask();
    this.txFrameStats[opcode] = (this.txFrameStats[opcode] ?? 0) + 1;
    this.wirelog.add({
      ev: 'tx-frame',
      opcode,
      fin,
      rsv,
      masked: mask !== null,
      length: payload.length,
      payload: hexPreview(payload),
      ...(options.chop ? { chop: options.chop } : {}),
      ...(options.sync ? { sync: true } : {}),
    });
    this.sendData(encodeFrame({ opcode, fin, rsv, payload, mask }), options.sync ?? false, options.chop);
  }

  /**
   * A message, split into frames of `fragmentSize` payload bytes when given (only while OPEN), the way the suite's
   * sendMessage splits it (see fragments.ts: a size that divides the length adds an empty final frame). With
   * permessage-deflate the message is compressed first and the compressed payload is what gets split, RSV1 on
   * the first frame only (RFC 7692 §6.1), as the suite's sendMessage does.
   */
  sendMessage(payload: Buffer, binary: boolean, fragmentSize?: number): void {
    if (this.state !== 'OPEN') return;
    const opcode = binary ? 2 : 1;
    const rsv = this.deflate ? 4 : 0;
    const data = this.deflate ? this.deflate.compress(payload) : payload;
    // Frames exactly as the suite cuts them, including its empty final frame when the size divides the length.
    for (const { start, end, fin } of suiteFragments(data.length, fragmentSize)) {
      this.sendFrame(start === 0 ? opcode : 0, data.subarray(start, end), { fin, rsv: start === 0 ? rsv : 0 });
    }
  }

  /** Starts a streamed frame: the header now (FIN clear), the payload in later `frameData` calls. */
  beginFrame(opcode: number, length: number): void {
    if (this.state !== 'OPEN') return;
    this.streamMask = this.isServer ? null : newMask();
    this.streamOffset = 0;
    this.sendData(encodeHeader(opcode, false, 0, length, this.streamMask), false);
  }

  /** Payload bytes of the streamed frame, masked where the key left off. */
  frameData(payload: Buffer): void {
    if (this.state !== 'OPEN') return;
    const data = this.streamMask ? applyMask(payload, this.streamMask, this.streamOffset) : payload;
    this.streamOffset += payload.length;
    this.sendData(data, false);
  }

  /** Ends a streamed message with an empty continuation frame that has FIN set. */
  endMessage(): void {
    if (this.state !== 'OPEN') return;
    this.sendFrame(0, Buffer.alloc(0), { fin: true });
  }

  /** Starts the closing handshake (ignored unless OPEN). */
  sendClose(code?: number, reason?: Buffer): void {
    this.sendCloseFrame(code, reason, false);
  }

  /** Sends a close frame without checking its payload; moves to CLOSING. */
  sendCloseFrame(code: number | undefined, reason: Buffer | undefined, isReply: boolean): void {
    if (this.state !== 'OPEN') return;
    const head = code === undefined ? Buffer.alloc(0) : Buffer.from([(code >> 8) & 0xff, code & 0xff]);
    this.sendFrame(8, reason ? Buffer.concat([head, reason]) : head);
    this.state = 'CLOSING';
    this.facts.closedByMe = !isReply;
    this.facts.localCloseCode = code ?? null;
    this.facts.localCloseReason = reason ? describeReason(reason) : null;
    if (this.facts.closedByMe) {
      this.closeHandshakeTimer = this.timer(CLOSE_HANDSHAKE_TIMEOUT * this.scale, () => {
        this.facts.wasClean = false;
        this.facts.wasNotCleanReason = 'peer did not respond (in time) in closing handshake';
        this.facts.wasCloseHandshakeTimeout = true;
        this.drop(true);
      });
    }
  }

  private sendData(data: Buffer, sync: boolean, chop?: number): void {
    if (chop && chop > 0) {
      for (let i = 0; i < data.length; i += chop) this.queue.push({ data: data.subarray(i, i + chop), sync: true });
      this.pump();
    } else if (sync || this.queue.length > 0) {
      this.queue.push({ data, sync });
      this.pump();
    } else this.write(data, false);
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const step = (): void => {
      const next = this.queue.shift();
      if (!next) {
        this.pumping = false;
        return;
      }
      if (this.state !== 'CLOSED') this.write(next.data, next.sync);
      // Yield to the event loop so each piece leaves in its own write, as the suite's reactor round-trip does.
      setImmediate(step);
    };
    step();
  }

  private write(data: Buffer, sync: boolean): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.wirelog.octets('tx-octets', data, sync);
    this.socket.write(data);
  }

  // ---- timers (the suite's killAfter / closeAfter / continueLater) ---------------------------------------------

  private timer(seconds: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.state !== 'CLOSED') fn();
    }, Math.max(0, seconds * 1000));
    this.timers.add(t);
    return t;
  }

  /** Fails the connection after `seconds` unless TCP is already gone. */
  killAfter(seconds: number): void {
    this.wirelog.add({ ev: 'timer-set', action: 'kill', seconds });
    this.timer(seconds * this.scale, () => {
      this.wirelog.add({ ev: 'timer-fired', action: 'kill' });
      this.failConnection('case time limit reached (kill)');
    });
  }

  /** Starts a closing handshake after `seconds` (no code), unless already closing. */
  closeAfter(seconds: number): void {
    this.wirelog.add({ ev: 'timer-set', action: 'close', seconds });
    this.timer(seconds * this.scale, () => {
      this.wirelog.add({ ev: 'timer-fired', action: 'close' });
      this.sendClose();
    });
  }

  /** Runs `fn` after `seconds` unless TCP is gone; case pauses are not stretched by `timeScale`. */
  continueLater(seconds: number, fn: () => void, tag?: string): void {
    this.wirelog.add(tag === undefined ? { ev: 'timer-set', action: 'continue', seconds } : { ev: 'timer-set', action: 'continue', seconds, tag });
    this.timer(seconds, () => {
      this.wirelog.add(tag === undefined ? { ev: 'timer-fired', action: 'continue' } : { ev: 'timer-fired', action: 'continue', tag });
      fn();
    });
  }

  // ---- failing and dropping ------------------------------------------------------------------------------------

  /** Fails the WebSocket connection by dropping TCP. */
  failConnection(reason: string): void {
    if (this.state === 'CLOSED') return;
    this.facts.failedByMe = true;
    this.facts.wasClean = false;
    this.facts.wasNotCleanReason = `I failed the WebSocket connection by dropping the TCP connection (${reason})`;
    this.wirelog.add({ ev: 'note', text: `failing connection: ${reason}` });
    this.drop(true);
  }

  /** Closes TCP from this side: at once (`abort`) or after pending writes are flushed. */
  drop(abort: boolean): void {
    if (this.state === 'CLOSED') return;
    this.facts.droppedByMe = true;
    this.state = 'CLOSED';
    if (abort) this.socket.destroy();
    else this.socket.end(() => this.socket.destroy());
  }

  private connectionLost(): void {
    this.state = 'CLOSED';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    if (!this.facts.wasClean && !this.facts.droppedByMe && this.facts.wasNotCleanReason === null) {
      this.facts.wasNotCleanReason = 'peer dropped the TCP connection without previous WebSocket closing handshake';
    }
  }

  // ---- ReaderSink ----------------------------------------------------------------------------------------------

  alive(): boolean {
    return this.state !== 'CLOSED';
  }

  protocolViolation(reason: string): void {
    this.failConnection(`protocol violation: ${reason}`);
  }

  invalidPayload(reason: string): void {
    this.failConnection(`invalid payload: ${reason}`);
  }

  frame(info: ReceivedFrame): void {
    this.rxFrameStats[info.opcode] = (this.rxFrameStats[info.opcode] ?? 0) + 1;
    this.wirelog.add({ ev: 'rx-frame', opcode: info.opcode, fin: info.fin, rsv: info.rsv, masked: info.masked, length: info.length, payload: hexPreview(info.payload) });
  }

  message(payload: Buffer, binary: boolean, compressed: boolean): void {
    if (!this.deflate) {
      this.handlers.message(payload, binary);
      return;
    }
    if (!compressed) {
      // RFC 7692 §6: a message may go out uncompressed (RSV1 clear) even with the extension in use.
      this.deflate.countPlain(payload);
      this.handlers.message(payload, binary);
      return;
    }
    let plain: Buffer;
    try {
      plain = this.deflate.decompress(payload);
    } catch (err) {
      this.failConnection(`invalid compressed payload: ${(err as Error).message}`);
      return;
    }
    this.deflate.countInflated(plain);
    this.wirelog.add({ ev: 'note', text: `inflated ${payload.length} octets to ${plain.length}` });
    if (!binary && !isValidUtf8(plain)) {
      this.invalidPayload('encountered invalid UTF-8 while processing text message (after decompression)');
      return;
    }
    this.handlers.message(plain, binary);
  }

  ping(payload: Buffer): void {
    // The suite's endpoint answers pings itself and does not report them to the case.
    if (this.state === 'OPEN') this.sendFrame(10, payload);
  }

  pong(payload: Buffer): void {
    this.handlers.pong(payload);
  }

  close(code: number | undefined, reason: Buffer | undefined): void {
    this.facts.remoteCloseCode = code ?? null;
    this.facts.remoteCloseReason = reason ? describeReason(reason) : null;
    // RFC 6455 §7.4: codes below 1000, unassigned 1xxx/2xxx codes and codes from 5000 up must not be sent.
    if (code !== undefined && !closeCodeAllowed(code)) {
      this.protocolViolation(`invalid close code ${code}`);
      return;
    }
    if (reason && !isValidUtf8(reason)) {
      this.invalidPayload('invalid close reason (non-UTF-8 payload)');
      return;
    }
    if (this.state === 'CLOSING') {
      // The answer to our close: the handshake is complete.
      if (this.closeHandshakeTimer) clearTimeout(this.closeHandshakeTimer);
      this.facts.wasClean = true;
      if (this.isServer) this.drop(true);
      else {
        // RFC 6455 §7.1.1: the server closes TCP first; give it a second before closing it ourselves (unclean).
        this.timer(SERVER_DROP_TIMEOUT * this.scale, () => {
          this.facts.wasClean = false;
          this.facts.wasNotCleanReason = 'server did not drop TCP connection (in time)';
          this.facts.wasServerConnectionDropTimeout = true;
          this.drop(true);
        });
      }
    } else if (this.state === 'OPEN') {
      // The testee started the closing handshake: answer with 1000, as the suite does.
      this.facts.wasClean = true;
      this.sendCloseFrame(1000, undefined, true);
      if (this.isServer) this.drop(false);
    }
  }
}

function describeReason(reason: Buffer): string {
  return isValidUtf8(reason) ? reason.toString('utf8') : `0x${reason.toString('hex')}`;
}
