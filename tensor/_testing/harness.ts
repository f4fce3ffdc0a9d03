/**
 * Test helpers: deterministic inputs on any backend, tolerance checks, and
 * the list of backends every suite runs against.
 *
 * @module
 */

import type { Backend, Storage } from "../backend.ts";
import { refBackend } from "../backends/ref/backend.ts";
import { wasmBackend } from "../backends/wasm/backend.ts";
import { webgpuAdapter, type WebGpuBackend, webgpuBackend } from "../backends/webgpu/backend.ts";
import type { Kernels } from "../kernels.ts";
import { Rng } from "../rng.ts";

/** Sizes every parity test covers: ones, odd, just under powers of two. */
export const ODD_SIZES: readonly number[] = [1, 3, 17, 63, 127, 255];

/** Allocates deterministic inputs on one backend and reads results back. */
export class Harness {
  readonly k: Kernels<Storage, Storage>;
  readonly #rng: Rng;
  readonly #allocated: Storage[] = [];

  constructor(readonly backend: Backend, seed: number) {
    this.k = backend.kernels;
    this.#rng = new Rng(seed);
  }

  /** n floats uniform in [lo, hi). */
  uniform(n: number, lo = -1, hi = 1): Storage {
    const host = new Float32Array(n);
    for (let i = 0; i < n; i++) host[i] = lo + (hi - lo) * this.#rng.uniform();
    return this.from(host);
  }

  /** n standard normal floats times `std`. */
  normal(n: number, std = 1): Storage {
    return this.from(this.#rng.fillNormal(new Float32Array(n), 0, std));
  }

  /** n integers in [0, limit), with about `ignore` of them set to −1. */
  ints(n: number, limit: number, ignore = 0): Storage {
    const host = new Int32Array(n);
    for (let i = 0; i < n; i++) host[i] = this.#rng.uniform() < ignore ? -1 : this.#rng.int(limit);
    const s = this.#alloc("i32", n);
    this.backend.write(s, host);
    return s;
  }

  /** A buffer holding `host`. */
  from(host: Float32Array): Storage {
    const s = this.#alloc("f32", host.length);
    this.backend.write(s, host);
    return s;
  }

  /** n zeros. */
  zeros(n: number): Storage {
    return this.#alloc("f32", n);
  }

  /** Reads n floats back (started now: later kernels do not change the result). */
  read(s: Storage, n: number): Promise<Float32Array> {
    return this.backend.read(s, "f32", n) as Promise<Float32Array>;
  }

  /** Frees every buffer this harness allocated. */
  free(): void {
    for (const s of this.#allocated.splice(0)) this.backend.free(s);
  }

  #alloc(dtype: "f32" | "i32", n: number): Storage {
    const s = this.backend.alloc(dtype, n);
    this.#allocated.push(s);
    return s;
  }
}

/** Tolerance of a comparison: |x − ref| ≤ atol + rtol·|ref|. */
export interface Tolerance {
  /** Absolute part. */
  atol: number;
  /** Relative part. */
  rtol: number;
}

/** Throws with the worst element when `actual` and `expected` differ beyond `tol`. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what: string,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} ≠ expected ${expected.length}`);
  }
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const excess = err - (tol.atol + tol.rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(atol ${tol.atol}, rtol ${tol.rtol})`,
    );
  }
}

/** Throws unless the arrays are bitwise equal. */
export function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ia = new Int32Array(a.buffer, a.byteOffset, a.length);
  const ib = new Int32Array(b.buffer, b.byteOffset, b.length);
  if (ia.length !== ib.length) throw new Error(`${what}: length ${ia.length} ≠ ${ib.length}`);
  for (let i = 0; i < ia.length; i++) {
    if (ia[i] !== ib[i]) throw new Error(`${what}: element ${i} is ${a[i]} vs ${b[i]}`);
  }
}

let shared: { ref: Backend; wasm1: Backend; wasm3: Backend } | null = null;

/**
 * The backends the suites run on: `ref`, `wasm` on 1 thread, and `wasm` on
 * 3 threads with every call split (threshold 1), so the thread splits of
 * odd sizes are exercised even on tiny inputs.
 */
export function testBackends(): { ref: Backend; wasm1: Backend; wasm3: Backend } {
  shared ??= {
    ref: refBackend(),
    wasm1: wasmBackend({ threads: 1 }),
    wasm3: wasmBackend({ threads: 3, parallelThreshold: 1 }),
  };
  return shared;
}

let gpu: Promise<WebGpuBackend | null> | null = null;

/**
 * The shared `webgpu` test backend, or null (after printing one line saying
 * why) when this runtime has no WebGPU adapter: suites then register their
 * webgpu tests with `ignore: true`, so the skip shows in the summary.
 */
export function webgpuTestBackend(): Promise<WebGpuBackend | null> {
  gpu ??= (async () => {
    const probe = await webgpuAdapter();
    if (!probe.adapter) {
      console.log(`webgpu: no adapter (${probe.reason}) — skipping webgpu suites`);
      return null;
    }
    return await webgpuBackend({ adapter: probe.adapter });
  })();
  return gpu;
}

/** True when every dimension of a case is at most `max` (llvmpipe runs WebGPU on the CPU, slowly). */
export function smallDims(dims: readonly number[], max = 256): boolean {
  return dims.every((d) => d <= max);
}
