/**
 * The command stream of the `webgpu` backend: buffers (through the pool),
 * pipelines cached by key, dispatches recorded into one open compute pass and
 * submitted in batches, uniforms packed into one arena per batch, reads
 * through a staging buffer, and the device's error state.
 *
 * Ordering rules:
 * - dispatches, clears and copies are recorded in call order into one command
 *   encoder, so the GPU sees them in call order;
 * - `queue.writeBuffer` runs at queue time, so {@linkcode Runtime.write} first
 *   submits everything recorded before it (which also keeps a freed and
 *   re-allocated buffer from being overwritten before earlier readers ran);
 * - the uniform arena is written with `writeBuffer` right before the batch
 *   that reads it is submitted, and queue order keeps the next batch's write
 *   behind it.
 *
 * @module
 */

import type { GpuKernelCall, Storage } from "../../backend.ts";
import { BufferPool, GpuStorage } from "./_pool.ts";
import { MAX_WORKGROUPS_PER_DIM } from "./_wgsl.ts";

/** Dispatches per submitted batch. */
const BATCH = 512;
/** Uniform words every dispatch binds, at least (the largest params struct has 11). */
const MIN_UNIFORM_WORDS = 16;
/** Bytes of the uniform arena (one window per dispatch). */
const ARENA_BYTES = 1 << 20;

const gpu = (s: Storage): GpuStorage => s as unknown as GpuStorage;

/** Runs dispatches, reads and writes on one device. */
export class Runtime {
  /** Free GPU buffers by size class. */
  readonly pool: BufferPool;
  /** Largest buffer `alloc` may make, in bytes. */
  readonly maxBytes: number;
  /** The device limit that sets {@linkcode Runtime.maxBytes} (quoted by the RangeError). */
  readonly maxBytesLimit: string;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #layouts = new Map<number, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();
  readonly #arena: GPUBuffer;
  readonly #arenaHost = new Uint32Array(ARENA_BYTES / 4);
  readonly #align: number;
  readonly #dummy: GPUBuffer;
  #arenaCursor = 0;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #recorded = 0;
  #lost: string | null = null;
  #error: string | null = null;
  #disposed = false;
  readonly #lostPromise: Promise<never>;

  constructor(readonly device: GPUDevice) {
    const limits = device.limits;
    const binding = limits.maxStorageBufferBindingSize, buffer = limits.maxBufferSize;
    this.maxBytes = Math.min(binding, buffer);
    this.maxBytesLimit = binding <= buffer ? "maxStorageBufferBindingSize" : "maxBufferSize";
    this.pool = new BufferPool(device, this.maxBytes);
    this.#align = Math.max(16, limits.minUniformBufferOffsetAlignment);
    this.#arena = device.createBuffer({
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#dummy = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    this.#lostPromise = device.lost.then((info) => {
      this.#lost = `${info.message || "no message"} (reason: ${info.reason ?? "unknown"})`;
      this.#encoder = null;
      this.#pass = null;
      throw new Error(`WebGPU device lost: ${this.#lost}`);
    });
    this.#lostPromise.catch(() => {}); // observed by check() and races; never unhandled
    device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
      this.#error ??= `${event.error.constructor.name}: ${event.error.message}`;
    };
  }

  /** Throws when the device is lost, an uncaptured error was reported, or the backend is disposed. */
  check(): void {
    if (this.#disposed) throw new Error("Cannot use a disposed webgpu backend");
    if (this.#lost !== null) throw new Error(`WebGPU device lost: ${this.#lost}`);
    if (this.#error !== null) {
      const error = this.#error;
      this.#error = null;
      throw new Error(`WebGPU error: ${error}`);
    }
  }

  /**
   * An allocation of `size` 4-byte elements, zero-filled unless `zero` is false
   * (scratch buffers that kernels fully write before reading).
   */
  alloc(size: number, what: string, zero = true): GpuStorage {
    this.check();
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`Cannot allocate ${size} elements: expected a non-negative integer`);
    }
    const bytes = size * 4;
    if (bytes > this.maxBytes) {
      throw new RangeError(
        `Cannot allocate ${bytes} bytes for ${what} on webgpu: the device's ${this.maxBytesLimit} is ${this.maxBytes} bytes`,
      );
    }
    const { buffer, reused } = this.pool.take(bytes);
    if (reused && zero) {
      this.#closePass();
      this.#encoderNow().clearBuffer(buffer);
    }
    return new GpuStorage(buffer, 0, size, null);
  }

  /** Returns an allocation to the pool (views and second frees do nothing). */
  free(s: GpuStorage): void {
    if (s.root !== null || s.freed || this.#disposed) return;
    s.freed = true;
    this.pool.give(s.buffer);
  }

  /** A scratch buffer for a kernel's intermediate results (not cleared: kernels write it first). */
  scratch(size: number): Storage {
    return this.alloc(size, "a kernel's scratch buffer", false) as unknown as Storage;
  }

  /** Returns a scratch buffer (dispatches recorded before it still read it: the pool clears in stream order). */
  release(s: Storage): void {
    this.free(gpu(s));
  }

  /** Element offset of a view inside its buffer. */
  offset(s: Storage | null): number {
    return s === null ? 0 : gpu(s).offset;
  }

  /** A compute pipeline for `call.key`, compiled on first use. */
  pipeline(call: GpuKernelCall): GPUComputePipeline {
    let p = this.#pipelines.get(call.key);
    if (!p) {
      const code = call.wgsl();
      const module = this.device.createShaderModule({ code, label: call.key });
      p = this.device.createComputePipeline({
        label: call.key,
        layout: this.#layout(call.buffers.length).pipeline,
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(call.key, p);
    }
    return p;
  }

  /** Records one dispatch into the open compute pass. */
  dispatch(call: GpuKernelCall): void {
    this.check();
    const [x, y, z] = call.workgroups;
    for (const w of call.workgroups) {
      if (!Number.isInteger(w) || w < 0 || w > MAX_WORKGROUPS_PER_DIM) {
        throw new RangeError(
          `Cannot dispatch ${call.key} with workgroups [${call.workgroups.join(", ")}]: ` +
            `each count must be an integer in [0, ${MAX_WORKGROUPS_PER_DIM}] (split with workgroupGrid)`,
        );
      }
    }
    for (const b of call.buffers) {
      if (b !== null && (gpu(b).freed || gpu(b).root?.freed)) {
        throw new Error(`Cannot dispatch ${call.key}: one of its buffers was already freed`);
      }
    }
    if (x * y * z === 0) return;
    const pipeline = this.pipeline(call);
    // A fixed 64-byte uniform window at least: Deno 2.9's wgpu keeps the previous pipeline's minimum
    // binding size when two pipelines share a bind-group layout, so a smaller struct after a larger
    // one fails validation ("bound with size 32 where the shader expects 36").
    const words = Math.max(MIN_UNIFORM_WORDS, Math.ceil(call.params.length / 4) * 4);
    if (this.#arenaCursor + words * 4 > ARENA_BYTES) this.flush();
    const at = this.#arenaCursor;
    const host = this.#arenaHost;
    for (let i = 0; i < words; i++) host[at / 4 + i] = i < call.params.length ? call.params[i] >>> 0 : 0;
    this.#arenaCursor = Math.ceil((at + words * 4) / this.#align) * this.#align;
    const n = call.buffers.length;
    const entries: GPUBindGroupEntry[] = call.buffers.map((b, i) => ({
      binding: i,
      resource: { buffer: b === null ? this.#dummy : gpu(b).buffer },
    }));
    entries.push({ binding: n, resource: { buffer: this.#arena, offset: 0, size: words * 4 } });
    const group = this.device.createBindGroup({ layout: this.#layout(n).group, entries });
    const pass = this.#passNow();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group, [at]);
    pass.dispatchWorkgroups(x, y, z);
    if (++this.#recorded >= BATCH) this.flush();
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.#closePass();
    if (this.#encoder === null) return;
    if (this.#lost !== null) {
      this.#encoder = null;
      return;
    }
    if (this.#arenaCursor > 0) {
      this.device.queue.writeBuffer(this.#arena, 0, this.#arenaHost, 0, this.#arenaCursor / 4);
    }
    this.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    this.#arenaCursor = 0;
    this.#recorded = 0;
  }

  /** Copies host data into a storage at queue time (after everything recorded before). */
  write(s: GpuStorage, data: Float32Array | Int32Array): void {
    this.check();
    if (data.length > s.size) {
      throw new RangeError(`Cannot write ${data.length} elements into a buffer of ${s.size}`);
    }
    if (s.freed || s.root?.freed) throw new Error("Cannot write into a freed webgpu buffer");
    if (data.length === 0) return;
    this.flush();
    this.device.queue.writeBuffer(s.buffer, s.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copies `size` elements of a storage back to the host. */
  async read(s: GpuStorage, dtype: "f32" | "i32", size: number): Promise<Float32Array | Int32Array> {
    this.check();
    if (size > s.size) throw new RangeError(`Cannot read ${size} elements from a buffer of ${s.size}`);
    if (s.freed || s.root?.freed) throw new Error("Cannot read from a freed webgpu buffer");
    if (size === 0) return dtype === "f32" ? new Float32Array(0) : new Int32Array(0);
    const bytes = size * 4;
    const staging = this.device.createBuffer({
      size: Math.ceil(bytes / 16) * 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      this.#closePass();
      this.#encoderNow().copyBufferToBuffer(s.buffer, s.offset * 4, staging, 0, bytes);
      this.flush();
      this.device.queue.submit([]); // writeBuffer → mapAsync needs a submit in between on some drivers
      await Promise.race([staging.mapAsync(GPUMapMode.READ, 0, bytes), this.#lostPromise]);
      const copy = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      this.check();
      return dtype === "f32" ? new Float32Array(copy) : new Int32Array(copy);
    } catch (e) {
      this.check();
      throw e;
    } finally {
      staging.destroy();
    }
  }

  /** Resolves once every submitted dispatch has run. */
  async sync(): Promise<void> {
    this.check();
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.#lostPromise]);
    this.check();
  }

  /** Frees the pooled buffers (after submitting work that may still use them). */
  trim(): void {
    this.flush();
    this.pool.trim();
  }

  /** Destroys the buffers and the device. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#encoder = null;
    this.#pass = null;
    this.pool.destroy();
    this.#arena.destroy();
    this.#dummy.destroy();
    this.device.destroy();
  }

  #layout(n: number): { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    let l = this.#layouts.get(n);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < n; i++) {
        entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } });
      }
      entries.push({
        binding: n,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true },
      });
      const group = this.device.createBindGroupLayout({ entries });
      l = { group, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group] }) };
      this.#layouts.set(n, l);
    }
    return l;
  }

  #encoderNow(): GPUCommandEncoder {
    return this.#encoder ??= this.device.createCommandEncoder();
  }

  #passNow(): GPUComputePassEncoder {
    return this.#pass ??= this.#encoderNow().beginComputePass();
  }

  #closePass(): void {
    if (this.#pass !== null) {
      this.#pass.end();
      this.#pass = null;
    }
  }
}
