import assert from "node:assert/strict";
import { gptConfig, PRESETS } from "./config.ts";
import { parameterSpecs } from "./gpt.ts";

const count = (preset: string): number =>
  parameterSpecs(gptConfig({}, preset)).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);

Deno.test("parameter counts: gpt2 124,475,904 and meta-gpt2 152,842,752 (the paper's 152M)", () => {
  assert.equal(count("gpt2"), 124_475_904);
  assert.equal(count("meta-gpt2"), 152_842_752);
  // meta adds, per layer, c_attn + c_proj + ln_meta.
  assert.equal(count("meta-gpt2") - count("gpt2"), 12 * (768 * 2304 + 2304 + 768 * 768 + 768 + 2 * 768));
  // RoPE drops the 1024 × 768 position table.
  assert.equal(count("meta-gpt2-rope"), 152_842_752 - 1024 * 768);
});

Deno.test("presets have the documented shapes", () => {
  assert.deepEqual(
    [
      PRESETS.tiny.nLayer,
      PRESETS.tiny.nHead,
      PRESETS.tiny.nEmbd,
      PRESETS.tiny.blockSize,
      PRESETS.tiny.vocabSize,
    ],
    [4, 4, 256, 256, 50304],
  );
  assert.equal(PRESETS.gpt2.metaAttention, false);
  assert.equal(PRESETS["meta-gpt2-rope"].posEncoding, "rope");
});

Deno.test("config errors name the key, the value and what was expected", () => {
  assert.throws(() => gptConfig({ nLayers: 2 }), /unknown model config key "nLayers"/);
  assert.throws(
    () => gptConfig({ nLayer: "4" }),
    /nLayer = "4" in a model config: expected a positive integer/,
  );
  assert.throws(() => gptConfig({ posEncoding: "alibi" }), /posEncoding = "alibi"/);
  assert.throws(() => gptConfig({ nHead: 3 }), /Cannot split nEmbd 256 into nHead 3 heads/);
  assert.throws(() => gptConfig({}, "gpt3"), /Cannot find model preset "gpt3"/);
  assert.throws(() => gptConfig({ dropout: 1 }), /dropout = 1/);
  assert.throws(() => gptConfig({ yarn: { scale: 2, originalContext: 256 } }), /yarn/);
  assert.throws(() => gptConfig({ posEncoding: "rope", nEmbd: 12, nHead: 4 }), /RoPE with head size 3/);
});
