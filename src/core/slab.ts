/**
 * Small frames are encoded straight into a shared slab, one after another, so the frames a
 * connection produces in one tick sit next to each other and leave in a single write without
 * a per-frame allocation or a copy to join them. Like Node's own buffer pool, a slab lives as
 * long as any write still refers to it.
 */
const SLAB_SIZE = 32 * 1024;

/** Frames up to this size go into the slab; larger ones get a buffer of their own. */
export const MAX_SLAB_FRAME = 4 * 1024;

/** The slab being filled and the offset of its first free byte. */
export const frameSlab = { buffer: Buffer.allocUnsafeSlow(SLAB_SIZE), offset: 0 };

/**
 * Makes room for a frame of `size` (at most {@link MAX_SLAB_FRAME}) bytes at
 * `frameSlab.offset`, starting a new slab when the current one is full.
 */
export function reserveFrame(size: number): void {
  if (frameSlab.offset + size > SLAB_SIZE) {
    frameSlab.buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
    frameSlab.offset = 0;
  }
}
