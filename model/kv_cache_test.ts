// Decoding with the KV cache is the model's own forward: at every step its logits equal the full
// forward's over the whole sequence, on every backend, with meta tokens in the prompt and among the
// decoded tokens, under each inference-time ablation and with YaRN.
import assert from "node:assert/strict";
import { type Backend, noGrad, refBackend, Rng, scope, wasmBackend, webgpuBackend } from "@metatokens/tensor";
import { type GptConfig, gptConfig } from "./config.ts";
import { type Ablation, type Batch, type ForwardOptions, Gpt } from "./gpt.ts";
import { KvCache } from "./kv_cache.ts";

const webgpu: Backend | null = await webgpuBackend().catch(() => null);
if (!webgpu) console.log("webgpu: no adapter — skipping the webgpu KV-cache equality test");

const V = 40, META = 39;
const micro = (posEncoding: string, extra: Record<string, unknown> = {}): GptConfig =>
  gptConfig({
    nLayer: 2,
    nHead: 2,
    nEmbd: 16,
    blockSize: 24,
    vocabSize: V,
    metaTokenId: META,
    posEncoding,
    ...extra,
  });

const CONFIGS: [string, GptConfig][] = [
  ["APE", micro("ape")],
  ["RoPE", micro("rope")],
  ["NoPE", micro("none")],
  ["RoPE + YaRN ×4", micro("rope", { yarn: { scale: 4, originalContext: 6 } })],
  ["RoPE, no meta-attention", micro("rope", { metaAttention: false })],
];
const ABLATIONS: [string, Ablation][] = [
  ["no ablation", {}],
  ["no position at meta tokens", { noPosAtMeta: true }],
  ["no embedding at meta tokens", { noEmbedAtMeta: true }],
];

// Two sequences with meta tokens in the prefill and among the later, one-at-a-time tokens.
const SEQUENCES = [
  [5, META, 7, 8, 2, 11, META, 3, 9, META, 4, 6, 1, META, 12],
  [META, 20, 21, 22, META, 23, 1, 2, 3, META, META, 30, 31, 32, 33],
];
const PREFILL = [6, 3];

/** The logits of a forward, read back (any backend). */
async function logitsOf(model: Gpt, batch: Batch, options: ForwardOptions): Promise<Float32Array> {
  const logits = noGrad(() => scope(() => model.forward(batch, options).logits!.keep()));
  return await logits.take() as Float32Array;
}

/** Largest |a − b| over the logits of every decoded position. */
async function worstGap(backend: Backend, config: GptConfig, ablation: Ablation): Promise<number> {
  const model = new Gpt(config, new Rng(4), backend);
  const full: Float32Array[] = [];
  for (const s of SEQUENCES) {
    full.push(await logitsOf(model, { b: 1, t: s.length, x: Int32Array.from(s) }, { ablation }));
  }
  using cache = new KvCache(config, 3, 16, backend);
  // Sequence r lives in cache row 2 − r: batch rows and cache rows differ.
  const rows = [2, 1];
  let worst = 0;
  const check = (r: number, logits: Float32Array, from: number, at: number, count: number): void => {
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < V; j++) {
        worst = Math.max(worst, Math.abs(logits[(from + i) * V + j] - full[r][(at + i) * V + j]));
      }
    }
  };
  // Prefill each sequence alone, then step both together one token at a time.
  for (const r of [0, 1]) {
    const x = Int32Array.from(SEQUENCES[r].slice(0, PREFILL[r]));
    const logits = await logitsOf(model, { b: 1, t: x.length, x }, { cache, cacheRows: [rows[r]], ablation });
    check(r, logits, 0, 0, PREFILL[r]);
  }
  const pos = [...PREFILL];
  while (pos[0] < SEQUENCES[0].length) {
    const x = Int32Array.from([SEQUENCES[0][pos[0]], SEQUENCES[1][pos[1]]]);
    const logits = await logitsOf(model, { b: 2, t: 1, x }, { cache, cacheRows: rows, ablation });
    check(0, logits, 0, pos[0]++, 1);
    check(1, logits, 1, pos[1]++, 1);
  }
  assert.deepEqual([...cache.lengths], [0, 12, 15]);
  model.dispose();
  return worst;
}

const BACKENDS: [string, Backend | null][] = [
  ["ref", refBackend()],
  ["wasm", wasmBackend({ threads: 1 })],
  ["webgpu", webgpu],
];
for (const [name, backend] of BACKENDS) {
  Deno.test({
    name:
      `cached decoding equals the full forward at every step on ${name}: each position encoding, ablation, YaRN`,
    ignore: backend === null,
    async fn() {
      for (const [what, config] of CONFIGS) {
        for (const [ablationName, ablation] of ABLATIONS) {
          const gap = await worstGap(backend!, config, ablation);
          assert.ok(gap <= 1e-4, `${what}, ${ablationName}: logits differ by ${gap}`);
        }
      }
    },
  });
}

Deno.test("a KV cache refuses what does not fit before the forward writes anything", () => {
  const config = micro("ape");
  const model = new Gpt(config, new Rng(1), refBackend());
  using cache = new KvCache(config, 2, 8, refBackend());
  const run = (t: number, rows: number[]) =>
    noGrad(() =>
      model.forward({ b: rows.length, t, x: new Int32Array(t * rows.length).fill(1) }, {
        cache,
        cacheRows: rows,
      })
    );
  assert.throws(() => run(9, [0]), /Cannot add 9 tokens to cache row 0: it holds 0 of 8/);
  assert.throws(() => run(1, [2]), /Cannot use cache row 2/);
  assert.throws(() => run(1, [1, 1]), /two batch rows into one cache row/);
  assert.deepEqual([...cache.lengths], [0, 0]);
  assert.throws(() => new KvCache(config, 1, 25), /block size 24/);
  model.dispose();
});
