/**
 * Sums and means over every element or over the last axis.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, formatShape, type Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";

/** Attributes of a reduction node: x viewed as (rows, cols), summed over cols, times alpha. */
export interface SumAttrs {
  /** Rows kept. */
  rows: number;
  /** Columns summed. */
  cols: number;
  /** 1 for a sum, 1/cols for a mean. */
  alpha: number;
  /** Output shape. */
  shape: readonly number[];
}

/** The sum op (mean is the same op with alpha = 1/cols). */
export const sumOp: OpDef<SumAttrs> = {
  name: "sum",
  forward([x], { rows, cols, alpha, shape }) {
    const out = empty(shape, "f32", { backend: x.backend });
    x.backend.kernels.sumLast(out.storage, x.storage, rows, cols, alpha, false);
    return { out };
  },
  backward({ grads: [dx], dout, attrs: { rows, cols, alpha } }) {
    // forward: out[r] = alpha · Σ_c x[r, c]
    if (dx) dout.backend.kernels.broadcastLast(dx.storage, dout.storage, alpha, rows, cols);
  },
};

/** Which elements a reduction covers. */
export interface ReduceOptions {
  /** `-1` reduces the last axis only; omitted reduces everything to a scalar. */
  axis?: -1;
}

function reduce(name: string, x: Tensor, options: ReduceOptions, mean: boolean): Tensor {
  assertF32(name, x);
  if (options.axis !== undefined && (options.axis !== -1 || x.rank === 0)) {
    throw new RangeError(
      `Cannot ${name} a tensor of shape ${
        formatShape(x.shape)
      } over axis ${options.axis}: expected -1 or no axis`,
    );
  }
  const cols = options.axis === -1 ? x.shape.at(-1)! : x.size;
  const shape = options.axis === -1 ? x.shape.slice(0, -1) : [];
  const alpha = mean ? 1 / cols : 1;
  return apply(sumOp, [x], { rows: cols === 0 ? 0 : x.size / cols, cols, alpha, shape });
}

/**
 * Sum of all elements, or of the last axis with `{ axis: -1 }`.
 *
 * @example
 * ```ts
 * import { sum, tensor } from "@metatokens/tensor";
 * console.log(sum(tensor([1, 2, 3, 4], [2, 2]), { axis: -1 }).dataSync()); // Float32Array [3, 7]
 * ```
 */
export function sum(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce("sum", x, options, false);
}

/**
 * Mean of all elements, or of the last axis with `{ axis: -1 }`.
 *
 * @example
 * ```ts
 * import { mean, tensor } from "@metatokens/tensor";
 * console.log(mean(tensor([1, 2, 3, 4])).item()); // 2.5
 * ```
 */
export function mean(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce("mean", x, options, true);
}
