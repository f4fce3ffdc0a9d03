/**
 * The backend interface: where tensor memory lives and which kernels run on it.
 *
 * A backend owns its buffers (typed arrays for `ref`, slices of one shared
 * `WebAssembly.Memory` for `wasm`, GPU buffers for `webgpu`). Ops only ever see
 * opaque {@linkcode Storage} handles and call kernels from the backend's table,
 * so a new backend needs no change to any op. Reading data back is
 * asynchronous in general; CPU backends also offer a synchronous read.
 *
 * Packages that add ops (attention) register their kernels per backend with
 * {@linkcode registerKernel} instead of being imported by `tensor`.
 *
 * @module
 */

import type { Kernels } from "./kernels.ts";

/** Element type of a tensor: f32 data or i32 indices. */
export type DType = "f32" | "i32";

/** An opaque buffer handle owned by a backend. */
export type Storage = { readonly __storage: unique symbol };

/** A host-side array of a given dtype. */
export type HostArray<D extends DType = DType> = D extends "f32" ? Float32Array : Int32Array;

/** Modules as `deno task build:wasm` generates them: base64 bytes per variant. */
export type WasmModules = Readonly<Record<string, { portable: string; relaxed: string | null }>>;

/** Hooks of the `wasm` backend for packages that bring their own WebAssembly kernels. */
export interface WasmHooks {
  /**
   * Instantiates generated modules on the backend's memory on every thread
   * (each module name once; loading it again does nothing).
   */
  load(modules: WasmModules): void;
  /**
   * Runs the parallel export `name(…args, tid, nt)` on as many threads as
   * `work` (in elements, or flops / 64) deserves.
   */
  run(name: string, args: readonly number[], work: number): void;
  /** Calls a serial export on the calling thread and returns its result. */
  call(name: string, ...args: number[]): number;
  /** The address of a buffer in the shared memory (0 for null). */
  address(storage: Storage | null): number;
}

/** What every backend provides. */
export interface Backend {
  /** `ref`, `wasm`, `webgpu`, … */
  readonly name: string;
  /** Threads the backend's kernels use (1 for `ref`). */
  readonly threads: number;
  /** The exhaustive kernel table. */
  readonly kernels: Kernels<Storage, Storage>;
  /** Kernels registered by other packages, keyed by kernel name. */
  readonly extensions: Map<string, unknown>;
  /** A new zero-filled buffer of `size` elements. */
  alloc(dtype: DType, size: number): Storage;
  /** Returns a buffer made by `alloc` to the backend. */
  free(storage: Storage): void;
  /** A buffer aliasing `size` elements of `storage` from element `offset` (no copy). */
  slice(storage: Storage, offset: number, size: number): Storage;
  /** Copies host data into a buffer. */
  write(storage: Storage, data: Float32Array | Int32Array): void;
  /** Copies a buffer back to the host. */
  read(storage: Storage, dtype: DType, size: number): Promise<Float32Array | Int32Array>;
  /** Synchronous read, present on CPU backends only. */
  readSync?(storage: Storage, dtype: DType, size: number): Float32Array | Int32Array;
  /** Present on the `wasm` backend only: load and run more WebAssembly kernels. */
  readonly wasm?: WasmHooks;
  /** Releases workers and memory; the backend is unusable afterwards. */
  dispose(): void;
}

/**
 * Registers a kernel for an op that lives outside `tensor` (for example
 * attention) on one backend.
 *
 * @example
 * ```ts
 * import { refBackend, registerKernel, getKernel } from "@metatokens/tensor";
 * const backend = refBackend();
 * registerKernel(backend, "double", (x: Float32Array) => x.map((v) => 2 * v));
 * const double = getKernel<(x: Float32Array) => Float32Array>(backend, "double");
 * console.log(double(new Float32Array([1, 2]))); // Float32Array [2, 4]
 * ```
 */
export function registerKernel(backend: Backend, name: string, kernel: unknown): void {
  backend.extensions.set(name, kernel);
}

/**
 * Looks up a kernel registered with {@linkcode registerKernel}.
 *
 * @example
 * ```ts
 * import { refBackend, registerKernel, getKernel } from "@metatokens/tensor";
 * const backend = refBackend();
 * registerKernel(backend, "noop", () => {});
 * getKernel<() => void>(backend, "noop")();
 * ```
 */
export function getKernel<K>(backend: Backend, name: string): K {
  const kernel = backend.extensions.get(name);
  if (kernel === undefined) {
    throw new Error(
      `Cannot find kernel "${name}" on backend "${backend.name}": register it with registerKernel first`,
    );
  }
  return kernel as K;
}
