/**
 * The typed, exhaustive table of core ops, and the extension point for ops
 * defined in other packages.
 *
 * `OpAttrs` lists every core op with its attribute type; `coreOps` must hold
 * an {@linkcode OpDef} for each, and an `OpDef` must have a `backward`, so a
 * missing op or a missing backward is a compile error.
 *
 * @module
 */

import type { OpDef } from "../autograd.ts";
import { addOp } from "./add.ts";
import { crossEntropyOp } from "./cross_entropy.ts";
import { type DropoutAttrs, dropoutOp } from "./dropout.ts";
import { embeddingOp } from "./embedding.ts";
import { geluOp } from "./gelu.ts";
import { layernormOp } from "./layernorm.ts";
import { type MatmulAttrs, matmulOp } from "./matmul.ts";
import { mulOp } from "./mul.ts";
import { type PermuteAttrs, permuteOp } from "./permute.ts";
import { reluOp } from "./relu.ts";
import { reshapeOp } from "./reshape.ts";
import { scaleOp } from "./scale.ts";
import { softmaxOp } from "./softmax.ts";
import { type SumAttrs, sumOp } from "./sum.ts";

/** Every core op and the type of its attributes. */
export interface OpAttrs {
  /** See {@linkcode matmulOp}. */
  matmul: MatmulAttrs;
  /** See {@linkcode addOp}. */
  add: null;
  /** See {@linkcode mulOp}. */
  mul: null;
  /** See {@linkcode scaleOp}: the factor. */
  scale: number;
  /** See {@linkcode geluOp}. */
  gelu: null;
  /** See {@linkcode reluOp}. */
  relu: null;
  /** See {@linkcode layernormOp}: eps. */
  layernorm: number;
  /** See {@linkcode softmaxOp}. */
  softmax: null;
  /** See {@linkcode crossEntropyOp}. */
  crossEntropy: null;
  /** See {@linkcode embeddingOp}. */
  embedding: null;
  /** See {@linkcode reshapeOp}: the new shape. */
  reshape: readonly number[];
  /** See {@linkcode permuteOp}. */
  permute: PermuteAttrs;
  /** See {@linkcode dropoutOp}. */
  dropout: DropoutAttrs;
  /** See {@linkcode sumOp}. */
  sum: SumAttrs;
}

/** Name of a core op. */
export type OpName = keyof OpAttrs;

/** The core ops by name. */
export const coreOps: { readonly [K in OpName]: OpDef<OpAttrs[K]> } = {
  matmul: matmulOp,
  add: addOp,
  mul: mulOp,
  scale: scaleOp,
  gelu: geluOp,
  relu: reluOp,
  layernorm: layernormOp,
  softmax: softmaxOp,
  crossEntropy: crossEntropyOp,
  embedding: embeddingOp,
  reshape: reshapeOp,
  permute: permuteOp,
  dropout: dropoutOp,
  sum: sumOp,
};

const extensionOps = new Map<string, OpDef<never>>();

/**
 * Registers an op defined outside `tensor` (for example causal attention in
 * `@metatokens/attention`) and returns it for use with `apply`. Names must
 * be unique across core and extension ops.
 *
 * @example
 * ```ts
 * import { apply, defineOp, empty, tensor } from "@metatokens/tensor";
 * const negate = defineOp<null>({
 *   name: "example.negate",
 *   forward([x]) {
 *     const out = empty(x.shape, "f32", { backend: x.backend });
 *     x.backend.kernels.scale(out.storage, x.storage, -1, x.size);
 *     return { out };
 *   },
 *   backward({ grads: [dx], dout }) {
 *     if (dx) dout.backend.kernels.axpy(dx.storage, dout.storage, -1, dout.size);
 *   },
 * });
 * console.log(apply(negate, [tensor([1, 2])], null).dataSync()); // Float32Array [-1, -2]
 * ```
 */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  if (def.name in coreOps || extensionOps.has(def.name)) {
    throw new Error(`Cannot define op "${def.name}": an op with that name already exists`);
  }
  extensionOps.set(def.name, def as unknown as OpDef<never>);
  return def;
}

/** Names of the ops registered with {@linkcode defineOp}. */
export function extensionOpNames(): string[] {
  return [...extensionOps.keys()];
}
