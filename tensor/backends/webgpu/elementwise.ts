/**
 * Pointwise kernels of the `webgpu` backend: fill, copy, add, mul, scale,
 * axpy, mulAcc, scaleBy. One thread per element; `b[i % nb]` broadcasts a
 * suffix.
 *
 * @module
 */

import { f32Bits, type Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { type Dispatcher, type Pointwise, runPointwise } from "./_call.ts";

type K = Kernels<Storage, Storage>;

/** out (n) = value */
const FILL: Pointwise = {
  key: "fill",
  buffers: [["out", "f32"]],
  scalars: ["value"],
  body: "out[p.out_off + i] = bitcast<f32>(p.value);",
};
/** out (n) = inp (n) */
const COPY: Pointwise = {
  key: "copy",
  buffers: [["out", "f32"], ["inp", "f32"]],
  body: "out[p.out_off + i] = inp[p.inp_off + i];",
};
/** out (n) = a (n) + b (nb) broadcast over the leading n / nb rows */
const ADD: Pointwise = {
  key: "add",
  buffers: [["out", "f32"], ["a", "f32"], ["b", "f32"]],
  scalars: ["nb"],
  body: "out[p.out_off + i] = a[p.a_off + i] + b[p.b_off + i % p.nb];",
};
/** out (n) = a (n) · b (nb) */
const MUL: Pointwise = {
  key: "mul",
  buffers: [["out", "f32"], ["a", "f32"], ["b", "f32"]],
  scalars: ["nb"],
  body: "out[p.out_off + i] = a[p.a_off + i] * b[p.b_off + i % p.nb];",
};
/** out (n) = s · a (n) */
const SCALE: Pointwise = {
  key: "scale",
  buffers: [["out", "f32"], ["a", "f32"]],
  scalars: ["s"],
  body: "out[p.out_off + i] = bitcast<f32>(p.s) * a[p.a_off + i];",
};
/** y (n) += alpha · x (n) */
const AXPY: Pointwise = {
  key: "axpy",
  buffers: [["y", "f32"], ["x", "f32"]],
  scalars: ["alpha"],
  body: "y[p.y_off + i] += bitcast<f32>(p.alpha) * x[p.x_off + i];",
};
/** y (n) += x (n) · b (nb) */
const MUL_ACC: Pointwise = {
  key: "mulAcc",
  buffers: [["y", "f32"], ["x", "f32"], ["b", "f32"]],
  scalars: ["nb"],
  body: "y[p.y_off + i] += x[p.x_off + i] * b[p.b_off + i % p.nb];",
};
/** y (n) *= s[0] (read on the GPU: no readback) */
const SCALE_BY: Pointwise = {
  key: "scaleBy",
  buffers: [["y", "f32"], ["s", "f32"]],
  body: "y[p.y_off + i] *= s[p.s_off];",
};

/** The pointwise arithmetic kernels on a dispatcher. */
export function elementwiseKernels(
  rt: Dispatcher,
): Pick<K, "fill" | "copy" | "add" | "mul" | "scale" | "axpy" | "mulAcc" | "scaleBy"> {
  return {
    fill: (out, value, n) => runPointwise(rt, FILL, n, [out], [f32Bits(value)]),
    copy: (out, inp, n) => runPointwise(rt, COPY, n, [out, inp]),
    add: (out, a, b, n, nb) => runPointwise(rt, ADD, n, [out, a, b], [nb]),
    mul: (out, a, b, n, nb) => runPointwise(rt, MUL, n, [out, a, b], [nb]),
    scale: (out, a, s, n) => runPointwise(rt, SCALE, n, [out, a], [f32Bits(s)]),
    axpy: (y, x, alpha, n) => runPointwise(rt, AXPY, n, [y, x], [f32Bits(alpha)]),
    mulAcc: (y, x, b, n, nb) => runPointwise(rt, MUL_ACC, n, [y, x, b], [nb]),
    scaleBy: (y, s, n) => runPointwise(rt, SCALE_BY, n, [y, s]),
  };
}
