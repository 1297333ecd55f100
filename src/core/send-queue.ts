/**
 * The sends of one connection that wait behind the extension's encoder (permessage-deflate
 * compresses asynchronously): while one message is being encoded, every later send — data,
 * a broadcast framed once for many connections, or our close frame — queues here, so the
 * peer receives them in the order the application made them. Pings and pongs never wait here
 * (RFC 6455 §5.4: control frames may go between fragments), a close frame always does (nothing
 * sent before it may be lost).
 *
 * @module
 */
import { Opcode } from './constants.js';
import { notOpenError } from './errors.js';
import type { MessageExtension } from './extension.js';
import type { WriteCallback } from './frame-encoder.js';
import type { SharedFrame } from './shared-frame.js';

/** A send waiting for its turn. */
export type QueuedSend =
  | { kind: 'data'; opcode: number; data: Buffer; fin: boolean; compress: boolean; cb: WriteCallback | undefined }
  | { kind: 'shared'; frame: SharedFrame; cb: WriteCallback | undefined }
  | { kind: 'close'; payload: Buffer; cb: WriteCallback | undefined };

/** What the queue needs from its connection. */
export interface SendQueueOwner {
  /** The negotiated extension, if any. */
  readonly negotiatedExtension: MessageExtension | null;
  /** Frames may still be written: the connection was not failed, closed or ended meanwhile. */
  readonly canWrite: boolean;
  /** Writes a data frame (handed over in fragments when large). */
  writeData(opcode: number, payload: Buffer, fin: boolean, rsv: number, cb: WriteCallback | undefined): void;
  /** Writes a frame shared with other connections. */
  writeShared(frame: SharedFrame, cb: WriteCallback | undefined): void;
  /** Writes our close frame. */
  writeClose(payload: Buffer, cb: WriteCallback | undefined): void;
  /** Encoding a message failed: the connection fails (1011). */
  encodeFailed(err: Error): void;
  /** Everything queued was written. */
  queueEmptied(): void;
}

/** Sends waiting behind the extension's encoder, in call order. */
export class SendQueue {
  private readonly owner: SendQueueOwner;
  private readonly items: QueuedSend[] = [];
  /** The first item is being encoded (it stays at the head until then). */
  private encoding = false;

  constructor(owner: SendQueueOwner) {
    this.owner = owner;
  }

  /** `true` while anything waits or is being encoded. */
  get busy(): boolean {
    return this.encoding || this.items.length > 0;
  }

  /** Bytes waiting, the message being encoded included (reported in `bufferedAmount`). */
  get bytes(): number {
    let bytes = 0;
    for (const item of this.items) {
      if (item.kind === 'data') bytes += item.data.length;
      else if (item.kind === 'shared') bytes += item.frame.size;
      else bytes += item.payload.length;
    }
    return bytes;
  }

  /** Queues a send behind the others and writes what can be written. */
  push(item: QueuedSend): void {
    this.items.push(item);
    this.drain();
  }

  /**
   * Empties the queue: every waiting send is called back with `err`, except the message being
   * encoded (its encoder calls it back) and a queued close frame, which is returned so that the
   * caller can still write it.
   */
  clear(err: Error): (QueuedSend & { kind: 'close' }) | null {
    const items = this.items.splice(this.encoding ? 1 : 0);
    let close: (QueuedSend & { kind: 'close' }) | null = null;
    for (const item of items) {
      if (item.kind === 'close') close = item;
      else item.cb?.(err);
    }
    return close;
  }

  private drain(): void {
    const items = this.items;
    const owner = this.owner;
    while (!this.encoding && items.length > 0) {
      const item = items[0] as QueuedSend;
      const extension = owner.negotiatedExtension;
      if (item.kind !== 'data' || !item.compress || extension === null) {
        items.shift();
        if (item.kind === 'data') owner.writeData(item.opcode, item.data, item.fin, 0, item.cb);
        else if (item.kind === 'shared') owner.writeShared(item.frame, item.cb);
        else owner.writeClose(item.payload, item.cb);
        continue;
      }
      this.encoding = true;
      extension.encode(item.data, item.fin, (err, encoded) => {
        this.encoding = false;
        if (items[0] === item) items.shift();
        if (!owner.canWrite) {
          item.cb?.(err ?? notOpenError());
          return;
        }
        if (err) {
          item.cb?.(err);
          owner.encodeFailed(err);
          return;
        }
        // RFC 7692 §6: RSV1 marks the first frame of a compressed message only.
        const rsv = item.opcode === Opcode.Continuation ? 0 : extension.rsv;
        owner.writeData(item.opcode, encoded ?? EMPTY, item.fin, rsv, item.cb);
        this.drain();
      });
    }
    if (!this.encoding && items.length === 0) owner.queueEmptied();
  }
}

const EMPTY = Buffer.alloc(0);
