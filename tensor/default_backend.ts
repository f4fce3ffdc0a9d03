/**
 * The process-wide default backend.
 *
 * Until {@linkcode setDefaultBackend} is called, the first use creates a
 * `wasm` backend (threads from `METATOKENS_THREADS`, else every core), or the
 * `ref` backend with a warning where WebAssembly SIMD is missing.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { refBackend } from "./backends/ref/backend.ts";
import { wasmBackend, wasmSupport } from "./backends/wasm/backend.ts";

let current: Backend | null = null;

/**
 * The default backend, created on first use.
 *
 * @example
 * ```ts
 * import { defaultBackend } from "@metatokens/tensor";
 * console.log(["wasm", "ref"].includes(defaultBackend().name)); // true
 * ```
 */
export function defaultBackend(): Backend {
  if (current === null) {
    const support = wasmSupport();
    if (support.simd) {
      current = wasmBackend();
    } else {
      console.warn(`metatokens: ${support.reason}; using the ref backend`);
      current = refBackend();
    }
  }
  return current;
}

/**
 * Makes `backend` the default for tensors created without an explicit backend.
 * Returns the previous default (null if none was created yet).
 *
 * @example
 * ```ts
 * import { refBackend, setDefaultBackend, zeros } from "@metatokens/tensor";
 * const previous = setDefaultBackend(refBackend());
 * console.log(zeros([1]).backend.name); // "ref"
 * if (previous) setDefaultBackend(previous);
 * ```
 */
export function setDefaultBackend(backend: Backend): Backend | null {
  const previous = current;
  current = backend;
  return previous;
}
