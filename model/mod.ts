/**
 * `@metatokens/model`: a GPT with learned meta-tokens and meta-attention
 * (arXiv 2509.16278) — config and presets, nanoGPT-compatible parameters,
 * the forward pass with a fused head + cross-entropy, checkpoints and training.
 * The model takes plain `Int32Array` batches; it never imports `data` or `tasks`.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * const model = new Gpt(gptConfig({ nLayer: 1, nEmbd: 32, nHead: 2, blockSize: 8, vocabSize: 64, metaTokenId: 63 }), new Rng(0));
 * console.log(model.parameterCount());
 * ```
 *
 * @module
 */

export * from "./config.ts";
export * from "./gpt.ts";
export * from "./checkpoint.ts";
export * from "./generate.ts";
export * from "./head.ts";
export * from "./kv_cache.ts";
export * from "./hf_import.ts";
export * from "./run.ts";
export * from "./safetensors.ts";
export * from "./train.ts";
export * from "./trainer_state.ts";
