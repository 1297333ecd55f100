/**
 * A WebAssembly SIMD kernel for masking long runs (RFC 6455 §5.3). WebAssembly is built into
 * Node, so this adds no dependency. Bytes are copied into the module's memory in pieces of at
 * most 64 KiB, XORed 16 bytes at a time and copied back: two memory copies and a vector loop
 * cost less than XORing 32-bit words in JavaScript. Where WebAssembly SIMD is unavailable (or
 * on a big-endian machine) {@link simdKernel} returns null and callers keep the JavaScript path.
 *
 * The module, hand-assembled (99 bytes); it XORs `blocks` 16-byte blocks from {@link SIMD_OFFSET}:
 *   (module
 *     (memory (export "m") 2)
 *     (func (export "x") (param $blocks i32) (param $key i32)
 *       (local $p i32) (local $k v128)
 *       (local.set $k (i32x4.splat (local.get $key)))
 *       (local.set $blocks (i32.shl (local.get $blocks) (i32.const 4)))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $p) (local.get $blocks)))
 *         (v128.store offset=2048 (local.get $p)
 *           (v128.xor (v128.load offset=2048 (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *         (br 0)))))
 */
const MODULE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 2, 127, 127, 0, 3, 2, 1, 0, 5, 3, 1, 0, 2, 7, 9, 2, 1, 109, 2, 0, 1, 120,
  0, 0, 10, 61, 1, 59, 2, 1, 127, 1, 123, 32, 1, 253, 17, 33, 3, 32, 0, 65, 4, 116, 33, 0, 2, 64, 3, 64, 32, 2, 32, 0,
  79, 13, 1, 32, 2, 32, 2, 253, 0, 4, 128, 16, 32, 3, 253, 81, 253, 11, 4, 128, 16, 32, 2, 65, 16, 106, 33, 2, 12, 0,
  11, 11, 11,
]);

/** Largest piece masked per kernel call: with {@link SIMD_OFFSET} it fits the module's two 64 KiB pages. */
export const SIMD_PIECE = 64 * 1024;

/**
 * Where the kernel's working bytes start in its memory: half a page in. Large buffers are
 * page-aligned (the allocator maps them), and copying between two addresses at the same offset
 * within a 4 KiB page (or 32 bytes apart) ran at 2-3 GB/s instead of 30+ on the machines we
 * measured (benchmarks/codec/mask.ts, 1 MiB rows): memcpy's fast path loses to 4 KiB aliasing.
 * Half a page keeps the working bytes clear of both for page-aligned and malloc'd buffers.
 */
export const SIMD_OFFSET = 2048;

/** The instantiated kernel: its memory and the XOR function (`blocks` of 16 bytes at offset 0). */
export interface SimdKernel {
  memory: Uint8Array;
  xor(blocks: number, key: number): void;
}

/** The part of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let kernel: SimdKernel | null | undefined;

/** The kernel, instantiated on first use; null where it cannot run. */
export function simdKernel(): SimdKernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  // The key word is built in platform byte order; WebAssembly memory is little-endian.
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (!littleEndian || wasm === undefined || !wasm.validate(MODULE)) return null;
  try {
    const { exports } = new wasm.Instance(new wasm.Module(MODULE));
    const memory = exports.m as { buffer: ArrayBuffer };
    kernel = { memory: new Uint8Array(memory.buffer), xor: exports.x as SimdKernel['xor'] };
  } catch {
    kernel = null;
  }
  return kernel;
}
