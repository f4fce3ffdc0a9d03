/**
 * Evaluation per prompt-length bin: the test examples of a task (the same for
 * every model), a model's scores per bin under an ablation, every ablation of
 * Tables 11–14, and the `eval.md` / `eval.json` of a test set.
 *
 * @module
 */

import { join } from "node:path";
import { Rng } from "@metatokens/tensor";
import { writeFileAtomic } from "@metatokens/tensor/fs";
import type { Ablation, Gpt } from "@metatokens/model";
import { modelPredictor } from "@metatokens/analysis";
import {
  type BinScore,
  encodeExample,
  evaluateTask,
  formatBinTable,
  generateDataset,
  type Predictor,
  type TaskExample,
  taskName,
} from "@metatokens/tasks";

/** Which test examples: task, curriculum phases, examples per phase, seed. */
export interface TestSet {
  /** Task name. */
  task: string;
  /** Phases the examples are drawn from. */
  phases: readonly number[];
  /** Examples per phase. */
  n: number;
  /** Seed; phase p draws from seed · 1000 + p, a stream apart from the training data's. */
  seed: number;
}

/**
 * The test examples of `s`, the same for every model.
 *
 * @example
 * ```ts
 * import { testExamples } from "@metatokens/experiments";
 * const examples = testExamples({ task: "parity", phases: [1, 2], n: 3, seed: 7 });
 * console.log(examples.length, examples[3].phase); // 6 2
 * ```
 */
export function testExamples(s: TestSet): TaskExample[] {
  return s.phases.flatMap((p) => generateDataset(s.task, p, s.n, s.seed * 1000 + p));
}

/** Scores per length bin, and how many examples did not fit the model. */
export interface Evaluation {
  /** Sequence and token accuracy per length bin, ascending. */
  bins: BinScore[];
  /** Examples longer than the model can read (an APE model's block size), left out. */
  skipped: number;
}

/**
 * Scores `predictor` on the examples whose prompt and answer fit in
 * `maxTokens` (the others are counted as skipped).
 *
 * @example
 * ```ts
 * import { evaluatePredictor, testExamples } from "@metatokens/experiments";
 * import { encodeExample } from "@metatokens/tasks";
 * const examples = testExamples({ task: "parity", phases: [1], n: 4, seed: 7 });
 * const oracle = new Map(examples.map((e) => [encodeExample(e).prompt.join(), encodeExample(e).answer]));
 * const perfect = {
 *   complete: (prompt: Int32Array) => Promise.resolve(oracle.get(prompt.join())!),
 *   teacherForced: (_: Int32Array, answer: Int32Array) => Promise.resolve(answer),
 * };
 * const { bins } = await evaluatePredictor(perfect, examples);
 * console.log(bins.every((b) => b.sequenceAccuracy === 1)); // true
 * ```
 */
export async function evaluatePredictor(
  predictor: Predictor,
  examples: readonly TaskExample[],
  maxTokens = Infinity,
): Promise<Evaluation> {
  const fits = examples.filter((e) => {
    const { prompt, answer } = encodeExample(e);
    return prompt.length + answer.length - 1 <= maxTokens;
  });
  if (fits.length === 0) return { bins: [], skipped: examples.length };
  return { bins: (await evaluateTask(predictor, fits)).bins, skipped: examples.length - fits.length };
}

/**
 * Scores `model` on `examples` per length bin under `ablation`. An APE model
 * skips the examples longer than its block size and says how many.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { evaluate, testExamples } from "@metatokens/experiments";
 * using model = new Gpt(gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16 }), new Rng(0));
 * const { bins, skipped } = await evaluate(model, testExamples({ task: "parity", phases: [1], n: 2, seed: 7 }), { seed: 7 });
 * console.log(bins.reduce((n, b) => n + b.count, 0) + skipped); // 2
 * ```
 */
export function evaluate(
  model: Gpt,
  examples: readonly TaskExample[],
  options: { ablation?: Ablation; seed: number },
): Promise<Evaluation> {
  const { config } = model;
  const predictor = modelPredictor(model, options.ablation ?? {}, new Rng(options.seed));
  return evaluatePredictor(predictor, examples, config.posEncoding === "ape" ? config.blockSize : Infinity);
}

/**
 * Scores `model` under each of `ablations` (a model without meta-attention
 * only under the first, `full`), by ablation name.
 */
export async function evaluateAblations(
  model: Gpt,
  examples: readonly TaskExample[],
  ablations: readonly { name: string; label: string; ablation: Ablation }[],
  options: { seed: number; log?: (message: string) => void },
): Promise<Record<string, Evaluation>> {
  const out: Record<string, Evaluation> = {};
  for (const a of model.config.metaAttention ? ablations : ablations.slice(0, 1)) {
    out[a.name] = await evaluate(model, examples, { ablation: a.ablation, seed: options.seed });
    const acc = out[a.name].bins.map((b) =>
      `${b.label} ${b.sequenceAccuracy === null ? "–" : (100 * b.sequenceAccuracy).toFixed(0)}%`
    );
    options.log?.(`eval ${a.label}: ${acc.join(", ")}`);
  }
  return out;
}

/** Options of {@linkcode evaluateTestSet}. */
export interface TestSetOptions extends TestSet {
  /** Inference-time ablation (meta-token ablations need a meta model). */
  ablation?: Ablation;
  /** Where the model comes from, for error messages. */
  source?: string;
}

/** A test set's evaluation, as `eval.json` records it. */
export interface TestSetEvaluation extends Evaluation {
  /** Canonical task name. */
  task: string;
  /** Phases. */
  phases: readonly number[];
  /** Examples drawn. */
  examples: number;
  /** The ablation used. */
  ablation: Ablation;
  /** A one-line description: task, phases, examples, ablation. */
  title: string;
}

/**
 * Scores `model` on a task's test set. Meta-token ablations on a model
 * without meta-attention and a test set the model can read none of are
 * errors.
 */
export async function evaluateTestSet(model: Gpt, o: TestSetOptions): Promise<TestSetEvaluation> {
  const { config } = model;
  const ablation = o.ablation ?? {};
  if ((ablation.noPosAtMeta || ablation.noEmbedAtMeta) && !config.metaAttention) {
    throw new RangeError(
      `Cannot run meta-token ablations on "${
        o.source ?? "this model"
      }": the model has no meta-attention (a baseline checkpoint)`,
    );
  }
  const task = taskName(o.task);
  const examples = testExamples({ ...o, task });
  const { bins, skipped } = await evaluate(model, examples, { ablation, seed: o.seed });
  if (bins.length === 0) {
    throw new RangeError(
      `Cannot evaluate: all ${skipped} examples are longer than the APE model's block size ${config.blockSize} ` +
        `(use earlier phases, or a RoPE / NoPE model for longer prompts)`,
    );
  }
  const flags = [
    ablation.noPosAtMeta && "no pos at meta",
    ablation.noEmbedAtMeta && "no embed at meta",
    (ablation.posNoise ?? 0) > 0 && `PE noise σ=${ablation.posNoise}`,
  ].filter(Boolean).join(", ");
  const title = `${task}, phases ${o.phases.join(",")}, ${examples.length} examples${
    flags ? ` (${flags})` : ""
  }`;
  return { task, phases: o.phases, examples: examples.length, ablation, bins, skipped, title };
}

/** The per-bin table of an evaluation, as markdown. */
export function evaluationMarkdown(e: TestSetEvaluation): string {
  return formatBinTable(e.bins, e.title);
}

/**
 * Writes `eval.md` (the table) and `eval.json` (the record, with the
 * checkpoint evaluated) into `dir`; returns their paths.
 */
export async function writeEvaluation(
  dir: string,
  e: TestSetEvaluation,
  checkpoint: string,
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const md = join(dir, "eval.md"), json = join(dir, "eval.json");
  await writeFileAtomic(md, evaluationMarkdown(e));
  const { task, phases, ablation, bins } = e;
  await writeFileAtomic(
    json,
    JSON.stringify({ checkpoint, task, phases: phases.join(","), ablation, bins }, null, 2) + "\n",
  );
  return [md, json];
}
