import assert from "node:assert/strict";
import { refBackend } from "@metatokens/tensor";
import { loadCheckpoint } from "@metatokens/model";
import { MODELS, type ScalePlan, SCALES } from "./plan.ts";
import { analysisStage, checkRunnable, finetuneStage, pretrainStage, scalePlan } from "./reproduce.ts";
import { testExamples } from "./evaluate.ts";
import { liveBytes, testBackend, warmAttention } from "./_testing/tiny.ts";

/** A plan smaller than `micro`: seconds per stage. */
const NANO: ScalePlan = {
  ...SCALES.micro,
  model: { nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 256 },
  pretrain: { steps: 2, batchSize: 1, gradAccum: 1, lr: 3e-3, minLr: 3e-4, warmup: 0, evalEvery: 2 },
  trainLengths: [128],
  finetune: { n: 4, steps: 1, batchSize: 2, lr: 1e-3, minLr: 1e-4, warmup: 0 },
  eval: { phases: [1], n: 1 },
  analysis: { n: 1, vibN: 2, vibEpochs: 1 },
};

Deno.test("reproduce stages (nano plan) free every byte they allocate, write their records and skip when done", async () => {
  const backend = testBackend();
  warmAttention(backend, 512);
  const out = await Deno.makeTempDir();
  const logs: string[] = [];
  const o = { plan: NANO, out, backend, log: (m: string) => logs.push(m) };
  const rope = MODELS.find((m) => m.name === "meta-rope")!;
  const baseline = liveBytes(backend);

  const pre = await pretrainStage(o, rope);
  assert.equal(liveBytes(backend), baseline, "pre-training frees its model, optimizer and gradients");
  assert.deepEqual(pre.valLosses.map(([step]) => step), [0, 2]);
  assert.ok(pre.valLosses.every(([, loss]) => loss > 5 && loss < 20), JSON.stringify(pre.valLosses));
  const ckpt = await loadCheckpoint(`${out}/pretrain/meta-rope/checkpoint`);
  assert.deepEqual([ckpt.config.nEmbd, ckpt.config.posEncoding, ckpt.trainerState.step], [16, "rope", 2]);

  const examples = testExamples({ task: "parity", phases: [1], n: 1, seed: 7 });
  const ft = await finetuneStage(o, rope, ckpt, "parity", 128, examples);
  assert.equal(liveBytes(backend), baseline, "fine-tuning and evaluation free the model and every optimizer");
  assert.ok(ft.ran);
  assert.deepEqual(Object.keys(ft.record.eval), ["full", "no-pos", "no-embed", "neither"]);
  assert.deepEqual(ft.record.phases.map((p) => p.phase), [1]);
  const saved = JSON.parse(await Deno.readTextFile(`${out}/finetune/meta-rope/parity/L128.json`));
  assert.deepEqual(saved, ft.record);

  assert.ok(await analysisStage(o, rope));
  assert.equal(liveBytes(backend), baseline, "the analysis frees its model");
  await Deno.stat(`${out}/analysis/meta-rope/rate_distortion.svg`);

  // A rerun skips every finished stage and returns the same records.
  assert.deepEqual(await pretrainStage(o, rope), pre);
  assert.equal((await finetuneStage(o, rope, ckpt, "parity", 128, examples)).ran, false);
  assert.equal(await analysisStage(o, rope), false);
  assert.ok(logs.some((l) => /^\[skip\] pre-training Meta-attention \(RoPE\)/.test(l)));
  assert.ok(logs.some((l) => /^\[skip\] analysis of Meta-attention \(RoPE\)/.test(l)));
  await Deno.remove(out, { recursive: true });
});

Deno.test("reproduce: scale names and what cannot run", () => {
  assert.equal(scalePlan("micro"), SCALES.micro);
  assert.throws(
    () => scalePlan("huge"),
    /Cannot reproduce at scale "huge": expected one of micro, tiny, paper/,
  );
  assert.throws(() => scalePlan("toString"), /Cannot reproduce at scale "toString"/);
  const cpu = refBackend();
  assert.throws(
    () => checkRunnable(SCALES.paper, cpu, "c4/*.json.gz"),
    /Cannot run --scale paper on the CPU/,
  );
  checkRunnable(SCALES.tiny, cpu);
  const gpu = { ...cpu, name: "webgpu" as const };
  assert.throws(
    () => checkRunnable(SCALES.paper, gpu),
    /Cannot run --scale paper on the embedded Brown corpus/,
  );
  checkRunnable(SCALES.paper, gpu, "c4/*.json.gz");
});
