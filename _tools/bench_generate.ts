/**
 * Generation benchmark (the paper's Table 3): decode tokens/s and
 * time-to-first-token with a KV cache, for the same model and a prompt with
 * and without meta tokens (`tiny` preset with meta-attention, random weights:
 * speed does not depend on them).
 *
 * With `--device webgpu` (or `auto` on a hardware adapter) the model runs
 * on the `webgpu` backend (decoding reads every token's logits back, so the
 * figures include the GPU's round trips).
 *
 * ```sh
 * deno task bench:generate [--json] [--threads N] [--repeat R] [--quick] [--device cpu|webgpu|auto]
 * ```
 *
 * @module
 */

import { Rng, wasmBackend } from "../tensor/mod.ts";
import { generate, Gpt, gptConfig } from "../model/mod.ts";
import { benchFlags, gpuDevice, reporter } from "./_bench.ts";

const flags = benchFlags(Deno.args);
const report = reporter(flags);
const gpu = await gpuDevice(flags);
const backend = gpu?.backend ?? wasmBackend({ threads: flags.threads });
if (gpu) {
  report(
    { bench: "device", device: flags.device, backend: backend.name, adapter: gpu.description },
    `metatokens generation benchmark — ${gpu.description}, best of ${flags.repeat}`,
  );
}
const config = gptConfig(flags.quick ? { nLayer: 1, nEmbd: 64, nHead: 2 } : {}, "tiny");
const model = new Gpt(config, new Rng(0), backend);
const [promptLength, newTokens] = flags.quick ? [32, 8] : [128, 64];
const rng = new Rng(1);
const plain = Int32Array.from({ length: promptLength }, () => rng.int(50257));
// The same prompt with every 10th token a meta token (k = 10%, as in pre-training).
const withMeta = plain.map((t, i) => (i % 10 === 9 ? config.metaTokenId : t));

for (const [metaTokens, prompt] of [[false, plain], [true, withMeta]] as const) {
  let best = { ttftMs: Infinity, tokensPerSecond: 0 };
  await generate(model, prompt, { maxNewTokens: 2, temperature: 0 }); // warm up
  for (let i = 0; i < flags.repeat; i++) {
    const r = await generate(model, prompt, { maxNewTokens: newTokens, temperature: 0 });
    best = {
      ttftMs: Math.min(best.ttftMs, r.ttftMs),
      tokensPerSecond: Math.max(best.tokensPerSecond, r.tokensPerSecond),
    };
  }
  report(
    {
      bench: "generate",
      preset: "tiny",
      meta_tokens: metaTokens,
      prompt: promptLength,
      new_tokens: newTokens,
      ...(gpu ? { backend: backend.name } : { threads: backend.threads }),
      tokens_per_s: +best.tokensPerSecond.toFixed(1),
      ttft_ms: +best.ttftMs.toFixed(1),
    },
    `generate tiny, prompt ${promptLength}${metaTokens ? " with 10% meta tokens" : ", no meta tokens"} ` +
      `${gpu ? backend.name : `${backend.threads}t`}: ${
        best.tokensPerSecond.toFixed(1)
      } tok/s, time to first token ${best.ttftMs.toFixed(0)} ms`,
  );
}
backend.dispose();
