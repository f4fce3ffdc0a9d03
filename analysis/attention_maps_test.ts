import assert from "node:assert/strict";
import { Rng } from "@metatokens/tensor";
import { refAttentionKernels } from "@metatokens/attention";
import { attentionEntropy, attentionRow } from "./attention_maps.ts";
import { entropy } from "./entropy.ts";

// The host-side probabilities must reproduce the attention kernels: Σ_j p_ij v_j equals the
// reference kernel's output, for causal and for meta-masked attention.
for (const masked of [false, true]) {
  Deno.test(`attentionRow reproduces the ${masked ? "meta-masked" : "causal"} attention kernel's output`, () => {
    const T = 9, C = 8, NH = 2, HS = 4;
    const rng = new Rng(masked ? 2 : 1);
    const qkv = rng.fillNormal(new Float32Array(T * 3 * C), 0, 1);
    const flags = Int32Array.from({ length: T }, (_, i) => (i % 3 === 1 ? 1 : 0));
    const out = new Float32Array(T * C), lse = new Float32Array(NH * T);
    refAttentionKernels.attentionForward(out, lse, qkv, masked ? flags : null, { b: 1, t: T, c: C, nh: NH });
    for (let i = 0; i < T; i++) {
      const rows = attentionRow(qkv, { t: T, c: C, nh: NH }, i, masked ? flags : null);
      rows.forEach((p, h) => {
        if (masked && flags[i] === 0) {
          assert.equal(p, null);
          for (let x = 0; x < HS; x++) assert.equal(out[i * C + h * HS + x], 0);
          return;
        }
        assert.ok(p);
        assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-12);
        for (let x = 0; x < HS; x++) {
          let y = 0;
          for (let j = 0; j <= i; j++) y += p[j] * qkv[j * 3 * C + 2 * C + h * HS + x];
          assert.ok(Math.abs(y - out[i * C + h * HS + x]) < 1e-5, `query ${i} head ${h} dim ${x}`);
        }
        if (masked) { for (let j = 0; j <= i; j++) if (flags[j] === 0) assert.equal(p[j], 0); }
      });
    }
  });
}

Deno.test("attentionEntropy averages per head over meta and non-meta queries", () => {
  const T = 5, C = 4, NH = 1;
  const qkv = new Rng(3).fillNormal(new Float32Array(T * 3 * C), 0, 1);
  const flags = [0, 1, 0, 1, 0];
  const [h] = attentionEntropy(qkv, { t: T, c: C, nh: NH }, flags);
  const H = (i: number): number => entropy(attentionRow(qkv, { t: T, c: C, nh: NH }, i)[0]!);
  assert.ok(Math.abs(h.meta! - (H(1) + H(3)) / 2) < 1e-12);
  assert.ok(Math.abs(h.nonMeta! - (H(0) + H(2) + H(4)) / 3) < 1e-12);
  const [m] = attentionEntropy(qkv, { t: T, c: C, nh: NH }, flags, true);
  assert.equal(m.nonMeta, null);
  assert.equal(
    m.meta!.toFixed(9),
    // The first meta query sees only itself (entropy 0); the second sees both meta keys.
    ((0 + entropy(attentionRow(qkv, { t: T, c: C, nh: NH }, 3, flags)[0]!)) / 2).toFixed(9),
  );
});

Deno.test("attentionRow refuses a wrong buffer size and an out-of-range query", () => {
  assert.throws(() => attentionRow(new Float32Array(10), { t: 2, c: 2, nh: 1 }, 0), /expected T·3C = 12/);
  assert.throws(
    () => attentionRow(new Float32Array(12), { t: 2, c: 2, nh: 1 }, 2),
    /query 2: expected a position in \[0, 2\)/,
  );
});
