/**
 * Which attention kernels run on a backend: one table per backend kind
 * (`ref`, `wasm`, `webgpu`), declared as a typed `@metatokens/tensor` kernel
 * extension so that a backend kind without attention kernels does not
 * compile. Each backend's table is built on its first attention call (the
 * `wasm` modules are loaded onto the backend then); the contract
 * (`kernels.ts`) and the backends import nothing from here, so the module
 * graph has no circle.
 *
 * @module
 */

import { type Backend, defineKernelExtension, type KernelExtension, type Storage } from "@metatokens/tensor";
import type { AttentionKernels } from "./kernels.ts";
import { refAttentionKernels } from "./backends/ref/kernels.ts";
import { wasmAttentionKernels } from "./backends/wasm/kernels.ts";
import { webgpuAttentionKernels } from "./backends/webgpu/attention.ts";

/** The attention kernel extension: `attentionExtension.of(backend)` is the backend's table. */
export const attentionExtension: KernelExtension<AttentionKernels<Storage, Storage>> = defineKernelExtension(
  "attention",
  {
    // The ref backend's Storage is a Float32Array or Int32Array, exactly what the ref table takes.
    ref: () => refAttentionKernels as unknown as AttentionKernels<Storage, Storage>,
    wasm: wasmAttentionKernels,
    webgpu: (backend) => webgpuAttentionKernels(backend),
  },
);

/**
 * The attention kernels of `backend`, built on first use (`ref` gets the
 * TypeScript loops, `wasm` loads its WebAssembly modules, `webgpu` compiles
 * its WGSL on demand).
 *
 * @example
 * ```ts
 * import { refBackend } from "@metatokens/tensor";
 * import { attentionKernels } from "@metatokens/attention";
 * console.log(typeof attentionKernels(refBackend()).attentionForward); // "function"
 * ```
 */
export function attentionKernels(backend: Backend): AttentionKernels<Storage, Storage> {
  return attentionExtension.of(backend);
}
