import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/core/constants.js';
import type { MessageExtension, TransformCallback } from '../../src/core/extension.js';
import { SendQueue, type SendQueueOwner } from '../../src/core/send-queue.js';
import { sharedFrame } from '../../src/core/shared-frame.js';

/** An extension that "compresses" by reversing, calling back when told to. */
class ManualExtension implements MessageExtension {
  readonly name = 'x-manual';
  readonly rsv = 0x40;
  pending: Array<() => void> = [];
  fail: Error | null = null;
  decode(_data: Buffer, cb: TransformCallback): void {
    cb(null, Buffer.alloc(0));
  }
  encode(data: Buffer, _fin: boolean, cb: TransformCallback): void {
    this.pending.push(() => (this.fail ? cb(this.fail) : cb(null, Buffer.from(data).reverse())));
  }
  shouldEncode(): boolean {
    return true;
  }
  dispose(): void {}
}

function owner(extension: MessageExtension | null) {
  const written: string[] = [];
  const o = {
    written,
    canWrite: true,
    emptied: 0,
    failed: [] as Error[],
    negotiatedExtension: extension,
    writeData: (opcode: number, payload: Buffer, fin: boolean, rsv: number) =>
      void written.push(`data ${opcode} ${payload.toString()} fin=${fin} rsv=${rsv}`),
    writeShared: (frame: { payloadLength: number }) => void written.push(`shared ${frame.payloadLength}`),
    writeClose: (payload: Buffer) => void written.push(`close ${payload.length}`),
    encodeFailed: (err: Error) => void o.failed.push(err),
    queueEmptied: () => void o.emptied++,
  };
  return o satisfies SendQueueOwner & Record<string, unknown>;
}

describe('SendQueue', () => {
  it('keeps call order behind a message being encoded: data, a shared frame and the close frame wait', () => {
    const ext = new ManualExtension();
    const o = owner(ext);
    const queue = new SendQueue(o);
    queue.push({ kind: 'data', opcode: Opcode.Text, data: Buffer.from('abc'), fin: true, compress: true, cb: undefined });
    queue.push({ kind: 'data', opcode: Opcode.Binary, data: Buffer.from('plain'), fin: true, compress: false, cb: undefined });
    queue.push({ kind: 'shared', frame: sharedFrame(Opcode.Binary, 0, Buffer.from('xy')), cb: undefined });
    queue.push({ kind: 'close', payload: Buffer.from([3, 232]), cb: undefined });
    expect(o.written).toEqual([]);
    expect(queue.busy).toBe(true);
    expect(queue.bytes).toBe(3 + 5 + 4 + 2);
    ext.pending.shift()?.();
    expect(o.written).toEqual([`data ${Opcode.Text} cba fin=true rsv=64`, `data ${Opcode.Binary} plain fin=true rsv=0`, 'shared 2', 'close 2']);
    expect(o.emptied).toBe(1);
    expect(queue.busy).toBe(false);
  });

  it('clear() fails what waits (not the message being encoded) and hands back the close frame', () => {
    const ext = new ManualExtension();
    const o = owner(ext);
    const queue = new SendQueue(o);
    const calls: string[] = [];
    queue.push({ kind: 'data', opcode: Opcode.Text, data: Buffer.from('a'), fin: true, compress: true, cb: (e) => calls.push(`encoding ${e?.message}`) });
    queue.push({ kind: 'data', opcode: Opcode.Text, data: Buffer.from('b'), fin: true, compress: false, cb: (e) => calls.push(`waiting ${e?.message}`) });
    queue.push({ kind: 'close', payload: Buffer.alloc(0), cb: undefined });
    const close = queue.clear(new Error('gone'));
    expect(close?.kind).toBe('close');
    expect(calls).toEqual(['waiting gone']);
    // The encoder calls back the message it was encoding, with the connection gone.
    o.canWrite = false;
    ext.pending.shift()?.();
    expect(calls).toEqual(['waiting gone', 'encoding WebSocket is not open: readyState is not OPEN']);
    expect(o.written).toEqual([]);
  });

  it('an encode failure calls the message back with the error and fails the connection', () => {
    const ext = new ManualExtension();
    ext.fail = new Error('zlib broke');
    const o = owner(ext);
    const queue = new SendQueue(o);
    const errors: unknown[] = [];
    queue.push({ kind: 'data', opcode: Opcode.Text, data: Buffer.from('a'), fin: true, compress: true, cb: (e) => errors.push(e) });
    ext.pending.shift()?.();
    expect(errors).toEqual([ext.fail]);
    expect(o.failed).toEqual([ext.fail]);
  });
});
