/**
 * The `Tensor` type, its factories, and the memory scopes that free
 * intermediate tensors.
 *
 * Tensors are row-major and contiguous, f32 for data and i32 for indices.
 * A view (`reshape`) shares its base tensor's buffer. Memory on the `wasm`
 * backend is not garbage collected by JavaScript: free tensors with
 * {@linkcode Tensor.dispose} or run work inside {@linkcode scope}, which
 * disposes every tensor created inside it except those returned. A
 * `FinalizationRegistry` frees tensors that become unreachable as a safety net.
 *
 * @module
 */

import type { Backend, DType, Storage } from "./backend.ts";
import { defaultBackend } from "./default_backend.ts";
import type { Rng } from "./rng.ts";

/** Options shared by the tensor factories. */
export interface TensorOptions {
  /** Backend that owns the data; the default backend when omitted. */
  backend?: Backend;
  /** Track gradients for this tensor (a leaf, such as a parameter). */
  requiresGrad?: boolean;
}

/** A node of the autograd tape: how a tensor was computed. */
export interface TapeNode {
  /** The caches the op kept for backward (inputs and output aside). */
  readonly saved: readonly Tensor[];
  /** Runs the op's backward for this node. */
  backward(): void;
  /** Drops what the node saved for backward. */
  release(): void;
}

const finalizer = new FinalizationRegistry<{ backend: Backend; storage: Storage }>(
  ({ backend, storage }) => backend.free(storage),
);

const scopes: Set<Tensor>[] = [];

/** Formats a shape the way errors quote it: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Number of elements of a shape; throws on a dimension that is not a non-negative integer. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot use shape ${formatShape(shape)}: dimensions must be non-negative integers`,
      );
    }
    n *= d;
  }
  return n;
}

/**
 * An n-dimensional array on a backend, with optional gradient tracking.
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * const t = tensor([1, 2, 3, 4], [2, 2]);
 * console.log(t.shape, t.dataSync()); // [2, 2] Float32Array [1, 2, 3, 4]
 * ```
 */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** `f32` or `i32`. */
  readonly dtype: DType;
  /** The backend owning the buffer. */
  readonly backend: Backend;
  /** Number of elements. */
  readonly size: number;
  /** The tensor whose buffer this view shares, or null when it owns its buffer. */
  readonly base: Tensor | null;
  /** Whether backward computes a gradient for this tensor. */
  requiresGrad: boolean;
  /** The accumulated gradient (same shape), allocated by the first backward that reaches it. */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor, if it was recorded. */
  node: TapeNode | null = null;
  #storage: Storage | null;

  /** Wraps a backend buffer; use the factories ({@linkcode tensor}, {@linkcode zeros}, …) instead. */
  constructor(
    backend: Backend,
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
    base: Tensor | null = null,
    requiresGrad = false,
  ) {
    this.backend = backend;
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.dtype = dtype;
    this.base = base;
    this.requiresGrad = requiresGrad;
    if (base === null) finalizer.register(this, { backend, storage }, this);
    scopes.at(-1)?.add(this);
  }

  /** The backend buffer; throws once the tensor is disposed. */
  get storage(): Storage {
    if (this.#storage === null || this.base?.disposed) {
      throw new Error(`Cannot use a disposed tensor of shape ${formatShape(this.shape)}`);
    }
    return this.#storage;
  }

  /** Whether {@linkcode Tensor.dispose} ran (on this tensor or its base). */
  get disposed(): boolean {
    return this.#storage === null || (this.base?.disposed ?? false);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Copies the data back to the host. */
  data(): Promise<Float32Array | Int32Array> {
    return this.backend.read(this.storage, this.dtype, this.size);
  }

  /** Copies the data back to the host, then frees the tensor: for results that are read once. */
  async take(): Promise<Float32Array | Int32Array> {
    const data = await this.data();
    this.dispose();
    return data;
  }

  /** Copies the data back synchronously (CPU backends only). */
  dataSync(): Float32Array | Int32Array {
    const read = this.backend.readSync;
    if (!read) {
      throw new Error(
        `Cannot read synchronously from backend "${this.backend.name}": use await tensor.data()`,
      );
    }
    return read.call(this.backend, this.storage, this.dtype, this.size);
  }

  /** The single value of a one-element tensor (CPU backends). */
  item(): number {
    if (this.size !== 1) {
      throw new Error(
        `Cannot take item() of a tensor of shape ${formatShape(this.shape)}: expected one element`,
      );
    }
    return this.dataSync()[0];
  }

  /** Frees the buffer now (views only drop their reference). */
  dispose(): void {
    if (this.#storage === null) return;
    if (this.base === null) {
      finalizer.unregister(this);
      this.backend.free(this.#storage);
    }
    this.#storage = null;
    this.node?.release();
    this.node = null;
    this.grad?.dispose();
    this.grad = null;
  }

  /** Removes the tensor from the enclosing scopes so it outlives them. */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  /** A short description: shape, dtype, backend. */
  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}, ${this.backend.name})`;
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors
 * in its result (a tensor, or an array or object of tensors) and those kept
 * with {@linkcode Tensor.keep}. Gradients of tensors created outside survive.
 *
 * @example
 * ```ts
 * import { scope, tensor, add, mul } from "@metatokens/tensor";
 * const x = tensor([1, 2, 3]);
 * const y = scope(() => add(mul(x, x), x)); // the temporary x·x is freed
 * console.log(y.dataSync()); // Float32Array [2, 6, 12]
 * ```
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keep = new Set<Tensor>();
  collectTensors(result, keep);
  for (const t of keep) {
    // A returned tensor (and the base buffer of a returned view) made in this scope moves to the
    // enclosing one; tensors from outside were never this scope's to free.
    for (let b: Tensor | null = t; b; b = b.base) if (created.delete(b)) scopes.at(-1)?.add(b);
  }
  for (const t of created) t.dispose();
  return result;
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) { for (const v of value) collectTensors(v, into); }
  else if (value !== null && typeof value === "object" && !(value instanceof Promise)) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
}

/** Allocates a zero-filled tensor that no scope tracks (gradients, optimizer state). */
export function untracked(backend: Backend, shape: readonly number[], dtype: DType = "f32"): Tensor {
  scopes.push(new Set());
  try {
    return new Tensor(backend, backend.alloc(dtype, shapeSize(shape)), shape, dtype);
  } finally {
    scopes.pop();
  }
}

/** A new tensor of `shape` filled with zeros. */
export function empty(
  shape: readonly number[],
  dtype: DType = "f32",
  options: TensorOptions = {},
): Tensor {
  const backend = options.backend ?? defaultBackend();
  return new Tensor(
    backend,
    backend.alloc(dtype, shapeSize(shape)),
    shape,
    dtype,
    null,
    options.requiresGrad ?? false,
  );
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { zeros } from "@metatokens/tensor";
 * console.log(zeros([2, 3]).size); // 6
 * ```
 */
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return empty(shape, "f32", options);
}

/**
 * A tensor filled with `value`.
 *
 * @example
 * ```ts
 * import { full } from "@metatokens/tensor";
 * console.log(full([2], 7).dataSync()); // Float32Array [7, 7]
 * ```
 */
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  const t = empty(shape, "f32", options);
  t.backend.kernels.fill(t.storage, value, t.size);
  return t;
}

/**
 * A tensor from host data. Numbers become f32 unless `dtype` is `i32`; the
 * shape defaults to one dimension.
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * const ids = tensor([3, 1, 2], [3], { dtype: "i32" });
 * console.log(ids.dtype); // "i32"
 * ```
 */
export function tensor(
  data: ArrayLike<number>,
  shape: readonly number[] = [data.length],
  options: TensorOptions & { dtype?: DType } = {},
): Tensor {
  const dtype = options.dtype ?? (data instanceof Int32Array ? "i32" : "f32");
  const size = shapeSize(shape);
  if (size !== data.length) {
    throw new RangeError(
      `Cannot make a tensor of shape ${formatShape(shape)} (${size} elements) from ${data.length} values`,
    );
  }
  const t = empty(shape, dtype, options);
  if (dtype === "i32") {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isInteger(data[i])) {
        throw new TypeError(`Cannot store ${data[i]} at index ${i} in an i32 tensor: expected an integer`);
      }
    }
  }
  t.backend.write(
    t.storage,
    dtype === "f32" ? Float32Array.from(data) : Int32Array.from(data),
  );
  return t;
}

/**
 * A tensor of N(0, std²) draws from `rng`.
 *
 * @example
 * ```ts
 * import { Rng, randn } from "@metatokens/tensor";
 * const w = randn([4, 4], new Rng(0), 0.02);
 * console.log(w.shape); // [4, 4]
 * ```
 */
export function randn(
  shape: readonly number[],
  rng: Rng,
  std = 1,
  options: TensorOptions = {},
): Tensor {
  const host = rng.fillNormal(new Float32Array(shapeSize(shape)), 0, std);
  const t = empty(shape, "f32", options);
  t.backend.write(t.storage, host);
  return t;
}
