/**
 * Rotary position embedding (RoPE) kernels of the `webgpu` backend, applied to
 * the fused qkv activations: rotate-half pairs (i, i + HS/2) of the q and k
 * blocks turned by per-token (cos, sin) tables, the v block passed through.
 * One thread per rotated pair or copied v element; memory bound.
 *
 * @module
 */

import type { Backend, Storage } from "@metatokens/tensor";
import type { AttentionKernels } from "../../kernels.ts";
import { grid1d } from "./_wgsl.ts";

/** Threads per workgroup of the RoPE kernels. */
const THREADS = 256;

/**
 * WGSL of the forward (`out = rope(inp)`, sin as given) or the backward
 * (`dinp += rope⁻¹(dout)`, sin negated) kernel.
 */
function ropeWgsl(backward: boolean): string {
  const op = backward ? "+=" : "=";
  const [out, inp] = backward ? ["dinp", "dout"] : ["out", "inp"];
  return `// RoPE ${
    backward
      ? "backward: dinp += the rotation by −θ of dout (a rotation's transpose is its inverse)"
      : "forward: out = q and k rotated by θ in rotate-half pairs, v copied"
  }
const SIN_SIGN: f32 = ${backward ? "-1.0" : "1.0"};
struct Params { n: u32, c: u32, half: u32, out_off: u32, inp_off: u32, cos_off: u32, sin_off: u32 }
@group(0) @binding(0) var<storage, read_write> ${out}: array<f32>; // ${out} (N, 3C)
@group(0) @binding(1) var<storage, read_write> ${inp}: array<f32>; // ${inp} (N, 3C)
@group(0) @binding(2) var<storage, read_write> cos_t: array<f32>; // cos (N, HS/2)
@group(0) @binding(3) var<storage, read_write> sin_t: array<f32>; // sin (N, HS/2)
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + nwg.x * wid.y) * ${THREADS}u + lid; // row·2C + w, p.n = N·2C
  if (g >= p.n) { return; }
  let row = g / (2u * p.c);
  let w = g % (2u * p.c);
  let at = row * 3u * p.c;
  if (w < p.c) {
    // pair w of the q (w < C/2) or k block: head h, dimensions i and i + HS/2
    let part = w / (p.c / 2u);
    let rem = w % (p.c / 2u);
    let i = rem % p.half;
    let x = at + part * p.c + (rem / p.half) * 2u * p.half + i;
    let x1 = ${inp}[p.inp_off + x];
    let x2 = ${inp}[p.inp_off + x + p.half];
    let co = cos_t[p.cos_off + row * p.half + i];
    let si = SIN_SIGN * sin_t[p.sin_off + row * p.half + i];
${
    backward
      ? "    // forward: out1 = x1·cos − x2·sin, out2 = x2·cos + x1·sin ⇒ dx1 += d1·cos + d2·sin, dx2 += d2·cos − d1·sin\n"
      : ""
  }\
    ${out}[p.out_off + x] ${op} x1 * co - x2 * si;
    ${out}[p.out_off + x + p.half] ${op} x2 * co + x1 * si;
  } else {
    // v block: ${backward ? "forward: out_v = inp_v ⇒ dinp_v += dout_v" : "copied"}
    let x = at + 2u * p.c + (w - p.c);
    ${out}[p.out_off + x] ${op} ${inp}[p.inp_off + x];
  }
}
`;
}

/**
 * The `webgpu` RoPE kernels: `ropeForward` (out (N, 3C) = rotated inp) and
 * `ropeBackward` (dinp (N, 3C) += the inverse rotation of dout), tables
 * cos, sin (N, HS/2).
 *
 * @example
 * ```ts
 * import { empty, randn, Rng, webgpuBackend } from "@metatokens/tensor";
 * import { ropeTables, tokenPositions } from "@metatokens/attention";
 * import { webgpuRopeKernels } from "./rope.ts";
 * const backend = await webgpuBackend().catch(() => null); // null without an adapter
 * if (backend) {
 *   const [N, C, NH] = [3, 8, 2];
 *   const qkv = randn([N, 3 * C], new Rng(0), 1, { backend }); // (N, 3C)
 *   const { cos, sin } = ropeTables(tokenPositions(1, N), { headSize: C / NH }, backend); // (N, HS/2)
 *   const out = empty([N, 3 * C], "f32", { backend });
 *   webgpuRopeKernels(backend).ropeForward(out.storage, qkv.storage, cos.storage, sin.storage, N, C, NH);
 *   const [x, y] = [await qkv.data(), await out.data()];
 *   console.log(y[0] === x[0], y[2 * C] === x[2 * C]); // true true (position 0 is the identity; v copied)
 *   backend.dispose();
 * }
 * ```
 */
export function webgpuRopeKernels(
  backend: Backend,
): Pick<AttentionKernels<Storage, Storage>, "ropeForward" | "ropeBackward"> {
  const gpu = backend.gpu;
  if (!gpu) throw new Error(`Cannot run webgpu RoPE on backend "${backend.name}": it has no GPU hooks`);
  const run = (
    backward: boolean,
    out: Storage,
    inp: Storage,
    cos: Storage,
    sin: Storage,
    n: number,
    c: number,
    nh: number,
  ): void => {
    const hs = c / nh;
    if (!Number.isInteger(hs) || hs % 2 !== 0) {
      throw new RangeError(
        `Cannot apply RoPE with head size ${hs} (width ${c}, ${nh} heads): expected an even integer`,
      );
    }
    const threads = n * 2 * c;
    if (threads === 0) return;
    gpu.dispatch({
      key: backward ? "attention.rope.backward" : "attention.rope.forward",
      wgsl: () => ropeWgsl(backward),
      buffers: [out, inp, cos, sin],
      params: [threads, c, hs / 2, gpu.offset(out), gpu.offset(inp), gpu.offset(cos), gpu.offset(sin)],
      workgroups: grid1d(threads, THREADS),
    });
  };
  return {
    ropeForward: (out, inp, cos, sin, n, c, nh) => run(false, out, inp, cos, sin, n, c, nh),
    ropeBackward: (dinp, dout, cos, sin, n, c, nh) => run(true, dinp, dout, cos, sin, n, c, nh),
  };
}
