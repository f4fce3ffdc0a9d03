/**
 * Reductions of the `webgpu` backend, all deterministic and without atomics:
 *
 * - rows (`sumLast`): one workgroup of 256 per row, strided partial sums and a
 *   tree in workgroup memory;
 * - columns (`sumLeading`, `mulSumLeading`, and LayerNorm's dweight/dbias):
 *   a workgroup owns 32 columns with 8 row lanes each, lanes summed in order;
 * - everything (`sumSquares`): two passes, per-workgroup partials into a
 *   scratch buffer then one workgroup, so the gradient norm and clip scale
 *   never leave the GPU (`clipScale`, `scaleBy` and `adamw` read them there).
 *
 * @module
 */

import { f32Bits, type Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { type Dispatcher, type Pointwise, runPointwise } from "./_call.ts";
import { declareBindings, WGSL_LINEAR_WORKGROUP, wgslBlockReduce, workgroupGrid } from "./_wgsl.ts";

type K = Kernels<Storage, Storage>;

/** Threads of a row-reduction workgroup. */
export const ROW_THREADS = 256;

/** Header of a kernel with one workgroup of 256 per row: bindings, block reductions, `main` preamble. */
export function rowKernel(
  buffers: readonly (readonly [string, "f32" | "i32"])[],
  scalars: readonly string[],
  body: string,
  helpers = "",
): string {
  const params = ["rows", ...buffers.map(([name]) => `${name}_off`), ...scalars];
  return `${declareBindings(buffers, params)}
${WGSL_LINEAR_WORKGROUP}
${wgslBlockReduce(ROW_THREADS)}
${helpers}
const T = ${ROW_THREADS}u;
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = linear_workgroup(wid, nwg);
  if (row >= p.rows) { return; }
  ${body}
}`;
}

/** Dispatches a {@linkcode rowKernel} over `rows` rows. */
export function runRows(
  rt: Dispatcher,
  key: string,
  wgsl: () => string,
  rows: number,
  buffers: readonly Storage[],
  scalars: readonly number[],
): void {
  if (rows === 0) return;
  rt.dispatch({
    key,
    wgsl,
    buffers,
    params: [rows, ...buffers.map((b) => rt.offset(b)), ...scalars],
    workgroups: workgroupGrid(rows),
  });
}

/** Columns per workgroup and row lanes per column of a column reduction. */
const COLS = 32, LANES = 8;

/**
 * One column reduction: for every column `j < p.c` of an (R = p.r, C = p.c)
 * row-major layout, `terms[t]` (an f32 expression of `r`, `j` and
 * `idx = r · C + j`) is summed over r into `total<t>`, then `epilogue` runs
 * once per column with those totals.
 */
export interface ColumnReduce {
  /** Pipeline key. */
  key: string;
  /** Bindings; each gets a `<name>_off` param word. */
  buffers: readonly (readonly [string, "f32" | "i32"])[];
  /** Extra u32 params after `r`, `c` and the offsets. */
  scalars?: readonly string[];
  /** Summands, one accumulator each. */
  terms: readonly string[];
  /** Statements using `j` and `total0`, `total1`, …. */
  epilogue: string;
}

function columnWgsl(k: ColumnReduce): string {
  const params = ["r", "c", ...k.buffers.map(([name]) => `${name}_off`), ...(k.scalars ?? [])];
  const nt = k.terms.length;
  const lines = (f: (t: number) => string): string => k.terms.map((_, t) => f(t)).join("\n    ");
  return `${declareBindings(k.buffers, params)}
var<workgroup> part: array<f32, ${nt * COLS * LANES}>;
@compute @workgroup_size(${COLS * LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let col = lid % ${COLS}u;
  let lane = lid / ${COLS}u;
  let j = wid.x * ${COLS}u + col;
  ${k.terms.map((_, t) => `var acc${t} = 0.0;`).join(" ")}
  if (j < p.c) {
    for (var r = lane; r < p.r; r += ${LANES}u) {
      let idx = r * p.c + j;
      ${lines((t) => `acc${t} += ${k.terms[t]};`)}
    }
  }
  ${lines((t) => `part[${t * COLS * LANES}u + lid] = acc${t};`)}
  workgroupBarrier();
  if (lane == 0u && j < p.c) {
    ${lines((t) => `var total${t} = 0.0;`)}
    for (var l = 0u; l < ${LANES}u; l++) {
      ${lines((t) => `total${t} += part[${t * COLS * LANES}u + l * ${COLS}u + col];`)}
    }
    ${k.epilogue}
  }
}`;
}

/** Dispatches a column reduction over (r, c). */
export function runColumns(
  rt: Dispatcher,
  k: ColumnReduce,
  r: number,
  c: number,
  buffers: readonly Storage[],
  scalars: readonly number[] = [],
): void {
  if (c === 0) return;
  rt.dispatch({
    key: k.key,
    wgsl: () => columnWgsl(k),
    buffers,
    params: [r, c, ...buffers.map((b) => rt.offset(b)), ...scalars],
    workgroups: workgroupGrid(Math.ceil(c / COLS)),
  });
}

/** out (R) (+)= alpha · Σ_c inp (R, C) */
const SUM_LAST = (): string =>
  rowKernel(
    [["out", "f32"], ["inp", "f32"]],
    ["c", "alpha", "accumulate"],
    `let base = p.inp_off + row * p.c;
  var s = 0.0;
  for (var j = lid; j < p.c; j += T) { s += inp[base + j]; }
  let total = block_sum(s, lid);
  if (lid == 0u) {
    let o = p.out_off + row;
    out[o] = select(0.0, out[o], p.accumulate == 1u) + bitcast<f32>(p.alpha) * total;
  }`,
  );

/** y (R, C) += alpha · x (R) broadcast over columns */
const BROADCAST_LAST: Pointwise = {
  key: "broadcastLast",
  buffers: [["y", "f32"], ["x", "f32"]],
  scalars: ["c", "alpha"],
  body: "y[p.y_off + i] += bitcast<f32>(p.alpha) * x[p.x_off + i / p.c];",
};

/** out (C) (+)= Σ_r inp (R, C) */
const SUM_LEADING: ColumnReduce = {
  key: "sumLeading",
  buffers: [["out", "f32"], ["inp", "f32"]],
  scalars: ["accumulate"],
  terms: ["inp[p.inp_off + idx]"],
  epilogue: "out[p.out_off + j] = select(0.0, out[p.out_off + j], p.accumulate == 1u) + total0;",
};

/** out (C) += Σ_r x (R, C) · a (R, C) */
const MUL_SUM_LEADING: ColumnReduce = {
  key: "mulSumLeading",
  buffers: [["out", "f32"], ["x", "f32"], ["a", "f32"]],
  terms: ["x[p.x_off + idx] * a[p.a_off + idx]"],
  epilogue: "out[p.out_off + j] += total0;",
};

/** Most workgroups of the first sumSquares pass (their partials are summed by one workgroup). */
const SQUARES_GROUPS = 1024;

/** pass 1: partial (G) = Σ over this workgroup's grid-stride of x (n)² */
const SUM_SQUARES_PARTIAL = (): string =>
  rowKernel(
    [["partial", "f32"], ["x", "f32"]],
    ["n"],
    `var s = 0.0;
  for (var i = row * T + lid; i < p.n; i += p.rows * T) { let v = x[p.x_off + i]; s += v * v; }
  let total = block_sum(s, lid);
  if (lid == 0u) { partial[p.partial_off + row] = total; }`,
  );

/** pass 2: out[0] (+)= Σ_g partial (G) */
const SUM_SQUARES_TOTAL = (): string =>
  rowKernel(
    [["out", "f32"], ["partial", "f32"]],
    ["groups", "accumulate"],
    `var s = 0.0;
  for (var g = lid; g < p.groups; g += T) { s += partial[p.partial_off + g]; }
  let total = block_sum(s, lid);
  if (lid == 0u) { out[p.out_off] = select(0.0, out[p.out_off], p.accumulate == 1u) + total; }`,
  );

/** scale[0] = min(1, maxNorm / (√sumsq[0] + 1e-6)) */
const CLIP_SCALE: Pointwise = {
  key: "clipScale",
  buffers: [["scale", "f32"], ["sumsq", "f32"]],
  scalars: ["max_norm"],
  body: "scale[p.scale_off] = min(1.0, bitcast<f32>(p.max_norm) / (sqrt(sumsq[p.sumsq_off]) + 1e-6));",
};

/** The reduction kernels on a dispatcher. */
export function reduceKernels(
  rt: Dispatcher,
): Pick<K, "sumLast" | "broadcastLast" | "sumLeading" | "mulSumLeading" | "sumSquares" | "clipScale"> {
  return {
    sumLast: (out, inp, r, c, alpha, accumulate) =>
      runRows(rt, "sumLast", SUM_LAST, r, [out, inp], [c, f32Bits(alpha), +accumulate]),
    broadcastLast: (y, x, alpha, r, c) =>
      runPointwise(rt, BROADCAST_LAST, r * c, [y, x], [c, f32Bits(alpha)]),
    sumLeading: (out, inp, r, c, accumulate) => runColumns(rt, SUM_LEADING, r, c, [out, inp], [+accumulate]),
    mulSumLeading: (out, x, a, r, c) => runColumns(rt, MUL_SUM_LEADING, r, c, [out, x, a]),
    sumSquares(out, x, n, accumulate) {
      const groups = Math.max(1, Math.min(SQUARES_GROUPS, Math.ceil(n / ROW_THREADS)));
      const partial = rt.scratch(groups);
      runRows(rt, "sumSquaresPartial", SUM_SQUARES_PARTIAL, groups, [partial, x], [n]);
      runRows(rt, "sumSquaresTotal", SUM_SQUARES_TOTAL, 1, [out, partial], [groups, +accumulate]);
      rt.release(partial);
    },
    clipScale: (scale, sumsq, maxNorm) => runPointwise(rt, CLIP_SCALE, 1, [scale, sumsq], [f32Bits(maxNorm)]),
  };
}
