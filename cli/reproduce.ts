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
 * its checkpoint. This file orchestrates every package, which is why it lives
 * in the CLI (the only package DESIGN.md §1 lets reach `data` and `analysis`
 * together).
 *
 * @module
 */

import { join } from "node:path";
import { createBackend, defaultThreads, setDefaultBackend } from "@metatokens/tensor";
import {
  gptConfig,
  loadCheckpoint,
  modelFromCheckpoint,
  parameterSpecs,
  writeFileAtomic,
} from "@metatokens/model";
import { analyzeModel, writeAnalysis } from "@metatokens/analysis";
import { generateDataset } from "@metatokens/tasks";
import { applyOverrides, splitArgs } from "./args.ts";
import { pretrain } from "./commands.ts";
import { evaluateOnTask, finetuneOnTask, testExamples } from "./pipeline.ts";
import {
  ABLATIONS,
  describePlan,
  type FinetuneResult,
  MODELS,
  type PretrainResult,
  type Scale,
  SCALES,
  TASKS,
} from "./plan.ts";
import { writeReport } from "./report.ts";

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
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(value, null, 1) + "\n"));
}

/** The `reproduce` command. */
export async function reproduce(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  const known = ["scale", "out", "threads", "device", "data", "plan"];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot use unknown option "--${key}": expected one of ${known.map((k) => `--${k}`).join(", ")}`,
      );
    }
  }
  const s = applyOverrides(
    { scale: "tiny", out: "", threads: defaultThreads(), device: "cpu", data: "", plan: false },
    options,
  );
  const scale = String(s.scale) as Scale;
  const plan = SCALES[scale];
  if (!plan) {
    throw new RangeError(
      `Cannot reproduce at scale "${s.scale}": expected one of ${Object.keys(SCALES).join(", ")}`,
    );
  }
  const out = String(s.out || `runs/${scale}`);
  const config = gptConfig({ ...plan.model, metaAttention: true }, plan.preset);
  const nParams = parameterSpecs(config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  // ≈ 30 GFLOP/s per thread end to end: what `bench:train` measures for the tiny model on this CPU.
  console.log(describePlan(plan, config, nParams, 30e9 * (s.threads as number)));
  if (s.plan) return;
  if (scale === "paper" && s.device === "cpu") {
    throw new RangeError(
      "Cannot run --scale paper on the CPU: it is the plan for a GPU host (3 × 200k steps of GPT-2 small). " +
        "There, pass --device webgpu (or auto) and --data 'c4/*.json.gz'; here use --scale tiny or micro",
    );
  }
  if (scale === "paper" && !s.data) {
    throw new RangeError("Cannot run --scale paper on the embedded Brown corpus: pass --data with C4 shards");
  }
  try {
    await Deno.mkdir(out, { recursive: true });
    await Deno.remove(await Deno.makeTempFile({ dir: out, prefix: ".write-check-" }));
  } catch (e) {
    throw new Error(`Cannot write to the run folder "${out}": ${(e as Error).message}`);
  }
  const started = performance.now();
  const backendOptions = { threads: s.threads as number };

  // ---- 1. pre-training ------------------------------------------------------
  const pretrained: PretrainResult[] = [];
  for (const m of MODELS) {
    const dir = join(out, "pretrain", m.name);
    const resultPath = join(dir, "result.json");
    let result = await stageResult<PretrainResult>(resultPath);
    if (result) {
      console.log(`[skip] pre-training ${m.label}: ${resultPath} exists`);
    } else {
      const t0 = performance.now();
      const resume = await Deno.stat(join(dir, "checkpoint")).then(() => true, () => false);
      console.log(`\n== pre-training ${m.label}${resume ? " (resuming)" : ""}`);
      const p = plan.pretrain;
      await pretrain([
        `--preset=${plan.preset}`,
        `--meta=${m.meta}`,
        `--pos=${m.pos}`,
        `--out=${dir}`,
        `--threads=${s.threads}`,
        `--device=${s.device}`,
        `--steps=${p.steps}`,
        `--batch-size=${p.batchSize}`,
        `--grad-accum=${p.gradAccum}`,
        `--lr=${p.lr}`,
        `--min-lr=${p.minLr}`,
        `--warmup=${p.warmup}`,
        `--eval-every=${p.evalEvery}`,
        `--checkpoint-every=${Math.max(p.evalEvery, 1)}`,
        ...(s.data ? [`--data=${s.data}`] : []),
        ...(resume ? ["--resume"] : []),
        ...Object.entries(plan.model).map(([k, v]) => `--${k}=${v}`),
      ]);
      const metrics = (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      result = {
        model: m.name,
        valLosses: metrics.filter((r) => r.type === "eval").map((r) => [r.step, r.val_loss]),
        seconds: (performance.now() - t0) / 1000,
      };
      await writeJson(resultPath, result);
    }
    pretrained.push(result);
  }

  // ---- 2. fine-tuning and evaluation -----------------------------------------
  const finetuned: FinetuneResult[] = [];
  const { backend } = await createBackend(String(s.device), backendOptions);
  setDefaultBackend(backend);
  try {
    for (const m of MODELS) {
      const checkpoint = await loadCheckpoint(join(out, "pretrain", m.name, "checkpoint"));
      for (const task of TASKS) {
        const examples = testExamples({ task: task.name, phases: plan.eval.phases, n: plan.eval.n, seed: 7 });
        for (const trainLength of plan.trainLengths) {
          const resultPath = join(out, "finetune", m.name, task.name, `L${trainLength}.json`);
          let result = await stageResult<FinetuneResult>(resultPath);
          if (result) {
            finetuned.push(result);
            continue;
          }
          const t0 = performance.now();
          const model = modelFromCheckpoint(checkpoint);
          console.log(`\n== fine-tuning ${m.label} on ${task.label} at ≤ ${trainLength} tokens`);
          const phases = await finetuneOnTask(model, {
            task: task.name,
            maxLength: trainLength,
            ...plan.finetune,
            seed: 1337,
          }, { log: (msg) => console.log(msg) });
          const evals: FinetuneResult["eval"] = {};
          for (const a of m.meta ? ABLATIONS : ABLATIONS.slice(0, 1)) {
            evals[a.name] = await evaluateOnTask(model, examples, { ablation: a.ablation, seed: 7 });
            const acc = evals[a.name].bins.map((b) =>
              `${b.label} ${b.sequenceAccuracy === null ? "–" : (100 * b.sequenceAccuracy).toFixed(0)}%`
            );
            console.log(`eval ${a.label}: ${acc.join(", ")}`);
          }
          for (const p of model.params.values()) p.dispose();
          result = {
            model: m.name,
            task: task.name,
            trainLength,
            phases,
            eval: evals,
            seconds: (performance.now() - t0) / 1000,
          };
          await writeJson(resultPath, result);
          finetuned.push(result);
        }
      }
    }

    // ---- 3. analysis ----------------------------------------------------------
    for (const m of MODELS.filter((m) => m.meta)) {
      const dir = join(out, "analysis", m.name);
      if (await stageResult(join(dir, "analysis.json"))) {
        console.log(`[skip] analysis of ${m.label}: ${dir}/analysis.json exists`);
        continue;
      }
      console.log(`\n== analysing ${m.label}`);
      const model = modelFromCheckpoint(await loadCheckpoint(join(out, "pretrain", m.name, "checkpoint")));
      const a = plan.analysis;
      const analysis = await analyzeModel(model, generateDataset("list-recall", 1, a.n, 11), {
        task: "list-recall",
        vibExamples: generateDataset("list-recall", 1, a.vibN, 12),
        vibEpochs: a.vibEpochs,
        seed: 3,
        log: (msg) => console.log(msg),
      });
      await writeAnalysis(analysis, dir);
      for (const p of model.params.values()) p.dispose();
    }
  } finally {
    backend.dispose();
  }

  // ---- 4. report ------------------------------------------------------------
  const report = await writeReport(out, { plan, config, nParams, pretrained, finetuned });
  console.log(
    `\nreproduce --scale ${scale} done in ${
      ((performance.now() - started) / 60000).toFixed(1)
    } min: ${report}`,
  );
}
