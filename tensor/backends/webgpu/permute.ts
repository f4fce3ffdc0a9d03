/**
 * Axis permutation (up to four axes) of the `webgpu` backend: one thread per
 * output element gathers from the input through the permuted strides.
 *
 * @module
 */

import type { Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { type Dispatcher, type Pointwise, runPointwise } from "./_call.ts";

type K = Kernels<Storage, Storage>;

/**
 * out (os0, os1, os2, os3) (=|+=) inp (s0, s1, s2, s3) with osk = s[perm[k]]:
 * out[i0, i1, i2, i3] = inp at Σ_k ik · stride[perm[k]] (`st0…st3` are those strides).
 */
const PERMUTE: Pointwise = {
  key: "permute",
  buffers: [["out", "f32"], ["inp", "f32"]],
  scalars: ["os1", "os2", "os3", "st0", "st1", "st2", "st3", "accumulate"],
  body: `let i3 = i % p.os3;
  let q2 = i / p.os3;
  let i2 = q2 % p.os2;
  let q1 = q2 / p.os2;
  let i1 = q1 % p.os1;
  let i0 = q1 / p.os1;
  let v = inp[p.inp_off + i0 * p.st0 + i1 * p.st1 + i2 * p.st2 + i3 * p.st3];
  let o = p.out_off + i;
  out[o] = select(v, out[o] + v, p.accumulate == 1u);`,
};

/** The permute kernel on a dispatcher. */
export function permuteKernels(rt: Dispatcher): Pick<K, "permute"> {
  return {
    permute(out, inp, d) {
      const { shape, perm } = d;
      const stride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
      const n = shape[0] * shape[1] * shape[2] * shape[3];
      runPointwise(rt, PERMUTE, n, [out, inp], [
        shape[perm[1]],
        shape[perm[2]],
        shape[perm[3]],
        stride[perm[0]],
        stride[perm[1]],
        stride[perm[2]],
        stride[perm[3]],
        +d.accumulate,
      ]);
    },
  };
}
