/**
 * The `wasm` backend: hand-written WebAssembly SIMD kernels (`*.wat` in this
 * folder) on one shared `WebAssembly.Memory`, split across a worker pool.
 *
 * Every tensor is a typed-array view of the shared memory, so kernels pass
 * pointers (`byteOffset`) and never copy between each other. Heavy kernels
 * run on all threads; small calls stay on the calling thread, where waking
 * workers would cost more than the work.
 *
 * @module
 */

import type { Backend, DType, Storage, WasmHooks, WasmModules } from "../../backend.ts";
import { int8RowBytes, type Kernels } from "../../kernels.ts";
import { Allocator, formatBytes, RESERVED } from "./_allocator.ts";
import { moduleBytes, validateModules } from "./_instance.ts";
import { MODULES } from "./_modules.ts";
import { Pool } from "./_pool.ts";

/**
 * Products with at most this many rows per batch and `transB && !transA` (the
 * `nn.Linear` layout) run the matrix–vector kernel of `gemv.wat` instead of
 * the packed gemm.
 */
export const GEMV_MAX_ROWS = 4;

type F = Float32Array;
type I = Int32Array;
type CpuArray = F | I;

/** Options of {@linkcode wasmBackend}. */
export interface WasmBackendOptions {
  /** Threads for the heavy kernels; default `METATOKENS_THREADS`, else every core. */
  threads?: number;
  /**
   * Use relaxed SIMD — `f32x4.relaxed_madd` and `i32x4.relaxed_dot_i8x16_i7x16_add_s` —
   * (default: when the engine supports it); otherwise the portable variants.
   */
  relaxed?: boolean;
  /**
   * Elements of work each thread should get before a call is split (default
   * 65536; matrix products use 64× this in flops). 1 splits every call.
   */
  parallelThreshold?: number;
}

/** What this engine supports. */
export interface WasmSupport {
  /** WebAssembly SIMD (required). */
  simd: boolean;
  /** Relaxed SIMD (`f32x4.relaxed_madd`, `i32x4.relaxed_dot_i8x16_i7x16_add_s`). */
  relaxed: boolean;
  /** Shared memory and workers (threads > 1). */
  threads: boolean;
  /** Why the backend cannot run, when `simd` is false. */
  reason: string;
}

/**
 * Probes the engine for WebAssembly SIMD, relaxed SIMD and shared memory.
 *
 * @example
 * ```ts
 * import { wasmSupport } from "@metatokens/tensor";
 * console.log(wasmSupport().simd); // true in Deno 2
 * ```
 */
export function wasmSupport(): WasmSupport {
  const threads = typeof SharedArrayBuffer === "function";
  if (typeof WebAssembly !== "object") {
    return { simd: false, relaxed: false, threads, reason: "WebAssembly is not available" };
  }
  const { portable, relaxed } = validateModules(MODULES);
  return {
    simd: portable && threads,
    relaxed,
    threads,
    reason: !portable
      ? "WebAssembly SIMD (f32x4) is not supported by this engine"
      : !threads
      ? "shared WebAssembly memory is not supported by this engine"
      : "",
  };
}

/** Thread count from the environment: METATOKENS_THREADS, else every core. */
export function defaultThreads(): number {
  let env: string | undefined;
  try {
    env = Deno.env.get("METATOKENS_THREADS");
  } catch {
    env = undefined; // no --allow-env: fall back to the core count
  }
  if (env !== undefined && env !== "") return parseThreads(env, "METATOKENS_THREADS");
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** Parses a thread count from a flag or environment value, with a clear error. */
export function parseThreads(value: string | number, source: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new RangeError(`Cannot use ${source}=${value}: expected an integer number of threads in [1, 256]`);
  }
  return n;
}

/**
 * Creates a `wasm` backend with its own memory and worker pool.
 *
 * @example
 * ```ts
 * import { wasmBackend, tensor, matmul } from "@metatokens/tensor";
 * const backend = wasmBackend({ threads: 1 });
 * const a = tensor([1, 2, 3, 4], [2, 2], { backend });
 * console.log(matmul(a, a).dataSync()); // Float32Array [7, 10, 15, 22]
 * backend.dispose();
 * ```
 */
export function wasmBackend(options: WasmBackendOptions = {}): Backend {
  const support = wasmSupport();
  if (!support.simd) throw new Error(`Cannot create the wasm backend: ${support.reason}`);
  const threads = options.threads === undefined ? defaultThreads() : parseThreads(options.threads, "threads");
  const relaxed = options.relaxed ?? support.relaxed;
  if (relaxed && !support.relaxed) {
    throw new Error("Cannot use relaxed SIMD: this engine does not support every relaxed instruction used");
  }
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  const heap = new Allocator(memory);
  const pool = new Pool(memory, threads);
  const loaded = new Set<string>();
  const load = (modules: WasmModules): void => {
    const fresh = Object.fromEntries(Object.entries(modules).filter(([name]) => !loaded.has(name)));
    for (const bytes of moduleBytes(fresh, relaxed)) {
      const staging = heap.alloc(bytes.length, "a module being loaded");
      try {
        pool.load(bytes, staging);
      } finally {
        heap.free(staging);
      }
    }
    for (const name of Object.keys(fresh)) loaded.add(name);
  };
  load(MODULES);

  // Work (elements, or flops for gemm) each thread should get before a call is split.
  const grainElements = options.parallelThreshold ?? 1 << 16;
  const grainFlops = 64 * grainElements;
  const p = (a: CpuArray | null): number => (a === null ? 0 : a.byteOffset);
  /** Runs a parallel export `(…args, tid, nt)` on as many threads as `work` deserves. */
  const par = (name: string, args: number[], work: number, grain = grainElements): void => {
    const nt = Math.min(threads, Math.max(1, Math.floor(work / grain)));
    pool.run(name, args, nt);
  };
  /** Runs a serial export. */
  const ser = (name: string, ...args: number[]): void => {
    pool.get(name)(...args);
  };

  const wsPerThread = pool.get("gemm_ws_bytes")() as number;
  const workspace = heap.alloc(wsPerThread * threads, "the matmul workspace");

  const kernels: Kernels<F, I> = {
    gemm(c, a, b, bias, d) {
      if (d.transB && !d.transA && d.m <= GEMV_MAX_ROWS) {
        // Few rows against (N, K) weights (decoding): a matrix–vector kernel that reads B in
        // place, once, split over output columns; the work measure is the weights read.
        par(
          "gemv",
          [p(c), p(a), p(b), p(bias), d.batch, d.m, d.n, d.k, +d.accumulate],
          d.batch * d.n * d.k,
        );
        return;
      }
      const flops = 2 * d.batch * d.m * d.n * d.k;
      par(
        "gemm",
        [
          p(c),
          p(a),
          p(b),
          p(bias),
          d.batch,
          d.m,
          d.n,
          d.k,
          +d.transA,
          +d.transB,
          +d.accumulate,
          workspace,
        ],
        flops,
        grainFlops,
      );
    },
    quantizeInt8: (q, scales, w, n, k) => par("quantizeInt8", [p(q), p(scales), p(w), n, k], n * k),
    linearInt8(c, a, q, scales, bias, m, n, k) {
      if (4 * int8RowBytes(k) + 32 > wsPerThread) {
        throw new RangeError(
          `Cannot run an int8 linear with K = ${k}: its activation block needs more than the ${wsPerThread}-byte workspace`,
        );
      }
      par(
        "linearInt8",
        [p(c), p(a), p(q), p(scales), p(bias), m, n, k, workspace, wsPerThread],
        n * k * Math.ceil(m / 4),
      );
    },
    fill: (out, value, n) => par("fill", [p(out), value, n], n),
    copy: (out, inp, n) => par("copy", [p(out), p(inp), n], n),
    add: (out, a, b, n, nb) => par("add", [p(out), p(a), p(b), n, nb], n),
    mul: (out, a, b, n, nb) => par("mul", [p(out), p(a), p(b), n, nb], n),
    scale: (out, a, s, n) => par("scale", [p(out), p(a), s, n], n),
    axpy: (y, x, alpha, n) => par("axpy", [p(y), p(x), alpha, n], n),
    mulAcc: (y, x, b, n, nb) => par("mulAcc", [p(y), p(x), p(b), n, nb], n),
    scaleBy: (y, s, n) => par("scaleBy", [p(y), p(s), n], n),
    sumLast: (out, inp, r, c, alpha, acc) => par("sumLast", [p(out), p(inp), r, c, alpha, +acc], r * c),
    broadcastLast: (y, x, alpha, r, c) => par("broadcastLast", [p(y), p(x), alpha, r, c], r * c),
    sumLeading: (out, inp, r, c, acc) => par("sumLeading", [p(out), p(inp), r, c, +acc], r * c),
    mulSumLeading: (out, x, a, r, c) => par("mulSumLeading", [p(out), p(x), p(a), r, c], r * c),
    sumSquares: (out, x, n, acc) => ser("sumSquares", p(out), p(x), n, +acc),
    clipScale: (scale, sumsq, maxNorm) => ser("clipScale", p(scale), p(sumsq), maxNorm),
    geluForward: (out, inp, n) => par("geluForward", [p(out), p(inp), n], n),
    geluBackward: (dinp, dout, inp, n) => par("geluBackward", [p(dinp), p(dout), p(inp), n], n),
    reluForward: (out, inp, n) => par("reluForward", [p(out), p(inp), n], n),
    reluBackward: (dinp, dout, inp, n) => par("reluBackward", [p(dinp), p(dout), p(inp), n], n),
    layernormForward: (out, mean, rstd, inp, w, b, n, c, eps) =>
      par("layernormForward", [p(out), p(mean), p(rstd), p(inp), p(w), p(b), n, c, eps], n * c),
    layernormBackward: (dinp, dw, db, dout, mean, rstd, inp, w, n, c) =>
      ser("layernormBackward", p(dinp), p(dw), p(db), p(dout), p(mean), p(rstd), p(inp), p(w), n, c),
    softmaxForward: (out, inp, n, c) => par("softmaxForward", [p(out), p(inp), n, c], n * c),
    softmaxBackward: (dinp, dout, out, n, c) =>
      par("softmaxBackward", [p(dinp), p(dout), p(out), n, c], n * c),
    crossEntropyForward(loss, lse, logits, targets, n, v) {
      par("crossEntropyLse", [p(lse), p(logits), n, v], n * v);
      ser("crossEntropyLoss", p(loss), p(lse), p(logits), p(targets), n, v);
    },
    crossEntropyBackward: (dlogits, dloss, lse, logits, targets, n, v) =>
      par("crossEntropyBackward", [p(dlogits), p(dloss), p(lse), p(logits), p(targets), n, v], n * v),
    embeddingForward: (out, w, ids, n, c) => par("embeddingForward", [p(out), p(w), p(ids), n, c], n * c),
    embeddingBackward: (dw, dout, ids, n, c) =>
      par("embeddingBackward", [p(dw), p(dout), p(ids), n, c], n * c),
    permute(out, inp, d) {
      const [s0, s1, s2, s3] = d.shape;
      const [p0, p1, p2, p3] = d.perm;
      par("permute", [p(out), p(inp), s0, s1, s2, s3, p0, p1, p2, p3, +d.accumulate], s0 * s1 * s2 * s3);
    },
    dropoutForward: (out, inp, n, prob, key, offset) =>
      par("dropoutForward", [p(out), p(inp), n, prob, key | 0, offset | 0], n),
    dropoutBackward: (dinp, dout, n, prob, key, offset) =>
      par("dropoutBackward", [p(dinp), p(dout), n, prob, key | 0, offset | 0], n),
    adamw: (param, grad, m, v, gradScale, n, h) =>
      par("adamw", [
        p(param),
        p(grad),
        p(m),
        p(v),
        p(gradScale),
        n,
        h.lr,
        h.beta1,
        h.beta2,
        h.eps,
        h.weightDecay,
        h.biasCorrection1,
        h.biasCorrection2,
      ], n),
  };

  const view = (dtype: DType, ptr: number, size: number): CpuArray =>
    dtype === "f32" ? new Float32Array(memory.buffer, ptr, size) : new Int32Array(memory.buffer, ptr, size);
  const arr = (s: Storage): CpuArray => s as unknown as CpuArray;
  let disposed = false;
  const hooks: WasmHooks = {
    load,
    run: (name, args, work) => par(name, [...args], work),
    call: (name, ...args) => pool.get(name)(...args) as number,
    address: (s) => (s === null ? 0 : arr(s).byteOffset),
    bytesInUse: () => heap.inUse,
  };

  return {
    name: "wasm",
    threads,
    kernels: kernels as unknown as Kernels<Storage, Storage>,
    wasm: hooks,
    alloc(dtype: DType, size: number): Storage {
      if (disposed) throw new Error("Cannot allocate on a disposed wasm backend");
      const bytes = size * 4;
      const ptr = heap.alloc(bytes, `a tensor of ${size} ${dtype} elements`);
      const a = view(dtype, ptr, size);
      if (bytes > 0) par("fill", [ptr, 0, Math.ceil(bytes / 4)], size);
      return a as unknown as Storage;
    },
    free(storage: Storage): void {
      if (!disposed) heap.free(arr(storage).byteOffset);
    },
    slice(storage: Storage, offset: number, size: number): Storage {
      return arr(storage).subarray(offset, offset + size) as unknown as Storage;
    },
    write(storage: Storage, data: Float32Array | Int32Array): void {
      const a = arr(storage);
      if (data.length > a.length) {
        throw new RangeError(`Cannot write ${data.length} elements into a buffer of ${a.length}`);
      }
      a.set(data);
    },
    read(storage: Storage, dtype: DType, size: number): Promise<Float32Array | Int32Array> {
      return Promise.resolve(this.readSync!(storage, dtype, size));
    },
    readSync(storage: Storage, _dtype: DType, size: number): Float32Array | Int32Array {
      return arr(storage).slice(0, size);
    },
    dispose(): void {
      disposed = true;
      pool.terminate();
    },
    toString(): string {
      return `wasm backend (${threads} threads, ${formatBytes(heap.inUse)} in use, ${
        formatBytes(heap.reserved - RESERVED)
      } reserved)`;
    },
  } as Backend;
}
