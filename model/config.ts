/**
 * `GptConfig`: the shape of a GPT with optional meta-attention, its
 * validation, and the presets.
 *
 * @module
 */

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

function fail(key: string, value: unknown, expected: string): never {
  throw new TypeError(`Cannot use ${key} = ${JSON.stringify(value)} in a model config: expected ${expected}`);
}

function positiveInt(key: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(key, v, "a positive integer");
}

/**
 * A validated config: `preset` (default `tiny`) with `overrides` applied.
 * Unknown keys and wrong types are errors that name the key and value.
 *
 * @example
 * ```ts
 * import { gptConfig } from "@metatokens/model";
 * const config = gptConfig({ nLayer: 2 }, "tiny");
 * console.log(config.nLayer, config.nEmbd); // 2 256
 * ```
 */
export function gptConfig(overrides: Record<string, unknown> = {}, preset = "tiny"): GptConfig {
  const base = PRESETS[preset];
  if (!base) {
    throw new RangeError(
      `Cannot find model preset "${preset}": expected one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  for (const key of Object.keys(overrides)) {
    if (!KEYS.includes(key as keyof GptConfig)) {
      throw new TypeError(`Cannot use unknown model config key "${key}": expected one of ${KEYS.join(", ")}`);
    }
  }
  const c = { ...base, ...overrides } as GptConfig;
  for (const key of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) positiveInt(key, c[key]);
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1)) {
    fail("dropout", c.dropout, "a number in [0, 1)");
  }
  for (const key of ["bias", "metaAttention"] as const) {
    if (typeof c[key] !== "boolean") fail(key, c[key], "true or false");
  }
  if (!["ape", "rope", "none"].includes(c.posEncoding)) {
    fail("posEncoding", c.posEncoding, `"ape", "rope" or "none"`);
  }
  if (!["gelu", "relu"].includes(c.activation)) fail("activation", c.activation, `"gelu" or "relu"`);
  if (typeof c.ropeTheta !== "number" || !(c.ropeTheta > 1)) fail("ropeTheta", c.ropeTheta, "a number > 1");
  if (
    typeof c.metaTokenId !== "number" || !Number.isInteger(c.metaTokenId) || c.metaTokenId < 0 ||
    c.metaTokenId >= c.vocabSize
  ) {
    fail("metaTokenId", c.metaTokenId, `an integer in [0, vocabSize = ${c.vocabSize})`);
  }
  if (c.nEmbd % c.nHead !== 0) {
    throw new RangeError(
      `Cannot split nEmbd ${c.nEmbd} into nHead ${c.nHead} heads: the head count must divide the width`,
    );
  }
  if (c.posEncoding === "rope" && (c.nEmbd / c.nHead) % 2 !== 0) {
    throw new RangeError(`Cannot use RoPE with head size ${c.nEmbd / c.nHead}: expected an even head size`);
  }
  if (c.yarn !== null) {
    if (typeof c.yarn !== "object" || c.posEncoding !== "rope") {
      fail("yarn", c.yarn, 'null, or { scale, originalContext } with posEncoding "rope"');
    }
    if (!(c.yarn.scale >= 1)) fail("yarn.scale", c.yarn.scale, "a number ≥ 1");
    positiveInt("yarn.originalContext", c.yarn.originalContext);
  }
  return c;
}
