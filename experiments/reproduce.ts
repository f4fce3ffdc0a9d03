/**
 * `reproduce`: the whole paper at one scale, in resumable stages.
 *
 * 1. pre-train the baseline (GPT-2, APE), meta-attention + APE and
 *    meta-attention + RoPE with the same budget (or, in a plan without
 *    pre-training, start each from its random initialisation);
 * 2. fine-tune each on the four tasks at every train length and seed and
 *    evaluate on the same test prompts per length bin (Tables 7–10), meta
 *    models also under the ablations of Tables 11–14 (no positional
 *    encoding, no embedding, neither, at meta tokens);
 * 3. analyse the meta models (Figures 2 and 3): the pre-trained ones, or
 *    the ones fine-tuned on List Recall;
 * 4. write `report.md`: the paper's questions answered from the numbers,
 *    with 95% intervals, then the tables and figures.
 *
 * Stages can be split over processes (`shard`: stage i runs in shard
 * i mod count), like data-parallel ranks; a final unsharded call finds
 * every stage done and writes the report.
 *
 * Every stage writes its result file last (atomically); a rerun skips the
 * stages whose result exists and resumes an interrupted pre-training from
 * its checkpoint. Every stage frees the models, optimizers and gradients it
 * made before the next begins.
 *
 * @module
 */

import { join } from "node:path";
import { type Backend, Rng } from "@metatokens/tensor";
import { checkWritableDir, errorReason, writeFileAtomic } from "@metatokens/tensor/fs";
import { type Checkpoint, Gpt, gptConfig, loadCheckpoint, modelFromCheckpoint } from "@metatokens/model";
import type { TaskExample, TaskName } from "@metatokens/tasks";
import { analyze } from "./analyze.ts";
import { parameterCount, planConfig } from "./describe_plan.ts";
import { binnedTestExamples, chanceLevels, evaluateAblations } from "./evaluate.ts";
import { finetune } from "./finetune.ts";
import {
  ABLATIONS,
  MODELS,
  type ModelSpec,
  REPRODUCE_SEEDS,
  type Scale,
  type ScalePlan,
  SCALES,
  TASKS,
} from "./plan.ts";
import { pretrain, type StepProgress } from "./pretrain.ts";
import { pretrainDefaults, type PretrainSettings } from "./settings.ts";
import { type FinetuneRecord, type PretrainRecord, promptLengths, writeReport } from "./report.ts";

/** Options of {@linkcode reproduce} and of each of its stages. */
export interface ReproduceOptions {
  /** The scale's plan (`SCALES[scale]`, or a plan of your own). */
  plan: ScalePlan;
  /** The run folder. */
  out: string;
  /** Where every model lives. */
  backend: Backend;
  /** Pre-training corpus (comma-separated globs); empty or absent: the embedded Brown corpus. */
  data?: string;
  /** Progress messages. */
  log?: (message: string) => void;
  /** Pre-training progress, after every step. */
  onStep?: (info: StepProgress) => void;
  /** Pre-training evaluations. */
  onEval?: (step: number, valLoss: number) => void;
  /** Run only the stages i with i mod count = index (0-based), and write no report. */
  shard?: { index: number; count: number };
}

/** What {@linkcode reproduce} returns. */
export interface ReproduceResult {
  /** The path of `report.md` (null for a shard, which writes none). */
  report: string | null;
  /** Pre-training records, one per model. */
  pretrained: PretrainRecord[];
  /** Fine-tuning and evaluation records. */
  finetuned: FinetuneRecord[];
  /** Wall time. */
  seconds: number;
}

/**
 * The plan of a built-in scale, by name.
 *
 * @example
 * ```ts
 * import { scalePlan } from "@metatokens/experiments";
 * console.log(scalePlan("micro").pretrain?.steps); // 30
 * ```
 */
export function scalePlan(name: string): ScalePlan {
  if (!Object.hasOwn(SCALES, name)) {
    throw new RangeError(
      `Cannot reproduce at scale "${name}": expected one of ${Object.keys(SCALES).join(", ")}`,
    );
  }
  return SCALES[name as Scale];
}

/** Reads a stage's result, or null when the stage has not finished. */
async function stageResult<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(
      `Cannot read the stage result "${path}": ${errorReason(e)} (delete it to rerun the stage)`,
    );
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(value, null, 1) + "\n");
}

/** The pre-training checkpoint of model `m`. */
function pretrainedCheckpoint(o: ReproduceOptions, m: ModelSpec): string {
  return join(o.out, "pretrain", m.name, "checkpoint");
}

/**
 * Refuses what cannot run: the paper scale on a CPU backend or on the
 * embedded corpus.
 */
export function checkRunnable(plan: ScalePlan, backend: Backend, data = ""): void {
  if (plan.scale === "paper" && backend.name !== "webgpu") {
    throw new RangeError(
      "Cannot run --scale paper on the CPU: it is the plan for a GPU host (3 × 200k steps of GPT-2 small). " +
        "There, pass --device webgpu (or auto) and --data 'c4/*.json.gz'; here use --scale tiny or micro",
    );
  }
  if (plan.scale === "paper" && !data) {
    throw new RangeError("Cannot run --scale paper on the embedded Brown corpus: pass --data with C4 shards");
  }
}

/**
 * Stage 1 for one model: pre-trains it (resuming its checkpoint when one
 * exists) unless `pretrain/<model>/result.json` exists.
 */
export async function pretrainStage(o: ReproduceOptions, m: ModelSpec): Promise<PretrainRecord> {
  const dir = join(o.out, "pretrain", m.name);
  const resultPath = join(dir, "result.json");
  const done = await stageResult<PretrainRecord>(resultPath);
  if (done) {
    o.log?.(`[skip] pre-training ${m.label}: ${resultPath} exists`);
    return done;
  }
  const { plan } = o;
  if (!plan.pretrain) {
    throw new RangeError(
      `Cannot pre-train at scale ${plan.scale}: its plan fine-tunes from random initialisation`,
    );
  }
  const checkpoint = pretrainedCheckpoint(o, m);
  const resume = await Deno.stat(checkpoint).then(() => loadCheckpoint(checkpoint), () => null);
  o.log?.(`\n== pre-training ${m.label}${resume ? " (resuming)" : ""}`);
  const settings: PretrainSettings = {
    ...pretrainDefaults(plan.preset),
    ...plan.model,
    ...plan.pretrain,
    meta: m.meta,
    pos: m.pos,
    out: dir,
    data: o.data ?? "",
    seed: REPRODUCE_SEEDS.pretrain,
    checkpointEvery: Math.max(plan.pretrain.evalEvery, 1),
  };
  const result = await pretrain({
    settings,
    backend: o.backend,
    resume,
    log: o.log,
    onStep: o.onStep,
    onEval: o.onEval,
  });
  const record: PretrainRecord = {
    model: m.name,
    valLosses: result.valLosses,
    trainLosses: result.trainLosses,
    seconds: result.seconds,
  };
  await writeJson(resultPath, record);
  return record;
}

/** The model a fine-tuning stage starts from: model `m` of the plan, freshly initialised from `seed`. */
export function initialModel(plan: ScalePlan, m: ModelSpec, seed: number, backend: Backend): Gpt {
  const config = gptConfig({ ...plan.model, metaAttention: m.meta, posEncoding: m.pos }, plan.preset);
  return new Gpt(config, new Rng(seed), backend);
}

/** Where a fine-tuning stage writes its record. */
export function finetunePath(
  out: string,
  m: ModelSpec,
  task: TaskName,
  trainLength: number,
  seed: number,
): string {
  return join(out, "finetune", m.name, task, `L${trainLength}-seed${seed}.json`);
}

/** Whether a fine-tuning stage is the one whose model the analysis reads (plans that analyse fine-tuned models). */
function analysedAfterFinetuning(
  plan: ScalePlan,
  m: ModelSpec,
  task: TaskName,
  trainLength: number,
  seed: number,
) {
  return plan.analysis.of === "finetuned" && m.meta && task === "list-recall" &&
    trainLength === plan.trainLengths[0] && seed === plan.seeds.values[0];
}

/**
 * Stage 2 for one (model, task, train length, seed): fine-tunes a fresh copy
 * of the pre-trained `start` checkpoint (or, with none, model `m` initialised
 * from `seed`) and evaluates it on `examples` under every ablation, unless
 * its record exists. A meta model fine-tuned on List Recall is also analysed
 * here when the plan analyses fine-tuned models. Returns the record and
 * whether it ran.
 */
export async function finetuneStage(
  o: ReproduceOptions,
  m: ModelSpec,
  start: Checkpoint | null,
  task: TaskName,
  trainLength: number,
  seed: number,
  examples: readonly TaskExample[],
): Promise<{ record: FinetuneRecord; ran: boolean }> {
  const resultPath = finetunePath(o.out, m, task, trainLength, seed);
  const done = await stageResult<FinetuneRecord>(resultPath);
  if (done) return { record: done, ran: false };
  const started = performance.now();
  using model = start ? modelFromCheckpoint(start, o.backend) : initialModel(o.plan, m, seed, o.backend);
  const label = TASKS.find((t) => t.name === task)?.label ?? task;
  o.log?.(`\n== fine-tuning ${m.label} on ${label} at ≤ ${trainLength} tokens, seed ${seed}`);
  const { inBin, ...budget } = o.plan.finetune;
  const phases = await finetune(model, {
    task,
    maxLength: trainLength,
    ...budget,
    bin: inBin ? trainLength : undefined,
    seed,
    log: o.log,
  });
  const evals = await evaluateAblations(model, examples, ABLATIONS, {
    seed: REPRODUCE_SEEDS.eval,
    log: o.log,
  });
  if (analysedAfterFinetuning(o.plan, m, task, trainLength, seed)) await analyseModel(o, m, model);
  const record: FinetuneRecord = {
    model: m.name,
    task,
    trainLength,
    seed,
    phases,
    eval: evals,
    // Steps counted across the phases, as the loss figure draws them.
    valLosses: phases.flatMap((p, i) =>
      p.valLosses.map(([step, loss]): [number, number] => [i * budget.steps + step, loss])
    ),
    seconds: (performance.now() - started) / 1000,
  };
  await writeJson(resultPath, record);
  return { record, ran: true };
}

/** The analyses of one meta model into `analysis/<model>/`. */
async function analyseModel(o: ReproduceOptions, m: ModelSpec, model: Gpt): Promise<void> {
  o.log?.(`\n== analysing ${m.label}`);
  const a = o.plan.analysis, seeds = REPRODUCE_SEEDS.analysis;
  await analyze(model, {
    task: "list-recall",
    phase: 1,
    n: a.n,
    vibN: a.vibN,
    vibEpochs: a.vibEpochs,
    seed: seeds.run,
    examplesSeed: seeds.examples,
    vibSeed: seeds.vib,
    out: join(o.out, "analysis", m.name),
    log: o.log,
  });
}

/**
 * Stage 3 for one meta model of a plan that analyses pre-trained models:
 * the analyses of its pre-trained checkpoint into `analysis/<model>/`,
 * unless its `analysis.json` exists. Returns whether it ran.
 */
export async function analysisStage(o: ReproduceOptions, m: ModelSpec): Promise<boolean> {
  const dir = join(o.out, "analysis", m.name);
  if (await stageResult(join(dir, "analysis.json"))) {
    o.log?.(`[skip] analysis of ${m.label}: ${dir}/analysis.json exists`);
    return false;
  }
  using model = modelFromCheckpoint(await loadCheckpoint(pretrainedCheckpoint(o, m)), o.backend);
  await analyseModel(o, m, model);
  return true;
}

/** The seeds a task runs with in `plan`. */
export function seedsOf(plan: ScalePlan, task: TaskName): readonly number[] {
  return plan.seeds.tasks.includes(task) ? plan.seeds.values : plan.seeds.values.slice(0, 1);
}

/** The test examples of a task in `plan` (the same for every model, train length and seed). */
export function planTestExamples(plan: ScalePlan, task: TaskName): TaskExample[] {
  return binnedTestExamples({ task, bins: plan.eval.bins, n: plan.eval.n, seed: REPRODUCE_SEEDS.eval });
}

function checkShard(shard: ReproduceOptions["shard"]): void {
  if (shard === undefined) return;
  const { index, count } = shard;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`Cannot run shard ${index} of ${count}: expected 0 ≤ index < count, both integers`);
  }
}

/**
 * Runs every stage of `options.plan` into `options.out` (skipping finished
 * ones) and writes `report.md` — or, with `shard`, only that shard's stages.
 *
 * @example
 * ```ts ignore
 * import { createBackend } from "@metatokens/tensor";
 * import { reproduce } from "@metatokens/experiments";
 * import { SCALES } from "@metatokens/experiments/plan";
 * const { backend } = await createBackend("cpu", { threads: 2 });
 * const { report } = await reproduce({ plan: SCALES.micro, out: "runs/micro", backend, log: console.log });
 * backend.dispose();
 * ```
 */
export async function reproduce(options: ReproduceOptions): Promise<ReproduceResult> {
  const o = options, { plan, shard } = o;
  checkRunnable(plan, o.backend, o.data);
  checkShard(shard);
  await checkWritableDir(o.out);
  await Deno.mkdir(o.out, { recursive: true });
  const started = performance.now();
  const pretrained: PretrainRecord[] = [];
  if (plan.pretrain) {
    for (const m of MODELS) {
      const done = await stageResult<PretrainRecord>(join(o.out, "pretrain", m.name, "result.json"));
      if (!done && shard && shard.index > 0) {
        throw new RangeError(
          `Cannot run shard ${shard.index} before ${m.label} is pre-trained: run shard 0 (or the whole run) first`,
        );
      }
      pretrained.push(await pretrainStage(o, m)); // skips (and says so) when done
    }
  }
  // Every later stage, in a fixed order; a shard runs its share of them.
  const stages: (() => Promise<void>)[] = [];
  const finetuned: FinetuneRecord[] = [];
  // Each task's test set, drawn once: every model is evaluated on it, and the report reads its chance levels.
  const tests = new Map(TASKS.map((t) => [t.name, planTestExamples(plan, t.name)]));
  for (const m of MODELS) {
    for (const task of TASKS) {
      const examples = tests.get(task.name)!;
      for (const trainLength of plan.trainLengths) {
        for (const seed of seedsOf(plan, task.name)) {
          stages.push(async () => {
            const start = plan.pretrain ? await loadCheckpoint(pretrainedCheckpoint(o, m)) : null;
            finetuned.push((await finetuneStage(o, m, start, task.name, trainLength, seed, examples)).record);
          });
        }
      }
    }
  }
  if (plan.analysis.of === "pretrained") {
    for (const m of MODELS.filter((m) => m.meta)) stages.push(async () => void await analysisStage(o, m));
  }
  for (const [i, stage] of stages.entries()) if (!shard || i % shard.count === shard.index) await stage();
  if (shard) {
    return { report: null, pretrained, finetuned, seconds: (performance.now() - started) / 1000 };
  }
  const config = planConfig(plan);
  const report = await writeReport(o.out, {
    plan,
    config,
    nParams: parameterCount(config),
    pretrained,
    finetuned,
    chance: Object.fromEntries(TASKS.map((t) => [t.name, chanceLevels(tests.get(t.name)!)])),
    testLengths: Object.fromEntries(TASKS.map((t) => [t.name, promptLengths(tests.get(t.name)!)])),
  });
  return { report, pretrained, finetuned, seconds: (performance.now() - started) / 1000 };
}
