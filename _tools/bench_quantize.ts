/**
 * What int8 weight-only inference costs in quality: the validation loss (and
 * perplexity) of a trained checkpoint with f32 weights and with
 * `Gpt.quantize("int8")`, on the same validation batches of the corpus it
 * was trained on (the embedded Brown corpus unless `--data` names files; the
 * split and the batch seed are `pretrain`'s), with the paired difference per
 * batch, its 95% t interval and n.
 *
 * ```sh
 * deno task bench:quantize --checkpoint runs/pretrain/checkpoint [--data GLOBS] [--batches 32]
 *                          [--val-fraction 0.05] [--json] [--threads N]
 * ```
 *
 * @module
 */

import { noGrad, scope, wasmBackend } from "../tensor/mod.ts";
import { loadCheckpoint, modelFromCheckpoint } from "../model/mod.ts";
import { openBrownCorpus, openCorpus, TokenBatchSource } from "../data/mod.ts";
import { seedSummary } from "../tasks/mod.ts";
import { VAL_SEED } from "../experiments/mod.ts";
import { benchFlags, positiveInt, positiveNumber, reporter } from "./_bench.ts";

const flags = benchFlags(Deno.args, {
  checkpoint: undefined,
  data: "",
  batches: "32",
  "batch-size": "8",
  "val-fraction": "0.05",
});
const report = reporter(flags);
const dir = flags.extra.checkpoint;
if (!dir) throw new TypeError("Cannot measure quantization without --checkpoint DIR (a trained checkpoint)");
const batches = positiveInt(flags.extra.batches!, "--batches");
const batchSize = positiveInt(flags.extra["batch-size"]!, "--batch-size");
const valFraction = positiveNumber(flags.extra["val-fraction"]!, "--val-fraction");

const backend = wasmBackend({ threads: flags.threads });
const ckpt = await loadCheckpoint(dir);
using model = modelFromCheckpoint(ckpt, backend);
const { config } = model;
const cacheOptions = { blockSize: config.blockSize, valFraction };
const cache = flags.extra.data
  ? await openCorpus(flags.extra.data.split(","), cacheOptions)
  : await openBrownCorpus(cacheOptions);

/** Mean loss of each of the first `batches` validation batches (the same batches every call). */
async function losses(): Promise<number[]> {
  const val = await TokenBatchSource.open(cache, "val", {
    batchSize,
    blockSize: config.blockSize,
    meta: config.metaAttention,
    seed: VAL_SEED,
  });
  const out: number[] = [];
  for (let i = 0; i < batches; i++) {
    const batch = val.next();
    out.push((await noGrad(() => scope(() => model.forward(batch).loss!.keep())).take())[0]);
  }
  return out;
}

const f32 = await losses();
model.quantize("int8");
const int8 = await losses();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const diff = seedSummary(int8.map((l, i) => l - f32[i]));
const [lf, lq] = [mean(f32), mean(int8)];
report(
  {
    bench: "quantize",
    checkpoint: dir,
    batches,
    tokens: batches * batchSize * config.blockSize,
    val_loss_f32: +lf.toFixed(5),
    val_loss_int8: +lq.toFixed(5),
    perplexity_f32: +Math.exp(lf).toFixed(3),
    perplexity_int8: +Math.exp(lq).toFixed(3),
    relative_change: +((lq - lf) / lf).toFixed(5),
    diff_mean: +diff.mean.toFixed(5),
    diff_lo: +diff.lo.toFixed(5),
    diff_hi: +diff.hi.toFixed(5),
  },
  `${dir}: validation loss f32 ${lf.toFixed(4)} (perplexity ${Math.exp(lf).toFixed(2)}), int8 ${
    lq.toFixed(4)
  } (perplexity ${Math.exp(lq).toFixed(2)}): ${(100 * (lq - lf) / lf).toFixed(2)}% ` +
    `(paired per batch: ${diff.mean.toFixed(4)} [${diff.lo.toFixed(4)}, ${
      diff.hi.toFixed(4)
    }], n = ${batches} ` +
    `batches of ${batchSize} × ${config.blockSize} tokens)`,
);
backend.dispose();
