/**
 * Generation benchmark (the paper's Table 3, and decoding against the memory
 * limit): time to first token for a 256-token prompt and decode tokens/s
 * (128-token prompt, 64 new tokens, greedy, KV cache), with and without 10%
 * meta tokens in the prompt, per thread count — and, in the same run, the
 * machine's read bandwidth at that thread count and the tokens/s ceiling it
 * implies: every decoded token reads every weight once (the blocks, and the
 * 50304 × 256 head tied to `wte`) plus the KV cache, so
 * ceiling = bandwidth / bytes per token, and the ratio to it is printed.
 * The model is the `tiny` preset with meta-attention and random weights
 * (speed does not depend on them).
 *
 * Read bandwidth is `readBandwidth` of `_bench.ts` (one thread streaming a
 * 256 MiB buffer, best of the repeats): the ceiling of the 1-thread rows; the
 * rows with more threads print their ratio to the same single-thread figure.
 * `--quantize int8` (or `both`, the default) adds the int8 weight-only model
 * (`Gpt.quantize`), whose ceiling counts its smaller weights.
 *
 * With `--device webgpu` (or `auto` on a hardware adapter) the model runs on
 * the `webgpu` backend instead (no ceiling row: the GPU's bandwidth is not
 * probed here).
 *
 * ```sh
 * deno task bench:generate [--json] [--threads N] [--thread-counts 1,2] [--quantize f32|int8|both]
 *                          [--repeat R] [--quick] [--device cpu|webgpu|auto]
 * ```
 *
 * @module
 */

import { Rng, wasmBackend } from "../tensor/mod.ts";
import { generate, Gpt, type GptConfig, gptConfig, parameterSpecs } from "../model/mod.ts";
import { benchFlags, gpuDevice, positiveInt, readBandwidth, reporter } from "./_bench.ts";

type Weights = "f32" | "int8";
const flags = benchFlags(Deno.args, { "thread-counts": undefined, quantize: "both" });
const QUANTIZE: Record<string, Weights[]> = { f32: ["f32"], int8: ["int8"], both: ["f32", "int8"] };
const weightsList = QUANTIZE[flags.extra.quantize!];
if (!Object.hasOwn(QUANTIZE, flags.extra.quantize!)) {
  throw new RangeError(
    `Cannot use --quantize ${JSON.stringify(flags.extra.quantize)}: expected f32, int8 or both`,
  );
}
const report = reporter(flags);
const gpu = await gpuDevice(flags);
const threadCounts = flags.extra["thread-counts"]
  ? flags.extra["thread-counts"].split(",").map((s) => positiveInt(s.trim(), "--thread-counts"))
  : [...new Set([1, flags.threads])];
const config = gptConfig(flags.quick ? { nLayer: 1, nEmbd: 64, nHead: 2 } : {}, "tiny");
const [ttftPrompt, decodePrompt, newTokens] = flags.quick ? [32, 32, 8] : [256, 128, 64];

/**
 * Bytes one decoded token reads: every parameter a plain token's step uses —
 * not `wpe` (one row gathered) and not meta-attention's (a step without a meta
 * token skips it) — with the head reading all of `wte`, plus the KV cache of
 * `context` tokens (keys and values of every layer). With int8 weights the
 * block linears and the head read one byte per weight and 8 bytes per row
 * (scale and row sum), rows padded to 16 bytes.
 */
function bytesPerToken(config: GptConfig, context: number, weights: Weights): number {
  let bytes = 0;
  for (const { name, shape } of parameterSpecs(config)) {
    if (name === "transformer.wpe.weight" || /\.(ln_meta|meta_attn)\./.test(name)) continue;
    const size = shape.reduce((a, b) => a * b, 1);
    const linear = name === "transformer.wte.weight" || /\.(c_attn|c_proj|c_fc)\.weight$/.test(name);
    bytes += weights === "int8" && linear ? shape[0] * (Math.ceil(shape[1] / 16) * 16 + 8) : 4 * size;
  }
  return bytes + 4 * 2 * config.nLayer * context * config.nEmbd;
}

interface Figures {
  ttftMs: number;
  ttftSpread: number;
  tokensPerSecond: number;
  tpsSpread: number;
}

/**
 * Best and spread ((worst − best) / best) of TTFT and decode tok/s over the
 * repeats for each prompt pair; the prompts alternate within every repeat, so
 * a load change on the machine hits both alike.
 */
async function measure(
  model: Gpt,
  pairs: { ttft: Int32Array; decode: Int32Array }[],
  repeat: number,
): Promise<Figures[]> {
  for (const p of pairs) await generate(model, p.decode, { maxNewTokens: newTokens, temperature: 0 }); // warm up
  const ttfts = pairs.map((): number[] => []), tps = pairs.map((): number[] => []);
  for (let i = 0; i < repeat; i++) {
    for (const [j, p] of pairs.entries()) {
      ttfts[j].push((await generate(model, p.ttft, { maxNewTokens: 1, temperature: 0 })).ttftMs);
      tps[j].push(
        (await generate(model, p.decode, { maxNewTokens: newTokens, temperature: 0 })).tokensPerSecond,
      );
    }
  }
  return pairs.map((_, j) => {
    const best = Math.min(...ttfts[j]), fastest = Math.max(...tps[j]);
    return {
      ttftMs: best,
      ttftSpread: (Math.max(...ttfts[j]) - best) / best,
      tokensPerSecond: fastest,
      tpsSpread: (fastest - Math.min(...tps[j])) / Math.min(...tps[j]),
    };
  });
}

const rng = new Rng(1);
const long = Int32Array.from({ length: ttftPrompt }, () => rng.int(50257));
// The same prompts with every 10th token a meta token (k = 10%, as in pre-training).
const withMeta = (p: Int32Array) => p.map((t, i) => (i % 10 === 9 ? config.metaTokenId : t));
const prompts = [
  { meta: false, ttft: long, decode: long.subarray(0, decodePrompt) },
  { meta: true, ttft: withMeta(long), decode: withMeta(long.subarray(0, decodePrompt)) },
];
const context = decodePrompt + newTokens / 2;

for (const threads of gpu ? [0] : threadCounts) {
  const backend = gpu?.backend ?? wasmBackend({ threads });
  const where = gpu ? backend.name : `${threads}t`;
  // The single-thread read bandwidth, measured in this run (the 1-thread target's ceiling).
  const bandwidth = gpu ? 0 : readBandwidth(backend, flags.quick ? 64 << 20 : 256 << 20, flags.repeat).best;
  const speeds: Partial<Record<Weights, number>> = {};
  for (const weights of weightsList) {
    const perToken = bytesPerToken(config, context, weights);
    const ceiling = bandwidth / perToken;
    if (!gpu) {
      report(
        {
          bench: "decode-ceiling",
          weights,
          threads,
          read_gb_per_s: +(bandwidth / 1e9).toFixed(1),
          bytes_per_token: perToken,
          ceiling_tokens_per_s: +ceiling.toFixed(0),
        },
        `ceiling ${weights} ${where}: single-thread read bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s, ` +
          `a token reads ${(perToken / 1e6).toFixed(1)} MB → ${ceiling.toFixed(0)} tok/s`,
      );
    }
    const model = new Gpt(config, new Rng(0), backend);
    if (weights === "int8") model.quantize("int8");
    const rows = await measure(model, prompts, flags.repeat);
    for (const [j, p] of prompts.entries()) {
      const f = rows[j];
      report(
        {
          bench: "generate",
          preset: flags.quick ? "tiny (quick)" : "tiny",
          weights,
          meta_tokens: p.meta,
          ...(gpu ? { backend: backend.name } : { threads }),
          ttft_prompt: ttftPrompt,
          ttft_ms: +f.ttftMs.toFixed(1),
          ttft_spread: +f.ttftSpread.toFixed(3),
          decode_prompt: decodePrompt,
          new_tokens: newTokens,
          tokens_per_s: +f.tokensPerSecond.toFixed(1),
          tokens_per_s_spread: +f.tpsSpread.toFixed(3),
          ...(gpu ? {} : { of_ceiling: +(f.tokensPerSecond / ceiling).toFixed(3) }),
        },
        `generate ${weights} ${where}, ${p.meta ? "10% meta tokens" : "no meta tokens "}: decode ${
          f.tokensPerSecond.toFixed(1)
        } tok/s (spread ${(100 * f.tpsSpread).toFixed(0)}%${
          gpu ? "" : `, ${(100 * f.tokensPerSecond / ceiling).toFixed(0)}% of the ceiling`
        }), time to first token (${ttftPrompt} tokens) ${f.ttftMs.toFixed(0)} ms (spread ${
          (100 * f.ttftSpread).toFixed(0)
        }%)`,
      );
    }
    const [plain, meta] = rows;
    speeds[weights] = plain.tokensPerSecond;
    report(
      {
        bench: "generate-meta-cost",
        weights,
        ...(gpu ? { backend: backend.name } : { threads }),
        decode_slowdown: +(plain.tokensPerSecond / meta.tokensPerSecond).toFixed(3),
        ttft_slowdown: +(meta.ttftMs / plain.ttftMs).toFixed(3),
      },
      `meta tokens in the prompt, ${weights} ${where}: decode ${
        (plain.tokensPerSecond / meta.tokensPerSecond).toFixed(2)
      }× slower, prefill ${(meta.ttftMs / plain.ttftMs).toFixed(2)}× (paper Table 3: 1.11×)`,
    );
    model.dispose();
  }
  if (speeds.f32 && speeds.int8) {
    report(
      {
        bench: "generate-int8-speedup",
        ...(gpu ? { backend: backend.name } : { threads }),
        speedup: +(speeds.int8 / speeds.f32).toFixed(2),
      },
      `int8 vs f32 decode ${where}: ${(speeds.int8 / speeds.f32).toFixed(2)}×`,
    );
  }
  backend.dispose();
}
