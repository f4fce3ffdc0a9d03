/**
 * A scale's plan as text, with a cost estimate: model FLOPs of every stage
 * and the time they take at an effective throughput.
 *
 * @module
 */

import { type GptConfig, gptConfig, parameterBytes } from "@metatokens/model";
import { DEFAULT_VAL_N, phasesFitting } from "./finetune.ts";
import { ABLATIONS, MODELS, type ScalePlan, TASKS } from "./plan.ts";

/** Effective end-to-end training throughput per CPU thread: what `bench:train` measures for `tiny` here. */
export const CPU_FLOPS_PER_THREAD = 30e9;

/**
 * The config of a plan's meta-attention models (the largest of the three).
 *
 * @example
 * ```ts
 * import { planConfig } from "@metatokens/experiments";
 * import { SCALES } from "@metatokens/experiments/plan";
 * console.log(planConfig(SCALES.micro).nLayer); // 2
 * ```
 */
export function planConfig(plan: ScalePlan): GptConfig {
  return gptConfig({ ...plan.model, metaAttention: true }, plan.preset);
}

/**
 * Parameters of a config (the tied head counted once).
 *
 * @example
 * ```ts
 * import { gptConfig } from "@metatokens/model";
 * import { parameterCount } from "@metatokens/experiments";
 * console.log(parameterCount(gptConfig({}, "gpt2"))); // 124475904
 * ```
 */
export function parameterCount(config: GptConfig): number {
  return parameterBytes(config) / 4; // f32: 4 bytes a parameter
}

/**
 * Model FLOPs per token of a forward pass: 2 per weight of the blocks, the
 * attention scores and mixing (2·2·C·T/2 per layer, causal), and the head
 * (2·V·C) where `head` is true. Training costs three times the forward.
 */
function forwardFlops(config: GptConfig, body: number, t: number, head: boolean): number {
  return 2 * body + 2 * config.nLayer * config.nEmbd * t + (head ? 2 * config.vocabSize * config.nEmbd : 0);
}

/**
 * The plan as text: stages, their sizes, and a cost estimate (model FLOPs,
 * and the time at `cpuFlops` effective FLOP/s and on a GPU).
 *
 * @example
 * ```ts
 * import { describePlan } from "@metatokens/experiments";
 * import { SCALES } from "@metatokens/experiments/plan";
 * console.log(describePlan(SCALES.tiny, 60e9).split("\n")[2]); // "1. no pre-training: every model starts from its random initialisation"
 * ```
 */
export function describePlan(plan: ScalePlan, cpuFlops: number): string {
  const config = planConfig(plan);
  const nParams = parameterCount(config);
  const p = plan.pretrain, f = plan.finetune;
  const embeddings = config.vocabSize * config.nEmbd +
    (config.posEncoding === "ape" ? config.blockSize * config.nEmbd : 0);
  const body = nParams - embeddings;
  const pretrainTokens = p ? p.steps * p.batchSize * p.gradAccum * config.blockSize : 0;
  const pre = MODELS.length * 3 * forwardFlops(config, body, config.blockSize, true) * pretrainTokens;
  // Fine-tuning runs: every (model, task, train length) once, the seeded tasks once per seed.
  const runs = TASKS.reduce(
    (s, t) => s + (plan.seeds.tasks.includes(t.name) ? plan.seeds.values.length : 1),
    0,
  ) * MODELS.length;
  // Padded rows of the train length through the blocks; the head only sees answer tokens.
  const phases = plan.trainLengths.map((l) => phasesFitting(l).length);
  const ft = runs * plan.trainLengths.reduce(
    (s, l, i) => s + phases[i] * f.steps * f.batchSize * l * 3 * forwardFlops(config, body, l, false),
    0,
  );
  // Evaluation: a prefill and a teacher-forced pass over each prompt (≈ 3/4 of its bin's edge), per ablation.
  const ablationRuns = MODELS.reduce((s, m) => s + (m.meta ? ABLATIONS.length : 1), 0) / MODELS.length;
  const ev = runs * plan.trainLengths.length * ablationRuns * plan.eval.bins.reduce(
    (s, bin) => s + plan.eval.n * 2 * 0.75 * bin * forwardFlops(config, body, 0.75 * bin, false),
    0,
  );
  const total = pre + ft + ev;
  const hours = (flops: number, rate: number): string => {
    const s = flops / rate;
    return s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
  };
  const seeded = plan.seeds.tasks.length > 0
    ? `seeds ${plan.seeds.values.join(", ")} for ${plan.seeds.tasks.join(", ")}, seed ${
      plan.seeds.values[0]
    } for the rest`
    : `seed ${plan.seeds.values[0]}`;
  return [
    `reproduce --scale ${plan.scale}: ${plan.purpose}`,
    `models: ${MODELS.map((m) => m.label).join(", ")} — ${config.nLayer} layers, width ${config.nEmbd}, ` +
    `${config.nHead} heads, context ${config.blockSize}, ${(nParams / 1e6).toFixed(1)}M parameters (meta)`,
    p
      ? `1. pre-train each: ${
        p.steps.toLocaleString("en-US")
      } steps × ${p.batchSize} × ${config.blockSize} ` +
        `tokens = ${(pretrainTokens / 1e6).toFixed(2)}M tokens`
      : "1. no pre-training: every model starts from its random initialisation",
    `2. fine-tune each on ${TASKS.length} tasks at train lengths ${
      plan.trainLengths.join(", ")
    } (${seeded}; ` +
    `${runs * plan.trainLengths.length} runs): ${f.steps} steps × ${f.batchSize} examples per phase, ` +
    `${f.n} examples generated per phase` +
    (f.evalEvery
      ? `; validation loss on ${f.valN ?? DEFAULT_VAL_N} held-out examples every ${f.evalEvery} steps`
      : ""),
    `   evaluate on ${plan.eval.n} prompts per length bin ${plan.eval.bins.join(", ")}, meta models also ` +
    `under ${ABLATIONS.slice(1).map((a) => a.label).join(", ")}`,
    `3. analyse the ${plan.analysis.of} meta models: ${plan.analysis.n} prompts, VIB on ${plan.analysis.vibN} ` +
    `List Recall examples × ${plan.analysis.vibEpochs} epochs × 7 β`,
    `cost: ≈ ${(total / 1e15).toFixed(3)} PFLOP (pre-training ${(pre / 1e15).toFixed(3)}, fine-tuning ` +
    `${(ft / 1e15).toFixed(3)}, evaluation ${(ev / 1e15).toFixed(3)}); ≈ ${hours(total, cpuFlops)} at ` +
    `${(cpuFlops / 1e9).toFixed(0)} GFLOP/s (this CPU), ≈ ${
      hours(total, 25e12)
    } at 25 TFLOP/s (a GPU at ~40% of fp32 peak)`,
  ].join("\n");
}
