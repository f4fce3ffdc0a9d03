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
 * Read bandwidth is the wasm `sumSquares` kernel streaming a 256 MiB buffer
 * (far beyond the caches), best of the repeats, on a backend with the same
 * thread count.
 *
 * With `--device webgpu` (or `auto` on a hardware adapter) the model runs on
 * the `webgpu` backend instead (no ceiling row: the GPU's bandwidth is not
 * probed here).
 *
 * ```sh
 * deno task bench:generate [--json] [--threads N] [--thread-counts 1,2] [--repeat R] [--quick]
 *                          [--device cpu|webgpu|auto]
 * ```
 *
 * @module
 */

import { type Backend, Rng, wasmBackend } from "../tensor/mod.ts";
import { generate, Gpt, type GptConfig, gptConfig, parameterSpecs } from "../model/mod.ts";
import { benchFlags, gpuDevice, positiveInt, reporter } from "./_bench.ts";

const flags = benchFlags(Deno.args, { "thread-counts": undefined });
const report = reporter(flags);
const gpu = await gpuDevice(flags);
const threadCounts = flags.extra["thread-counts"]
  ? flags.extra["thread-counts"].split(",").map((s) => positiveInt(s.trim(), "--thread-counts"))
  : [...new Set([1, flags.threads])];
const config = gptConfig(flags.quick ? { nLayer: 1, nEmbd: 64, nHead: 2 } : {}, "tiny");
const [ttftPrompt, decodePrompt, newTokens] = flags.quick ? [32, 32, 8] : [256, 128, 64];
const MIB = 1 << 20;

/** Best read bandwidth (bytes/s) of `backend` streaming `bytes` through `sumSquares`. */
function readBandwidth(backend: Backend, bytes: number, repeat: number): number {
  const n = bytes / 4;
  const x = backend.alloc("f32", n), out = backend.alloc("f32", 1);
  backend.kernels.fill(x, 1, n); // touch every page first
  let best = Infinity;
  for (let i = 0; i <= repeat; i++) {
    const t0 = performance.now();
    backend.kernels.sumSquares(out, x, n, false);
    if (i > 0) best = Math.min(best, (performance.now() - t0) / 1000);
  }
  backend.free(x);
  backend.free(out);
  return bytes / best;
}

/**
 * Bytes one decoded token reads: every parameter except the embeddings it
 * gathers one row of (the head reads all of `wte`), and the KV cache of
 * `context` tokens (keys and values of every layer; meta keys are read only by
 * meta tokens, which decoding does not produce).
 */
function bytesPerToken(config: GptConfig, context: number): number {
  let weights = 0;
  for (const { name, shape } of parameterSpecs(config)) {
    if (name === "transformer.wpe.weight") continue; // one row gathered
    weights += shape.reduce((a, b) => a * b, 1);
  }
  return 4 * (weights + 2 * config.nLayer * context * config.nEmbd);
}

interface Figures {
  ttftMs: number;
  ttftSpread: number;
  tokensPerSecond: number;
  tpsSpread: number;
}

/** Best and spread (max − min, relative to best) of TTFT and decode tok/s over the repeats. */
async function measure(model: Gpt, ttft: Int32Array, prompt: Int32Array, repeat: number): Promise<Figures> {
  await generate(model, prompt, { maxNewTokens: 2, temperature: 0 }); // warm up
  const ttfts: number[] = [], tps: number[] = [];
  for (let i = 0; i < repeat; i++) {
    ttfts.push((await generate(model, ttft, { maxNewTokens: 1, temperature: 0 })).ttftMs);
    tps.push((await generate(model, prompt, { maxNewTokens: newTokens, temperature: 0 })).tokensPerSecond);
  }
  const best = Math.min(...ttfts), fastest = Math.max(...tps);
  return {
    ttftMs: best,
    ttftSpread: (Math.max(...ttfts) - best) / best,
    tokensPerSecond: fastest,
    tpsSpread: (fastest - Math.min(...tps)) / fastest,
  };
}

const rng = new Rng(1);
const long = Int32Array.from({ length: ttftPrompt }, () => rng.int(50257));
// The same prompts with every 10th token a meta token (k = 10%, as in pre-training).
const withMeta = (p: Int32Array) => p.map((t, i) => (i % 10 === 9 ? config.metaTokenId : t));
const prompts = [
  { meta: false, ttft: long, decode: long.subarray(0, decodePrompt) },
  { meta: true, ttft: withMeta(long), decode: withMeta(long.subarray(0, decodePrompt)) },
];
const perToken = bytesPerToken(config, decodePrompt + newTokens / 2);

for (const threads of gpu ? [0] : threadCounts) {
  const backend = gpu?.backend ?? wasmBackend({ threads });
  const where = gpu ? backend.name : `${threads}t`;
  let ceiling = 0;
  if (!gpu) {
    const bandwidth = readBandwidth(backend, flags.quick ? 64 * MIB : 256 * MIB, flags.repeat);
    ceiling = bandwidth / perToken;
    report(
      {
        bench: "read-bandwidth",
        threads,
        gb_per_s: +(bandwidth / 1e9).toFixed(1),
        bytes_per_token: perToken,
        ceiling_tokens_per_s: +ceiling.toFixed(0),
      },
      `read bandwidth ${where}: ${(bandwidth / 1e9).toFixed(1)} GB/s; a token reads ${
        (perToken / 1e6).toFixed(1)
      } MB → ceiling ${ceiling.toFixed(0)} tok/s`,
    );
  }
  const model = new Gpt(config, new Rng(0), backend);
  const rows: Figures[] = [];
  for (const p of prompts) {
    const f = await measure(model, p.ttft, p.decode, flags.repeat);
    rows.push(f);
    report(
      {
        bench: "generate",
        preset: flags.quick ? "tiny (quick)" : "tiny",
        weights: "f32",
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
      `generate f32 ${where}, ${p.meta ? "10% meta tokens" : "no meta tokens "}: decode ${
        f.tokensPerSecond.toFixed(1)
      } tok/s (spread ${(100 * f.tpsSpread).toFixed(0)}%${
        gpu ? "" : `, ${(100 * f.tokensPerSecond / ceiling).toFixed(0)}% of the ceiling`
      }), time to first token (${ttftPrompt} tokens) ${f.ttftMs.toFixed(0)} ms (spread ${
        (100 * f.ttftSpread).toFixed(0)
      }%)`,
    );
  }
  const [plain, meta] = rows;
  report(
    {
      bench: "generate-meta-cost",
      weights: "f32",
      ...(gpu ? { backend: backend.name } : { threads }),
      decode_slowdown: +(plain.tokensPerSecond / meta.tokensPerSecond).toFixed(3),
      ttft_slowdown: +(meta.ttftMs / plain.ttftMs).toFixed(3),
    },
    `meta tokens in the prompt, f32 ${where}: decode ${
      (plain.tokensPerSecond / meta.tokensPerSecond).toFixed(2)
    }× slower, prefill ${(meta.ttftMs / plain.ttftMs).toFixed(2)}× (paper Table 3: 1.11×)`,
  );
  model.dispose();
  backend.dispose();
}
