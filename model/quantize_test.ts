// Weight-only int8 inference through the model's own forward: logits close to f32, the loss with
// targets equal to the cross-entropy of the int8 logits, decoding with the cache, training refused.
import assert from "node:assert/strict";
import { noGrad, refBackend, Rng, scope, wasmBackend } from "@metatokens/tensor";
import { gptConfig } from "./config.ts";
import { generate } from "./generate.ts";
import { Gpt } from "./gpt.ts";

const config = gptConfig({
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  blockSize: 16,
  vocabSize: 48,
  metaTokenId: 47,
  posEncoding: "rope",
});
const x = Int32Array.from([3, 9, 47, 12, 5, 30, 47, 8, 1, 2]);

for (const backend of [refBackend(), wasmBackend({ threads: 1 })]) {
  Deno.test(`an int8 model's logits stay within 5% of f32 and its loss is their cross-entropy (${backend.name})`, () => {
    const model = new Gpt(config, new Rng(3), backend);
    const logits = () =>
      noGrad(() => scope(() => model.forward({ b: 1, t: x.length, x }).logits!.dataSync() as Float32Array));
    const f32 = logits();
    model.quantize("int8");
    assert.equal(model.quantized, "int8");
    const int8 = logits();
    let num = 0, den = 0;
    for (let i = 0; i < f32.length; i++) {
      num += (int8[i] - f32[i]) ** 2;
      den += f32[i] ** 2;
    }
    assert.ok(Math.sqrt(num / den) < 0.05, `relative error ${Math.sqrt(num / den)}`);
    assert.ok(int8.some((v, i) => v !== f32[i]), "the int8 path must actually run");
    // Loss with targets (meta targets ignored) = mean −log softmax of the int8 logits.
    const y = Int32Array.from(x.slice(1)).map((t) => (t === 47 ? -1 : t));
    const inputs = x.slice(0, -1);
    const loss = noGrad(() => scope(() => model.forward({ b: 1, t: 9, x: inputs, y }).loss!.item()));
    const l = noGrad(() => scope(() => model.forward({ b: 1, t: 9, x: inputs }).logits!.dataSync()));
    let sum = 0, n = 0;
    for (let i = 0; i < 9; i++) {
      if (y[i] === -1) continue;
      const row = Array.from(l.subarray(i * 48, (i + 1) * 48));
      const max = Math.max(...row);
      sum += max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) - row[y[i]];
      n++;
    }
    assert.ok(Math.abs(loss - sum / n) < 1e-5, `${loss} vs ${sum / n}`);
    model.dispose();
  });
}

Deno.test("an int8 model decodes with the KV cache as its own full forward does, and refuses to train", async () => {
  const model = new Gpt(config, new Rng(3), wasmBackend({ threads: 1 }));
  model.quantize("int8");
  const prompt = [3, 9, 47, 12];
  const { tokens } = await generate(model, Int32Array.from(prompt), { maxNewTokens: 6, temperature: 0 });
  const seq = [...prompt];
  for (let i = 0; i < 6; i++) {
    const l = noGrad(() =>
      scope(() => model.forward({ b: 1, t: seq.length, x: Int32Array.from(seq) }).logits!.dataSync())
    );
    let best = 0;
    for (let j = 1; j < 47; j++) if (l[(seq.length - 1) * 48 + j] > l[(seq.length - 1) * 48 + best]) best = j;
    seq.push(best);
  }
  assert.deepEqual([...tokens], seq.slice(prompt.length));
  assert.throws(
    () =>
      model.forward({ b: 1, t: 4, x: Int32Array.from(prompt), y: Int32Array.from(prompt) }, {
        training: true,
      }),
    /Cannot train a quantized model/,
  );
  model.dispose();
});
