/**
 * The backend interface: where tensor memory lives and which kernels run on it.
 *
 * A backend owns its buffers (typed arrays for `ref`, slices of one shared
 * `WebAssembly.Memory` for `wasm`, GPU buffers for `webgpu`). Ops only ever see
 * opaque {@linkcode Storage} handles and call kernels from the backend's table,
 * so a new backend needs no change to any op. Reading data back is
 * asynchronous in general; CPU backends also offer a synchronous read.
 *
 * Packages that add ops (attention) declare their kernels for every backend
 * kind with {@linkcode defineKernelExtension} instead of being imported by
 * `tensor`: one factory per {@linkcode BackendKind}, so a kind without
 * kernels does not compile.
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
  /** Bytes of the allocator handed out and not yet freed: the live tensor memory (for leak checks). */
  bytesInUse(): number;
}

/**
 * One compute dispatch on the `webgpu` backend.
 *
 * The WGSL declares, in `@group(0)`, one `var<storage, read_write>` array
 * binding per entry of `buffers` (binding i = buffers[i], `array<f32>`,
 * `array<i32>` or `array<vec4<f32>>` as the kernel needs: GPU buffers are
 * multiples of 16 bytes; a `null` entry binds a 16-byte dummy buffer), then at
 * binding `buffers.length` a `var<uniform>` struct of `params.length` u32
 * words (padded to 16 bytes by the backend). The same buffer may be bound
 * more than once (all bindings are read_write). Storages may be views made by
 * `slice`: the whole underlying GPU buffer is bound and the kernel adds the
 * view's element offset (from {@linkcode GpuHooks.offset}, passed by the
 * caller among the params) to its indices. `@metatokens/tensor/webgpu` has
 * helpers for the declarations and for grids over 65535 workgroups.
 */
export interface GpuKernelCall {
  /** Pipeline cache key; equal keys must always produce equal WGSL. */
  readonly key: string;
  /** Builds the WGSL source on a cache miss (entry point `main`). */
  readonly wgsl: () => string;
  /** Storage bindings, in binding order. */
  readonly buffers: readonly (Storage | null)[];
  /** Uniform words: u32 integers; pass floats through {@linkcode f32Bits}. */
  readonly params: readonly number[];
  /** Workgroup counts (x, y, z); every count must be ≤ 65535. */
  readonly workgroups: readonly [number, number, number];
}

/** Hooks of the `webgpu` backend for packages that bring their own WGSL kernels. */
export interface GpuHooks {
  /** The device the backend runs on. */
  readonly device: GPUDevice;
  /** Records one compute dispatch (pipelines are cached by key; nothing is read back). */
  dispatch(call: GpuKernelCall): void;
  /** Element offset of a storage view inside its GPU buffer (0 for a whole buffer or null). */
  offset(storage: Storage | null): number;
}

/**
 * The u32 bit pattern of `x` as an f32, for float uniforms of a {@linkcode GpuKernelCall}
 * (`bitcast<f32>(p.word)` in WGSL).
 *
 * @example
 * ```ts
 * import { f32Bits } from "@metatokens/tensor";
 * console.log(f32Bits(1).toString(16)); // "3f800000"
 * ```
 */
export function f32Bits(x: number): number {
  BITS_F32[0] = x;
  return BITS_U32[0];
}
const BITS_F32 = new Float32Array(1);
const BITS_U32 = new Uint32Array(BITS_F32.buffer);

/** The kinds of backend: every kernel extension provides kernels for each. */
export type BackendKind = "ref" | "wasm" | "webgpu";

/** What every backend provides. */
export interface Backend {
  /** Which kind of backend this is: `ref`, `wasm` or `webgpu`. */
  readonly name: BackendKind;
  /** Threads the backend's kernels use (1 for `ref`). */
  readonly threads: number;
  /** The exhaustive kernel table. */
  readonly kernels: Kernels<Storage, Storage>;
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
  /** Present on the `webgpu` backend only: dispatch more WGSL kernels. */
  readonly gpu?: GpuHooks;
  /**
   * Resolves once all work submitted so far has finished (GPU backends;
   * CPU backends run kernels synchronously and may omit it). For benchmarks.
   */
  sync?(): Promise<void>;
  /** Releases workers and memory; the backend is unusable afterwards. */
  dispose(): void;
}

/**
 * A table of kernels another package adds to every backend (attention, for
 * example): typed by its table `T`, built once per backend on first use.
 */
export interface KernelExtension<T> {
  /** A name for messages. */
  readonly name: string;
  /** The table of `backend`, built on the first call for that backend. */
  of(backend: Backend): T;
}

/**
 * Declares a kernel extension: one factory per {@linkcode BackendKind}, typed
 * by the table `T` it returns. A kind without a factory, or a factory
 * returning another table, is a compile error; each backend's table is built
 * on first use and kept for the backend's life (a weak map, no casts).
 *
 * @param name A name for messages.
 * @param factories The table's factory for each backend kind.
 * @returns The extension: `ext.of(backend)` is the backend's table.
 *
 * @example
 * ```ts
 * import { defineKernelExtension, refBackend } from "@metatokens/tensor";
 * const doubling = defineKernelExtension("doubling", {
 *   ref: () => ({ double: (x: Float32Array) => x.map((v) => 2 * v) }),
 *   wasm: () => ({ double: (x: Float32Array) => x.map((v) => 2 * v) }),
 *   webgpu: (backend) => {
 *     throw new Error(`Cannot double on ${backend.name}`);
 *   },
 * });
 * console.log(doubling.of(refBackend()).double(new Float32Array([1, 2]))); // Float32Array [2, 4]
 * ```
 */
export function defineKernelExtension<T>(
  name: string,
  factories: { readonly [K in BackendKind]: (backend: Backend) => T },
): KernelExtension<T> {
  const tables = new WeakMap<Backend, T>();
  return {
    name,
    of(backend: Backend): T {
      let table = tables.get(backend);
      if (table === undefined) {
        table = factories[backend.name](backend);
        tables.set(backend, table);
      }
      return table;
    },
  };
}
