/**
 * `@metatokens/experiments`: the paper's experiments as functions with typed
 * options and typed results — pre-train, YaRN-extend, fine-tune through the
 * curriculum, evaluate per length bin and ablation, analyse, and `reproduce`
 * (plan, resumable stages, report). The command line (`@metatokens/cli`) only
 * parses arguments and prints; everything it runs is here. The plan of every
 * scale is plain data in `plan.ts`.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { evaluate, finetune, testExamples } from "@metatokens/experiments";
 * using model = new Gpt(gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16 }), new Rng(0));
 * await finetune(model, { task: "parity", phases: [1], maxLength: 256, n: 4, steps: 1, batchSize: 2, lr: 1e-3, minLr: 1e-4, warmup: 0, seed: 1 });
 * const { bins } = await evaluate(model, testExamples({ task: "parity", phases: [1], n: 2, seed: 7 }), { seed: 7 });
 * console.log(bins.length > 0); // true
 * ```
 *
 * @module
 */

export * from "./plan.ts";
export * from "./describe_plan.ts";
export * from "./settings.ts";
export * from "./pretrain.ts";
export * from "./finetune.ts";
export * from "./evaluate.ts";
export * from "./analyze.ts";
export * from "./datasets.ts";
export * from "./report.ts";
export * from "./reproduce.ts";
