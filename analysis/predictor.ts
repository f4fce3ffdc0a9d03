/**
 * A task {@linkcode Predictor} backed by a model: greedy answers through the
 * KV cache and teacher-forced argmax tokens, both under an optional ablation.
 *
 * @module
 */

import { noGrad, type Rng, scope } from "@metatokens/tensor";
import { type Ablation, generate, type Gpt } from "@metatokens/model";
import type { Predictor } from "@metatokens/tasks";

/**
 * The predictor `eval` and `reproduce` score tasks with. APE models refuse
 * prompts longer than their block size with a clear error.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { modelPredictor } from "@metatokens/analysis";
 * const model = new Gpt(gptConfig({ nLayer: 1, nHead: 1, nEmbd: 8, vocabSize: 50304, blockSize: 16 }), new Rng(0));
 * const predictor = modelPredictor(model);
 * console.log((await predictor.complete(Int32Array.from([1, 2, 3]), 2)).length); // 2
 * ```
 */
export function modelPredictor(model: Gpt, ablation: Ablation = {}, rng?: Rng): Predictor {
  const { config } = model;
  const fits = (tokens: number): void => {
    if (config.posEncoding === "ape" && tokens > config.blockSize) {
      throw new RangeError(
        `Cannot evaluate ${tokens} tokens with an APE model of block size ${config.blockSize}: ` +
          `use shorter prompts, or a RoPE / NoPE model for longer ones`,
      );
    }
  };
  return {
    async complete(prompt, n) {
      fits(prompt.length + n - 1);
      return (await generate(model, prompt, { maxNewTokens: n, temperature: 0, ablation, rng })).tokens;
    },
    async teacherForced(prompt, answer) {
      const seq = Int32Array.from([...prompt, ...answer.subarray(0, answer.length - 1)]);
      fits(seq.length);
      const v = config.vocabSize;
      const t = noGrad(() =>
        scope(() =>
          model.forward({ b: 1, t: seq.length, x: seq }, { ablation, rng, logitRows: answer.length }).logits!
            .keep()
        )
      );
      const logits = await t.data();
      t.dispose();
      // Row k of the logits is position prompt.length − 1 + k: the prediction of answer token k.
      return answer.map((_, k) => {
        const o = k * v;
        let best = config.metaTokenId === 0 ? 1 : 0;
        for (let j = 0; j < v; j++) {
          if (j !== config.metaTokenId && logits[o + j] > logits[o + best]) best = j;
        }
        return best;
      });
    },
  };
}
