/**
 * Int8 weight-only linear layers for inference: a weight (N, K) in the
 * `nn.Linear` layout is quantized once per output row (symmetric int8,
 * scale = max |w[r, :]| / 127), and each product quantizes its activation
 * rows on the fly (7 bits, per-row absmax scale), multiplies in exact integer
 * arithmetic and rescales in f32. The weights read per product shrink 4×,
 * which is what decoding is bound by. Forward only: there is no gradient
 * through a quantized weight.
 *
 * Kernels: `quantizeInt8` and `linearInt8` of the backend's table (the `ref`
 * oracle states the exact arithmetic; `wasm` uses the relaxed i8 dot where
 * the engine has it, `webgpu` WGSL).
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { int8Words } from "../kernels.ts";
import { empty, formatShape, type Tensor, untracked } from "../tensor.ts";
import { assertF32 } from "./_check.ts";

/**
 * An (N, K) weight quantized to int8 per output row, on the weight's backend.
 * It owns its buffers (not tracked by any scope): call
 * {@linkcode QuantizedLinear.dispose} when done.
 */
export class QuantizedLinear {
  /** Output features N (rows of the weight). */
  readonly outFeatures: number;
  /** Input features K (columns of the weight). */
  readonly inFeatures: number;
  /** The packed int8 rows and row sums, i32 [int8Words(N, K)] (layout: `int8Words`). */
  readonly q: Tensor;
  /** The per-row scales, f32 [N]: w[r, k] ≈ scales[r] · q[r, k]. */
  readonly scales: Tensor;

  /** Wraps quantized buffers; use {@linkcode quantizeLinear} instead. */
  constructor(q: Tensor, scales: Tensor, outFeatures: number, inFeatures: number) {
    this.q = q;
    this.scales = scales;
    this.outFeatures = outFeatures;
    this.inFeatures = inFeatures;
  }

  /** Bytes the quantized weight occupies (packed rows, row sums and scales). */
  get bytes(): number {
    return 4 * (this.q.size + this.scales.size);
  }

  /** Whether {@linkcode QuantizedLinear.dispose} ran. */
  get disposed(): boolean {
    return this.q.disposed;
  }

  /** Frees the buffers now. */
  dispose(): void {
    this.q.dispose();
    this.scales.dispose();
  }
}

/**
 * Quantizes a weight (N, K) in the `nn.Linear` layout to int8, one scale per
 * output row. The weight itself is left as it is.
 *
 * @param weight f32 tensor of shape [N, K].
 * @returns The quantized weight on the same backend; dispose it when done.
 *
 * @example
 * ```ts
 * import { linearInt8, quantizeLinear, tensor } from "@metatokens/tensor";
 * const w = tensor([1, 0.5, -1, 2, 0, 0.25], [2, 3]); // (out 2, in 3)
 * const qw = quantizeLinear(w);
 * const y = linearInt8(tensor([1, 2, 3], [1, 3]), qw);
 * console.log(Array.from(y.dataSync(), (v) => v.toFixed(1))); // ["-1.0", "2.8"] (f32: −1, 2.75)
 * qw.dispose();
 * ```
 */
export function quantizeLinear(weight: Tensor): QuantizedLinear {
  assertF32("quantize", weight);
  if (weight.rank !== 2) {
    throw new RangeError(
      `Cannot quantize a weight of shape ${formatShape(weight.shape)} to int8: expected [N, K]`,
    );
  }
  if (weight.disposed) throw new Error("Cannot quantize a disposed weight");
  const [n, k] = weight.shape;
  const backend = weight.backend;
  const q = untracked(backend, [int8Words(n, k)], "i32");
  const scales = untracked(backend, [n]);
  backend.kernels.quantizeInt8(q.storage, scales.storage, weight.storage, n, k);
  return new QuantizedLinear(q, scales, n, k);
}

/** Attributes of the int8 linear node. */
interface Int8Attrs {
  /** Rows of the product (every leading axis of x folded). */
  m: number;
  /** Output features. */
  n: number;
  /** Input features. */
  k: number;
  /** Output shape. */
  shape: readonly number[];
}

/** The int8 linear op: inputs `[x, q, scales]` or `[x, q, scales, bias]`; forward only. */
export const linearInt8Op: OpDef<Int8Attrs> = {
  name: "linearInt8",
  forward([x, q, scales, bias], d) {
    const out = empty(d.shape, "f32", { backend: x.backend });
    x.backend.kernels.linearInt8(
      out.storage,
      x.storage,
      q.storage,
      scales.storage,
      bias?.storage ?? null,
      d.m,
      d.n,
      d.k,
    );
    return { out };
  },
  backward() {
    throw new Error(
      "Cannot differentiate through an int8 linear: quantized weights are for inference; " +
        "use matmul with the f32 weight to train",
    );
  },
};

/**
 * `x · dequant(w)ᵀ + bias` for a weight quantized by {@linkcode quantizeLinear}:
 * x (…, K) → (…, N). Each row of x is quantized to 7 bits with its own scale
 * on the fly; the products are exact integers, rescaled in f32. Forward only:
 * a backward pass through it throws.
 *
 * @param x f32 activations (…, K) on the weight's backend.
 * @param w The quantized weight (N, K).
 * @param bias Optional f32 bias [N].
 * @returns f32 (…, N).
 *
 * @example
 * ```ts
 * import { linearInt8, matmul, quantizeLinear, randn, Rng } from "@metatokens/tensor";
 * const rng = new Rng(0);
 * const w = randn([64, 128], rng, 0.02);
 * const x = randn([4, 128], rng);
 * const qw = quantizeLinear(w);
 * const exact = matmul(x, w, { transB: true }).dataSync();
 * const approx = linearInt8(x, qw).dataSync();
 * let err = 0, ref = 0;
 * for (let i = 0; i < exact.length; i++) {
 *   err += (approx[i] - exact[i]) ** 2;
 *   ref += exact[i] ** 2;
 * }
 * console.log(Math.sqrt(err / ref) < 0.05); // true: about 1–2% relative error
 * qw.dispose();
 * ```
 */
export function linearInt8(x: Tensor, w: QuantizedLinear, bias?: Tensor): Tensor {
  assertF32("linearInt8", x);
  if (w.disposed) throw new Error("Cannot linearInt8 with a disposed quantized weight");
  const { outFeatures: n, inFeatures: k } = w;
  if (x.rank < 1 || x.shape[x.rank - 1] !== k) {
    throw new RangeError(
      `Cannot linearInt8 an input of shape ${formatShape(x.shape)} with a weight of shape [${n}, ${k}]: ` +
        `expected [..., ${k}]`,
    );
  }
  if (bias) {
    assertF32("linearInt8", bias);
    if (bias.rank !== 1 || bias.shape[0] !== n) {
      throw new RangeError(
        `Cannot add a bias of shape ${formatShape(bias.shape)} to an int8 linear with ${n} outputs: ` +
          `expected [${n}]`,
      );
    }
  }
  const lead = x.shape.slice(0, -1);
  const attrs: Int8Attrs = { m: lead.reduce((a, b) => a * b, 1), n, k, shape: [...lead, n] };
  return apply(linearInt8Op, bias ? [x, w.q, w.scales, bias] : [x, w.q, w.scales], attrs);
}
