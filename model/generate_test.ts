import assert from "node:assert/strict";
import { noGrad, refBackend, Rng, scope, wasmBackend } from "@metatokens/tensor";
import { gptConfig } from "./config.ts";
import { generate, generateBatch, sampleToken, score } from "./generate.ts";
import { Gpt } from "./gpt.ts";

const micro = (pos: string) =>
  gptConfig({
    nLayer: 2,
    nHead: 2,
    nEmbd: 16,
    blockSize: 24,
    vocabSize: 40,
    metaTokenId: 39,
    posEncoding: pos,
  });

/** Greedy decoding by re-running the whole sequence for every token (no cache). */
function naiveGreedy(model: Gpt, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const logits = noGrad(() =>
      scope(() => model.forward({ b: 1, t: seq.length, x: Int32Array.from(seq) }).logits!.dataSync())
    );
    const o = (seq.length - 1) * 40;
    let best = 0;
    for (let j = 1; j < 39; j++) if (logits[o + j] > logits[o + best]) best = j;
    seq.push(best);
  }
  return seq.slice(prompt.length);
}

for (const backend of [refBackend(), wasmBackend({ threads: 1 })]) {
  for (const pos of ["ape", "rope", "none"]) {
    Deno.test(`KV-cache decoding equals full recomputation (${pos}, ${backend.name}), with a meta token in the prompt`, async () => {
      const model = new Gpt(micro(pos), new Rng(4), backend);
      // Sharpen the distribution so greedy choices are not near-ties.
      const w = model.param("transformer.wte.weight");
      backend.write(w.storage, (w.dataSync() as Float32Array).map((x) => x * 40));
      const prompt = [5, 39, 7, 8, 39, 2];
      const { tokens } = await generate(model, Int32Array.from(prompt), { maxNewTokens: 10, temperature: 0 });
      assert.deepEqual([...tokens], naiveGreedy(model, prompt, 10));
    });
  }
}

Deno.test("sampling never produces the meta token, is seeded, and top-k restricts the choice", async () => {
  const model = new Gpt(micro("rope"), new Rng(4), refBackend());
  const a = await generate(model, Int32Array.from([1, 2]), {
    maxNewTokens: 20,
    temperature: 1.5,
    rng: new Rng(1),
  });
  const b = await generate(model, Int32Array.from([1, 2]), {
    maxNewTokens: 20,
    temperature: 1.5,
    rng: new Rng(1),
  });
  assert.deepEqual(a.tokens, b.tokens);
  assert.ok(!a.tokens.includes(39));
  const greedy =
    (await generate(model, Int32Array.from([1, 2]), { maxNewTokens: 1, temperature: 0 })).tokens[0];
  const top1 =
    (await generate(model, Int32Array.from([1, 2]), { maxNewTokens: 1, topK: 1, rng: new Rng(3) })).tokens[0];
  assert.equal(top1, greedy);
  await assert.rejects(() => generate(model, Int32Array.from([1]), { maxNewTokens: 2 }), /without an rng/);
});

Deno.test("score gives log p(next) per position, null at meta targets, and the mean loss", async () => {
  const model = new Gpt(micro("ape"), new Rng(4), refBackend());
  const r = await score(model, Int32Array.from([3, 4, 39, 5, 6]));
  assert.equal(r.logprobs.length, 4);
  assert.equal(r.logprobs[1], null);
  const kept = r.logprobs.filter((x): x is number => x !== null);
  assert.ok(kept.every((x) => x < 0));
  assert.ok(Math.abs(r.loss + kept.reduce((a, b) => a + b, 0) / kept.length) < 1e-9);
  // Consistent with the training loss on the same targets.
  const y = Int32Array.from([4, -1, 5, 6, -1]);
  const loss = noGrad(() =>
    scope(() => model.forward({ b: 1, t: 5, x: Int32Array.from([3, 4, 39, 5, 6]), y }).loss!.item())
  );
  assert.ok(Math.abs(loss - r.loss) < 1e-5, `${loss} vs ${r.loss}`);
});

Deno.test("with allowMeta, a generated meta token goes through meta-attention over the cached meta keys, as without a cache", async () => {
  const backend = refBackend();
  const model = new Gpt(micro("rope"), new Rng(4), backend);
  // Make the meta token the likeliest continuation so the recompute path runs.
  const w = model.param("transformer.wte.weight");
  const host = w.dataSync() as Float32Array;
  for (let j = 0; j < 16; j++) host[39 * 16 + j] = 0;
  backend.write(w.storage, host);
  const lnf = model.param("transformer.ln_f.bias");
  backend.write(lnf.storage, new Float32Array(16).fill(0));
  const prompt = [5, 7, 8, 2];
  const { tokens } = await generate(model, Int32Array.from(prompt), {
    maxNewTokens: 8,
    temperature: 0,
    allowMeta: true,
  });
  const seq = [...prompt];
  for (let i = 0; i < 8; i++) {
    const logits = noGrad(() =>
      scope(() => model.forward({ b: 1, t: seq.length, x: Int32Array.from(seq) }).logits!.dataSync())
    );
    const o = (seq.length - 1) * 40;
    let best = 0;
    for (let j = 1; j < 40; j++) if (logits[o + j] > logits[o + best]) best = j;
    seq.push(best);
  }
  assert.deepEqual([...tokens], seq.slice(prompt.length));
});

Deno.test("an APE model generates up to its block size: the last token is returned, never read", async () => {
  const model = new Gpt(micro("ape"), new Rng(5), refBackend());
  // 22 prompt tokens + 3 new ones read 24 positions (the third new token is not fed back): allowed.
  const prompt = Int32Array.from({ length: 22 }, (_, i) => i % 30);
  const { tokens } = await generate(model, prompt, { maxNewTokens: 3, temperature: 0 });
  assert.deepEqual([...tokens], naiveGreedy(model, [...prompt], 3));
  await assert.rejects(
    () => generate(model, prompt, { maxNewTokens: 4, temperature: 0 }),
    /Cannot generate 4 tokens after a 22-token prompt: the APE model's block size is 24/,
  );
  model.dispose();
});

Deno.test("a batch of prompts of different lengths decodes as each prompt alone, and streams every token", async () => {
  for (const pos of ["ape", "rope"]) {
    const model = new Gpt(micro(pos), new Rng(6), wasmBackend({ threads: 1 }));
    const prompts = [[5, 39, 7], [1, 2, 3, 4, 39, 6, 7], [9]].map((p) => Int32Array.from(p));
    const streamed: [number, number][] = [];
    const batch = await generateBatch(model, prompts, {
      maxNewTokens: 6,
      temperature: 0,
      onToken: (token, prompt) => streamed.push([prompt, token]),
    });
    for (const [r, prompt] of prompts.entries()) {
      const alone = await generate(model, prompt, { maxNewTokens: 6, temperature: 0 });
      assert.deepEqual([...batch[r].tokens], [...alone.tokens], `${pos} prompt ${r}`);
      assert.deepEqual(streamed.filter(([p]) => p === r).map(([, t]) => t), [...alone.tokens]);
    }
    model.dispose();
  }
});

Deno.test("generation stops after the stop token, and an APE prompt too long for the block is cropped when asked", async () => {
  const model = new Gpt(micro("ape"), new Rng(5), refBackend());
  const prompt = Int32Array.from({ length: 22 }, (_, i) => i % 30);
  const free = await generate(model, prompt.subarray(0, 5), { maxNewTokens: 6, temperature: 0 });
  const stop = free.tokens[2];
  const first = free.tokens.indexOf(stop);
  const stopped = await generate(model, prompt.subarray(0, 5), {
    maxNewTokens: 6,
    temperature: 0,
    stopToken: stop,
  });
  assert.deepEqual([...stopped.tokens], [...free.tokens.subarray(0, first + 1)]);
  assert.equal(stopped.stopped, true);
  // 22 + 5 − 1 = 26 positions > 24: the first two prompt tokens are dropped, as nanoGPT crops.
  const cropped = await generate(model, prompt, { maxNewTokens: 5, temperature: 0, crop: true });
  assert.equal(cropped.cropped, 2);
  assert.deepEqual([...cropped.tokens], naiveGreedy(model, [...prompt.subarray(2)], 5));
  model.dispose();
});

Deno.test("sampling: top-p keeps the smallest most likely set, top-k the k best, and bad settings are refused first", async () => {
  // Probabilities ∝ e^logit: 0.64, 0.24, 0.09, 0.03 (ids 2, 0, 3, 1).
  const logits = Float32Array.from([2, 0, 3, 1]);
  const seen = (o: Parameters<typeof sampleToken>[3]) => {
    const ids = new Set<number>();
    for (let i = 0; i < 400; i++) ids.add(sampleToken(logits, 0, 4, o, -1));
    return [...ids].sort();
  };
  assert.deepEqual(seen({ rng: new Rng(1), topP: 0.5 }), [2]);
  assert.deepEqual(seen({ rng: new Rng(1), topP: 0.8 }), [0, 2]);
  assert.deepEqual(seen({ rng: new Rng(1), topK: 3 }), [0, 2, 3]);
  assert.deepEqual(seen({ rng: new Rng(1), topK: 3 }).includes(1), false);
  assert.deepEqual(seen({ rng: new Rng(1) }), [0, 1, 2, 3]);
  assert.equal(sampleToken(logits, 0, 4, { temperature: 0 }, 2), 0);
  // A long tail: id 0 holds half the mass, 2000 ids of weight 5e-4 the other half. The nucleus of
  // p = 0.6 must reach into the tail (its mass counts against the whole distribution).
  const tail = new Float32Array(2001).fill(Math.log(5e-4));
  tail[0] = 0;
  let fromTail = 0;
  for (let i = 0; i < 400; i++) {
    if (sampleToken(tail, 0, 2001, { rng: new Rng(2 + i), topP: 0.6 }, -1) !== 0) fromTail++;
  }
  assert.ok(fromTail > 40 && fromTail < 200, `${fromTail} of 400 draws from the tail`);
  const model = new Gpt(micro("rope"), new Rng(4), refBackend());
  const p = Int32Array.from([1, 2]);
  await assert.rejects(
    () => generate(model, p, { maxNewTokens: 2, temperature: -1, rng: new Rng(1) }),
    /temperature -1/,
  );
  await assert.rejects(() => generate(model, p, { maxNewTokens: 2, topK: 0, rng: new Rng(1) }), /top 0/);
  await assert.rejects(
    () => generate(model, p, { maxNewTokens: 2, topP: 1.5, rng: new Rng(1) }),
    /top-p 1.5/,
  );
  await assert.rejects(
    () => generate(model, p, { maxNewTokens: 0, temperature: 0 }),
    /Cannot generate 0 tokens/,
  );
  model.dispose();
});
