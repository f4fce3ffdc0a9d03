/**
 * The subcommands of the metatokens CLI, one function each: parse the
 * arguments, call `@metatokens/experiments` (or the model package for
 * `score` / `generate`), print what comes back. Nothing here decides how an
 * experiment runs.
 *
 * @module
 */

import { type Backend, createBackend, defaultThreads, Rng, setDefaultBackend } from "@metatokens/tensor";
import {
  type Checkpoint,
  checkSampling,
  generateBatch,
  type Gpt,
  loadCheckpoint,
  modelFromCheckpoint,
  score,
} from "@metatokens/model";
import { decode, encode, EOT_ID } from "@metatokens/data";
import { writeExamplesJsonl } from "@metatokens/tasks";
import {
  analyze as analyzeModel,
  checkpointSettings,
  CPU_FLOPS_PER_THREAD,
  describePlan,
  evaluateTestSet,
  evaluationMarkdown,
  extend as extendRun,
  finetune as finetuneModel,
  pretrain as pretrainRun,
  pretrainDefaults,
  type PretrainResult,
  promptLengthCounts,
  reproduce as reproduceRun,
  scalePlan,
  type StepProgress,
  taskDataset,
  writeEvaluation,
} from "@metatokens/experiments";
import { applyOverrides, readConfigFile, splitArgs } from "./args.ts";

type Options = Record<string, string | true>;

/** The device options every command takes. */
interface DeviceOptions {
  device?: unknown;
  threads?: unknown;
}

function checkOptions(options: Options, known: string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot use unknown option "--${key}": expected one of ${known.map((k) => `--${k}`).join(", ")}`,
      );
    }
  }
}

/** Runs `fn` on a fresh backend for `--device` / `--threads` (also the default backend), released afterwards. */
async function withBackend<T>(
  o: DeviceOptions,
  fn: (backend: Backend, description: string) => Promise<T>,
): Promise<T> {
  const threads = o.threads === undefined ? defaultThreads() : Number(o.threads);
  const { backend, description } = await createBackend(String(o.device ?? "cpu"), { threads });
  setDefaultBackend(backend);
  try {
    return await fn(backend, description);
  } finally {
    backend.dispose();
  }
}

/** Runs `fn` with the model of a checkpoint on a fresh backend; both are freed afterwards. */
function withModel<T>(checkpoint: unknown, o: DeviceOptions, fn: (model: Gpt) => Promise<T> | T): Promise<T> {
  if (typeof checkpoint !== "string" || checkpoint === "") {
    throw new TypeError("Cannot run without --checkpoint DIR");
  }
  return withBackend(o, async (backend) => {
    using model = modelFromCheckpoint(await loadCheckpoint(checkpoint), backend);
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
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  return {
    onStep: (i) => {
      const line = `step ${i.step}/${steps} | loss ${i.loss.toFixed(4)} | lr ${i.lr.toExponential(2)} | ` +
        `${i.tokensPerSecond.toFixed(0)} tok/s | ETA ${formatDuration(i.etaSeconds)}`;
      if (tty) Deno.stdout.writeSync(encoder.encode(`\r${line}   `));
      else if (i.step % 10 === 0 || i.step === steps) console.log(line);
    },
    onEval: (step, loss) => console.log(`${tty ? "\n" : ""}step ${step}: val loss ${loss.toFixed(4)}`),
    end: () => tty && console.log(),
  };
}

/**
 * Pre-training settings from the preset's defaults, then (with `--resume`)
 * the checkpoint's, then an optional YAML file, then the command line.
 */
async function pretrainSettings(options: Options, defaultOut: string) {
  const file = typeof options.config === "string" ? await readConfigFile(options.config) : {};
  const resume = options.resume === true || options.resume === "true" || file.resume === true;
  const out = String(options.out ?? file.out ?? defaultOut);
  const ckpt: Checkpoint | null = resume ? await loadCheckpoint(`${out}/checkpoint`) : null;
  const saved = ckpt ? checkpointSettings(ckpt) : {};
  const preset = String(options.preset ?? file.preset ?? saved.preset ?? "tiny");
  const cli = { config: "", resume: false, threads: defaultThreads(), device: "cpu" };
  let s = { ...pretrainDefaults(preset), out: defaultOut, ...cli };
  if (ckpt) s = applyOverrides(s, saved, `checkpoint "${out}/checkpoint"`);
  s = applyOverrides(s, file, `config file "${options.config}"`);
  return { settings: applyOverrides(s, options), resume: ckpt };
}

/** `pretrain`, and `extend` when `extension` is given: the run, with Ctrl-C saving a checkpoint. */
async function trainCommand(
  options: Options,
  defaultOut: string,
  extension?: { from: string; scale: number },
) {
  const { settings, resume } = await pretrainSettings(options, defaultOut);
  await withBackend(settings, async (backend, description) => {
    console.log(`metatokens: ${description}`);
    let stop = false;
    const onSigint = (): void => {
      stop = true;
      console.log("\nCtrl-C: saving a checkpoint after this step, then stopping");
    };
    Deno.addSignalListener("SIGINT", onSigint);
    const p = progress(settings.steps);
    try {
      const run = { settings, backend, resume, log: console.log, shouldStop: () => stop, ...p };
      const r: PretrainResult = extension
        ? await extendRun({ ...run, ...extension })
        : await pretrainRun(run);
      p.end();
      console.log(`val loss by step: ${r.valLosses.map(([s, l]) => `${s}: ${l.toFixed(3)}`).join(", ")}`);
      console.log(
        `${r.stopped ? "stopped" : "done"} after ${r.steps} steps; checkpoint: ${r.checkpoint}; ` +
          `metrics: ${settings.out}/metrics.jsonl`,
      );
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  });
}

/** `pretrain`: train a model from scratch (or from Hugging Face GPT-2 weights), or resume a run. */
export async function pretrain(args: string[]): Promise<void> {
  const { options, positionals } = splitArgs(args);
  if (positionals.length > 0) {
    throw new TypeError(`Cannot use argument "${positionals[0]}": options start with --`);
  }
  await trainCommand(options, "runs/pretrain");
}

/** `extend`: YaRN-extend a RoPE checkpoint by `--scale` and continue pre-training at the new length. */
export async function extend(args: string[]): Promise<void> {
  const { checkpoint, scale, ...rest } = splitArgs(args).options;
  if (typeof checkpoint !== "string" || typeof scale !== "string" || !(Number(scale) >= 1)) {
    throw new TypeError(
      "Cannot extend without --checkpoint DIR (a RoPE checkpoint) and --scale s ≥ 1 (L′ = s·L)",
    );
  }
  await trainCommand(rest, "runs/extend", { from: checkpoint, scale: Number(scale) });
}

/** `--quantize none|int8`, checked before a model is loaded. */
function quantizeOption(value: unknown): "int8" | null {
  if (value === undefined || value === "none") return null;
  if (value === "int8") return "int8";
  throw new TypeError(`Cannot use --quantize ${JSON.stringify(value)}: expected none or int8`);
}

/** `score`: log-probability of every token of `--text`. */
export async function scoreCommand(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  checkOptions(options, ["checkpoint", "text", "json", "threads", "device", "quantize"]);
  const text = options.text;
  if (typeof text !== "string") throw new TypeError(`Cannot score without --text "…"`);
  const quantize = quantizeOption(options.quantize);
  const r = await withModel(options.checkpoint, options, (model) => {
    if (quantize) model.quantize(quantize);
    return score(model, encode(text));
  });
  if (options.json) {
    console.log(JSON.stringify({ tokens: [...r.tokens], logprobs: r.logprobs, loss: r.loss }));
    return;
  }
  console.log("token                    log p(token | prefix)");
  for (let i = 1; i < r.tokens.length; i++) {
    const lp = r.logprobs[i - 1];
    const token = JSON.stringify(decode([r.tokens[i]])).padEnd(24);
    console.log(`${token} ${lp === null ? "(meta: no loss)" : lp.toFixed(4)}`);
  }
  console.log(`mean loss ${r.loss.toFixed(4)} over ${r.logprobs.filter((x) => x !== null).length} tokens`);
}

/** The prompts of `generate`: `--prompt TEXT` and the non-empty lines of `--prompts FILE`. */
async function promptsOf(options: Record<string, string | true>): Promise<string[]> {
  const prompts: string[] = [];
  if (options.prompt !== undefined) {
    if (typeof options.prompt !== "string") {
      throw new TypeError(`Cannot generate from --prompt without a text`);
    }
    prompts.push(options.prompt);
  }
  if (options.prompts !== undefined) {
    const file = options.prompts;
    if (typeof file !== "string") {
      throw new TypeError("Cannot read --prompts without a FILE (one prompt per line)");
    }
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(`Cannot read prompts from "${file}": ${(e as Error).message}`);
    }
    prompts.push(...text.split(/\r?\n/).filter((line) => line.trim() !== ""));
  }
  if (prompts.length === 0) throw new TypeError(`Cannot generate without --prompt "…" or --prompts FILE`);
  return prompts;
}

/**
 * `generate`: continue `--prompt` (streamed as it comes) or every line of `--prompts FILE`
 * (decoded together as one batch, each printed when done); stops at `<|endoftext|>`.
 */
export async function generateCommand(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  const known = [
    "checkpoint",
    "prompt",
    "prompts",
    "max-new-tokens",
    "temperature",
    "top-k",
    "top-p",
    "seed",
    "quantize",
    "threads",
    "device",
  ];
  checkOptions(options, known);
  const sampling = Object.entries(options).filter(([k]) =>
    !["checkpoint", "prompt", "prompts", "quantize", "threads", "device"].includes(k)
  );
  const s = applyOverrides(
    { maxNewTokens: 64, temperature: 0.8, topK: 0, topP: 1, seed: 1337 },
    Object.fromEntries(sampling),
  );
  const settings = {
    temperature: s.temperature,
    topK: s.topK === 0 ? undefined : s.topK,
    topP: s.topP,
    rng: new Rng(s.seed),
  };
  // Every input is checked before the checkpoint is read.
  checkSampling(settings);
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1) {
    throw new RangeError(`Cannot generate ${s.maxNewTokens} tokens: expected --max-new-tokens ≥ 1`);
  }
  const quantize = quantizeOption(options.quantize);
  const prompts = await promptsOf(options);
  const encoder = new TextEncoder();
  const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
  const stream = prompts.length === 1;
  const results = await withModel(options.checkpoint, options, (model) => {
    if (quantize) model.quantize(quantize);
    if (stream) write(prompts[0]);
    return generateBatch(model, prompts.map((p) => encode(p)), {
      ...settings,
      maxNewTokens: s.maxNewTokens,
      stopToken: EOT_ID,
      crop: true,
      onToken: stream ? (t) => write(decode([t])) : undefined,
    });
  });
  for (const [i, r] of results.entries()) {
    if (!stream) {
      console.log(`--- prompt ${i + 1} of ${prompts.length}\n${prompts[i]}${decode([...r.tokens])}`);
    }
    const notes = [
      `${r.tokens.length} tokens${r.stopped ? " (stopped at <|endoftext|>)" : ""}`,
      `time to first token ${r.ttftMs.toFixed(0)} ms`,
      `${r.tokensPerSecond.toFixed(1)} tok/s${
        prompts.length > 1 ? ` per sequence, ${prompts.length} decoded together` : ""
      }`,
      ...(r.cropped > 0 ? [`prompt cropped by its first ${r.cropped} tokens to fit the model's block`] : []),
      ...(quantize ? ["int8 weights"] : []),
    ];
    console.log(`${stream ? "\n" : ""}[${notes.join(", ")}]`);
  }
}

/** `tasks:generate`: a seeded JSONL file of task examples. */
export async function tasksGenerate(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  checkOptions(options, ["task", "phase", "n", "seed", "out", "split", "preset"]);
  const s = applyOverrides(
    { task: "", phase: 1, n: 0, seed: 0, out: "", split: "train", preset: "cpu" },
    options,
  );
  if (!s.task || !s.out) {
    throw new TypeError("Cannot generate a task dataset without --task and --out file.jsonl");
  }
  const { examples, seed } = taskDataset(s);
  await writeExamplesJsonl(s.out, examples);
  const bins = promptLengthCounts(examples).map(([bin, n]) => `${bin}: ${n}`).join(", ");
  console.log(
    `wrote ${examples.length} ${s.task} examples (phase ${s.phase}, seed ${seed}) to ${s.out}; prompt lengths: ${bins}`,
  );
}

/** A comma-separated list of curriculum phases. */
function phaseList(text: string): number[] {
  return text.split(",").map((p) => {
    const phase = Number(p);
    if (!Number.isInteger(phase)) {
      throw new RangeError(`Cannot use phase "${p}": expected integers like 1,2,3`);
    }
    return phase;
  });
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
export async function finetune(args: string[]): Promise<void> {
  const s = applyOverrides({
    checkpoint: "",
    task: "",
    phases: "1",
    maxLength: 128,
    n: 2000,
    steps: 100,
    batchSize: 8,
    lr: 3e-4,
    minLr: 3e-5,
    warmup: 10,
    out: "runs/finetune",
    seed: 1337,
    threads: defaultThreads(),
    device: "cpu",
  }, splitArgs(args).options);
  if (!s.checkpoint || !s.task) {
    throw new TypeError("Cannot fine-tune without --checkpoint DIR and --task NAME");
  }
  await withModel(s.checkpoint, s, (model) =>
    finetuneModel(model, {
      ...s,
      phases: phaseList(s.phases),
      record: { from: s.checkpoint },
      log: console.log,
      onStep: (phase, i) => {
        if (i.step % 10 === 0 || i.step === s.steps) {
          console.log(`phase ${phase} step ${i.step}/${s.steps} | loss ${i.loss.toFixed(4)}`);
        }
      },
    }));
}

/** `eval`: per-length-bin accuracy of a checkpoint on a task's test set, optionally ablated. */
export async function evalCommand(args: string[]): Promise<void> {
  const s = applyOverrides({
    checkpoint: "",
    task: "",
    phases: "1",
    n: 50,
    seed: 7,
    zeroPosAtMeta: false,
    zeroEmbedAtMeta: false,
    peNoise: 0,
    out: "",
    threads: defaultThreads(),
    device: "cpu",
  }, splitArgs(args).options);
  if (!s.checkpoint || !s.task) {
    throw new TypeError("Cannot evaluate without --checkpoint DIR and --task NAME");
  }
  await withModel(s.checkpoint, s, async (model) => {
    const e = await evaluateTestSet(model, {
      ...s,
      phases: phaseList(s.phases),
      ablation: { noPosAtMeta: s.zeroPosAtMeta, noEmbedAtMeta: s.zeroEmbedAtMeta, posNoise: s.peNoise },
      source: s.checkpoint,
    });
    if (e.skipped > 0) {
      console.log(
        `skipped ${e.skipped} examples longer than the APE model's block size ${model.config.blockSize}`,
      );
    }
    console.log(evaluationMarkdown(e));
    if (s.out) console.log(`wrote ${(await writeEvaluation(s.out, e, s.checkpoint)).join(" and ")}`);
  });
}

/** `analyze`: every analysis of paper §4.4–5 on one checkpoint, written as SVG + JSON/CSV. */
export async function analyze(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  const known = [
    "checkpoint",
    "task",
    "phase",
    "n",
    "vib-n",
    "vib-epochs",
    "betas",
    "seed",
    "out",
    "threads",
  ];
  checkOptions(options, [...known, "device"]);
  const s = applyOverrides({
    checkpoint: "",
    task: "list-recall",
    phase: 1,
    n: 20,
    vibN: 50,
    vibEpochs: 5,
    betas: "0.01,0.02,0.05,0.1,0.2,0.5,1.0",
    seed: 7,
    out: "runs/analyze",
    threads: defaultThreads(),
    device: "cpu",
  }, options);
  const betas = s.betas.split(",").filter((b) => b.trim() !== "").map((b) => {
    const beta = Number(b);
    if (!(beta > 0) || !Number.isFinite(beta)) {
      throw new RangeError(`Cannot use β = "${b}" in --betas: expected positive numbers separated by commas`);
    }
    return beta;
  });
  await withModel(s.checkpoint, s, async (model) => {
    const { analysis, files } = await analyzeModel(model, { ...s, betas, log: console.log });
    console.log(
      `mean logit boost ${analysis.means.logitBoost.toFixed(4)}, mean entropy drop ` +
        `${analysis.means.entropyDrop.toFixed(4)} nats over ${analysis.logitBoost.length} meta positions`,
    );
    console.log(`wrote ${files.length} files to ${s.out}: ${files.map((f) => f.name).join(", ")}`);
  });
}

/** `reproduce`: the plan of a scale and its cost; then (without `--plan`) every stage and the report. */
export async function reproduce(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  checkOptions(options, ["scale", "out", "threads", "device", "data", "plan", "shard"]);
  const s = applyOverrides(
    { scale: "tiny", out: "", threads: defaultThreads(), device: "cpu", data: "", plan: false, shard: "" },
    options,
  );
  const plan = scalePlan(s.scale);
  console.log(describePlan(plan, CPU_FLOPS_PER_THREAD * s.threads));
  if (s.plan) return;
  await withBackend(s, async (backend) => {
    const p = progress(plan.pretrain?.steps ?? 0);
    const out = s.out || `runs/${plan.scale}`;
    const shard = s.shard ? parseShard(s.shard) : undefined;
    const r = await reproduceRun({ plan, out, backend, data: s.data, log: console.log, shard, ...p });
    console.log(
      `\nreproduce --scale ${plan.scale}${s.shard ? ` shard ${s.shard}` : ""} done in ` +
        `${(r.seconds / 60).toFixed(1)} min${
          r.report ? `: ${r.report}` : " (run without --shard for the report)"
        }`,
    );
  });
}
