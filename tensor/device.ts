/**
 * `--device cpu|webgpu|auto`: the backend a command runs on.
 *
 * - `cpu`: the `wasm` backend (threads from the option, `METATOKENS_THREADS`
 *   or every core), or `ref` where WebAssembly SIMD is missing;
 * - `webgpu`: the `webgpu` backend on whatever adapter there is (a software
 *   one included: the user asked for it), or a clear error without one;
 * - `auto`: `webgpu` only on a hardware (non-fallback) adapter, else `cpu`.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { refBackend } from "./backends/ref/backend.ts";
import { defaultThreads, wasmBackend, wasmSupport } from "./backends/wasm/backend.ts";
import { webgpuAdapter, webgpuBackend } from "./backends/webgpu/backend.ts";

/** The devices a command accepts. */
export const DEVICES: readonly string[] = ["cpu", "webgpu", "auto"];

/** What {@linkcode createBackend} chose, and why. */
export interface DeviceChoice {
  /** The backend, owned by the caller (dispose it when done). */
  backend: Backend;
  /** One line for the log: the backend and the adapter or thread count. */
  description: string;
}

/**
 * Creates the backend for `--device`.
 *
 * @example
 * ```ts
 * import { createBackend } from "@metatokens/tensor";
 * const { backend, description } = await createBackend("cpu", { threads: 1 });
 * console.log(backend.name, description); // "wasm" "wasm, 1 thread"
 * backend.dispose();
 * ```
 */
export async function createBackend(
  device: string,
  options: { threads?: number } = {},
): Promise<DeviceChoice> {
  if (!DEVICES.includes(device)) {
    throw new RangeError(
      `Cannot use --device ${JSON.stringify(device)}: expected one of ${DEVICES.join(", ")}`,
    );
  }
  if (device !== "cpu") {
    const probe = await webgpuAdapter();
    if (device === "webgpu" && !probe.adapter) {
      throw new Error(`Cannot use --device webgpu: ${probe.reason} (use --device cpu, or auto)`);
    }
    if (probe.adapter && (device === "webgpu" || !probe.fallback)) {
      const backend = await webgpuBackend({ adapter: probe.adapter });
      return {
        backend,
        description: `webgpu on ${probe.reason}${probe.fallback ? " (a software adapter)" : ""}`,
      };
    }
  }
  const threads = options.threads ?? defaultThreads();
  const support = wasmSupport();
  if (!support.simd) return { backend: refBackend(), description: `ref (${support.reason})` };
  return {
    backend: wasmBackend({ threads }),
    description: `wasm, ${threads} thread${threads === 1 ? "" : "s"}`,
  };
}
