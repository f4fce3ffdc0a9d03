/**
 * Training-step benchmark: tokens/s of a full step (forward, backward, AdamW)
 * of the `tiny` preset (B 8, T 256) with and without meta-attention, on 1 and
 * all threads. Synthetic tokens with round(0.1·T) meta tokens per row at
 * random slots, as pre-training injects them, in both runs: the two differ
 * only by the meta-attention blocks, so their ratio is what meta-attention
 * costs.
 *
 * ```sh
 * deno task bench:train [--json] [--threads N] [--repeat R] [--quick]
 * ```
 *
 * @module
 */

import { Rng, wasmBackend } from "../tensor/mod.ts";
import { type Batch, Gpt, gptConfig, PAPER_TRAIN_OPTIONS, Trainer } from "../model/mod.ts";
import { benchFlags, reporter } from "./_bench.ts";

const flags = benchFlags(Deno.args);
const report = reporter(flags);
const [B, T] = flags.quick ? [2, 64] : [8, 256];

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

for (const threads of [...new Set([1, flags.threads])]) {
  const backend = wasmBackend({ threads });
  for (const meta of [false, true]) {
    const config = gptConfig({
      metaAttention: meta,
      ...(flags.quick ? { nLayer: 1, nEmbd: 64, nHead: 2 } : {}),
    }, "tiny");
    const model = new Gpt(config, new Rng(0), backend);
    const trainer = new Trainer(model, source(config.metaTokenId), null, {
      ...PAPER_TRAIN_OPTIONS,
      steps: 1000,
      gradAccum: 1,
      warmup: 10,
      lr: 1e-4,
    });
    await trainer.step(); // warm up: JIT, allocations
    let best = Infinity;
    const times: number[] = [];
    for (let i = 0; i < flags.repeat; i++) {
      const t0 = performance.now();
      await trainer.step();
      const s = (performance.now() - t0) / 1000;
      times.push(s);
      best = Math.min(best, s);
    }
    times.sort((a, b) => a - b);
    const tps = (B * T) / best, median = (B * T) / times[Math.floor(times.length / 2)];
    report(
      {
        bench: "train_step",
        preset: "tiny",
        meta,
        threads,
        b: B,
        t: T,
        tokens_per_s: Math.round(tps),
        tokens_per_s_median: Math.round(median),
      },
      `train step tiny meta=${meta} ${threads}t: ${tps.toFixed(0)} tok/s (median ${median.toFixed(0)}), ${
        (best * 1000).toFixed(0)
      } ms/step`,
    );
  }
  backend.dispose();
}
