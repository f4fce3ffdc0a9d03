/**
 * The `ref` backend: buffers are plain typed arrays and kernels are the
 * TypeScript loops of `kernels.ts`. Slow, simple, and the oracle of every test.
 *
 * @module
 */

import type { Backend, DType, Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { refKernels } from "./kernels.ts";

type CpuArray = Float32Array | Int32Array;
const arr = (s: Storage): CpuArray => s as unknown as CpuArray;
const store = (a: CpuArray): Storage => a as unknown as Storage;

/**
 * Creates a `ref` backend.
 *
 * @example
 * ```ts
 * import { refBackend } from "@metatokens/tensor";
 * const backend = refBackend();
 * const buf = backend.alloc("f32", 3);
 * backend.write(buf, new Float32Array([1, 2, 3]));
 * console.log(backend.readSync!(buf, "f32", 3)); // Float32Array [1, 2, 3]
 * ```
 */
export function refBackend(): Backend {
  return {
    name: "ref",
    threads: 1,
    kernels: refKernels as unknown as Kernels<Storage, Storage>,
    alloc(dtype: DType, size: number): Storage {
      return store(dtype === "f32" ? new Float32Array(size) : new Int32Array(size));
    },
    free(): void {},
    slice(storage: Storage, offset: number, size: number): Storage {
      return store(arr(storage).subarray(offset, offset + size));
    },
    write(storage: Storage, data: Float32Array | Int32Array): void {
      arr(storage).set(data);
    },
    read(storage: Storage, dtype: DType, size: number): Promise<Float32Array | Int32Array> {
      return Promise.resolve(this.readSync!(storage, dtype, size));
    },
    readSync(storage: Storage, _dtype: DType, size: number): Float32Array | Int32Array {
      return arr(storage).slice(0, size);
    },
    dispose(): void {},
  };
}
