/**
 * Stand-in for the suite's `lena512.bmp`: a 512×512 8-bit greyscale Windows bitmap (BITMAPINFOHEADER, 256-entry
 * grey palette, bottom-up rows), 263,222 bytes like the original. The picture is smooth shapes plus noise, so it
 * compresses about as poorly as a photograph does.
 */
import { Random } from './random.js';

const SIDE = 512;
const PALETTE = 256 * 4;
const HEADER = 14 + 40;

/** The bitmap; `size` must be the bitmap's size (header, palette and pixels). */
export function generateBitmap(size: number): Buffer {
  const offset = HEADER + PALETTE;
  if (size !== offset + SIDE * SIDE) throw new RangeError(`a 512x512 8-bit bitmap has ${offset + SIDE * SIDE} bytes, not ${size}`);
  const out = Buffer.alloc(size);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(size, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  out.writeInt32LE(SIDE, 18);
  out.writeInt32LE(SIDE, 22);
  out.writeUInt16LE(1, 26); // planes
  out.writeUInt16LE(8, 28); // bits per pixel
  out.writeUInt32LE(SIDE * SIDE, 34);
  out.writeInt32LE(2835, 38); // 72 dpi
  out.writeInt32LE(2835, 42);
  out.writeUInt32LE(256, 46);
  for (let i = 0; i < 256; i++) out.writeUInt32LE(i * 0x010101, HEADER + i * 4);
  const rnd = new Random(0x1e4a);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const shade =
        110 +
        60 * Math.sin(x / 37) * Math.cos(y / 53) +
        40 * Math.sin((x + 2 * y) / 91) +
        (((x - 260) ** 2 + (y - 240) ** 2 < 120 ** 2) ? 35 : 0) +
        rnd.int(-12, 12);
      out[offset + y * SIDE + x] = Math.max(0, Math.min(255, Math.round(shade)));
    }
  }
  return out;
}
