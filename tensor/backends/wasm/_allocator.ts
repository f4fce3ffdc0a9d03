/**
 * A size-class allocator over one `WebAssembly.Memory`.
 *
 * Requests are rounded up to a size class — a multiple of 64 bytes (a cache
 * line, so every buffer is 64-byte aligned) below 4 KiB, and one of four
 * steps per power of two above (at most 25% slack) — and freed blocks go to
 * the free list of their class. A training loop allocates the same sizes every
 * step, and requests of varying size (prompts of different lengths) still
 * reuse blocks of their class instead of raising the high-water mark. The
 * memory grows on demand up to the 4 GiB wasm32 limit.
 *
 * @module
 */

const PAGE = 65536;
const ALIGN = 64;
/** Bytes [0, RESERVED) hold the thread pool's control block. */
export const RESERVED = 4096;
/** The wasm32 address space (65536 pages of 64 KiB). */
export const MAX_BYTES = 65536 * PAGE;

/** Human-readable byte count for errors. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) {
    bytes /= 1024;
    i++;
  }
  return `${bytes.toFixed(i === 0 ? 0 : 2)} ${units[i]}`;
}

/**
 * The block size serving a request of `bytes`: 64-byte steps up to 4 KiB, then
 * four steps per power of two (2^k · {1, 1.25, 1.5, 1.75}), rounded to 64.
 */
export function sizeClass(bytes: number): number {
  const lines = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (lines <= 4096) return lines;
  const quarter = 2 ** (Math.floor(Math.log2(lines)) - 2);
  return Math.ceil(Math.ceil(lines / quarter) * quarter / ALIGN) * ALIGN;
}

/** Allocates byte ranges of a shared WebAssembly memory. */
export class Allocator {
  #top = RESERVED;
  #inUse = 0;
  readonly #free = new Map<number, number[]>();
  readonly #sizes = new Map<number, number>();

  constructor(readonly memory: WebAssembly.Memory) {}

  /** Bytes handed out and not yet freed. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Bytes ever reserved from the memory (the high-water mark). */
  get reserved(): number {
    return this.#top;
  }

  /** A 64-byte aligned block of at least `bytes` bytes; returns its address. */
  alloc(bytes: number, what: string): number {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      if (this.#top + size > MAX_BYTES) {
        throw new RangeError(
          `Cannot allocate ${formatBytes(bytes)} for ${what} in WASM memory: the limit is ${
            formatBytes(MAX_BYTES)
          } and ${formatBytes(this.#inUse)} is in use (${formatBytes(this.#top)} reserved)`,
        );
      }
      ptr = this.#top;
      this.#top += size;
      const needed = Math.ceil(this.#top / PAGE) - this.memory.buffer.byteLength / PAGE;
      if (needed > 0) {
        try {
          this.memory.grow(needed);
        } catch (e) {
          this.#top -= size;
          throw new RangeError(
            `Cannot allocate ${formatBytes(bytes)} for ${what}: growing WASM memory to ${
              formatBytes(this.#top + size)
            } failed (${(e as Error).message})`,
          );
        }
      }
    }
    this.#sizes.set(ptr, size);
    this.#inUse += size;
    return ptr;
  }

  /** Returns a block from {@linkcode Allocator.alloc}; the caller must not use it again. */
  free(ptr: number): void {
    const size = this.#sizes.get(ptr);
    if (size === undefined) throw new Error(`Cannot free address ${ptr}: it is not an allocated block`);
    this.#sizes.delete(ptr);
    this.#inUse -= size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(ptr);
  }
}
