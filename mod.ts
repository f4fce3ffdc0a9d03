/**
 * metatokens: pre-train, extend, fine-tune, evaluate and dissect GPT-style
 * language models with learned meta-tokens and meta-attention
 * (arXiv 2509.16278), in Deno/TypeScript.
 *
 * This module re-exports the public API of every package; import a single
 * package (`@metatokens/tensor`, …) to depend on less.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * console.log(tensor([1, 2, 3]).shape); // [3]
 * ```
 *
 * @module
 */

export * from "./tensor/mod.ts";
export * from "./attention/mod.ts";
export * from "./model/mod.ts";
export * from "./data/mod.ts";
export * from "./tasks/mod.ts";
export * from "./analysis/mod.ts";
export * from "./experiments/mod.ts";
