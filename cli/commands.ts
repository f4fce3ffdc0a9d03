/**
 * The subcommands of the metatokens CLI, one function each: take the values
 * parsed and checked against the command's table (`tables.ts`), call
 * `@metatokens/experiments` (or the model package for `score` /
 * `generate`), print what comes back and return the exit status. Nothing
 * here decides how an experiment runs.
 *
 * @module
 */

import { type Backend, createBackend, Rng, setDefaultBackend } from "@metatokens/tensor";
import { generateBatch, type Gpt, loadCheckpoint, modelFromCheckpoint, score } from "@metatokens/model";
import { decode, encode, EOT_ID } from "@metatokens/data";
import { writeExamplesJsonl } from "@metatokens/tasks";
import {
  analyze as analyzeModel,
  CPU_FLOPS_PER_THREAD,
  describePlan,
  evaluateTestSet,
  evaluationMarkdown,
  extend as extendRun,
  finetune as finetuneModel,
  pretrain as pretrainRun,
  type PretrainResult,
  pretrainRunSettings,
  type PretrainSettings,
  promptLengthCounts,
  reproduce as reproduceRun,
  scalePlan,
  type StepProgress,
  taskDataset,
  writeEvaluation,
} from "@metatokens/experiments";
import type { OptionValue } from "./args.ts";
import { errorReason } from "@metatokens/tensor/fs";
import { isTerminal, print, printError, printRaw } from "./output.ts";
import { StopRequests } from "./stop.ts";

/** Parsed option values of a command (see `tables.ts`), and which were given. */
export interface CommandInput {
  /** Every option's value (given, or its default). */
  values: Record<string, OptionValue>;
  /** The options given on the command line or in the config file. */
  given: Set<string>;
}

/** A subcommand: its exit status (0 when it returns nothing). */
export type Command = (input: CommandInput) => Promise<number | void>;

// Typed accessors of checked values (the tables guarantee the types).
const str = (v: OptionValue | undefined): string => (v ?? "") as string;
const num = (v: OptionValue | undefined): number => v as number;

/** Refuses a run folder given where its `checkpoint/` was meant, before anything is loaded. */
async function checkCheckpointDir(dir: string): Promise<void> {
  const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
  if (!(await exists(`${dir}/config.json`)) && (await exists(`${dir}/checkpoint/config.json`))) {
    throw new TypeError(
      `Cannot load checkpoint "${dir.slice(0, 120)}": it is a run folder; pass its checkpoint, ` +
        `--checkpoint ${dir.replace(/\/$/, "")}/checkpoint`,
    );
  }
}

/** Runs `fn` on a fresh backend for `--device` / `--threads` (also the default backend), released afterwards. */
async function withBackend<T>(
  values: Record<string, OptionValue>,
  fn: (backend: Backend, description: string) => Promise<T>,
): Promise<T> {
  const { backend, description } = await createBackend(str(values.device), { threads: num(values.threads) });
  setDefaultBackend(backend);
  try {
    return await fn(backend, description);
  } finally {
    backend.dispose();
  }
}

/** Runs `fn` with the model of `--checkpoint` on a fresh backend; both are freed afterwards. */
async function withModel<T>(
  values: Record<string, OptionValue>,
  fn: (model: Gpt) => Promise<T> | T,
): Promise<T> {
  const dir = str(values.checkpoint);
  await checkCheckpointDir(dir);
  return withBackend(values, async (backend) => {
    using model = modelFromCheckpoint(await loadCheckpoint(dir), backend);
    return await fn(model);
  });
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const total = Math.round(seconds);
  const m = Math.floor(total / 60), s = total % 60;
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

/** Progress lines of a training run: one updating line on a terminal, every 10th step otherwise. */
function progress(steps: number): {
  onStep: (i: StepProgress) => void;
  onEval: (step: number, loss: number) => void;
  end: () => void;
} {
  const tty = isTerminal();
  return {
    onStep: (i) => {
      const line = `step ${i.step}/${steps} | loss ${i.loss.toFixed(4)} | lr ${i.lr.toExponential(2)} | ` +
        `${i.tokensPerSecond.toFixed(0)} tok/s | ETA ${formatDuration(i.etaSeconds)}`;
      if (tty) printRaw(`\r${line}   `);
      else if (i.step % 10 === 0 || i.step === steps) print(line);
    },
    onEval: (step, loss) => print(`${tty ? "\n" : ""}step ${step}: val loss ${loss.toFixed(4)}`),
    end: () => tty && print(),
  };
}

/** The message of a stop request. */
const STOPPING: Record<string, string> = {
  SIGINT: "Ctrl-C",
  SIGTERM: "SIGTERM",
  SIGHUP: "the terminal closed",
  "wrapper exited": "the process that started this run exited",
};

/** The pre-training settings the user gave (config file and command line), without the CLI's own keys. */
function userSettings(input: CommandInput): Partial<PretrainSettings> {
  const own = new Set(["resume", "device", "threads", "checkpoint", "scale"]);
  return Object.fromEntries(
    [...input.given].filter((k) => !own.has(k)).map((k) => [k, input.values[k]]),
  ) as Partial<PretrainSettings>;
}

/** `pretrain`, and `extend` when `extension` is given: the run, a checkpoint saved on a stop request. */
async function trainCommand(
  input: CommandInput,
  defaultOut: string,
  extension?: { from: string; scale: number },
): Promise<number> {
  if (extension) await checkCheckpointDir(extension.from);
  const { settings, resume, resumeStep: done } = await pretrainRunSettings({
    overrides: userSettings(input),
    resume: input.values.resume === true,
    defaultOut,
  });
  if (resume && done >= settings.steps) {
    print(
      `nothing to do: ${settings.out}/checkpoint is already at step ${done} of --steps ${settings.steps}; ` +
        `raise --steps to train further`,
    );
    return 0;
  }
  return await withBackend(input.values, async (backend, description) => {
    print(`metatokens ${extension ? "extend" : "pretrain"}: ${description}`);
    using stop = new StopRequests((reason) =>
      print(`\n${STOPPING[reason]}: saving a checkpoint after this step, then stopping`)
    );
    const p = progress(settings.steps);
    const run = { settings, backend, resume, log: print, shouldStop: () => stop.requested, ...p };
    const r: PretrainResult = extension ? await extendRun({ ...run, ...extension }) : await pretrainRun(run);
    p.end();
    if (r.valLosses.length > 0) {
      print(`val loss by step: ${r.valLosses.map(([s, l]) => `${s}: ${l.toFixed(3)}`).join(", ")}`);
    }
    print(
      `${r.stopped ? "stopped" : "done"} after ${r.steps} steps; checkpoint: ${r.checkpoint}; ` +
        `metrics: ${settings.out}/metrics.jsonl`,
    );
    return stop.exitCode;
  });
}

/** `pretrain`: train a model from scratch (or from Hugging Face GPT-2 weights), or resume a run. */
export const pretrain: Command = (input) => trainCommand(input, "runs/pretrain");

/** `extend`: YaRN-extend a RoPE checkpoint by `--scale` and continue pre-training at the new length. */
export const extend: Command = (input) =>
  trainCommand(input, "runs/extend", { from: str(input.values.checkpoint), scale: num(input.values.scale) });

/** `score`: log-probability of every token of `--text`. */
export async function scoreCommand({ values }: CommandInput): Promise<void> {
  const text = str(values.text);
  const r = await withModel(values, (model) => {
    if (values.quantize === "int8") model.quantize("int8");
    return score(model, encode(text));
  });
  if (values.json) {
    print(JSON.stringify({ tokens: [...r.tokens], logprobs: r.logprobs, loss: r.loss }));
    return;
  }
  print("token                    log p(token | prefix)");
  for (let i = 1; i < r.tokens.length; i++) {
    const lp = r.logprobs[i - 1];
    const token = JSON.stringify(decode([r.tokens[i]])).padEnd(24);
    print(`${token} ${lp === null ? "(meta: no loss)" : lp.toFixed(4)}`);
  }
  print(`mean loss ${r.loss.toFixed(4)} over ${r.logprobs.filter((x) => x !== null).length} tokens`);
}

/** The prompts of `generate`: each `--prompt`, then the non-empty lines of `--prompts FILE`. */
async function promptsOf(values: Record<string, OptionValue>): Promise<string[]> {
  const prompts = [...(values.prompt as string[] | undefined) ?? []];
  if (values.prompts !== undefined) {
    const file = str(values.prompts);
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(`Cannot read prompts from "${file.slice(0, 120)}": ${errorReason(e)}`);
    }
    prompts.push(...text.split(/\r?\n/).filter((line) => line.trim() !== ""));
  }
  if (prompts.length === 0) throw new TypeError(`Cannot generate without --prompt "…" or --prompts FILE`);
  return prompts;
}

/**
 * `generate`: continue `--prompt` (streamed as it comes) or several prompts
 * (decoded together as one batch, each printed when done); stops at `<|endoftext|>`.
 */
export async function generateCommand({ values }: CommandInput): Promise<void> {
  const prompts = await promptsOf(values);
  const quantize = values.quantize === "int8";
  const stream = prompts.length === 1;
  const results = await withModel(values, (model) => {
    if (quantize) model.quantize("int8");
    if (stream) printRaw(prompts[0]);
    return generateBatch(model, prompts.map((p) => encode(p)), {
      temperature: num(values.temperature),
      topK: values.topK === undefined ? undefined : num(values.topK),
      topP: num(values.topP),
      rng: new Rng(num(values.seed)),
      maxNewTokens: num(values.maxNewTokens),
      stopToken: EOT_ID,
      crop: true,
      onToken: stream ? (t) => printRaw(decode([t])) : undefined,
    });
  });
  for (const [i, r] of results.entries()) {
    if (!stream) print(`--- prompt ${i + 1} of ${prompts.length}\n${prompts[i]}${decode([...r.tokens])}`);
    const notes = [
      `${r.tokens.length} tokens${r.stopped ? " (stopped at <|endoftext|>)" : ""}`,
      `time to first token ${r.ttftMs.toFixed(0)} ms`,
      `${r.tokensPerSecond.toFixed(1)} tok/s${
        prompts.length > 1 ? ` per sequence, ${prompts.length} decoded together` : ""
      }`,
      ...(r.cropped > 0 ? [`prompt cropped by its first ${r.cropped} tokens to fit the model's block`] : []),
      ...(quantize ? ["int8 weights"] : []),
    ];
    print(`${stream ? "\n" : ""}[${notes.join(", ")}]`);
  }
}

/** `tasks:generate`: a seeded JSONL file of task examples. */
export async function tasksGenerate({ values }: CommandInput): Promise<void> {
  const s = {
    task: str(values.task),
    phase: num(values.phase),
    n: num(values.n),
    seed: num(values.seed),
    split: str(values.split),
    preset: str(values.preset),
  };
  const { examples, seed } = taskDataset(s);
  const out = str(values.out);
  await writeExamplesJsonl(out, examples);
  const bins = promptLengthCounts(examples).map(([bin, n]) => `${bin}: ${n}`).join(", ");
  print(
    `wrote ${examples.length} ${s.task} examples (phase ${s.phase}, seed ${seed}) to ${out}; prompt lengths: ${bins}`,
  );
}

/** `--shard i/n` (1-based, as users count shards) to the 0-based shard of `reproduce`. */
function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(i >= 1 && i <= n)) {
    throw new RangeError(`Cannot use --shard "${text.slice(0, 40)}": expected i/n with 1 ≤ i ≤ n, like 1/2`);
  }
  return { index: i - 1, count: n };
}

/** `finetune`: fine-tune a checkpoint on a task, a checkpoint after each phase. */
export async function finetune({ values }: CommandInput): Promise<void> {
  const steps = num(values.steps);
  const out = str(values.out);
  await withModel(values, (model) =>
    finetuneModel(model, {
      task: str(values.task),
      phases: values.phases as number[],
      maxLength: num(values.maxLength),
      n: num(values.n),
      steps,
      batchSize: num(values.batchSize),
      lr: num(values.lr),
      minLr: num(values.minLr),
      warmup: num(values.warmup),
      seed: num(values.seed),
      ...(values.maxLoss === undefined ? {} : { maxLoss: num(values.maxLoss) }),
      evalEvery: num(values.evalEvery),
      valN: num(values.valN),
      out,
      record: { from: str(values.checkpoint) },
      log: print,
      onStep: (phase, i) => {
        if (i.step % 10 === 0 || i.step === steps) {
          print(`phase ${phase} step ${i.step}/${steps} | loss ${i.loss.toFixed(4)}`);
        }
      },
    }));
}

/** `eval`: per-length-bin accuracy of a checkpoint on a task's test set, optionally ablated. */
export async function evalCommand({ values }: CommandInput): Promise<void> {
  const source = str(values.checkpoint);
  await withModel(values, async (model) => {
    const e = await evaluateTestSet(model, {
      task: str(values.task),
      phases: values.phases as number[],
      n: num(values.n),
      seed: num(values.seed),
      ablation: {
        noPosAtMeta: values.zeroPosAtMeta === true,
        noEmbedAtMeta: values.zeroEmbedAtMeta === true,
        posNoise: num(values.peNoise),
      },
      source,
    });
    if (e.skipped > 0) {
      print(`skipped ${e.skipped} examples longer than the APE model's block size ${model.config.blockSize}`);
    }
    print(evaluationMarkdown(e));
    const out = str(values.out);
    if (out) print(`wrote ${(await writeEvaluation(out, e, source)).join(" and ")}`);
  });
}

/** `analyze`: every analysis of paper §4.4–5 on one checkpoint, written as SVG + JSON/CSV. */
export async function analyze({ values }: CommandInput): Promise<void> {
  const out = str(values.out);
  await withModel(values, async (model) => {
    const { analysis, files } = await analyzeModel(model, {
      task: str(values.task),
      phase: num(values.phase),
      n: num(values.n),
      vibN: num(values.vibN),
      vibEpochs: num(values.vibEpochs),
      betas: values.betas as number[],
      seed: num(values.seed),
      out,
      log: print,
    });
    print(
      `mean logit boost ${analysis.means.logitBoost.toFixed(4)}, mean entropy drop ` +
        `${analysis.means.entropyDrop.toFixed(4)} nats over ${analysis.logitBoost.length} meta positions`,
    );
    print(`wrote ${files.length} files to ${out}: ${files.map((f) => f.name).join(", ")}`);
  });
}

/**
 * `reproduce`: the plan of a scale and its cost; then (with `--scale` or
 * `--yes`, without `--plan`) every stage and the report.
 */
export async function reproduce({ values, given }: CommandInput): Promise<number> {
  const chosen = given.has("scale");
  const plan = scalePlan(chosen ? str(values.scale) : "tiny");
  const threads = num(values.threads);
  const shard = values.shard ? parseShard(str(values.shard)) : undefined;
  print(describePlan(plan, CPU_FLOPS_PER_THREAD * threads));
  if (values.plan) return 0;
  if (!chosen && values.yes !== true) {
    printError(
      `\nThat is the plan of --scale tiny. To run it: deno task reproduce --scale tiny (or --yes); ` +
        `--scale micro is a minutes-long smoke run; --plan prints a plan without asking.`,
    );
    return 2;
  }
  return await withBackend(values, async (backend) => {
    const p = progress(plan.pretrain?.steps ?? 0);
    const out = str(values.out) || `runs/${plan.scale}`;
    const r = await reproduceRun({ plan, out, backend, data: str(values.data), log: print, shard, ...p });
    print(
      `\nreproduce --scale ${plan.scale}${shard ? ` shard ${values.shard}` : ""} done in ` +
        `${(r.seconds / 60).toFixed(1)} min${
          r.report ? `: ${r.report}` : " (run without --shard for the report)"
        }`,
    );
    return 0;
  });
}
