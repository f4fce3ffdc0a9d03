import assert from "node:assert/strict";
import {
  add,
  type Backend,
  backward,
  matmul,
  mergeHeads,
  noGrad,
  randn,
  reshape,
  Rng,
  scale,
  scope,
  softmax,
  splitHeads,
  type Storage,
  type Tensor,
  tensor,
} from "@metatokens/tensor";
import { attentionOp, causalAttention } from "./causal_attention.ts";
import { attentionKernels } from "./dispatch.ts";
import { refAttentionKernels } from "./backends/ref/kernels.ts";
import { DEFAULT_LIMITS, deviceLimits, webgpuAttentionKernels } from "./backends/webgpu/attention.ts";
import { assertNear, attentionBackends, label, read, webgpu } from "./_testing/backends.ts";

/** The textbook dense attention from core ops: softmax(q·kᵀ/√HS + causal mask)·v, T × T per head. */
export function denseCausal(qkv: Tensor, nh: number): Tensor {
  const [b, t, c3] = qkv.shape;
  const c = c3 / 3;
  const cols = (i: number): Tensor => {
    // q, k or v block (B, T, C) through a matmul with a 0/1 selector: keeps everything differentiable.
    const sel = new Float32Array(c3 * c);
    for (let j = 0; j < c; j++) sel[(i * c + j) * c + j] = 1;
    return matmul(qkv, tensor(sel, [c3, c], { backend: qkv.backend }));
  };
  const [q, k, v] = [0, 1, 2].map((i) => splitHeads(cols(i), nh));
  const mask = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -Infinity;
  const s = add(
    scale(matmul(q, k, { transB: true }), 1 / Math.sqrt(c / nh)),
    tensor(mask, [t, t], { backend: qkv.backend }),
  );
  return reshape(mergeHeads(matmul(softmax(s), v)), [b, t, c]);
}

/** Output and qkv gradient (for a fixed random upstream gradient) of an attention function. */
async function run(
  fn: (qkv: Tensor) => Tensor,
  backend: Backend,
  shape: number[],
  seed: number,
): Promise<[Float32Array, Float32Array]> {
  const rng = new Rng(seed);
  const qkv = randn(shape, rng, 1, { backend, requiresGrad: true });
  const dout = randn([shape[0], shape[1], shape[2] / 3], rng, 1, { backend });
  const out = scope(() => {
    const y = fn(qkv);
    backward(y, dout);
    return y;
  });
  return [await read(out), await read(qkv.grad!)];
}

const [ref, ...wasm] = attentionBackends();
const SHAPES: [number, number, number, number][] = [ // B, T, C, NH
  [1, 1, 8, 2],
  [2, 3, 8, 1],
  [1, 17, 16, 2],
  [2, 64, 32, 2],
  [1, 65, 64, 1],
  [1, 127, 16, 4],
];

Deno.test("ref causal attention matches the dense T×T formulation in output and gradient", async () => {
  for (const [b, t, c, nh] of [...SHAPES, [1, 512, 8, 2]] as const) {
    const [y, g] = await run((qkv) => causalAttention(qkv, nh), ref, [b, t, 3 * c], t);
    const [yd, gd] = await run((qkv) => denseCausal(qkv, nh), ref, [b, t, 3 * c], t);
    assertNear(y, yd, `out (B ${b}, T ${t}, C ${c}, NH ${nh})`);
    assertNear(g, gd, `dqkv (B ${b}, T ${t}, C ${c}, NH ${nh})`);
  }
});

for (const backend of wasm) {
  Deno.test(`${label(backend)} causal attention matches ref up to T = 512, odd T included`, async () => {
    for (const [b, t, c, nh] of [...SHAPES, [2, 255, 64, 2], [1, 511, 128, 2], [1, 512, 64, 1]] as const) {
      const [y, g] = await run((qkv) => causalAttention(qkv, nh), backend, [b, t, 3 * c], t);
      const [yr, gr] = await run((qkv) => causalAttention(qkv, nh), ref, [b, t, 3 * c], t);
      assertNear(y, yr, `out (B ${b}, T ${t}, C ${c}, NH ${nh})`);
      assertNear(g, gr, `dqkv (B ${b}, T ${t}, C ${c}, NH ${nh})`, 5e-5, 2e-4);
    }
  });
}

Deno.test("3 threads give bit-identical attention to 1 thread", async () => {
  const [one, three] = wasm;
  const [y1, g1] = await run((qkv) => causalAttention(qkv, 4), one, [2, 100, 3 * 64], 5);
  const [y3, g3] = await run((qkv) => causalAttention(qkv, 4), three, [2, 100, 3 * 64], 5);
  assert.deepEqual(new Int32Array(y3.buffer), new Int32Array(y1.buffer));
  assert.deepEqual(new Int32Array(g3.buffer), new Int32Array(g1.buffer));
});

/** B, T, C, NH of the webgpu cases: HS 4, 8, 16, 64 and 6, odd T, several tiles per side. */
const WEBGPU_SHAPES: [number, number, number, number][] = [
  [1, 1, 8, 2],
  [2, 17, 16, 2],
  [1, 63, 64, 1],
  [2, 33, 64, 4],
  [1, 19, 12, 2],
  [1, 200, 32, 2],
];

Deno.test({
  name: "webgpu causal attention matches ref in output and gradient (HS 4, 6, 8, 16, 64; odd T)",
  ignore: webgpu === null,
  async fn() {
    for (const [b, t, c, nh] of WEBGPU_SHAPES) {
      const [y, g] = await run((qkv) => causalAttention(qkv, nh), webgpu!, [b, t, 3 * c], t);
      const [yr, gr] = await run((qkv) => causalAttention(qkv, nh), ref, [b, t, 3 * c], t);
      assertNear(y, yr, `out (B ${b}, T ${t}, C ${c}, NH ${nh})`);
      assertNear(g, gr, `dqkv (B ${b}, T ${t}, C ${c}, NH ${nh})`, 5e-5, 2e-4);
    }
  },
});

Deno.test({
  name: "webgpu attention is deterministic and refuses head sizes above 256, naming the size",
  ignore: webgpu === null,
  async fn() {
    const [y1, g1] = await run((qkv) => causalAttention(qkv, 2), webgpu!, [2, 33, 3 * 32], 3);
    const [y2, g2] = await run((qkv) => causalAttention(qkv, 2), webgpu!, [2, 33, 3 * 32], 3);
    assert.deepEqual(new Int32Array(y2.buffer), new Int32Array(y1.buffer));
    assert.deepEqual(new Int32Array(g2.buffer), new Int32Array(g1.buffer));
    const qkv = randn([1, 2, 3 * 260], new Rng(0), 1, { backend: webgpu! });
    assert.throws(() => causalAttention(qkv, 1), /head size 260: the kernels take head sizes 1 … 256/);
  },
});

Deno.test({
  name: "webgpu attention kernels take views at unaligned element offsets (scalar loads) and accumulate dqkv",
  ignore: webgpu === null,
  async fn() {
    const gpu = webgpu!;
    const [B, T, C, NH] = [2, 21, 16, 2];
    const d = { b: B, t: T, c: C, nh: NH };
    const rng = new Rng(9);
    const host = (n: number): Float32Array => rng.fillNormal(new Float32Array(n));
    const [qkv, dout, dqkv0] = [host(B * T * 3 * C), host(B * T * C), host(B * T * 3 * C)];
    // Every buffer a view at an odd offset inside a larger allocation.
    const view = (n: number, at: number, data?: Float32Array): Storage => {
      const whole = gpu.alloc("f32", n + at + 5);
      const v = gpu.slice(whole, at, n);
      if (data) gpu.write(v, data);
      return v;
    };
    const g = {
      qkv: view(qkv.length, 1, qkv),
      out: view(B * T * C, 3),
      lse: view(B * NH * T, 7),
      dout: view(dout.length, 5, dout),
      dqkv: view(dqkv0.length, 2, dqkv0),
    };
    const k = attentionKernels(gpu);
    k.attentionForward(g.out, g.lse, g.qkv, null, d);
    k.attentionBackward(g.dqkv, g.dout, g.out, g.lse, g.qkv, null, d);
    const [out, lse, dqkv] = [new Float32Array(B * T * C), new Float32Array(B * NH * T), dqkv0.slice()];
    refAttentionKernels.attentionForward(out, lse, qkv, null, d);
    refAttentionKernels.attentionBackward(dqkv, dout, out, lse, qkv, null, d);
    assertNear(await gpu.read(g.out, "f32", out.length), out, "out");
    assertNear(await gpu.read(g.lse, "f32", lse.length), lse, "lse");
    assertNear(await gpu.read(g.dqkv, "f32", dqkv.length), dqkv, "dqkv (accumulated)", 5e-5, 2e-4);
  },
});

/** Hardware tiles on llvmpipe take minutes to compile (see SOFTWARE_SLOTS): opt in there. */
const HW_TILES = webgpu !== null &&
  (deviceLimits(webgpu.gpu!.device).slots === Infinity || Deno.env.get("METATOKENS_WEBGPU_HW_TILES") === "1");

Deno.test({
  name:
    "webgpu attention with the 16 KiB hardware tiles matches ref (opt in on llvmpipe: METATOKENS_WEBGPU_HW_TILES=1)",
  ignore: !HW_TILES,
  async fn() {
    const gpu = webgpu!;
    const k = webgpuAttentionKernels(gpu, { limits: DEFAULT_LIMITS });
    for (const [B, T, C, NH, useMeta] of [[2, 19, 16, 2, 1], [1, 70, 64, 1, 0], [1, 20, 6, 1, 0]]) {
      const d = { b: B, t: T, c: C, nh: NH };
      const rng = new Rng(T);
      const host = (n: number): Float32Array => rng.fillNormal(new Float32Array(n));
      const [qkv, dout, dqkv] = [host(B * T * 3 * C), host(B * T * C), new Float32Array(B * T * 3 * C)];
      const meta = useMeta ? Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 1 ? 1 : 0)) : null;
      const up = (a: Float32Array | Int32Array): Storage => {
        const s = gpu.alloc(a instanceof Int32Array ? "i32" : "f32", a.length);
        gpu.write(s, a);
        return s;
      };
      const g = { qkv: up(qkv), dout: up(dout), dqkv: up(dqkv), meta: meta && up(meta) };
      const [gout, glse] = [gpu.alloc("f32", B * T * C), gpu.alloc("f32", B * NH * T)];
      k.attentionForward(gout, glse, g.qkv, g.meta, d);
      k.attentionBackward(g.dqkv, g.dout, gout, glse, g.qkv, g.meta, d);
      const [out, lse] = [new Float32Array(B * T * C), new Float32Array(B * NH * T)];
      refAttentionKernels.attentionForward(out, lse, qkv, meta, d);
      refAttentionKernels.attentionBackward(dqkv, dout, out, lse, qkv, meta, d);
      const what = `(B ${B}, T ${T}, C ${C}, NH ${NH}${meta ? ", meta" : ""})`;
      assertNear(await gpu.read(gout, "f32", out.length), out, `out ${what}`);
      assertNear(await gpu.read(glse, "f32", lse.length), lse, `lse ${what}`);
      assertNear(await gpu.read(g.dqkv, "f32", dqkv.length), dqkv, `dqkv ${what}`, 5e-5, 2e-4);
    }
  },
});

Deno.test("causal attention saves only the log-sum-exp (B, NH, T) for backward", () => {
  for (const backend of [...attentionBackends(), ...(webgpu ? [webgpu] : [])]) {
    const qkv = randn([2, 33, 3 * 16], new Rng(1), 1, { backend, requiresGrad: true });
    const y = causalAttention(qkv, 4);
    assert.equal(y.node!.saved.length, 1);
    assert.deepEqual(y.node!.saved[0].shape, [2, 4, 33]);
    // What backward needs besides that is its input (qkv) and output (y): O(B·NH·T) extra, no T×T.
    y.dispose();
  }
});

Deno.test("attention rejects head counts that do not divide the width and malformed qkv", () => {
  const qkv = randn([1, 4, 3 * 10], new Rng(0), 1, { backend: ref });
  assert.throws(() => causalAttention(qkv, 3), /Cannot split width 10 into 3 heads/);
  assert.throws(
    () => causalAttention(randn([4, 30], new Rng(0), 1, { backend: ref }), 2),
    /expected \[B, T, 3C\]/,
  );
  assert.throws(
    () => causalAttention(randn([1, 4, 31], new Rng(0), 1, { backend: ref }), 1),
    /expected \[B, T, 3C\]/,
  );
});

Deno.test("wasm attention refuses head sizes that are not a multiple of 4, naming the size", () => {
  const qkv = randn([1, 4, 3 * 6], new Rng(0), 1, { backend: wasm[0] });
  assert.throws(() => causalAttention(qkv, 3), /head size 2: the kernel needs a multiple of 4/);
});

Deno.test("noGrad attention records nothing", () => {
  const qkv = randn([1, 5, 12], new Rng(0), 1, { backend: ref, requiresGrad: true });
  const y = noGrad(() => causalAttention(qkv, 2));
  assert.equal(y.node, null);
  assert.equal(attentionOp.name, "attention.causal");
});
