/**
 * Where a Linux process's resident memory lives, from /proc/self/smaps: the main malloc arena
 * (the `[heap]` mapping that brk grows), the arenas glibc creates for other threads (each a
 * 64 MiB-aligned reservation of 64 MiB, of which the used part is readable and the rest
 * PROT_NONE), and every other anonymous mapping (V8's heap, thread stacks, large malloc blocks
 * served by mmap). node:zlib initialises a stream on the libuv thread that runs its first
 * job, so zlib's state lives in the thread arenas; with the number of zlib streams alive this
 * tells memory in use from memory an allocator keeps after a free. (process.memoryUsage()'s
 * `external` does not show zlib's state on Node 20: a new 15-bit compressor adds its 16 KiB
 * output buffer there, not its 256 KiB of state.)
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** Resident bytes by kind of mapping. */
export interface NativeMemory {
  /** `[heap]`: glibc's main arena (allocations from the main thread). */
  mainArena: number;
  /** Thread arenas (allocations from other threads, e.g. the libuv pool that runs zlib). */
  threadArenas: number;
  /** Number of 64 MiB thread-arena reservations seen. */
  threadArenaHeaps: number;
  /** Other anonymous mappings: V8's heap, stacks, mmap'd malloc blocks. */
  otherAnonymous: number;
  /** File-backed mappings (the node binary, libraries). */
  files: number;
  /** Sum of all resident bytes read. */
  total: number;
}

const ARENA_SIZE = 64 * 1024 * 1024;

interface Mapping {
  start: number;
  end: number;
  perms: string;
  name: string;
  rss: number;
}

function parse(text: string): Mapping[] {
  const out: Mapping[] = [];
  let current: Mapping | null = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      current = {
        start: Number.parseInt(head[1] as string, 16),
        end: Number.parseInt(head[2] as string, 16),
        perms: head[3] as string,
        name: (head[4] as string).trim(),
        rss: 0,
      };
      out.push(current);
    } else if (current !== null && line.startsWith('Rss:')) {
      current.rss = Number.parseInt(line.slice(4), 10) * 1024;
    }
  }
  return out;
}

/**
 * Reads the resident memory of this process by kind. Returns null where /proc is missing.
 * A thread arena is recognised by its shape: an anonymous read-write mapping starting on a
 * 64 MiB boundary, followed directly by a PROT_NONE mapping that ends 64 MiB after its start
 * (or filling the 64 MiB alone).
 */
export function readNativeMemory(): NativeMemory | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return null;
  }
  const maps = parse(text);
  const result: NativeMemory = { mainArena: 0, threadArenas: 0, threadArenaHeaps: 0, otherAnonymous: 0, files: 0, total: 0 };
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i] as Mapping;
    result.total += m.rss;
    if (m.name === '[heap]') {
      result.mainArena += m.rss;
      continue;
    }
    if (m.name !== '' && !m.name.startsWith('[anon')) {
      if (m.name.startsWith('/')) result.files += m.rss;
      else result.otherAnonymous += m.rss;
      continue;
    }
    const next = maps[i + 1];
    const aligned = m.start % ARENA_SIZE === 0 && m.perms.startsWith('rw');
    const whole = m.end - m.start === ARENA_SIZE;
    const withGuard = next !== undefined && next.start === m.end && next.perms.startsWith('---') && next.end - m.start === ARENA_SIZE;
    if (aligned && (whole || withGuard)) {
      result.threadArenas += m.rss;
      result.threadArenaHeaps++;
    } else {
      result.otherAnonymous += m.rss;
    }
  }
  return result;
}
