/**
 * The settings of a pre-training run as one flat, typed record — model
 * shape, optimisation, data and run folder — its defaults per preset, what a
 * checkpoint fixes when the run resumes, and the model config they describe
 * (YaRN-extended when the run extends a RoPE checkpoint).
 *
 * @module
 */

import {
  type GptConfig,
  gptConfig,
  PAPER_TRAIN_OPTIONS,
  type PosEncoding,
  PRESETS,
  TINY_TRAIN_OPTIONS,
  type TrainOptions,
} from "@metatokens/model";
import {
  type Checkpoint,
  loadCheckpoint,
  readTrainerState,
  readTrainOptions,
  recoverCheckpointDir,
  TRAINER_STATE_FILE,
} from "@metatokens/model";
import { preview, quote } from "@metatokens/tensor/quote";

/** The model keys of a run; meta-attention and the positional encoding are `meta` and `pos`. */
export type ModelSettings = Omit<GptConfig, "metaAttention" | "posEncoding">;

/** What a run adds to the model config and the optimisation settings. */
export interface RunSettings {
  /** Model preset the defaults come from. */
  preset: string;
  /** Meta-attention and meta-token injection. */
  meta: boolean;
  /** Positional encoding. */
  pos: PosEncoding;
  /** Corpus files (comma-separated globs); empty: the embedded Brown corpus. */
  data: string;
  /** A Hugging Face GPT-2 `model.safetensors` to start from; empty: nanoGPT's initialisation. */
  initFrom: string;
  /** A RoPE checkpoint to extend with YaRN; empty: none. */
  extendFrom: string;
  /** YaRN scale s = L′ / L of the extension (1 without one). */
  yarnScale: number;
  /** Run folder: `metrics.jsonl` and `checkpoint/`. */
  out: string;
  /** Seed of the initialisation, dropout and training batches. */
  seed: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Save a checkpoint every N steps (0: only at the end). */
  checkpointEvery: number;
  /** Share of the corpus held out for validation. */
  valFraction: number;
}

/** Every setting of a pre-training run. */
export type PretrainSettings = ModelSettings & TrainOptions & RunSettings;

/**
 * The run settings a checkpoint keeps, so that resuming restores the same run.
 * The paths among them ({@linkcode SAVED_PATH_KEYS}) are kept for the record
 * only: a resume never reads or writes where a checkpoint says.
 */
export const SAVED_RUN_KEYS: readonly (keyof RunSettings)[] = [
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
 * Saved run settings that are paths: what a resume reads comes from the
 * command line only (issue 14). `data` is the corpus (the command line's, or
 * the embedded Brown corpus; a different saved one is a notice); `extendFrom`
 * is kept for the record (a resumed extension takes its config from its own
 * checkpoint and never reads the one it was extended from).
 */
export const SAVED_PATH_KEYS: readonly (keyof RunSettings)[] = ["data", "extendFrom"];

function modelSettings(config: Readonly<GptConfig>): ModelSettings {
  const { metaAttention: _meta, posEncoding: _pos, ...rest } = config;
  return { ...rest };
}

/**
 * The defaults of a preset: its model, its optimisation settings
 * (`TINY_TRAIN_OPTIONS` for `tiny`, Table 4's otherwise) and run settings.
 *
 * @example
 * ```ts
 * import { pretrainDefaults } from "@metatokens/experiments";
 * const s = pretrainDefaults("tiny");
 * console.log(s.nLayer, s.steps, s.batchSize, s.meta); // 4 120 8 true
 * ```
 */
export function pretrainDefaults(preset: string): PretrainSettings {
  const model = PRESETS[preset];
  if (!model) {
    throw new RangeError(
      `Cannot find preset "${preset}": expected one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  const tiny = preset === "tiny";
  return {
    ...modelSettings(model),
    ...(tiny ? TINY_TRAIN_OPTIONS : PAPER_TRAIN_OPTIONS),
    preset,
    meta: model.metaAttention,
    pos: model.posEncoding,
    data: "",
    initFrom: "",
    extendFrom: "",
    yarnScale: 1,
    out: "runs/pretrain",
    seed: 1337,
    batchSize: tiny ? 8 : 12,
    checkpointEvery: tiny ? 60 : 2000,
    valFraction: 0.05,
  };
}

/**
 * The run settings a checkpoint saved (`trainer_state.json`'s `run`): an
 * object whose keys are {@linkcode SAVED_RUN_KEYS} only, each of the type of
 * `tiny`'s default (numbers finite); absent (a fine-tuning checkpoint) is `{}`.
 *
 * @param value The saved `run` value (undefined when absent).
 * @param source The file, for messages.
 * @throws {TypeError} A value that is not such an object, an unknown key (`out`, `initFrom`, …) or a mistyped value.
 *
 * @example
 * ```ts
 * import { readSavedRun } from "@metatokens/experiments";
 * console.log(readSavedRun({ seed: 5, data: "a.txt" }, "trainer_state.json")); // { seed: 5, data: "a.txt" }
 * ```
 */
export function readSavedRun(value: unknown, source: string): Partial<RunSettings> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Cannot resume from ${source}: run is ${preview(value)}, expected an object`);
  }
  const defaults = pretrainDefaults("tiny") as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!(SAVED_RUN_KEYS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Cannot resume from ${source}: run has an unknown setting ${quote(key, 40)}, expected only ${
          SAVED_RUN_KEYS.join(", ")
        }`,
      );
    }
    out[key] = savedValue(`run.${key}`, (value as Record<string, unknown>)[key], defaults[key], source);
  }
  return out as Partial<RunSettings>;
}

/**
 * What a checkpoint fixes about a resumed run, by setting name: its model
 * config, its optimisation settings (read by `readTrainOptions`: an object
 * with every key, typed and bounded) and its saved run settings
 * ({@linkcode readSavedRun}) but the paths ({@linkcode SAVED_PATH_KEYS}),
 * which a resume takes from the command line.
 *
 * @param ckpt The checkpoint (its config already read by `checkpointConfig`).
 * @param source Its `trainer_state.json`, for messages.
 * @throws {TypeError} Missing, unknown or mistyped saved settings.
 * @throws {RangeError} Saved settings out of bounds.
 *
 * @example
 * ```ts
 * import { PAPER_TRAIN_OPTIONS } from "@metatokens/model";
 * import { checkpointSettings } from "@metatokens/experiments";
 * const ckpt = {
 *   config: { nLayer: 2, metaAttention: false, posEncoding: "rope" },
 *   trainerState: { options: PAPER_TRAIN_OPTIONS, run: { seed: 5, data: "a.txt" } },
 * };
 * const s = checkpointSettings(ckpt, "trainer_state.json");
 * console.log(s.nLayer, s.seed, s.meta, s.steps, s.data); // 2 5 false 600000 undefined
 * ```
 */
export function checkpointSettings(
  ckpt: Pick<Checkpoint, "config" | "trainerState">,
  source = "the checkpoint's trainer_state.json",
): Record<string, unknown> {
  const { metaAttention, posEncoding, ...model } = ckpt.config;
  const state = ckpt.trainerState;
  if (!Object.hasOwn(state, "options")) {
    throw new TypeError(`Cannot resume from ${source}: options is missing, expected an object`);
  }
  const options = readTrainOptions(state.options, source);
  const run: Record<string, unknown> = readSavedRun(
    Object.hasOwn(state, "run") ? state.run : undefined,
    source,
  );
  for (const key of SAVED_PATH_KEYS) delete run[key];
  return { ...model, ...options, ...run, meta: metaAttention, pos: posEncoding };
}

/**
 * What a resume should say about the paths the checkpoint saved
 * ({@linkcode SAVED_PATH_KEYS}) and the command line's: one notice per path
 * that differs, none when they agree.
 *
 * @example
 * ```ts
 * import { pretrainDefaults, resumeNotices } from "@metatokens/experiments";
 * const ckpt = { trainerState: { run: { data: "web/*.txt" } } };
 * console.log(resumeNotices(pretrainDefaults("tiny"), ckpt, "trainer_state.json").length); // 1
 * ```
 */
export function resumeNotices(
  s: PretrainSettings,
  ckpt: Pick<Checkpoint, "trainerState">,
  source: string,
): string[] {
  const run = readSavedRun(
    Object.hasOwn(ckpt.trainerState, "run") ? ckpt.trainerState.run : undefined,
    source,
  );
  const notes: string[] = [];
  if (run.data !== undefined && run.data !== s.data) {
    notes.push(
      `notice: the checkpoint was trained on data ${quote(run.data || "(the embedded Brown corpus)")}; ` +
        `this resume reads ${
          s.data ? quote(s.data) : "the embedded Brown corpus"
        }, as the command line says ` +
        `(a resume takes paths from the command line only; pass --data to choose)`,
    );
  }
  if (run.extendFrom && run.extendFrom !== s.extendFrom) {
    notes.push(
      `notice: the checkpoint was extended from ${quote(run.extendFrom)}; this resume does not read it ` +
        `(the model config comes from the checkpoint itself)`,
    );
  }
  return notes;
}

/** The run settings a checkpoint keeps ({@linkcode SAVED_RUN_KEYS}). */
export function savedRunSettings(s: PretrainSettings): Partial<RunSettings> {
  return Object.fromEntries(SAVED_RUN_KEYS.map((k) => [k, s[k]]));
}

/**
 * The optimisation settings of a run.
 *
 * @example
 * ```ts
 * import { pretrainDefaults, trainOptions } from "@metatokens/experiments";
 * console.log(trainOptions({ ...pretrainDefaults("tiny"), steps: 7 }).steps); // 7
 * ```
 */
export function trainOptions(s: PretrainSettings): TrainOptions {
  const keys = Object.keys(PAPER_TRAIN_OPTIONS) as (keyof TrainOptions)[];
  const options = Object.fromEntries(keys.map((k) => [k, s[k]])) as unknown as TrainOptions;
  if (s.decaySteps !== undefined) options.decaySteps = s.decaySteps;
  if (s.maxLoss !== undefined) options.maxLoss = s.maxLoss;
  return options;
}

/**
 * A RoPE config extended by YaRN to `scale` × its original context; APE and
 * NoPE configs are refused, naming `source`.
 *
 * @example
 * ```ts
 * import { gptConfig } from "@metatokens/model";
 * import { extendedConfig } from "@metatokens/experiments";
 * const c = extendedConfig(gptConfig({ posEncoding: "rope" }), 4, "runs/pretrain/checkpoint");
 * console.log(c.blockSize, c.yarn); // 1024 { scale: 4, originalContext: 256 }
 * ```
 */
export function extendedConfig(config: GptConfig, scale: number, source: string): GptConfig {
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

/**
 * The model config a run trains: from its settings, or the YaRN extension of
 * `base` (the config of `s.extendFrom`) when it extends a checkpoint.
 *
 * @example
 * ```ts
 * import { pretrainConfig, pretrainDefaults } from "@metatokens/experiments";
 * const c = pretrainConfig({ ...pretrainDefaults("tiny"), nLayer: 2, pos: "rope" });
 * console.log(c.nLayer, c.posEncoding, c.metaAttention); // 2 "rope" true
 * ```
 */
export function pretrainConfig(s: PretrainSettings, base: GptConfig | null = null): GptConfig {
  if (base) return extendedConfig(base, s.yarnScale, s.extendFrom);
  if (s.yarnScale !== 1) {
    throw new TypeError("Cannot use --yarn-scale without a checkpoint to extend (deno task extend)");
  }
  const model = Object.fromEntries(
    Object.keys(modelSettings(PRESETS.tiny)).map((k) => [k, s[k as keyof ModelSettings]]),
  );
  return gptConfig({ ...model, metaAttention: s.meta, posEncoding: s.pos }, s.preset);
}

/** Settings of `TrainOptions` that have no default (absent unless given). */
const OPTIONAL_SETTINGS: ReadonlySet<string> = new Set(["decaySteps", "maxLoss"]);

/** Where {@linkcode pretrainRunSettings} layers its settings from. */
export interface PretrainLayers {
  /** Settings given by the user (a config file, then the command line over it), already typed. */
  overrides: Partial<PretrainSettings>;
  /** Continue the run in `overrides.out` (or `defaultOut`) from its checkpoint. */
  resume?: boolean;
  /** The run folder when `overrides` names none. */
  defaultOut: string;
}

/** The value a checkpoint saved for `key`, checked against the type of the default. */
function savedValue(key: string, value: unknown, fallback: unknown, source: string): unknown {
  const kind = (v: unknown): string => v === null || typeof v === "object" ? "object" : typeof v;
  if (kind(value) !== kind(fallback) || (typeof value === "number" && !Number.isFinite(value))) {
    throw new TypeError(
      `Cannot resume from ${source}: it saved ${key} = ${preview(value, 40)}, expected a ${kind(fallback)}`,
    );
  }
  return value;
}

/**
 * The settings of a pre-training run, lowest precedence first: the preset's
 * defaults (the preset from `overrides`, else the checkpoint's, else `tiny`),
 * then — when resuming — what the run's checkpoint saved (read and checked
 * with {@linkcode checkpointSettings}; its paths never: `data`, `out` and
 * `initFrom` come from `overrides` or the defaults), then `overrides`.
 * Before loading, leftovers of killed saves are tidied and a half-renamed
 * checkpoint is recovered.
 * Returns the checkpoint to resume from (null when not resuming) and the
 * step it is at, as its `trainer_state.json` was read (0 when not resuming).
 *
 * @example
 * ```ts
 * import { pretrainRunSettings } from "@metatokens/experiments";
 * const { settings, resume } = await pretrainRunSettings({ overrides: { steps: 7 }, defaultOut: "runs/pretrain" });
 * console.log(settings.steps, settings.out, resume); // 7 "runs/pretrain" null
 * ```
 */
export async function pretrainRunSettings(
  layers: PretrainLayers,
): Promise<{ settings: PretrainSettings; resume: Checkpoint | null; resumeStep: number }> {
  const out = layers.overrides.out ?? layers.defaultOut;
  const source = `"${out}/checkpoint"`;
  if (layers.resume) await recoverCheckpointDir(`${out}/checkpoint`);
  const ckpt = layers.resume ? await loadCheckpoint(`${out}/checkpoint`) : null;
  const statePath = `"${out}/checkpoint/${TRAINER_STATE_FILE}"`;
  const resumeStep = ckpt ? readTrainerState(ckpt.trainerState, statePath).step : 0;
  const saved = ckpt ? checkpointSettings(ckpt, statePath) : {};
  const preset = layers.overrides.preset ?? (typeof saved.preset === "string" ? saved.preset : "tiny");
  const defaults = { ...pretrainDefaults(preset), out } as Record<string, unknown>;
  const settings = { ...defaults };
  for (const [key, value] of Object.entries(saved)) {
    if (OPTIONAL_SETTINGS.has(key)) {
      settings[key] = value; // typed by readTrainOptions
      continue;
    }
    if (!Object.hasOwn(defaults, key)) {
      throw new TypeError(`Cannot resume from ${source}: it saved an unknown setting ${quote(key, 40)}`);
    }
    settings[key] = savedValue(key, value, defaults[key], source);
  }
  for (const [key, value] of Object.entries(layers.overrides)) {
    if (!Object.hasOwn(defaults, key) && !OPTIONAL_SETTINGS.has(key)) {
      throw new TypeError(`Cannot use unknown setting "${key.slice(0, 40)}"`);
    }
    if (value !== undefined) settings[key] = value;
  }
  return { settings: settings as unknown as PretrainSettings, resume: ckpt, resumeStep };
}
