/**
 * The `webgpu` backend: WGSL kernels built by small TypeScript functions,
 * pipelines cached by key, GPU buffers pooled by size class, dispatches
 * recorded into one command encoder and submitted in batches.
 *
 * Nothing is read back inside a kernel: reductions that feed other kernels
 * (gradient norm, clip scale, loss) stay in one-element GPU buffers. Reading a
 * tensor is asynchronous (`await t.data()`); there is no `readSync`.
 *
 * @module
 */

import type { Backend, DType, GpuHooks, Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { GpuStorage } from "./_pool.ts";
import { Runtime } from "./_runtime.ts";
import { activationKernels } from "./activation.ts";
import { adamwKernels } from "./adamw.ts";
import { elementwiseKernels } from "./elementwise.ts";
import { embeddingKernels } from "./embedding.ts";
import { gemmKernels } from "./gemm.ts";
import { int8Kernels } from "./int8.ts";
import { lossKernels } from "./loss.ts";
import { normKernels } from "./norm.ts";
import { permuteKernels } from "./permute.ts";
import { reduceKernels } from "./reduce.ts";

/** Options of {@linkcode webgpuBackend}. */
export interface WebGpuBackendOptions {
  /** The adapter to use; default: the one {@linkcode webgpuAdapter} finds. */
  adapter?: GPUAdapter;
  /** Accept a software (fallback) adapter such as llvmpipe (default true). */
  allowFallback?: boolean;
  /** `powerPreference` passed to `requestAdapter` (default `high-performance`). */
  powerPreference?: GPUPowerPreference;
}

/** What {@linkcode webgpuAdapter} found. */
export interface WebGpuAdapterProbe {
  /** The adapter, or null when there is none. */
  adapter: GPUAdapter | null;
  /** Why there is no adapter (empty when there is one); otherwise its description. */
  reason: string;
  /** True for a software adapter (llvmpipe, SwiftShader, WARP): correct but slow. */
  fallback: boolean;
}

/** A `webgpu` {@linkcode Backend} with a way to wait for the GPU. */
export interface WebGpuBackend extends Backend {
  /** The WebGPU hooks (always present on this backend). */
  readonly gpu: GpuHooks;
  /** Resolves once every dispatch submitted so far has finished on the GPU. */
  sync(): Promise<void>;
  /** Releases pooled (free) GPU buffers back to the driver. */
  trim(): void;
}

/**
 * Looks for a WebGPU adapter, for `--device auto` to decide between `webgpu`
 * and the CPU backends. Never throws.
 *
 * @example
 * ```ts
 * import { webgpuAdapter } from "@metatokens/tensor";
 * const { adapter, reason, fallback } = await webgpuAdapter();
 * console.log(adapter ? `webgpu: ${reason}${fallback ? " (software)" : ""}` : `no webgpu: ${reason}`);
 * ```
 */
export async function webgpuAdapter(
  options: { powerPreference?: GPUPowerPreference } = {},
): Promise<WebGpuAdapterProbe> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    return { adapter: null, reason: "navigator.gpu is not available in this runtime", fallback: false };
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? "high-performance" });
  } catch (e) {
    return {
      adapter: null,
      reason: `navigator.gpu.requestAdapter() failed: ${(e as Error).message}`,
      fallback: false,
    };
  }
  if (!adapter) {
    return { adapter: null, reason: "navigator.gpu.requestAdapter() returned null", fallback: false };
  }
  const info = adapter.info as GPUAdapterInfo | undefined;
  const fallback = isFallback(adapter);
  const description = [info?.description, info?.vendor, info?.architecture].filter((s) => s).join(", ");
  return { adapter, reason: description || "an unnamed adapter", fallback };
}

/** Whether an adapter is a software one (`info.isFallbackAdapter`, or the older adapter attribute). */
function isFallback(adapter: GPUAdapter): boolean {
  const info = adapter.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
  return Boolean(info?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
}

/** Limits requested at the adapter's maximum (the defaults are far below a real GPU's). */
const MAX_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxStorageBuffersPerShaderStage",
] as const;

/**
 * Creates a `webgpu` backend on its own device. Rejects with a clear error
 * when there is no adapter (or only a software one and `allowFallback` is
 * false).
 *
 * @example
 * ```ts
 * import { matmul, tensor, webgpuBackend } from "@metatokens/tensor";
 * const backend = await webgpuBackend().catch(() => null);
 * if (backend) {
 *   const a = tensor([1, 2, 3, 4], [2, 2], { backend });
 *   console.log(await matmul(a, a).data()); // Float32Array [7, 10, 15, 22]
 *   backend.dispose();
 * }
 * ```
 */
export async function webgpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  let adapter = options.adapter ?? null;
  let description = "the given adapter";
  if (!adapter) {
    const probe = await webgpuAdapter({ powerPreference: options.powerPreference });
    if (!probe.adapter) throw new Error(`Cannot create the webgpu backend: ${probe.reason}`);
    adapter = probe.adapter;
    description = probe.reason;
  }
  const fallback = isFallback(adapter);
  if (fallback && options.allowFallback === false) {
    throw new Error(
      `Cannot create the webgpu backend: the adapter is a software one (${description}) and allowFallback is false`,
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of MAX_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === "number") requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({ requiredLimits });
  return assemble(new Runtime(device), fallback);
}

const gpu = (s: Storage): GpuStorage => s as unknown as GpuStorage;
const store = (s: GpuStorage): Storage => s as unknown as Storage;

function assemble(rt: Runtime, fallback: boolean): WebGpuBackend {
  const kernels: Kernels<Storage, Storage> = {
    ...gemmKernels(rt),
    ...int8Kernels(rt),
    ...elementwiseKernels(rt),
    ...reduceKernels(rt),
    ...activationKernels(rt),
    ...normKernels(rt),
    ...lossKernels(rt),
    ...embeddingKernels(rt),
    ...permuteKernels(rt),
    ...adamwKernels(rt),
  };
  const hooks: GpuHooks = {
    device: rt.device,
    dispatch: (call) => rt.dispatch(call),
    offset: (s) => rt.offset(s),
  };
  return {
    name: "webgpu",
    threads: 1,
    kernels,
    gpu: hooks,
    alloc(dtype: DType, size: number): Storage {
      return store(rt.alloc(size, `a tensor of ${size} ${dtype} elements`));
    },
    free(storage: Storage): void {
      rt.free(gpu(storage));
    },
    slice(storage: Storage, offset: number, size: number): Storage {
      const s = gpu(storage);
      if (
        !Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0 ||
        offset + size > s.size
      ) {
        throw new RangeError(
          `Cannot slice ${size} elements at offset ${offset} from a buffer of ${s.size} elements`,
        );
      }
      return store(new GpuStorage(s.buffer, s.offset + offset, size, s.root ?? s));
    },
    write(storage: Storage, data: Float32Array | Int32Array): void {
      rt.write(gpu(storage), data);
    },
    read(storage: Storage, dtype: DType, size: number): Promise<Float32Array | Int32Array> {
      return rt.read(gpu(storage), dtype, size);
    },
    sync: () => rt.sync(),
    trim: () => rt.trim(),
    dispose(): void {
      rt.dispose();
    },
    toString(): string {
      const { liveBytes, pooledBytes } = rt.pool.stats;
      return `webgpu backend (${
        fallback ? "software adapter, " : ""
      }${liveBytes} bytes live, ${pooledBytes} pooled)`;
    },
  } as WebGpuBackend;
}
