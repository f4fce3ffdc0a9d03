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
import { type Checkpoint, loadCheckpoint } from "@metatokens/model";

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

/** The run settings a checkpoint keeps, so that resuming restores the same run. */
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
 * What a checkpoint fixes about a resumed run, by setting name: its model
 * config, optimisation settings and saved run settings. Untyped JSON from
 * disk: {@linkcode pretrainRunSettings} checks each value against the default's type.
 *
 * @example
 * ```ts
 * import { checkpointSettings } from "@metatokens/experiments";
 * const ckpt = { config: { nLayer: 2, metaAttention: false, posEncoding: "rope" }, trainerState: { run: { seed: 5 } } };
 * console.log(checkpointSettings(ckpt)); // { nLayer: 2, seed: 5, meta: false, pos: "rope" }
 * ```
 */
export function checkpointSettings(
  ckpt: Pick<Checkpoint, "config" | "trainerState">,
): Record<string, unknown> {
  const { metaAttention, posEncoding, ...model } = ckpt.config;
  const options = (ckpt.trainerState.options ?? {}) as Record<string, unknown>;
  const run = (ckpt.trainerState.run ?? {}) as Record<string, unknown>;
  return { ...model, ...options, ...run, meta: metaAttention, pos: posEncoding };
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
  return s.decaySteps === undefined ? options : { ...options, decaySteps: s.decaySteps };
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
      `Cannot resume from ${source}: it saved ${key} = ${JSON.stringify(value)?.slice(0, 40)}, expected a ${
        kind(fallback)
      }`,
    );
  }
  return value;
}

/**
 * The settings of a pre-training run, lowest precedence first: the preset's
 * defaults (the preset from `overrides`, else the checkpoint's, else `tiny`),
 * then — when resuming — what the run's checkpoint saved, then `overrides`.
 * Returns the checkpoint to resume from (null when not resuming).
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
): Promise<{ settings: PretrainSettings; resume: Checkpoint | null }> {
  const out = layers.overrides.out ?? layers.defaultOut;
  const source = `"${out}/checkpoint"`;
  const ckpt = layers.resume ? await loadCheckpoint(`${out}/checkpoint`) : null;
  const saved = ckpt ? checkpointSettings(ckpt) : {};
  const preset = layers.overrides.preset ?? (typeof saved.preset === "string" ? saved.preset : "tiny");
  const defaults = { ...pretrainDefaults(preset), out } as Record<string, unknown>;
  const settings = { ...defaults };
  for (const [key, value] of Object.entries(saved)) {
    if (!Object.hasOwn(defaults, key)) {
      throw new TypeError(`Cannot resume from ${source}: it saved an unknown setting "${key.slice(0, 40)}"`);
    }
    settings[key] = savedValue(key, value, defaults[key], source);
  }
  for (const [key, value] of Object.entries(layers.overrides)) {
    if (!Object.hasOwn(defaults, key) && !OPTIONAL_SETTINGS.has(key)) {
      throw new TypeError(`Cannot use unknown setting "${key.slice(0, 40)}"`);
    }
    if (value !== undefined) settings[key] = value;
  }
  return { settings: settings as unknown as PretrainSettings, resume: ckpt };
}
