/**
 * Training-step benchmark: tokens/s of a full step (forward, backward, AdamW)
 * of the `tiny` preset (B 8, T 256) with and without meta-attention, on 1 and
 * all threads. Synthetic tokens with round(0.1·T) meta tokens per row at
 * random slots, as pre-training injects them, in both runs: the two differ
 * only by the meta-attention blocks, so their ratio is what meta-attention
 * costs.
 *
 * `--preset P` picks the model (the pair is P without and with
 * meta-attention: `--preset gpt2` measures gpt2 against meta-gpt2),
 * `--block-size T` and `--batch-size B` the batch. With `--device webgpu` (or
 * `auto` on a hardware adapter) it measures the `webgpu` backend only, each
 * step timed until the GPU is done (`backend.sync()`), defaults gpt2, T 1024,
 * B 8 (the shape), and prints the meta/baseline step-time ratio
 * (target ≤ 1.03 at k = 10%). `--quick` shrinks the model to 1 layer of
 * width 64 and the batch to B 2, T 64 (unless given).
 *
 * ```sh
 * deno task bench:train [--json] [--threads N] [--repeat R] [--quick] [--device cpu|webgpu|auto]
 *   [--preset tiny|gpt2|…] [--block-size T] [--batch-size B]
 * deno task bench:train --device webgpu            # gpt2 vs meta-gpt2, B 8, T 1024
 * ```
 *
 * @module
 */

import { type Backend, Rng, wasmBackend } from "../tensor/mod.ts";
import { type Batch, Gpt, gptConfig, PAPER_TRAIN_OPTIONS, PRESETS, Trainer } from "../model/mod.ts";
import { benchFlags, gpuDevice, positiveInt, reporter, timeAsync } from "./_bench.ts";

const flags = benchFlags(Deno.args, { preset: undefined, "block-size": undefined, "batch-size": undefined });
const report = reporter(flags);
const gpu = await gpuDevice(flags);
const preset = flags.extra.preset ?? (gpu ? "gpt2" : "tiny");
gptConfig({}, preset); // a clear error for an unknown preset, before any work
const B = flags.extra["batch-size"] === undefined
  ? (flags.quick ? 2 : 8)
  : positiveInt(flags.extra["batch-size"], "--batch-size");
const T = flags.extra["block-size"] === undefined
  ? (flags.quick ? 64 : gpu ? 1024 : 256)
  : positiveInt(flags.extra["block-size"], "--block-size");

function source(metaId: number) {
  const rng = new Rng(3);
  return {
    next(): Batch {
      const x = Int32Array.from({ length: B * T }, () => rng.int(50257));
      const y = Int32Array.from({ length: B * T }, () => rng.int(50257));
      const rows: number[][] = [];
      for (let b = 0; b < B; b++) {
        const slots = new Set<number>();
        while (slots.size < Math.round(0.1 * T)) slots.add(rng.int(T));
        const row = [...slots].sort((p, q) => p - q);
        for (const p of row) {
          x[b * T + p] = metaId;
          if (p > 0) y[b * T + p - 1] = -1;
        }
        rows.push(row);
      }
      return { b: B, t: T, x, y, meta: rows };
    },
    state: () => null,
    restore: () => {},
  };
}

/** Seconds per step (best and median) of the preset with or without meta-attention. */
async function stepTime(backend: Backend, meta: boolean): Promise<{ best: number; median: number }> {
  const config = gptConfig({
    metaAttention: meta,
    ...(T > PRESETS[preset].blockSize ? { blockSize: T } : {}),
    ...(flags.quick ? { nLayer: 1, nEmbd: 64, nHead: 2 } : {}),
  }, preset);
  const model = new Gpt(config, new Rng(0), backend);
  const trainer = new Trainer(model, source(config.metaTokenId), null, {
    ...PAPER_TRAIN_OPTIONS,
    steps: 1000,
    gradAccum: 1,
    warmup: 10,
    lr: 1e-4,
  });
  // One warm-up step (JIT, allocations, GPU pipelines), then each step until the device is done.
  return await timeAsync(() => trainer.step(), flags.repeat, { backend, minSample: 0 });
}

if (gpu) {
  const { backend, description } = gpu;
  report(
    { bench: "device", device: flags.device, backend: backend.name, adapter: description },
    `metatokens training-step benchmark — ${description}, best of ${flags.repeat}`,
  );
  const best: number[] = [];
  for (const meta of [false, true]) {
    const t = await stepTime(backend, meta);
    best.push(t.best);
    const tps = (B * T) / t.best, median = (B * T) / t.median;
    report(
      {
        bench: "train_step",
        preset,
        meta,
        backend: backend.name,
        b: B,
        t: T,
        tokens_per_s: Math.round(tps),
        tokens_per_s_median: Math.round(median),
        ms_per_step: +(t.best * 1000).toFixed(2),
      },
      `train step ${preset} meta=${meta} ${backend.name} (B ${B}, T ${T}): ${tps.toFixed(0)} tok/s ` +
        `(median ${median.toFixed(0)}), ${(t.best * 1000).toFixed(1)} ms/step`,
    );
  }
  const ratio = best[1] / best[0];
  report(
    {
      bench: "train_step_ratio",
      preset,
      backend: backend.name,
      b: B,
      t: T,
      k: 0.1,
      ratio: +ratio.toFixed(4),
    },
    `meta/baseline step time (${preset}, B ${B}, T ${T}, k 10%) ${backend.name}: ${ratio.toFixed(3)} ` +
      `(target ≤ 1.03)`,
  );
  backend.dispose();
} else {
  for (const threads of [...new Set([1, flags.threads])]) {
    const backend = wasmBackend({ threads });
    for (const meta of [false, true]) {
      const t = await stepTime(backend, meta);
      const tps = (B * T) / t.best, median = (B * T) / t.median;
      report(
        {
          bench: "train_step",
          preset,
          meta,
          threads,
          b: B,
          t: T,
          tokens_per_s: Math.round(tps),
          tokens_per_s_median: Math.round(median),
        },
        `train step ${preset} meta=${meta} ${threads}t: ${tps.toFixed(0)} tok/s (median ${
          median.toFixed(0)
        }), ${(t.best * 1000).toFixed(0)} ms/step`,
      );
    }
    backend.dispose();
  }
}
