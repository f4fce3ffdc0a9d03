/**
 * The analyses of paper §4.4–5 on one model: prompts of a task, the VIB
 * sweep on List Recall, every figure and table written into a folder.
 *
 * @module
 */

import { checkWritableDir } from "@metatokens/tensor/fs";
import type { Gpt } from "@metatokens/model";
import { type Analysis, type AnalysisFile, analyzeModel, writeAnalysis } from "@metatokens/analysis";
import { generateDataset, taskName } from "@metatokens/tasks";

/** Options of {@linkcode analyze} (the analysis package's `AnalyzeOptions` plus prompts, seeds and a folder). */
export interface AnalyzeRunOptions {
  /** Task of the prompts analysed. */
  task: string;
  /** Its curriculum phase. */
  phase: number;
  /** Prompts analysed. */
  n: number;
  /** List Recall examples of the VIB sweep (0: no sweep). */
  vibN: number;
  /** VIB epochs. */
  vibEpochs: number;
  /** β values of the sweep (default the paper's seven). */
  betas?: readonly number[];
  /** Seed of the VIB runs. */
  seed: number;
  /** Seed of the prompts (default `seed`). */
  examplesSeed?: number;
  /** Seed of the VIB examples (default `seed + 1`). */
  vibSeed?: number;
  /** Output folder (checked writable before any work). */
  out: string;
  /** Progress messages. */
  log?: (message: string) => void;
}

/**
 * Runs every analysis on a meta-attention `model` and writes the SVG
 * figures and JSON/CSV numbers into `options.out`.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { analyze } from "@metatokens/experiments";
 * using model = new Gpt(gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16 }), new Rng(0));
 * const out = `${await Deno.makeTempDir()}/analysis`;
 * const { files } = await analyze(model, { task: "list-recall", phase: 1, n: 1, vibN: 0, vibEpochs: 1, seed: 7, out });
 * console.log(files.some((f) => f.name === "analysis.json")); // true
 * ```
 */
export async function analyze(
  model: Gpt,
  options: AnalyzeRunOptions,
): Promise<{ analysis: Analysis; files: AnalysisFile[] }> {
  const o = options;
  await checkWritableDir(o.out);
  const task = taskName(o.task);
  const examples = generateDataset(task, o.phase, o.n, o.examplesSeed ?? o.seed);
  const vibExamples = o.vibN > 0 ? generateDataset("list-recall", 1, o.vibN, o.vibSeed ?? o.seed + 1) : [];
  const analysis = await analyzeModel(model, examples, {
    task,
    vibExamples,
    betas: o.betas,
    vibEpochs: o.vibEpochs,
    seed: o.seed,
    log: o.log,
  });
  return { analysis, files: await writeAnalysis(analysis, o.out) };
}
