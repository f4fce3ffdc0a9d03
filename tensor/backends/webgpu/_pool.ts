/**
 * GPU buffers pooled by size class, and the storage handles (whole buffers
 * and element-offset views) the `webgpu` backend hands to ops.
 *
 * Size classes: 256 bytes, then four classes per power of two (so at most 25 %
 * of a buffer is slack). A freed buffer goes back to its class; the next
 * `alloc` of that class takes it and the runtime clears it in the command
 * stream, after every dispatch recorded before, so no kernel ever sees stale
 * data and no reader of the old contents is overtaken.
 *
 * @module
 */

/** A storage of the `webgpu` backend: `size` elements of `buffer` from element `offset`. */
export class GpuStorage {
  /** True once the root buffer went back to the pool. */
  freed = false;
  constructor(
    /** The whole GPU buffer (bound whole; kernels add `offset`). */
    readonly buffer: GPUBuffer,
    /** Element offset of this view in `buffer`. */
    readonly offset: number,
    /** Elements in this view. */
    readonly size: number,
    /** The allocation this view aliases, or null for an allocation. */
    readonly root: GpuStorage | null,
  ) {}
}

/** The size class (bytes) a request of `bytes` is served from, capped at `limit`. */
export function sizeClass(bytes: number, limit: number): number {
  if (bytes <= 256) return 256;
  const top = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(16, top / 4);
  return Math.min(Math.ceil(bytes / step) * step, Math.max(limit - (limit % 16), Math.ceil(bytes / 16) * 16));
}

/** Free GPU buffers by size class. */
export class BufferPool {
  readonly #free = new Map<number, GPUBuffer[]>();
  readonly #all = new Set<GPUBuffer>();
  #pooledBytes = 0;
  #liveBytes = 0;

  constructor(readonly device: GPUDevice, readonly limit: number) {}

  /**
   * A buffer of the class of `bytes` and whether it came from the pool (and
   * so must be cleared before use).
   */
  take(bytes: number): { buffer: GPUBuffer; reused: boolean } {
    const cls = sizeClass(bytes, this.limit);
    const list = this.#free.get(cls);
    this.#liveBytes += cls;
    const pooled = list?.pop();
    if (pooled) {
      this.#pooledBytes -= cls;
      return { buffer: pooled, reused: true };
    }
    const buffer = this.device.createBuffer({
      size: cls,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.#all.add(buffer);
    return { buffer, reused: false };
  }

  /** Returns a buffer to its class. */
  give(buffer: GPUBuffer): void {
    const cls = buffer.size;
    let list = this.#free.get(cls);
    if (!list) this.#free.set(cls, list = []);
    list.push(buffer);
    this.#liveBytes -= cls;
    this.#pooledBytes += cls;
  }

  /** Destroys the pooled (free) buffers, keeping live ones. */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        b.destroy();
        this.#all.delete(b);
      }
    }
    this.#free.clear();
    this.#pooledBytes = 0;
  }

  /** Destroys every buffer. */
  destroy(): void {
    for (const b of this.#all) b.destroy();
    this.#all.clear();
    this.#free.clear();
  }

  /** Bytes held by live allocations and by the free lists. */
  get stats(): { liveBytes: number; pooledBytes: number } {
    return { liveBytes: this.#liveBytes, pooledBytes: this.#pooledBytes };
  }
}
