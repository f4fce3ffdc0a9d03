/**
 * Pre-training and YaRN extension: a model, its corpus and batches from a
 * run's settings, an optional start from Hugging Face GPT-2 weights or from a
 * RoPE checkpoint to extend, then the run loop (metrics, checkpoints, resume)
 * of `@metatokens/model`. Everything the run allocates is freed before it
 * returns.
 *
 * @module
 */

import { type Backend, Rng } from "@metatokens/tensor";
import {
  type Checkpoint,
  checkpointConfig,
  Gpt,
  type GptConfig,
  gptConfig,
  importHfGpt2,
  loadCheckpoint,
  loadWeights,
  runTraining,
  type StepInfo,
  Trainer,
} from "@metatokens/model";
import { openBrownCorpus, openCorpus, TokenBatchSource } from "@metatokens/data";
import {
  checkpointSettings,
  pretrainConfig,
  type PretrainSettings,
  resumeNotices,
  SAVED_RUN_KEYS,
  savedRunSettings,
  trainOptions,
} from "./settings.ts";

/** The seed of the validation batches: the same for every run, so losses compare. */
export const VAL_SEED = 12345;

/** Progress of one training step, as the run loop reports it. */
export type StepProgress = StepInfo & { tokensPerSecond: number; etaSeconds: number };

/** Options of {@linkcode pretrain}. */
export interface PretrainOptions {
  /** The run's settings ({@linkcode pretrainDefaults} with overrides). */
  settings: PretrainSettings;
  /** Where the model lives. */
  backend: Backend;
  /** The run's own checkpoint to continue from (`--resume`), or null to start. */
  resume?: Checkpoint | null;
  /** Progress messages (model, corpus, initialisation). */
  log?: (message: string) => void;
  /** Called after every step. */
  onStep?: (info: StepProgress) => void;
  /** Called after every evaluation. */
  onEval?: (step: number, valLoss: number) => void;
  /** Polled after every step: true saves a checkpoint and stops. */
  shouldStop?: () => boolean;
}

/** What a pre-training run returns. */
export interface PretrainResult {
  /** The config trained. */
  config: GptConfig;
  /** Its parameters. */
  parameterCount: number;
  /** The checkpoint folder. */
  checkpoint: string;
  /** Steps completed (those before a resume included). */
  steps: number;
  /** Whether `shouldStop` ended it early. */
  stopped: boolean;
  /** Every evaluation as [step, validation loss], those before a resume included. */
  valLosses: [number, number][];
  /** The training loss of every step of this call, as [step, loss]. */
  trainLosses: [number, number][];
  /** Wall time of this call. */
  seconds: number;
}

/** Checks that Hugging Face GPT-2 weights have the run's shape; names the file when not. */
function checkHfShape(config: GptConfig, shape: { nLayer: number; nEmbd: number }, source: string): void {
  if (shape.nLayer !== config.nLayer || shape.nEmbd !== config.nEmbd) {
    throw new RangeError(
      `Cannot start a ${config.nLayer}-layer, width-${config.nEmbd} model from "${source}": ` +
        `it has ${shape.nLayer} layers of width ${shape.nEmbd} (use --preset gpt2 or meta-gpt2)`,
    );
  }
}

/** What a resume takes from its checkpoint, in one line. */
function restoredSummary(ckpt: Checkpoint, source: string, trainer: Trainer): string {
  const saved = checkpointSettings(ckpt, source);
  const run = SAVED_RUN_KEYS.filter((k) => Object.hasOwn(saved, k)).map((k) =>
    `${k} ${JSON.stringify(saved[k])}`
  );
  return `restored: the weights${ckpt.optimizer ? ", AdamW moments" : ""}, RNG and data cursors, ` +
    `${trainer.valLosses.length} evaluations, the model config, the optimisation settings (under the ` +
    `command line's) and run settings ${run.join(", ") || "(none saved)"}`;
}

/**
 * Pre-trains (or, with `settings.extendFrom`, YaRN-extends and continues to
 * train) a model as `options.settings` say, writing `metrics.jsonl` and
 * `checkpoint/` into `settings.out`.
 *
 * A resume (`options.resume`) reads and writes only the paths of
 * `options.settings` (the command line's): the corpus is `settings.data`
 * whatever the checkpoint saved (a different saved one is logged as a
 * notice), a resumed extension takes its config from the checkpoint and reads
 * no other, and the log says what the checkpoint restores.
 *
 * @example
 * ```ts ignore
 * import { defaultBackend } from "@metatokens/tensor";
 * import { pretrain, pretrainDefaults } from "@metatokens/experiments";
 * const settings = { ...pretrainDefaults("tiny"), nLayer: 1, nEmbd: 16, nHead: 2, steps: 2, evalEvery: 1, evalBatches: 1, batchSize: 1, out: await Deno.makeTempDir() };
 * const result = await pretrain({ settings, backend: defaultBackend() });
 * console.log(result.valLosses.length, result.trainLosses.length); // 3 2
 * ```
 */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const { settings: s, backend } = options;
  const log = options.log ?? (() => {});
  const started = performance.now();
  const stateFile = `"${s.out}/checkpoint/trainer_state.json"`;
  const resumed = options.resume ? checkpointConfig(options.resume.config, stateFile) : null;
  // A resume never reads the checkpoint it was extended from: an extended run's config is in its own.
  const base = s.extendFrom && !options.resume ? await loadCheckpoint(s.extendFrom) : null;
  const config = resumed?.yarn ? resumed : pretrainConfig(s, base ? gptConfig(base.config, "tiny") : null);
  if (options.resume) { for (const note of resumeNotices(s, options.resume, stateFile)) log(note); }
  log(
    `${s.extendFrom ? "extend" : "pretrain"}: ${s.preset} (${config.nLayer} layers, width ${config.nEmbd}, ` +
      `${config.posEncoding}${config.yarn ? `, YaRN s = ${config.yarn.scale}` : ""}), ` +
      `meta ${config.metaAttention ? "on" : "off"}`,
  );
  const cacheOptions = { blockSize: config.blockSize, valFraction: s.valFraction };
  const cache = s.data
    ? await openCorpus(s.data.split(","), cacheOptions)
    : await openBrownCorpus(cacheOptions);
  log(
    `corpus: ${s.data || "the embedded Brown corpus"}: ${cache.manifest.tokens.toLocaleString("en-US")} ` +
      `tokens (${cache.manifest.documents} documents), cache ${cache.dir}`,
  );
  const batchOptions = { batchSize: s.batchSize, blockSize: config.blockSize, meta: config.metaAttention };
  const train = await TokenBatchSource.open(cache, "train", { ...batchOptions, seed: s.seed });
  const val = await TokenBatchSource.open(cache, "val", { ...batchOptions, seed: VAL_SEED });
  const train0 = trainOptions(s);
  using model = new Gpt(config, new Rng(s.seed), backend);
  using trainer = new Trainer(model, train, val, train0, s.seed);
  if (s.initFrom) {
    // A Hugging Face GPT-2 model.safetensors: its weights, the meta-attention (if any) at its init.
    const { state, shape } = importHfGpt2(await Deno.readFile(s.initFrom), {
      padVocabTo: config.vocabSize,
      source: s.initFrom,
    });
    checkHfShape(config, shape, s.initFrom);
    loadWeights(model, state, { partial: true });
    log(`initialised from ${s.initFrom}`);
  }
  if (base) {
    loadWeights(model, base.model);
    log(
      `extended ${s.extendFrom} with YaRN: context ${config.yarn!.originalContext} → ${config.blockSize} ` +
        `(s = ${s.yarnScale})`,
    );
  }
  if (options.resume) {
    trainer.restore(options.resume, stateFile);
    log(`resumed from ${s.out}/checkpoint at step ${trainer.stepCount}`);
    log(restoredSummary(options.resume, stateFile, trainer));
  }
  log(
    `model: ${(model.parameterCount() / 1e6).toFixed(2)}M parameters; ${train0.steps} steps of ` +
      `${s.batchSize * train0.gradAccum} × ${config.blockSize} tokens; run directory ${s.out}`,
  );
  const trainLosses: [number, number][] = [];
  const result = await runTraining(trainer, {
    outDir: s.out,
    onNotice: log,
    extraState: { run: savedRunSettings(s) },
    checkpointEvery: s.checkpointEvery,
    shouldStop: options.shouldStop,
    onStep: (info) => {
      trainLosses.push([info.step, info.loss]);
      options.onStep?.(info);
    },
    onEval: options.onEval,
  });
  return {
    config,
    parameterCount: model.parameterCount(),
    checkpoint: result.checkpoint,
    steps: result.steps,
    stopped: result.stopped,
    valLosses: trainer.valLosses.map(([step, loss]) => [step, loss]),
    trainLosses,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Options of {@linkcode extend}: a run's options plus the checkpoint to extend and the YaRN scale. */
export interface ExtendOptions extends PretrainOptions {
  /** The RoPE checkpoint folder to extend. */
  from: string;
  /** s = L′ / L. */
  scale: number;
}

/**
 * YaRN-extends a RoPE checkpoint to `scale` × its context and continues
 * pre-training at the new length ({@linkcode pretrain} with `extendFrom`).
 *
 * @example
 * ```ts ignore
 * import { defaultBackend } from "@metatokens/tensor";
 * import { extend, pretrainDefaults } from "@metatokens/experiments";
 * const settings = { ...pretrainDefaults("tiny"), steps: 1, out: "runs/extend" };
 * await extend({ settings, backend: defaultBackend(), from: "runs/rope/checkpoint", scale: 2 });
 * ```
 */
export function extend(options: ExtendOptions): Promise<PretrainResult> {
  const { from, scale, ...rest } = options;
  return pretrain({ ...rest, settings: { ...options.settings, extendFrom: from, yarnScale: scale } });
}
