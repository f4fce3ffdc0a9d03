/**
 * Matrix product with optional bias and transposes, batched over leading axes.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import type { GemmDims } from "../kernels.ts";
import { empty, formatShape, type Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";

/** Options of {@linkcode matmul}. */
export interface MatmulOptions {
  /** Use `a` transposed: its last two axes are (K, M). */
  transA?: boolean;
  /** Use `b` transposed: its last two axes are (N, K), the `nn.Linear` weight layout. */
  transB?: boolean;
  /** A bias of shape (N) added to every output row. */
  bias?: Tensor;
}

/** Attributes the matmul node keeps: the product's dimensions and the output shape. */
export interface MatmulAttrs extends Omit<GemmDims, "accumulate"> {
  /** Output shape. */
  shape: readonly number[];
}

/** The matmul op: inputs `[a, b]` or `[a, b, bias]`. */
export const matmulOp: OpDef<MatmulAttrs> = {
  name: "matmul",
  forward([a, b, bias], d) {
    const out = empty(d.shape, "f32", { backend: a.backend });
    a.backend.kernels.gemm(out.storage, a.storage, b.storage, bias?.storage ?? null, {
      ...d,
      accumulate: false,
    });
    return { out };
  },
  backward({ grads: [da, db, dbias], dout, inputs: [a, b], attrs: d }) {
    const { gemm, sumLeading } = dout.backend.kernels;
    const { batch, m, n, k, transA, transB } = d;
    // forward: C = op(A) · op(B) + bias
    if (da) {
      // d op(A) = dC · op(B)ᵀ (M,K); stored transposed when transA: dA = op(B) · dCᵀ (K,M)
      if (!transA) {
        gemm(da.storage, dout.storage, b.storage, null, {
          batch,
          m,
          n: k,
          k: n,
          transA: false,
          transB: !transB,
          accumulate: true,
        });
      } else {
        gemm(da.storage, b.storage, dout.storage, null, {
          batch,
          m: k,
          n: m,
          k: n,
          transA: transB,
          transB: true,
          accumulate: true,
        });
      }
    }
    if (db) {
      // d op(B) = op(A)ᵀ · dC (K,N); stored transposed when transB: dB = dCᵀ · op(A) (N,K)
      if (!transB) {
        gemm(db.storage, a.storage, dout.storage, null, {
          batch,
          m: k,
          n,
          k: m,
          transA: !transA,
          transB: false,
          accumulate: true,
        });
      } else {
        gemm(db.storage, dout.storage, a.storage, null, {
          batch,
          m: n,
          n: k,
          k: m,
          transA: true,
          transB: transA,
          accumulate: true,
        });
      }
    }
    // forward: C[i, :] += bias
    if (dbias) sumLeading(dbias.storage, dout.storage, batch * m, n, true);
  },
};

/**
 * `op(a) · op(b) (+ bias)`. `a` is (…, M, K) and `b` either (K, N), shared by
 * every leading index of `a`, or (…, K, N) with the same leading axes
 * (transposes swap the last two axes of the operand).
 *
 * @example
 * ```ts
 * import { matmul, tensor } from "@metatokens/tensor";
 * const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 * const w = tensor([1, 0, 0, 1, 1, 1], [2, 3]); // nn.Linear layout (out, in)
 * console.log(matmul(x, w, { transB: true }).dataSync()); // Float32Array [1, 6, 4, 15]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false, bias } = options;
  assertF32("matmul", a, b);
  const bad = (): Error =>
    new RangeError(
      `Cannot matmul tensors of shape ${formatShape(a.shape)} and ${formatShape(b.shape)}` +
        (transA || transB ? ` (transA: ${transA}, transB: ${transB})` : ""),
    );
  if (a.rank < 2 || b.rank < 2) throw bad();
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const [m, ka] = transA ? [a1, a0] : [a0, a1];
  const [kb, n] = transB ? [b1, b0] : [b0, b1];
  if (ka !== kb) throw bad();
  const lead = a.shape.slice(0, -2);
  let batch: number, rows: number;
  if (b.rank === 2) {
    // A shared (K, N) matrix: fold a's leading axes into the rows of one product.
    if (transA && lead.length > 0) throw bad();
    batch = 1;
    rows = lead.reduce((x, y) => x * y, m);
  } else {
    const bl = b.shape.slice(0, -2);
    if (bl.length !== lead.length || bl.some((d, i) => d !== lead[i])) throw bad();
    batch = lead.reduce((x, y) => x * y, 1);
    rows = m;
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new RangeError(
      `Cannot add a bias of shape ${
        formatShape(bias.shape)
      } to a matmul with ${n} output columns: expected [${n}]`,
    );
  }
  if (bias) assertF32("matmul", bias);
  const attrs: MatmulAttrs = {
    batch,
    m: rows,
    n,
    k: ka,
    transA,
    transB,
    shape: [...lead, m, n],
  };
  return apply(matmulOp, bias ? [a, b, bias] : [a, b], attrs);
}
