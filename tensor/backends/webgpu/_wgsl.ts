/**
 * Shared WGSL builders of the `webgpu` backend: binding declarations in the
 * order {@linkcode GpuKernelCall} expects, the uniform `Params` struct, the
 * linear workgroup index of a grid split over (x, y, z), and small math
 * helpers kernels paste into their source.
 *
 * Every kernel's WGSL is a string built by a TypeScript function from
 * constants (tile sizes, flags, element types), so the pipeline cache key of a
 * kernel is exactly the list of those constants.
 *
 * @module
 */

import type { GpuKernelCall } from "../../backend.ts";

/** Element type of one storage binding. */
export type WgslElement = "f32" | "i32" | "u32" | "vec4<f32>";

/** Most workgroups one dimension of a dispatch may have (WebGPU's default limit). */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * WGSL declarations of the storage bindings (binding i = `buffers[i]`, all
 * `read_write` so views of one buffer may be bound twice) followed by the
 * uniform `p: Params` of u32 words at binding `buffers.length`.
 *
 * @example
 * ```ts
 * import { declareBindings } from "@metatokens/tensor/webgpu";
 * console.log(declareBindings([["out", "f32"]], ["n", "out_off"]));
 * // @group(0) @binding(0) var<storage, read_write> out: array<f32>;
 * // struct Params { n: u32, out_off: u32 }
 * // @group(0) @binding(1) var<uniform> p: Params;
 * ```
 */
export function declareBindings(
  buffers: readonly (readonly [name: string, element: WgslElement])[],
  params: readonly string[],
): string {
  const lines = buffers.map(([name, element], i) =>
    `@group(0) @binding(${i}) var<storage, read_write> ${name}: array<${element}>;`
  );
  lines.push(
    `struct Params { ${(params.length ? params : ["_unused"]).map((w) => `${w}: u32`).join(", ")} }`,
  );
  lines.push(`@group(0) @binding(${buffers.length}) var<uniform> p: Params;`);
  return lines.join("\n");
}

/**
 * WGSL function `linear_workgroup(wid, nwg) -> u32`: the flat index of a
 * workgroup in a grid that {@linkcode workgroupGrid} split over x, y and z.
 * Kernels take `@builtin(workgroup_id) wid` and `@builtin(num_workgroups) nwg`
 * and must guard the tail (the grid may hold a few more workgroups than asked).
 */
export const WGSL_LINEAR_WORKGROUP: string = `
fn linear_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}`;

/**
 * Splits `count` workgroups over (x, y, z) so that no dimension exceeds
 * 65535 and x · y · z ≥ count (the kernel skips the surplus with
 * `linear_workgroup`). Zero gives `[0, 1, 1]` (nothing to dispatch).
 *
 * @example
 * ```ts
 * import { workgroupGrid } from "@metatokens/tensor/webgpu";
 * console.log(workgroupGrid(100)); // [100, 1, 1]
 * console.log(workgroupGrid(100000)); // [50000, 2, 1]
 * ```
 */
export function workgroupGrid(count: number): [number, number, number] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Cannot split ${count} workgroups: expected a non-negative integer`);
  }
  const max = MAX_WORKGROUPS_PER_DIM;
  if (count <= max) return [count, 1, 1];
  const y = Math.ceil(count / max);
  if (y <= max) return [Math.ceil(count / y), y, 1];
  const z = Math.ceil(count / (max * max));
  if (z > max) throw new RangeError(`Cannot split ${count} workgroups: more than 65535³`);
  const yz = Math.ceil(count / max / z);
  return [Math.ceil(count / (yz * z)), yz, z];
}

/** Workgroups of `size` threads needed for `n` threads of work, split with {@linkcode workgroupGrid}. */
export function gridFor(n: number, size: number): [number, number, number] {
  return workgroupGrid(Math.ceil(n / size));
}

/**
 * WGSL `erf_f32(x)`: the rational approximations of fdlibm's `s_erff.c`
 * (four ranges of |x|, ±1 beyond 6); in exact arithmetic they are within
 * 3e-8 of erf, so f32 rounding dominates. Used by GELU (erf form).
 */
export const WGSL_ERF: string = `
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  var r: f32;
  if (a < 0.84375) {
    // erf(x) = x + x·P(x²)/Q(x²) (fdlibm s_erf.c, |x| < 0.84375)
    let z = x * x;
    let pp = 1.28379167e-01 + z * (-3.25042107e-01 + z * (-2.84817495e-02 + z * (-5.77027029e-03 + z * -2.37630166e-05)));
    let qq = 1.0 + z * (3.97917224e-01 + z * (6.50222499e-02 + z * (5.08130628e-03 + z * (1.32494738e-04 + z * -3.96022827e-06))));
    return x + x * (pp / qq);
  }
  if (a < 1.25) {
    // erf(x) = erx + P(s)/Q(s), s = |x| − 1
    let s = a - 1.0;
    let pa = -2.36211856e-03 + s * (4.14856118e-01 + s * (-3.72207481e-01 + s * (3.18346627e-01 + s * (-1.10894695e-01 + s * (3.54783043e-02 + s * -2.16637559e-03)))));
    let qa = 1.0 + s * (1.06420882e-01 + s * (5.40397918e-01 + s * (7.18286544e-02 + s * (1.26171219e-01 + s * (1.36370842e-02 + s * 1.19844998e-02)))));
    r = 8.45062911e-01 + pa / qa;
  } else if (a < 6.0) {
    // erfc(x) = exp(−x² − 0.5625 + R/S) / x
    let s = 1.0 / (a * a);
    var rr: f32;
    var ss: f32;
    if (a < 2.857142857) {
      rr = -9.86494403e-03 + s * (-6.93858572e-01 + s * (-1.05586262e+01 + s * (-6.23753324e+01 + s * (-1.62396669e+02 + s * (-1.84605093e+02 + s * (-8.12874355e+01 + s * -9.81432934e+00))))));
      ss = 1.0 + s * (1.96512716e+01 + s * (1.37657754e+02 + s * (4.34565877e+02 + s * (6.45387271e+02 + s * (4.29008140e+02 + s * (1.08635005e+02 + s * (6.57024977e+00 + s * -6.04244152e-02)))))));
    } else {
      rr = -9.86494292e-03 + s * (-7.99283237e-01 + s * (-1.77579549e+01 + s * (-1.60636384e+02 + s * (-6.37566443e+02 + s * (-1.02509513e+03 + s * -4.83519191e+02)))));
      ss = 1.0 + s * (3.03380607e+01 + s * (3.25792512e+02 + s * (1.53672958e+03 + s * (3.19985821e+03 + s * (2.55305040e+03 + s * (4.74528541e+02 + s * -2.24409524e+01))))));
    }
    let zz = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
    let erfc = exp(-zz * zz - 0.5625) * exp((zz - a) * (zz + a) + rr / ss) / a;
    r = 1.0 - erfc;
  } else {
    r = 1.0;
  }
  return select(r, -r, x < 0.0);
}`;

/**
 * WGSL `lowbias32(x)` and `random_uniform(key, i)`: the counter-based stream
 * of `rng.ts` in pure u32 arithmetic, bit-identical to the TypeScript.
 */
export const WGSL_RNG: string = `
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
fn random_uniform(key: u32, i: u32) -> f32 {
  return f32(lowbias32(lowbias32(i) ^ key) >> 8u) * 5.9604644775390625e-8;
}`;

/** A {@linkcode GpuKernelCall} without the pipeline fields, for builders that fill them in. */
export type CallShape = Omit<GpuKernelCall, "key" | "wgsl">;

/**
 * WGSL tree reductions over one workgroup of `threads` invocations (a power
 * of two): `block_sum(v, lid)` and `block_max(v, lid)` return the same
 * (uniform) value to every invocation, so callers may branch on it around
 * barriers. Call them from uniform control flow only.
 *
 * @example
 * ```ts
 * import { wgslBlockReduce } from "@metatokens/tensor/webgpu";
 * console.log(wgslBlockReduce(256).includes("fn block_sum")); // true
 * ```
 */
export function wgslBlockReduce(threads: number): string {
  if (!Number.isInteger(Math.log2(threads))) {
    throw new RangeError(`Cannot build a tree reduction over ${threads} threads: expected a power of two`);
  }
  const tree = (name: string, op: (a: string, b: string) => string): string => `
fn ${name}(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${threads / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = ${op("red[lid]", "red[lid + s]")}; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&red[0]);
}`;
  return `var<workgroup> red: array<f32, ${threads}>;${tree("block_sum", (a, b) => `${a} + ${b}`)}${
    tree("block_max", (a, b) => `max(${a}, ${b})`)
  }`;
}
