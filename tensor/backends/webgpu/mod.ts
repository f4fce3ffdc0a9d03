/**
 * `@metatokens/tensor/webgpu`: the `webgpu` backend and the WGSL helpers
 * packages use to write their own kernels against `backend.gpu`.
 *
 * @example
 * ```ts
 * import { webgpuAdapter, workgroupGrid } from "@metatokens/tensor/webgpu";
 * const { adapter, reason } = await webgpuAdapter();
 * console.log(adapter ? reason : `no adapter: ${reason}`, workgroupGrid(70000)); // … [35000, 2, 1]
 * ```
 *
 * @module
 */

export {
  webgpuAdapter,
  type WebGpuAdapterProbe,
  type WebGpuBackend,
  webgpuBackend,
  type WebGpuBackendOptions,
} from "./backend.ts";
export {
  declareBindings,
  gridFor,
  MAX_WORKGROUPS_PER_DIM,
  WGSL_ERF,
  WGSL_LINEAR_WORKGROUP,
  WGSL_RNG,
  wgslBlockReduce,
  type WgslElement,
  workgroupGrid,
} from "./_wgsl.ts";
