/**
 * A WebAssembly SIMD kernel for masking long runs (RFC 6455 §5.3). WebAssembly is built into
 * Node, so this adds no dependency. The kernel XORs 16 bytes at a time, but only inside its own
 * memory: bytes elsewhere are copied in, in pieces of at most 64 KiB, and copied back (two
 * memory copies and a vector loop still cost less than XORing 32-bit words in JavaScript). Bytes
 * that already sit in its memory (the Node binding reads sockets into {@link INPUT_OFFSET}) are
 * XORed where they are, with no copy. Where WebAssembly SIMD is
 * unavailable (or on a big-endian machine) {@link simdKernel} returns null and callers keep the
 * JavaScript path.
 *
 * The module, hand-assembled (89 bytes); it XORs the 16-byte blocks of `[$p, $end)`, whose
 * length the caller makes a multiple of 16:
 *   (module
 *     (memory (export "m") 7)
 *     (func (export "x") (param $p i32) (param $end i32) (param $key i32)
 *       (local $k v128)
 *       (local.set $k (i32x4.splat (local.get $key)))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
 *         (v128.store (local.get $p) (v128.xor (v128.load (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *         (br 0)))))
 */
const MODULE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 3, 127, 127, 127, 0, 3, 2, 1, 0, 5, 3, 1, 0, 7, 7, 9, 2, 1, 109, 2, 0, 1,
  120, 0, 0, 10, 50, 1, 48, 1, 1, 123, 32, 2, 253, 17, 33, 3, 2, 64, 3, 64, 32, 0, 32, 1, 79, 13, 1, 32, 0, 32, 0, 253,
  0, 0, 0, 32, 3, 253, 81, 253, 11, 0, 0, 32, 0, 65, 16, 106, 33, 0, 12, 0, 11, 11, 11,
]);

/** Largest piece masked per kernel call on copied bytes: with {@link SIMD_OFFSET} it fits the first two 64 KiB pages. */
export const SIMD_PIECE = 64 * 1024;

/**
 * Where the kernel's working bytes for copied pieces start in its memory: half a page in.
 * Large buffers are page-aligned (the allocator maps them), and copying between two addresses
 * at the same offset within a 4 KiB page (or 32 bytes apart) ran at 2-3 GB/s instead of 30+ on
 * the machines we measured (benchmarks/codec/mask.ts, 1 MiB rows): memcpy's fast path loses to
 * 4 KiB aliasing. Half a page keeps the working bytes clear of both for page-aligned and
 * malloc'd buffers.
 */
export const SIMD_OFFSET = 2048;

/**
 * Where socket reads land in the kernel's memory: after the two pages of the copied pieces (so
 * masking an outgoing message never overwrites input being parsed), half a page in for the
 * reason given at {@link SIMD_OFFSET}.
 */
export const INPUT_OFFSET = 2 * 65536 + 2048;

/**
 * Bytes one socket read may bring (Node reads at most 64 KiB at a time into buffers of its
 * own): a 1 MiB message arrives in 4 reads instead of 16. The module's 7 pages hold it.
 */
export const INPUT_SIZE = 256 * 1024;

/** The instantiated kernel: its memory and the XOR function. */
export interface SimdKernel {
  memory: Uint8Array;
  /** `memory.buffer`, kept: the memory never grows, and reading `buffer` is a runtime call. */
  buffer: ArrayBuffer;
  /** XORs `memory[start, end)` with the 32-bit `key` repeated; `end - start` is a multiple of 16. */
  xor(start: number, end: number, key: number): void;
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
    kernel = { memory: new Uint8Array(memory.buffer), buffer: memory.buffer, xor: exports.x as SimdKernel['xor'] };
  } catch {
    kernel = null;
  }
  return kernel;
}
