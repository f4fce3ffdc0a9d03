/**
 * Embedding gather and scatter-add of the `webgpu` backend.
 *
 * The backward pass is deterministic without atomics: a thread owns one
 * column j of a fixed residue class g of token ids (id mod G = g) and walks
 * the rows in order, so every `dweight[id, j]` is summed by exactly one
 * thread in row order. G = 32 classes times ⌈C / 64⌉ column blocks keep a
 * GPU busy while each workgroup only scans the N ids.
 *
 * @module
 */

import type { Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { type Dispatcher, type Pointwise, runPointwise } from "./_call.ts";
import { declareBindings } from "./_wgsl.ts";

type K = Kernels<Storage, Storage>;

/** out (N, C)[r, j] = weight (V, C)[ids (N)[r], j] */
const EMBEDDING_FORWARD: Pointwise = {
  key: "embeddingForward",
  buffers: [["out", "f32"], ["weight", "f32"], ["ids", "i32"]],
  scalars: ["c"],
  body: `let r = i / p.c;
  let j = i - r * p.c;
  out[p.out_off + i] = weight[p.weight_off + u32(ids[p.ids_off + r]) * p.c + j];`,
};

/** Residue classes of ids and columns per workgroup of the backward pass. */
const CLASSES = 32, COLS = 64;

/**
 * dweight (V, C)[ids[r], j] += dout (N, C)[r, j] for ids (N).
 * forward: out[r, :] = weight[ids[r], :]
 */
function embeddingBackwardWgsl(): string {
  return `${
    declareBindings([["dweight", "f32"], ["dout", "f32"], ["ids", "i32"]], [
      "n",
      "c",
      "dweight_off",
      "dout_off",
      "ids_off",
    ])
  }
@compute @workgroup_size(${COLS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x * ${COLS}u + lid;
  let cls = wid.y;
  if (j >= p.c) { return; }
  for (var r = 0u; r < p.n; r++) {
    let id = u32(ids[p.ids_off + r]);
    if (id % ${CLASSES}u == cls) {
      dweight[p.dweight_off + id * p.c + j] += dout[p.dout_off + r * p.c + j];
    }
  }
}`;
}

/** The embedding kernels on a dispatcher. */
export function embeddingKernels(rt: Dispatcher): Pick<K, "embeddingForward" | "embeddingBackward"> {
  return {
    embeddingForward: (out, weight, ids, n, c) =>
      runPointwise(rt, EMBEDDING_FORWARD, n * c, [out, weight, ids], [c]),
    embeddingBackward(dweight, dout, ids, n, c) {
      if (n === 0 || c === 0) return;
      rt.dispatch({
        key: "embeddingBackward",
        wgsl: embeddingBackwardWgsl,
        buffers: [dweight, dout, ids],
        params: [n, c, rt.offset(dweight), rt.offset(dout), rt.offset(ids)],
        workgroups: [Math.ceil(c / COLS), CLASSES, 1],
      });
    },
  };
}
