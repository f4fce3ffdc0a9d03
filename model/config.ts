/**
 * `GptConfig`: the shape of a GPT with optional meta-attention, its
 * validation, and the presets.
 *
 * @module
 */

import { preview, quote } from "@metatokens/tensor/quote";

/** Positional encodings a model can use. */
export type PosEncoding = "ape" | "rope" | "none";

/** YaRN context extension of a RoPE model (paper Appendix C). */
export interface YarnConfig {
  /** s = L′ / L ≥ 1. */
  scale: number;
  /** L: the pre-training context. */
  originalContext: number;
}

/** The model's shape (field names of docs/ARCHITECTURE.md §5). */
export interface GptConfig {
  /** Vocabulary rows of `wte` (50304 = GPT-2's 50257 + meta, padded to a multiple of 64). */
  vocabSize: number;
  /** Longest sequence (APE table rows; RoPE/NoPE models may run longer). */
  blockSize: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads per block. */
  nHead: number;
  /** Width C. */
  nEmbd: number;
  /** Dropout on the embeddings and residual branches (0 to disable). */
  dropout: number;
  /** Biases in Linear layers and LayerNorms. */
  bias: boolean;
  /** Learned absolute, rotary, or no positional encoding. */
  posEncoding: PosEncoding;
  /** RoPE base θ. */
  ropeTheta: number;
  /** YaRN extension (RoPE only), or null. */
  yarn: YarnConfig | null;
  /** A meta-attention block (and `ln_meta`) in every layer. */
  metaAttention: boolean;
  /** MLP activation. */
  activation: "gelu" | "relu";
  /** The id of the meta token (`_PAUSE_`). */
  metaTokenId: number;
}

/** The configuration of the paper's 124M GPT-2 baseline. */
const GPT2: GptConfig = {
  vocabSize: 50304,
  blockSize: 1024,
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  dropout: 0,
  bias: true,
  posEncoding: "ape",
  ropeTheta: 10000,
  yarn: null,
  metaAttention: false,
  activation: "gelu",
  metaTokenId: 50257,
};

/** Named configurations. */
export const PRESETS: Readonly<Record<string, Readonly<GptConfig>>> = {
  /** The CPU default: trains in minutes on 2 cores. */
  tiny: { ...GPT2, nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 256, metaAttention: true },
  /** GPT-2 small, 124M, APE: the baseline. */
  gpt2: GPT2,
  /** 124M + one meta-attention and its LayerNorm per layer: 152M. */
  "meta-gpt2": { ...GPT2, metaAttention: true },
  /** meta-gpt2 with RoPE instead of learned positions. */
  "meta-gpt2-rope": { ...GPT2, metaAttention: true, posEncoding: "rope" },
};

const KEYS = Object.keys(GPT2) as (keyof GptConfig)[];

/**
 * The largest value of each size in a config. Sizes are also bounded together:
 * the parameters may take at most {@linkcode MAX_MODEL_BYTES}.
 */
export const CONFIG_LIMITS: Readonly<
  Record<"vocabSize" | "blockSize" | "nLayer" | "nHead" | "nEmbd" | "yarnScale", number>
> = {
  vocabSize: 1 << 22,
  blockSize: 1 << 20,
  nLayer: 1024,
  nHead: 1024,
  nEmbd: 1 << 16,
  yarnScale: 1024,
};

/**
 * The largest model a config may describe: 4 GiB of f32 parameters (about a billion;
 * the paper's models are 124M and 152M). Checked before anything is allocated, so a
 * corrupt or hostile `config.json` is refused with a message instead of running the
 * machine out of memory.
 */
export const MAX_MODEL_BYTES = 2 ** 32;

/**
 * The bytes the f32 parameters of a config take (4 × the sizes of `parameterSpecs`'s
 * tensors, summed), computed from the sizes alone: nothing is allocated. A number,
 * exact up to 2^53, so absurd sizes compare correctly against {@linkcode MAX_MODEL_BYTES}.
 *
 * @example
 * ```ts
 * import { gptConfig, parameterBytes } from "@metatokens/model/config";
 * console.log(parameterBytes(gptConfig({}, "gpt2"))); // 497903616 (124475904 parameters)
 * ```
 */
export function parameterBytes(
  config: Pick<
    GptConfig,
    "vocabSize" | "blockSize" | "nLayer" | "nEmbd" | "bias" | "posEncoding" | "metaAttention"
  >,
): number {
  const { vocabSize: V, blockSize, nLayer, nEmbd: C, metaAttention } = config;
  const b = config.bias ? 1 : 0;
  const norm = C + b * C;
  const attention = 4 * C * C + b * 4 * C; // c_attn (3C × C) and c_proj (C × C), with biases
  const layer = 2 * norm + attention + 8 * C * C + b * 5 * C + (metaAttention ? norm + attention : 0);
  return 4 * (V * C + (config.posEncoding === "ape" ? blockSize * C : 0) + nLayer * layer + norm);
}

/** Where a config came from, for messages: `a model config`, or a checkpoint's `config.json`. */
type Where = string;

function fail(where: Where, key: string, value: unknown, expected: string): never {
  throw new TypeError(`Cannot use ${key} = ${preview(value)} in ${where}: expected ${expected}`);
}

function boundedInt(where: Where, key: string, v: unknown, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    fail(where, key, v, `an integer in [1, ${max}]`);
  }
}

function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) bytes /= 1024, i++;
  return `${i === 0 ? bytes : bytes.toPrecision(3)} ${units[i]}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates every field of a complete config; messages say `in <where>`. */
function validate(c: GptConfig, where: Where): GptConfig {
  for (const key of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) {
    boundedInt(where, key, c[key], CONFIG_LIMITS[key]);
  }
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1)) {
    fail(where, "dropout", c.dropout, "a number in [0, 1)");
  }
  for (const key of ["bias", "metaAttention"] as const) {
    if (typeof c[key] !== "boolean") fail(where, key, c[key], "true or false");
  }
  if (!["ape", "rope", "none"].includes(c.posEncoding)) {
    fail(where, "posEncoding", c.posEncoding, `"ape", "rope" or "none"`);
  }
  if (!["gelu", "relu"].includes(c.activation)) fail(where, "activation", c.activation, `"gelu" or "relu"`);
  if (typeof c.ropeTheta !== "number" || !Number.isFinite(c.ropeTheta) || !(c.ropeTheta > 1)) {
    fail(where, "ropeTheta", c.ropeTheta, "a finite number > 1");
  }
  if (
    typeof c.metaTokenId !== "number" || !Number.isInteger(c.metaTokenId) || c.metaTokenId < 0 ||
    c.metaTokenId >= c.vocabSize
  ) {
    fail(where, "metaTokenId", c.metaTokenId, `an integer in [0, vocabSize = ${c.vocabSize})`);
  }
  if (c.nEmbd % c.nHead !== 0) {
    throw new RangeError(
      `Cannot split nEmbd ${c.nEmbd} into nHead ${c.nHead} heads in ${where}: the head count must divide the width`,
    );
  }
  if (c.posEncoding === "rope" && (c.nEmbd / c.nHead) % 2 !== 0) {
    throw new RangeError(
      `Cannot use RoPE with head size ${c.nEmbd / c.nHead} in ${where}: expected an even head size`,
    );
  }
  if (c.yarn !== null) {
    const yarn: unknown = c.yarn;
    if (!isPlainObject(yarn) || c.posEncoding !== "rope") {
      fail(where, "yarn", yarn, 'null, or { scale, originalContext } with posEncoding "rope"');
    }
    for (const key of Object.keys(yarn)) {
      if (key !== "scale" && key !== "originalContext") {
        fail(where, "yarn", yarn, "an object with exactly the keys scale and originalContext");
      }
    }
    const scale = Object.hasOwn(yarn, "scale") ? yarn.scale : undefined;
    if (typeof scale !== "number" || !(scale >= 1 && scale <= CONFIG_LIMITS.yarnScale)) {
      fail(where, "yarn.scale", scale, `a number in [1, ${CONFIG_LIMITS.yarnScale}]`);
    }
    const original = Object.hasOwn(yarn, "originalContext") ? yarn.originalContext : undefined;
    boundedInt(where, "yarn.originalContext", original, CONFIG_LIMITS.blockSize);
  }
  const bytes = parameterBytes(c);
  if (bytes > MAX_MODEL_BYTES) {
    throw new RangeError(
      `Cannot build the model of ${where}: its ${bytes / 4} parameters take ${
        formatBytes(bytes)
      }, over the limit of ${
        formatBytes(MAX_MODEL_BYTES)
      } (nLayer ${c.nLayer}, nEmbd ${c.nEmbd}, vocabSize ${c.vocabSize}, blockSize ${c.blockSize})`,
    );
  }
  return c;
}

function checkKeys(raw: Record<string, unknown>, where: Where): void {
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key as keyof GptConfig)) {
      throw new TypeError(
        `Cannot use unknown model config key ${quote(key)} in ${where}: expected one of ${KEYS.join(", ")}`,
      );
    }
  }
}

/**
 * A validated config: `preset` (default `tiny`) with `overrides` applied.
 * Unknown keys and wrong types are errors that name the key and value; every size
 * is bounded ({@linkcode CONFIG_LIMITS}) and so is the whole model
 * ({@linkcode MAX_MODEL_BYTES}), checked before anything is allocated.
 *
 * This is for a user's new config. A checkpoint's config is read with
 * {@linkcode checkpointConfig}, which fills nothing from a preset.
 *
 * @example
 * ```ts
 * import { gptConfig } from "@metatokens/model";
 * const config = gptConfig({ nLayer: 2 }, "tiny");
 * console.log(config.nLayer, config.nEmbd); // 2 256
 * ```
 */
export function gptConfig(overrides: Record<string, unknown> = {}, preset = "tiny"): GptConfig {
  if (!Object.hasOwn(PRESETS, preset)) {
    throw new RangeError(
      `Cannot find model preset ${quote(preset)}: expected one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  checkKeys(overrides, "a model config");
  return validate({ ...PRESETS[preset], ...overrides } as GptConfig, "a model config");
}

/**
 * Reads the config of a checkpoint (its parsed `config.json`): every key of
 * {@linkcode GptConfig} is required, as an own property, and nothing is filled
 * from a preset (a 2-head checkpoint without `nHead` must not load as 4 heads).
 * Otherwise validated as {@linkcode gptConfig}: types, bounded sizes and the
 * model's byte size, before anything is allocated.
 *
 * @param raw The parsed JSON.
 * @param source What to call it in messages, usually the path of `config.json`.
 * @returns A new, complete config.
 * @throws {TypeError} A value that is not an object, a missing or unknown key, or a wrong type.
 * @throws {RangeError} Sizes that do not fit together or exceed {@linkcode MAX_MODEL_BYTES}.
 *
 * @example
 * ```ts
 * import { checkpointConfig, PRESETS } from "@metatokens/model/config";
 * console.log(checkpointConfig({ ...PRESETS.tiny }).nHead); // 4
 * const { nHead: _, ...noHeads } = PRESETS.tiny;
 * try {
 *   checkpointConfig(noHeads, "ckpt/config.json");
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot use model config "ckpt/config.json": it has no "nHead" …
 * }
 * ```
 */
export function checkpointConfig(raw: unknown, source = "a checkpoint's config.json"): GptConfig {
  const where = `model config "${source}"`;
  if (!isPlainObject(raw)) {
    throw new TypeError(`Cannot use ${where}: it holds ${preview(raw, 60)}, expected a JSON object`);
  }
  checkKeys(raw, where);
  for (const key of KEYS) {
    if (!Object.hasOwn(raw, key)) {
      throw new TypeError(
        `Cannot use ${where}: it has no ${JSON.stringify(key)}; a checkpoint's config names every key (${
          KEYS.join(", ")
        }), nothing is taken from a preset`,
      );
    }
  }
  const config = Object.fromEntries(KEYS.map((key) => [key, raw[key]])) as unknown as GptConfig;
  if (isPlainObject(config.yarn)) config.yarn = { ...config.yarn } as YarnConfig;
  return validate(config, where);
}
