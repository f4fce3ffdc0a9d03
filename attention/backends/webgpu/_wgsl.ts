/**
 * WGSL snippets shared by the attention and RoPE kernels of the `webgpu`
 * backend: head-row loads and stores as `vec4<f32>` (zero padded past HS when
 * HS is not a multiple of 4; one 16-byte load where HS and the view offsets
 * are multiples of 4), f32 literals, and the split of a large workgroup
 * count over the y and z dimensions of a dispatch.
 *
 * @module
 */

/** Most workgroups one dimension of a dispatch may have (WebGPU's default limit). */
export const MAX_WORKGROUPS = 65535;

/**
 * WGSL `fn name(i: u32, d: u32) -> vec4<f32>`: columns d … d+3 of a head row
 * whose column d is element i of `buf`, zero for columns ≥ HS (needs the
 * constant `HS`). With `vec4`, `buf` is bound as `array<vec4<f32>>` and i is a
 * multiple of 4 (HS and every offset multiples of 4): one 16-byte load.
 *
 * @example
 * ```ts
 * import { loadVec4 } from "./_wgsl.ts";
 * console.log(loadVec4("load_q", "qkv", 8, true).includes("qkv[i >> 2u]")); // true
 * ```
 */
export function loadVec4(name: string, buf: string, hs: number, vec4: boolean): string {
  if (vec4) return `fn ${name}(i: u32, d: u32) -> vec4<f32> { return ${buf}[i >> 2u]; }`;
  if (hs % 4 === 0) {
    return `fn ${name}(i: u32, d: u32) -> vec4<f32> {
  return vec4<f32>(${buf}[i], ${buf}[i + 1u], ${buf}[i + 2u], ${buf}[i + 3u]);
}`;
  }
  return `fn ${name}(i: u32, d: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var k = 0u; k < 4u; k++) {
    if (d + k < HS) { v[k] = ${buf}[i + k]; } // columns past HS are zero padding
  }
  return v;
}`;
}

/**
 * WGSL `fn name(i: u32, d: u32, v: vec4<f32>)`: writes (`=`) or adds (`+=`)
 * the columns d … d+3 < HS of a head row whose column d is element i of `buf`
 * (`array<vec4<f32>>` with `vec4`, as in {@linkcode loadVec4}).
 *
 * @example
 * ```ts
 * import { storeVec4 } from "./_wgsl.ts";
 * console.log(storeVec4("add_dqkv", "dqkv", 6, true, false).includes("+=")); // true
 * ```
 */
export function storeVec4(name: string, buf: string, hs: number, accumulate: boolean, vec4: boolean): string {
  const op = accumulate ? "+=" : "=";
  if (vec4) return `fn ${name}(i: u32, d: u32, v: vec4<f32>) { ${buf}[i >> 2u] ${op} v; }`;
  if (hs % 4 === 0) {
    return `fn ${name}(i: u32, d: u32, v: vec4<f32>) {
  ${buf}[i] ${op} v.x;
  ${buf}[i + 1u] ${op} v.y;
  ${buf}[i + 2u] ${op} v.z;
  ${buf}[i + 3u] ${op} v.w;
}`;
  }
  return `fn ${name}(i: u32, d: u32, v: vec4<f32>) {
  for (var k = 0u; k < 4u; k++) {
    if (d + k < HS) { ${buf}[i + k] ${op} v[k]; }
  }
}`;
}

/** The element type a head-row buffer is bound as. */
export function rowElement(vec4: boolean): string {
  return vec4 ? "vec4<f32>" : "f32";
}

/**
 * A WGSL f32 literal for `x` (rounded to f32, always with a decimal point or exponent).
 *
 * @example
 * ```ts
 * import { f32Literal } from "./_wgsl.ts";
 * console.log(f32Literal(1 / Math.sqrt(64))); // "0.125000000"
 * ```
 */
export function f32Literal(x: number): string {
  const s = Math.fround(x).toPrecision(9);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * Splits `count` workgroups (one per batch·head) over the y and z dimensions:
 * y = min(count, 65535), z = ⌈count / 65535⌉; the kernel's index is
 * `wid.y + 65535·wid.z` and it skips indices ≥ count.
 *
 * @example
 * ```ts
 * import { splitYZ } from "./_wgsl.ts";
 * console.log(splitYZ(12), splitYZ(70000)); // [12, 1] [65535, 2]
 * ```
 */
export function splitYZ(count: number): [number, number] {
  if (count <= MAX_WORKGROUPS) return [count, 1];
  const z = Math.ceil(count / MAX_WORKGROUPS);
  if (z > MAX_WORKGROUPS) {
    throw new RangeError(`Cannot dispatch ${count} batch·head workgroups: more than 65535² of them`);
  }
  return [MAX_WORKGROUPS, z];
}

/**
 * A 1-D grid of `n` threads in workgroups of `size`, as [x, y, 1] with
 * x ≤ 65535; the kernel's thread index is `(wid.x + nwg.x·wid.y)·size + lid`
 * and it skips indices ≥ n.
 *
 * @example
 * ```ts
 * import { grid1d } from "./_wgsl.ts";
 * console.log(grid1d(1000, 256), grid1d(256 * 70000, 256)); // [4, 1, 1] [35000, 2, 1]
 * ```
 */
export function grid1d(n: number, size: number): [number, number, number] {
  const count = Math.ceil(n / size);
  if (count <= MAX_WORKGROUPS) return [count, 1, 1];
  const y = Math.ceil(count / MAX_WORKGROUPS);
  if (y > MAX_WORKGROUPS) throw new RangeError(`Cannot dispatch ${n} threads: more than 65535² workgroups`);
  return [Math.ceil(count / y), y, 1];
}
