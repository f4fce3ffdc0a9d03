/**
 * `reproduce`: the whole paper at one scale, in resumable stages.
 *
 * 1. pre-train the baseline (GPT-2, APE), meta-attention + APE and
 *    meta-attention + RoPE with the same budget;
 * 2. fine-tune each on the four tasks at three train lengths and evaluate
 *    across length bins (Tables 7–10), meta models also under the ablations
 *    of Tables 11–14 (no positional encoding, no embedding, neither, at meta
 *    tokens);
 * 3. analyse the pre-trained meta models (Figures 2 and 3);
 * 4. write `report.md` laid out like the paper.
 *
 * Every stage writes its result file last (atomically); a rerun skips the
 * stages whose result exists and resumes an interrupted pre-training from
 * its checkpoint. Every stage frees the models, optimizers and gradients it
 * made before the next begins.
 *
 * @module
 */

import { join } from "node:path";
import type { Backend } from "@metatokens/tensor";
import { checkWritableDir, writeFileAtomic } from "@metatokens/tensor/fs";
import { type Checkpoint, loadCheckpoint, modelFromCheckpoint } from "@metatokens/model";
import type { TaskExample, TaskName } from "@metatokens/tasks";
import { analyze } from "./analyze.ts";
import { parameterCount, planConfig } from "./describe_plan.ts";
import { evaluateAblations, testExamples } from "./evaluate.ts";
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
import { type FinetuneRecord, type PretrainRecord, writeReport } from "./report.ts";

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
}

/** What {@linkcode reproduce} returns. */
export interface ReproduceResult {
  /** The path of `report.md`. */
  report: string;
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
 * console.log(scalePlan("micro").pretrain.steps); // 30
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
      `Cannot read the stage result "${path}": ${(e as Error).message} (delete it to rerun the stage)`,
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
  const checkpoint = pretrainedCheckpoint(o, m);
  const resume = await Deno.stat(checkpoint).then(() => loadCheckpoint(checkpoint), () => null);
  o.log?.(`\n== pre-training ${m.label}${resume ? " (resuming)" : ""}`);
  const { plan } = o;
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
  const record: PretrainRecord = { model: m.name, valLosses: result.valLosses, seconds: result.seconds };
  await writeJson(resultPath, record);
  return record;
}

/**
 * Stage 2 for one (model, task, train length): fine-tunes a fresh copy of
 * the pre-trained `checkpoint` and evaluates it on `examples` under every
 * ablation, unless `finetune/<model>/<task>/L<len>.json` exists. Returns the
 * record and whether it ran.
 */
export async function finetuneStage(
  o: ReproduceOptions,
  m: ModelSpec,
  checkpoint: Checkpoint,
  task: TaskName,
  trainLength: number,
  examples: readonly TaskExample[],
): Promise<{ record: FinetuneRecord; ran: boolean }> {
  const resultPath = join(o.out, "finetune", m.name, task, `L${trainLength}.json`);
  const done = await stageResult<FinetuneRecord>(resultPath);
  if (done) return { record: done, ran: false };
  const started = performance.now();
  using model = modelFromCheckpoint(checkpoint, o.backend);
  const label = TASKS.find((t) => t.name === task)?.label ?? task;
  o.log?.(`\n== fine-tuning ${m.label} on ${label} at ≤ ${trainLength} tokens`);
  const phases = await finetune(model, {
    task,
    maxLength: trainLength,
    ...o.plan.finetune,
    seed: REPRODUCE_SEEDS.finetune,
    log: o.log,
  });
  const evals = await evaluateAblations(model, examples, ABLATIONS, {
    seed: REPRODUCE_SEEDS.eval,
    log: o.log,
  });
  const record: FinetuneRecord = {
    model: m.name,
    task,
    trainLength,
    phases,
    eval: evals,
    seconds: (performance.now() - started) / 1000,
  };
  await writeJson(resultPath, record);
  return { record, ran: true };
}

/**
 * Stage 3 for one meta model: the analyses of its pre-trained checkpoint
 * into `analysis/<model>/`, unless its `analysis.json` exists. Returns
 * whether it ran.
 */
export async function analysisStage(o: ReproduceOptions, m: ModelSpec): Promise<boolean> {
  const dir = join(o.out, "analysis", m.name);
  if (await stageResult(join(dir, "analysis.json"))) {
    o.log?.(`[skip] analysis of ${m.label}: ${dir}/analysis.json exists`);
    return false;
  }
  o.log?.(`\n== analysing ${m.label}`);
  using model = modelFromCheckpoint(await loadCheckpoint(pretrainedCheckpoint(o, m)), o.backend);
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
    out: dir,
    log: o.log,
  });
  return true;
}

/**
 * Runs every stage of `options.plan` into `options.out` (skipping finished
 * ones) and writes `report.md`.
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
  const o = options;
  checkRunnable(o.plan, o.backend, o.data);
  await checkWritableDir(o.out);
  await Deno.mkdir(o.out, { recursive: true });
  const started = performance.now();
  const pretrained: PretrainRecord[] = [];
  for (const m of MODELS) pretrained.push(await pretrainStage(o, m));
  const finetuned: FinetuneRecord[] = [];
  for (const m of MODELS) {
    const checkpoint = await loadCheckpoint(pretrainedCheckpoint(o, m));
    for (const task of TASKS) {
      const examples = testExamples({
        task: task.name,
        phases: o.plan.eval.phases,
        n: o.plan.eval.n,
        seed: REPRODUCE_SEEDS.eval,
      });
      for (const trainLength of o.plan.trainLengths) {
        finetuned.push((await finetuneStage(o, m, checkpoint, task.name, trainLength, examples)).record);
      }
    }
  }
  for (const m of MODELS.filter((m) => m.meta)) await analysisStage(o, m);
  const config = planConfig(o.plan);
  const report = await writeReport(o.out, {
    plan: o.plan,
    config,
    nParams: parameterCount(config),
    pretrained,
    finetuned,
  });
  return { report, pretrained, finetuned, seconds: (performance.now() - started) / 1000 };
}
