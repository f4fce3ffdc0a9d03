import assert from "node:assert/strict";
import { Rng, wasmBackend } from "@metatokens/tensor";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { gptConfig } from "./config.ts";
import { WindowSource } from "./_testing/window_source.ts";
import { Gpt } from "./gpt.ts";
import {
  learningRate,
  modelFromCheckpoint,
  NonFiniteLossError,
  PAPER_TRAIN_OPTIONS,
  Trainer,
  type TrainOptions,
} from "./train.ts";

const backend = wasmBackend({ threads: 2 });
const config = gptConfig({
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  blockSize: 16,
  vocabSize: 64,
  metaTokenId: 63,
  posEncoding: "rope",
  dropout: 0.1,
});

const options: TrainOptions = {
  ...PAPER_TRAIN_OPTIONS,
  steps: 20,
  gradAccum: 2,
  warmup: 3,
  lr: 3e-3,
  minLr: 3e-4,
  evalEvery: 0,
};

Deno.test("resume is bit-exact: 20 steps straight equal 10 + checkpoint + resume + 10, every loss and weight", async () => {
  const straight = new Trainer(new Gpt(config, new Rng(1), backend), new WindowSource(), null, options, 5);
  const lossesA: number[] = [];
  for (let i = 0; i < 20; i++) lossesA.push((await straight.step()).loss);

  const first = new Trainer(new Gpt(config, new Rng(1), backend), new WindowSource(), null, options, 5);
  const lossesB: number[] = [];
  for (let i = 0; i < 10; i++) lossesB.push((await first.step()).loss);
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(`${dir}/ckpt`, await first.checkpoint());
  const resumed = new Trainer(new Gpt(config, new Rng(99), backend), new WindowSource(), null, options, 0);
  resumed.restore(await loadCheckpoint(`${dir}/ckpt`));
  for (let i = 0; i < 10; i++) lossesB.push((await resumed.step()).loss);
  await Deno.remove(dir, { recursive: true });

  assert.deepEqual(lossesB, lossesA);
  for (const [name, p] of straight.model.params) {
    assert.deepEqual(resumed.model.param(name).dataSync(), p.dataSync(), name);
  }
  assert.ok(lossesA[19] < lossesA[0] - 0.3, `loss fell from ${lossesA[0]} to ${lossesA[19]}`);
});

Deno.test("a NaN loss stops training with a clear error and leaves the weights untouched", async () => {
  const trainer = new Trainer(new Gpt(config, new Rng(1), backend), new WindowSource(), null, options);
  await trainer.step();
  const wte = trainer.model.param("transformer.wte.weight");
  const host = wte.dataSync() as Float32Array;
  host[0] = NaN;
  backend.write(wte.storage, host);
  const before = trainer.model.param("transformer.h.0.attn.c_attn.weight").dataSync();
  await assert.rejects(
    () => trainer.step(),
    (e: unknown) => e instanceof NonFiniteLossError && /Loss became NaN at step 2/.test(e.message),
  );
  assert.deepEqual(trainer.model.param("transformer.h.0.attn.c_attn.weight").dataSync(), before);
});

Deno.test("the learning rate warms up linearly, then follows a cosine to the minimum", () => {
  const o = { lr: 1, minLr: 0.1, warmup: 10, steps: 110 };
  assert.equal(learningRate(0, o), 1 / 11);
  assert.equal(learningRate(9, o), 10 / 11);
  assert.equal(learningRate(10, o), 1);
  assert.ok(Math.abs(learningRate(60, o) - 0.55) < 1e-12);
  assert.equal(learningRate(110, o), 0.1);
});

Deno.test("a checkpoint of another config is refused by parameter name", async () => {
  const dir = await Deno.makeTempDir();
  const trainer = new Trainer(new Gpt(config, new Rng(1), backend), new WindowSource(), null, options);
  await saveCheckpoint(`${dir}/c`, await trainer.checkpoint());
  const other = new Trainer(
    new Gpt(gptConfig({ ...config, metaAttention: false }), new Rng(1), backend),
    new WindowSource(),
    null,
    options,
  );
  const ckpt = await loadCheckpoint(`${dir}/c`);
  assert.throws(
    () => other.restore(ckpt),
    /Cannot resume: the checkpoint has metaAttention = true but this model has false/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("GPT-2 weights from a Hugging Face file load into a meta model; meta-attention keeps its init", async () => {
  const { encodeSafetensors } = await import("./safetensors.ts");
  const { importHfGpt2 } = await import("./hf_import.ts");
  const c = 8, layers = 1, v = 11, t = 5;
  const hf: Record<string, { shape: number[]; data: Float32Array }> = {};
  let seed = 1;
  const put = (name: string, shape: number[]): void => {
    hf[name] = {
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (seed++ % 97) / 97),
    };
  };
  put("wte.weight", [v, c]);
  put("wpe.weight", [t, c]);
  for (let i = 0; i < layers; i++) {
    for (const n of ["ln_1", "ln_2"]) put(`h.${i}.${n}.weight`, [c]), put(`h.${i}.${n}.bias`, [c]);
    put(`h.${i}.attn.c_attn.weight`, [c, 3 * c]), put(`h.${i}.attn.c_attn.bias`, [3 * c]);
    put(`h.${i}.attn.c_proj.weight`, [c, c]), put(`h.${i}.attn.c_proj.bias`, [c]);
    put(`h.${i}.mlp.c_fc.weight`, [c, 4 * c]), put(`h.${i}.mlp.c_fc.bias`, [4 * c]);
    put(`h.${i}.mlp.c_proj.weight`, [4 * c, c]), put(`h.${i}.mlp.c_proj.bias`, [c]);
  }
  put("ln_f.weight", [c]), put("ln_f.bias", [c]);
  const { state } = importHfGpt2(encodeSafetensors(hf), { padVocabTo: 16 });
  const { loadWeights } = await import("./train.ts");
  const model = new Gpt(
    gptConfig({ nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 5, vocabSize: 16, metaTokenId: 15 }),
    new Rng(3),
    backend,
  );
  const metaBefore = model.param("transformer.h.0.meta_attn.c_attn.weight").dataSync();
  loadWeights(model, state, { partial: true });
  // Conv1D [C, 3C] became nn.Linear [3C, C]: element (o, i) of ours is (i, o) of theirs.
  const ours = model.param("transformer.h.0.attn.c_attn.weight").dataSync();
  const theirs = hf["h.0.attn.c_attn.weight"].data;
  for (let o = 0; o < 3 * c; o++) {
    for (let i = 0; i < c; i++) assert.equal(ours[o * c + i], theirs[i * 3 * c + o]);
  }
  assert.deepEqual(model.param("transformer.h.0.meta_attn.c_attn.weight").dataSync(), metaBefore);
  assert.throws(() => loadWeights(model, state), /"transformer\.h\.0\.ln_meta\.weight" is missing/);
});

Deno.test("lifetimes: Trainer and Gpt free every byte they allocated (using), and val losses survive a resume", async () => {
  const before = backend.wasm!.bytesInUse();
  const evalOptions = { ...options, steps: 2, evalEvery: 1, evalBatches: 1 };
  let ckpt;
  {
    using model = new Gpt(config, new Rng(1), backend);
    using trainer = new Trainer(model, new WindowSource(), new WindowSource(), evalOptions, 5);
    await trainer.step();
    await trainer.evaluate();
    ckpt = await trainer.checkpoint();
    assert.ok(backend.wasm!.bytesInUse() > before);
  }
  assert.equal(backend.wasm!.bytesInUse(), before, "parameters, gradients and moments all freed");
  using model = new Gpt(config, new Rng(1), backend);
  using resumed = new Trainer(model, new WindowSource(), new WindowSource(), evalOptions, 5);
  resumed.restore(ckpt);
  await resumed.step();
  await resumed.evaluate();
  assert.deepEqual(resumed.valLosses.map(([step]) => step), [1, 2]);
  assert.equal(resumed.valLosses[0][1], (ckpt.trainerState.valLosses as [number, number][])[0][1]);
});

Deno.test("issue 14: modelFromCheckpoint refuses a config without nHead instead of taking the tiny preset's", () => {
  const config = gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 8, vocabSize: 32, metaTokenId: 31 });
  const { nHead: _, ...noHeads } = config;
  assert.throws(() => modelFromCheckpoint({ config: noHeads, model: {} }), {
    name: "TypeError",
    message: /it has no "nHead"; a checkpoint's config names every key/,
  });
  assert.throws(
    () => modelFromCheckpoint({ config: { ...config, nLayer: 1e9 }, model: {} }),
    /nLayer = 1000000000/,
  );
});
