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
  lengthBin,
  lengthBinRange,
  PHASES,
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

/** Which test examples, by length bin: `n` prompts in each bin, the same for every model. */
export interface BinnedTestSet {
  /** Task name. */
  task: string;
  /** Upper edges of the length bins to fill (`LENGTH_BINS` entries). */
  bins: readonly number[];
  /** Examples per bin. */
  n: number;
  /** Seed; bin b, phase p draws from seed · 1,000,000 + b · 10 + p, apart from the training data. */
  seed: number;
}

/**
 * `n` test examples in each of `s.bins`, drawn (as evenly as `n` allows)
 * from the curriculum phases whose prompt windows meet the bin — so every
 * cell of a per-bin table has `n` examples.
 *
 * @example
 * ```ts
 * import { binnedTestExamples } from "@metatokens/experiments";
 * const examples = binnedTestExamples({ task: "parity", bins: [128, 256], n: 4, seed: 7 });
 * console.log(examples.filter((e) => e.promptTokens <= 128).length, examples.length); // 4 8
 * ```
 */
export function binnedTestExamples(s: BinnedTestSet): TaskExample[] {
  return s.bins.flatMap((bin) => {
    const { lo, hi } = lengthBinRange(bin);
    const phases = PHASES.filter((p) => p.tokens.lo <= hi && p.tokens.hi >= lo);
    if (phases.length === 0) {
      throw new RangeError(
        `Cannot draw test prompts of ${lo}–${hi} tokens: no curriculum phase reaches them`,
      );
    }
    return phases.flatMap((p, i) => {
      const n = Math.floor(s.n / phases.length) + (i < s.n % phases.length ? 1 : 0);
      return n === 0 ? [] : generateDataset(s.task, p, n, s.seed * 1_000_000 + bin * 10 + p.phase, { bin });
    });
  });
}

/** The best a constant answer does in one length bin: how often the most frequent answer is right. */
export interface ChanceLevel {
  /** The bin's upper edge. */
  bin: number;
  /** The most frequent answer. */
  answer: string;
  /** Examples with that answer, and examples in the bin. */
  hits: number;
  n: number;
}

/**
 * Chance per length bin: the accuracy of the best constant answer on these
 * very examples (an upper bound for any predictor that ignores the prompt).
 *
 * @example
 * ```ts
 * import { chanceLevels } from "@metatokens/experiments";
 * const examples = [{ promptTokens: 100, answer: "1" }, { promptTokens: 110, answer: "1" }, { promptTokens: 90, answer: "0" }];
 * console.log(chanceLevels(examples)); // [{ bin: 128, answer: "1", hits: 2, n: 3 }]
 * ```
 */
export function chanceLevels(examples: readonly { promptTokens: number; answer: string }[]): ChanceLevel[] {
  const bins = new Map<number, Map<string, number>>();
  for (const e of examples) {
    const bin = lengthBin(e.promptTokens);
    const counts = bins.get(bin) ?? new Map<string, number>();
    bins.set(bin, counts.set(e.answer.trim(), (counts.get(e.answer.trim()) ?? 0) + 1));
  }
  return [...bins.entries()].sort((a, b) => a[0] - b[0]).map(([bin, counts]) => {
    let answer = "", hits = 0, n = 0;
    for (const [a, c] of counts) {
      n += c;
      if (c > hits) [answer, hits] = [a, c];
    }
    return { bin, answer, hits, n };
  });
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
