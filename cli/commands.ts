/**
 * The subcommands of the metatokens CLI, one function each: parse the
 * arguments, call the packages, print progress.
 *
 * @module
 */

import { createBackend, defaultThreads, Rng, setDefaultBackend } from "@metatokens/tensor";
import {
  type Checkpoint,
  generate,
  Gpt,
  type GptConfig,
  gptConfig,
  importHfGpt2,
  loadCheckpoint,
  loadWeights,
  modelFromCheckpoint,
  PAPER_TRAIN_OPTIONS,
  PRESETS,
  runTraining,
  score,
  Trainer,
  type TrainOptions,
  writeFileAtomic,
} from "@metatokens/model";
import { decode, encode, openBrownCorpus, openCorpus, TokenBatchSource } from "@metatokens/data";
import {
  formatBinTable,
  generateDataset,
  lengthBin,
  lengthBinLabel,
  writeExamplesJsonl,
} from "@metatokens/tasks";
import { analyzeModel, checkWritableDir, writeAnalysis } from "@metatokens/analysis";
import { evaluateOnTask, finetuneOnTask, testExamples } from "./pipeline.ts";
import { applyOverrides, readConfigFile, type Settings, splitArgs } from "./args.ts";

/** Training defaults for the CPU preset: about 6 minutes on 2 cores. */
const TINY_TRAIN: TrainOptions = {
  ...PAPER_TRAIN_OPTIONS,
  steps: 120,
  gradAccum: 1,
  lr: 1e-3,
  minLr: 1e-4,
  warmup: 10,
  evalEvery: 40,
  evalBatches: 4,
};

/** Keys that live in `config.json` under other names: `meta` and `pos` are the flags for them. */
const ALIASED = ["metaAttention", "posEncoding"];

function runDefaults(preset: string): Settings {
  const model = PRESETS[preset];
  if (!model) {
    throw new RangeError(
      `Cannot find preset "${preset}": expected one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  const tiny = preset === "tiny";
  const modelKeys = Object.fromEntries(Object.entries(model).filter(([k]) => !ALIASED.includes(k)));
  return {
    preset,
    config: "",
    meta: model.metaAttention,
    pos: model.posEncoding,
    data: "",
    initFrom: "",
    extendFrom: "",
    yarnScale: 1,
    out: "runs/pretrain",
    resume: false,
    threads: defaultThreads(),
    device: "cpu",
    seed: 1337,
    batchSize: tiny ? 8 : 12,
    checkpointEvery: tiny ? 60 : 2000,
    valFraction: 0.05,
    ...(tiny ? TINY_TRAIN : PAPER_TRAIN_OPTIONS),
    ...modelKeys,
  } as unknown as Settings;
}

/** What a run saves besides the trainer's state, so `--resume` restores the same run. */
const RUN_KEYS = [
  "preset",
  "meta",
  "pos",
  "data",
  "seed",
  "batchSize",
  "checkpointEvery",
  "valFraction",
  "extendFrom",
  "yarnScale",
];

/**
 * Settings from defaults, then (with `--resume`) the checkpoint's config and
 * run, then an optional YAML file, then the command line. Only what is given
 * explicitly overrides a resumed run; its model config must not change.
 */
async function settings(args: string[]): Promise<{ s: Settings; ckpt: Checkpoint | null }> {
  const { options, positionals } = splitArgs(args);
  if (positionals.length > 0) {
    throw new TypeError(`Cannot use argument "${positionals[0]}": options start with --`);
  }
  const file = typeof options.config === "string" ? await readConfigFile(options.config) : {};
  const resume = options.resume === true || options.resume === "true" || file.resume === true;
  const out = String(options.out ?? file.out ?? "runs/pretrain");
  const ckpt = resume ? await loadCheckpoint(`${out}/checkpoint`) : null;
  const saved = (ckpt?.trainerState.run ?? {}) as Record<string, unknown>;
  const preset = String(options.preset ?? file.preset ?? saved.preset ?? "tiny");
  let s = runDefaults(preset);
  if (ckpt) {
    const config = ckpt.config as Record<string, unknown>;
    const modelKeys = Object.fromEntries(Object.entries(config).filter(([k]) => !ALIASED.includes(k)));
    const trainOptions = (ckpt.trainerState.options ?? {}) as Record<string, unknown>;
    s = applyOverrides(s, {
      ...modelKeys,
      ...trainOptions,
      ...saved,
      meta: config.metaAttention,
      pos: config.posEncoding,
    }, `checkpoint "${out}/checkpoint"`);
  }
  s = applyOverrides(s, file, `config file "${options.config}"`);
  return { s: applyOverrides(s, options), ckpt };
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const total = Math.round(seconds);
  const m = Math.floor(total / 60), s = total % 60;
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

export async function pretrain(args: string[]): Promise<void> {
  const { s, ckpt } = await settings(args);
  const { backend, description } = await createBackend(String(s.device), { threads: s.threads as number });
  setDefaultBackend(backend);
  const modelKeys = Object.keys(PRESETS.tiny).filter((k) => !ALIASED.includes(k)) as (keyof GptConfig)[];
  const base = s.extendFrom ? await loadCheckpoint(String(s.extendFrom)) : null;
  if (!base && s.yarnScale !== 1) {
    throw new TypeError("Cannot use --yarn-scale without a checkpoint to extend (deno task extend)");
  }
  const config = base
    ? yarnExtended(gptConfig(base.config, "tiny"), s.yarnScale as number, String(s.extendFrom))
    : gptConfig(
      {
        ...Object.fromEntries(modelKeys.map((k) => [k, s[k]])),
        metaAttention: s.meta as boolean,
        posEncoding: s.pos,
      },
      s.preset as string,
    );
  const out = s.out as string;
  const blockSize = config.blockSize;
  const cacheOptions = { blockSize, valFraction: s.valFraction as number };
  console.log(
    `metatokens pretrain: ${s.preset} (${config.nLayer} layers, width ${config.nEmbd}, ${config.posEncoding}), ` +
      `meta ${config.metaAttention ? "on" : "off"}, ${description}`,
  );
  const cache = s.data
    ? await openCorpus(String(s.data).split(","), cacheOptions)
    : await openBrownCorpus(cacheOptions);
  console.log(
    `corpus: ${s.data || "the embedded Brown corpus"}: ${
      cache.manifest.tokens.toLocaleString("en-US")
    } tokens ` +
      `(${cache.manifest.documents} documents), cache ${cache.dir}`,
  );
  const batchOptions = { batchSize: s.batchSize as number, blockSize, meta: config.metaAttention };
  const train = await TokenBatchSource.open(cache, "train", { ...batchOptions, seed: s.seed as number });
  const val = await TokenBatchSource.open(cache, "val", { ...batchOptions, seed: 12345 });
  const trainKeys = Object.keys(PAPER_TRAIN_OPTIONS) as (keyof TrainOptions)[];
  const options = Object.fromEntries(trainKeys.map((k) => [k, s[k]])) as unknown as TrainOptions;
  const model = new Gpt(config, new Rng(s.seed as number), backend);
  const trainer = new Trainer(model, train, val, options, s.seed as number);
  if (s.initFrom) {
    // A Hugging Face GPT-2 model.safetensors: its weights, the meta-attention (if any) at its init.
    const { state, shape } = importHfGpt2(await Deno.readFile(String(s.initFrom)), {
      padVocabTo: config.vocabSize,
      source: String(s.initFrom),
    });
    if (shape.nLayer !== config.nLayer || shape.nEmbd !== config.nEmbd) {
      throw new RangeError(
        `Cannot start a ${config.nLayer}-layer, width-${config.nEmbd} model from "${s.initFrom}": ` +
          `it has ${shape.nLayer} layers of width ${shape.nEmbd} (use --preset gpt2 or meta-gpt2)`,
      );
    }
    loadWeights(model, state, { partial: true });
    console.log(`initialised from ${s.initFrom}`);
  }
  if (base) {
    loadWeights(model, base.model);
    console.log(
      `extended ${s.extendFrom} with YaRN: context ${
        config.yarn!.originalContext
      } → ${config.blockSize} (s = ${s.yarnScale})`,
    );
  }
  if (ckpt) {
    trainer.restore(ckpt);
    console.log(`resumed from ${out}/checkpoint at step ${trainer.stepCount}`);
  }
  console.log(
    `model: ${(model.parameterCount() / 1e6).toFixed(2)}M parameters; ${options.steps} steps of ` +
      `${(s.batchSize as number) * options.gradAccum} × ${blockSize} tokens; run directory ${out}`,
  );
  let stop = false;
  const onSigint = (): void => {
    stop = true;
    console.log("\nCtrl-C: saving a checkpoint after this step, then stopping");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  try {
    const result = await runTraining(trainer, {
      outDir: out,
      extraState: { run: Object.fromEntries(RUN_KEYS.map((k) => [k, s[k]])) },
      checkpointEvery: s.checkpointEvery as number,
      shouldStop: () => stop,
      onStep: (i) => {
        const line =
          `step ${i.step}/${options.steps} | loss ${i.loss.toFixed(4)} | lr ${i.lr.toExponential(2)} | ` +
          `${i.tokensPerSecond.toFixed(0)} tok/s | ETA ${formatDuration(i.etaSeconds)}`;
        if (tty) Deno.stdout.writeSync(encoder.encode(`\r${line}   `));
        else if (i.step % 10 === 0 || i.step === options.steps) console.log(line);
      },
      onEval: (step, loss) => console.log(`${tty ? "\n" : ""}step ${step}: val loss ${loss.toFixed(4)}`),
    });
    if (tty) console.log();
    const curve = result.valLosses.map(([step, loss]) => `${step}: ${loss.toFixed(3)}`).join(", ");
    console.log(`val loss by step: ${curve}`);
    console.log(
      `${
        result.stopped ? "stopped" : "done"
      } after ${result.steps} steps; checkpoint: ${result.checkpoint}; ` +
        `metrics: ${out}/metrics.jsonl`,
    );
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    backend.dispose();
  }
}

/** A RoPE config extended by YaRN to s × its original context (APE and NoPE are refused). */
function yarnExtended(config: GptConfig, scale: number, source: string): GptConfig {
  if (config.posEncoding !== "rope") {
    throw new RangeError(
      `Cannot extend "${source}" with YaRN: it uses ${
        config.posEncoding === "ape"
          ? `learned absolute positions, and its wpe has no rows past ${config.blockSize}`
          : "no positional encoding, so there is no rotation to rescale"
      }; extend a RoPE checkpoint`,
    );
  }
  const original = config.yarn?.originalContext ?? config.blockSize;
  return gptConfig({
    ...config,
    yarn: { scale, originalContext: original },
    blockSize: Math.round(scale * original),
  }, "tiny");
}

/** `extend`: YaRN-extend a RoPE checkpoint by `--scale` and continue pre-training at the new length. */
export async function extend(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  const rest = { ...options };
  const from = rest.checkpoint, scale = rest.scale;
  if (typeof from !== "string" || typeof scale !== "string") {
    throw new TypeError(
      "Cannot extend without --checkpoint DIR (a RoPE checkpoint) and --scale s (L′ = s·L)",
    );
  }
  delete rest.checkpoint;
  delete rest.scale;
  const forwarded = Object.entries({ out: "runs/extend", ...rest }).map(([k, v]) => `--${k}=${v}`);
  await pretrain([`--extend-from=${from}`, `--yarn-scale=${scale}`, ...forwarded]);
}

/** Runs `fn` with the model of a checkpoint on a fresh backend for `--device`, released afterwards. */
async function withModel<T>(
  checkpoint: unknown,
  device: { device?: unknown; threads?: unknown },
  fn: (model: Gpt) => Promise<T> | T,
): Promise<T> {
  if (typeof checkpoint !== "string" || checkpoint === "") {
    throw new TypeError("Cannot run without --checkpoint DIR");
  }
  const threads = device.threads === undefined ? defaultThreads() : Number(device.threads);
  const { backend } = await createBackend(String(device.device ?? "cpu"), { threads });
  setDefaultBackend(backend);
  try {
    return await fn(modelFromCheckpoint(await loadCheckpoint(checkpoint)));
  } finally {
    backend.dispose();
  }
}

function checkOptions(options: Record<string, string | true>, known: string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot use unknown option "--${key}": expected one of ${known.map((k) => `--${k}`).join(", ")}`,
      );
    }
  }
}

export async function scoreCommand(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  checkOptions(options, ["checkpoint", "text", "json", "threads", "device"]);
  if (typeof options.text !== "string") throw new TypeError(`Cannot score without --text "…"`);
  const r = await withModel(
    options.checkpoint,
    options,
    (model) => score(model, encode(String(options.text))),
  );
  if (options.json) {
    console.log(JSON.stringify({ tokens: [...r.tokens], logprobs: r.logprobs, loss: r.loss }));
    return;
  }
  console.log("token                    log p(token | prefix)");
  for (let i = 1; i < r.tokens.length; i++) {
    const lp = r.logprobs[i - 1];
    console.log(
      `${JSON.stringify(decode([r.tokens[i]])).padEnd(24)} ${
        lp === null ? "(meta: no loss)" : lp.toFixed(4)
      }`,
    );
  }
  console.log(`mean loss ${r.loss.toFixed(4)} over ${r.logprobs.filter((x) => x !== null).length} tokens`);
}

export async function generateCommand(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  checkOptions(options, [
    "checkpoint",
    "prompt",
    "max-new-tokens",
    "temperature",
    "top-k",
    "seed",
    "threads",
    "device",
  ]);
  if (typeof options.prompt !== "string") throw new TypeError(`Cannot generate without --prompt "…"`);
  const num = (key: string, fallback: number): number => {
    const v = options[key];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TypeError(`Cannot use --${key}=${v}: expected a number`);
    return n;
  };
  const prompt = options.prompt;
  const encoder = new TextEncoder();
  const result = await withModel(options.checkpoint, options, (model) => {
    Deno.stdout.writeSync(encoder.encode(prompt));
    return generate(model, encode(prompt), {
      maxNewTokens: num("max-new-tokens", 64),
      temperature: num("temperature", 0.8),
      topK: options["top-k"] === undefined ? undefined : num("top-k", 40),
      rng: new Rng(num("seed", 1337)),
      onToken: (t) => Deno.stdout.writeSync(encoder.encode(decode([t]))),
    });
  });
  console.log(
    `\n[${result.tokens.length} tokens, time to first token ${result.ttftMs.toFixed(0)} ms, ` +
      `${result.tokensPerSecond.toFixed(1)} tok/s]`,
  );
}

export async function tasksGenerate(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  checkOptions(options, ["task", "phase", "n", "seed", "out", "split", "preset"]);
  const s = applyOverrides(
    { task: "", phase: 1, n: 0, seed: 0, out: "", split: "train", preset: "cpu" },
    options,
  );
  // Sizes per task and split: the paper's D.1 (90,000 / 10,000) or a CPU-sized preset.
  const sizes: Record<string, Record<string, number>> = {
    paper: { train: 90_000, test: 10_000 },
    cpu: { train: 2_000, test: 200 },
  };
  const size = sizes[String(s.preset)]?.[String(s.split)];
  if (size === undefined) {
    throw new RangeError(
      `Cannot use --preset ${s.preset} --split ${s.split}: expected presets paper or cpu and splits train or test`,
    );
  }
  if (s.n === 0) s.n = size;
  // Test data comes from another stream than training data with the same seed.
  if (s.split === "test") s.seed = (s.seed as number) + 1_000_003;
  if (!s.task || !s.out) {
    throw new TypeError("Cannot generate a task dataset without --task and --out file.jsonl");
  }
  // Accept the issue's snake_case names (list_recall) as well as the package's (list-recall).
  const examples = generateDataset(
    String(s.task).replaceAll("_", "-"),
    s.phase as number,
    s.n as number,
    s.seed as number,
  );
  await writeExamplesJsonl(String(s.out), examples);
  const bins = new Map<string, number>();
  for (const e of examples) {
    const label = lengthBinLabel(lengthBin(e.promptTokens));
    bins.set(label, (bins.get(label) ?? 0) + 1);
  }
  console.log(
    `wrote ${examples.length} ${s.task} examples (phase ${s.phase}, seed ${s.seed}) to ${s.out}; ` +
      `prompt lengths: ${[...bins].map(([b, n]) => `${b}: ${n}`).join(", ")}`,
  );
}

export async function finetune(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
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
  }, options);
  if (!s.checkpoint || !s.task) {
    throw new TypeError("Cannot fine-tune without --checkpoint DIR and --task NAME");
  }
  await withModel(s.checkpoint, s, async (model) => {
    const task = String(s.task).replaceAll("_", "-");
    const maxLength = s.maxLength as number;
    await finetuneOnTask(model, {
      task,
      phases: String(s.phases).split(",").map(Number),
      maxLength,
      n: s.n as number,
      steps: s.steps as number,
      batchSize: s.batchSize as number,
      lr: s.lr as number,
      minLr: s.minLr as number,
      warmup: s.warmup as number,
      seed: s.seed as number,
    }, {
      log: (message) => console.log(message),
      // Each phase through the run loop: metrics.jsonl and a checkpoint of the model after the phase.
      runPhase: async (trainer, phase) => {
        let loss = NaN;
        const result = await runTraining(trainer, {
          outDir: String(s.out),
          checkpointEvery: 0,
          extraState: { finetune: { task, phase, maxLength, from: s.checkpoint } },
          onStep: (i) => {
            loss = i.loss;
            if (i.step % 10 === 0 || i.step === s.steps) {
              console.log(`phase ${phase} step ${i.step}/${s.steps} | loss ${i.loss.toFixed(4)}`);
            }
          },
        });
        console.log(`phase ${phase} done; checkpoint: ${result.checkpoint}`);
        return loss;
      },
    });
  });
}

export async function evalCommand(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
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
  }, options);
  if (!s.checkpoint || !s.task) {
    throw new TypeError("Cannot evaluate without --checkpoint DIR and --task NAME");
  }
  await withModel(s.checkpoint, s, async (model) => {
    const { config } = model;
    if ((s.zeroPosAtMeta || s.zeroEmbedAtMeta) && !config.metaAttention) {
      throw new RangeError(
        `Cannot run meta-token ablations on "${s.checkpoint}": the model has no meta-attention (a baseline checkpoint)`,
      );
    }
    const ablation = {
      noPosAtMeta: s.zeroPosAtMeta as boolean,
      noEmbedAtMeta: s.zeroEmbedAtMeta as boolean,
      posNoise: s.peNoise as number,
    };
    const task = String(s.task).replaceAll("_", "-");
    const phases = String(s.phases).split(",").map(Number);
    const examples = testExamples({ task, phases, n: s.n as number, seed: s.seed as number });
    const { bins, skipped } = await evaluateOnTask(model, examples, { ablation, seed: s.seed as number });
    if (bins.length === 0) {
      throw new RangeError(
        `Cannot evaluate: all ${skipped} examples are longer than the APE model's block size ${config.blockSize} ` +
          `(use earlier phases, or a RoPE / NoPE model for longer prompts)`,
      );
    }
    if (skipped > 0) {
      console.log(`skipped ${skipped} examples longer than the APE model's block size ${config.blockSize}`);
    }
    const flags = [
      s.zeroPosAtMeta && "no pos at meta",
      s.zeroEmbedAtMeta && "no embed at meta",
      (s.peNoise as number) > 0 && `PE noise σ=${s.peNoise}`,
    ].filter(Boolean).join(", ");
    const title = `${task}, phases ${s.phases}, ${examples.length} examples${flags ? ` (${flags})` : ""}`;
    const markdown = formatBinTable(bins, title);
    console.log(markdown);
    if (s.out) {
      await Deno.mkdir(String(s.out), { recursive: true });
      const enc = new TextEncoder();
      await writeFileAtomic(`${s.out}/eval.md`, enc.encode(markdown));
      await writeFileAtomic(
        `${s.out}/eval.json`,
        enc.encode(
          JSON.stringify({ checkpoint: s.checkpoint, task, phases: s.phases, ablation, bins }, null, 2) +
            "\n",
        ),
      );
      console.log(`wrote ${s.out}/eval.md and ${s.out}/eval.json`);
    }
  });
}

/** `analyze`: every analysis of paper §4.4–5 on one checkpoint, written as SVG + JSON/CSV. */
export async function analyze(args: string[]): Promise<void> {
  const { options } = splitArgs(args);
  checkOptions(options, [
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
    "device",
  ]);
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
  const betas = String(s.betas).split(",").filter((b) => b.trim() !== "").map((b) => {
    const beta = Number(b);
    if (!(beta > 0) || !Number.isFinite(beta)) {
      throw new RangeError(`Cannot use β = "${b}" in --betas: expected positive numbers separated by commas`);
    }
    return beta;
  });
  if (betas.length === 0 && (s.vibN as number) > 0) {
    throw new RangeError(
      `Cannot run the VIB sweep with an empty β list (--betas "${s.betas}"): expected at least one β`,
    );
  }
  const out = String(s.out);
  await checkWritableDir(out);
  await withModel(s.checkpoint, s, async (model) => {
    const task = String(s.task).replaceAll("_", "-");
    const examples = generateDataset(task, s.phase as number, s.n as number, s.seed as number);
    const vibExamples = (s.vibN as number) > 0
      ? generateDataset("list-recall", 1, s.vibN as number, (s.seed as number) + 1)
      : [];
    const analysis = await analyzeModel(model, examples, {
      task,
      vibExamples,
      betas,
      vibEpochs: s.vibEpochs as number,
      seed: s.seed as number,
      log: (m) => console.log(m),
    });
    const files = await writeAnalysis(analysis, out);
    console.log(
      `mean logit boost ${analysis.means.logitBoost.toFixed(4)}, mean entropy drop ` +
        `${analysis.means.entropyDrop.toFixed(4)} nats over ${analysis.logitBoost.length} meta positions`,
    );
    console.log(`wrote ${files.length} files to ${out}: ${files.map((f) => f.name).join(", ")}`);
  });
}
