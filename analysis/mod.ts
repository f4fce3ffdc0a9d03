/**
 * Dissecting meta-token models (paper §4.4–5, Figures 2–3): logit boost and
 * entropy drop at meta positions, attention entropy, cosine and attention
 * maps, the residual stream per layer, the VIB rate–distortion sweep, and
 * SVG figures drawn with vega-lite.
 *
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { generateDataset } from "@metatokens/tasks";
 * import { analyzeModel } from "@metatokens/analysis";
 * const model = new Gpt(gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 256 }), new Rng(0));
 * const a = await analyzeModel(model, generateDataset("list-recall", 1, 1, 5), { task: "list-recall" });
 * console.log(Number.isFinite(a.means.logitBoost)); // true
 * ```
 *
 * @module
 */

export * from "./analyze.ts";
export * from "./attention_maps.ts";
export * from "./csv.ts";
export * from "./entropy.ts";
export * from "./plot.ts";
export * from "./predictor.ts";
export * from "./residual.ts";
export * from "./vib.ts";
export * from "./write.ts";
