/**
 * `@metatokens/tensor`: f32 tensors with reverse-mode autograd, the ops a GPT
 * needs, AdamW, and interchangeable backends — `ref` (plain TypeScript, the
 * test oracle), `wasm` (hand-written WebAssembly SIMD on a shared memory,
 * split across worker threads) and `webgpu` (WGSL compute kernels; read with
 * `await t.data()`, see {@linkcode webgpuBackend}).
 *
 * @example
 * ```ts
 * import { AdamW, backward, crossEntropy, matmul, Rng, randn, scope, tensor } from "@metatokens/tensor";
 *
 * const rng = new Rng(0);
 * const w = randn([4, 3], rng, 0.02, { requiresGrad: true }); // (V, C) as nn.Linear
 * const opt = new AdamW([w], { lr: 1e-2 });
 * const x = tensor([1, 0, 0, 0, 1, 0], [2, 3]);
 * const y = tensor([2, 3], [2], { dtype: "i32" });
 * const loss = scope(() => {
 *   const l = crossEntropy(matmul(x, w, { transB: true }), y);
 *   backward(l);
 *   return l;
 * });
 * opt.step();
 * opt.zeroGrad();
 * console.log(loss.item()); // ≈ log 4
 * ```
 *
 * @module
 */

export * from "./autograd.ts";
export * from "./backend.ts";
export * from "./default_backend.ts";
export * from "./device.ts";
export * from "./kernels.ts";
export * from "./rng.ts";
export * from "./tensor.ts";
export { refBackend } from "./backends/ref/backend.ts";
export { refKernels } from "./backends/ref/kernels.ts";
export {
  defaultThreads,
  parseThreads,
  wasmBackend,
  type WasmBackendOptions,
  type WasmSupport,
  wasmSupport,
} from "./backends/wasm/backend.ts";
export {
  webgpuAdapter,
  type WebGpuAdapterProbe,
  type WebGpuBackend,
  webgpuBackend,
  type WebGpuBackendOptions,
} from "./backends/webgpu/backend.ts";
export * from "./ops/add.ts";
export * from "./ops/cross_entropy.ts";
export * from "./ops/dropout.ts";
export * from "./ops/embedding.ts";
export * from "./ops/gelu.ts";
export * from "./ops/int8.ts";
export * from "./ops/layernorm.ts";
export * from "./ops/matmul.ts";
export * from "./ops/mul.ts";
export * from "./ops/permute.ts";
export * from "./ops/registry.ts";
export * from "./ops/relu.ts";
export * from "./ops/reshape.ts";
export * from "./ops/scale.ts";
export * from "./ops/softmax.ts";
export * from "./ops/sum.ts";
export * from "./optim/adamw.ts";
export * from "./optim/adamw_rule.ts";
export * from "./optim/clip.ts";
