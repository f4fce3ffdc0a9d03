import assert from "node:assert/strict";
import { refBackend } from "@metatokens/tensor";
import { loadCheckpoint } from "@metatokens/model";
import { MODELS, type ScalePlan, SCALES } from "./plan.ts";
import {
  analysisStage,
  checkRunnable,
  finetuneStage,
  planTestExamples,
  pretrainStage,
  reproduce,
  scalePlan,
  seedsOf,
} from "./reproduce.ts";
import { liveBytes, testBackend, warmAttention } from "./_testing/tiny.ts";

/** A plan smaller than `micro`: seconds per stage. */
const NANO: ScalePlan = {
  ...SCALES.micro,
  model: { nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 256 },
  pretrain: { steps: 2, batchSize: 1, gradAccum: 1, lr: 3e-3, minLr: 3e-4, warmup: 0, evalEvery: 2 },
  trainLengths: [128],
  finetune: {
    n: 4,
    steps: 1,
    batchSize: 2,
    lr: 1e-3,
    minLr: 1e-4,
    warmup: 0,
    evalEvery: 1,
    valN: 2,
    inBin: true,
  },
  seeds: { values: [0], tasks: [] },
  eval: { bins: [128], n: 1 },
  analysis: { n: 1, vibN: 2, vibEpochs: 1, of: "pretrained" },
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

  const examples = planTestExamples(NANO, "parity");
  const ft = await finetuneStage(o, rope, ckpt, "parity", 128, 0, examples);
  assert.equal(liveBytes(backend), baseline, "fine-tuning and evaluation free the model and every optimizer");
  assert.ok(ft.ran);
  assert.deepEqual(Object.keys(ft.record.eval), ["full", "no-pos", "no-embed", "neither"]);
  assert.deepEqual(ft.record.phases.map((p) => [p.phase, p.losses.length]), [[1, 1]]);
  assert.deepEqual(
    ft.record.valLosses?.map(([step]) => step),
    [0, 1],
    "the validation curve, steps across phases",
  );
  const saved = JSON.parse(await Deno.readTextFile(`${out}/finetune/meta-rope/parity/L128-seed0.json`));
  assert.deepEqual(saved, ft.record);

  assert.ok(await analysisStage(o, rope));
  assert.equal(liveBytes(backend), baseline, "the analysis frees its model");
  await Deno.stat(`${out}/analysis/meta-rope/rate_distortion.svg`);

  // A rerun skips every finished stage and returns the same records.
  assert.deepEqual(await pretrainStage(o, rope), pre);
  assert.equal((await finetuneStage(o, rope, ckpt, "parity", 128, 0, examples)).ran, false);
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

Deno.test("reproduce without pre-training: seeded runs from random init, shards split the stages, then the report", async () => {
  const backend = testBackend();
  warmAttention(backend, 512);
  const plan: ScalePlan = {
    ...NANO,
    pretrain: null,
    seeds: { values: [3, 4], tasks: ["parity"] },
    analysis: { ...NANO.analysis, of: "finetuned" },
  };
  assert.deepEqual([seedsOf(plan, "parity"), seedsOf(plan, "copying")], [[3, 4], [3]]);
  const out = await Deno.makeTempDir();
  const baseline = liveBytes(backend);
  const stages = (shard: number) => reproduce({ plan, out, backend, shard: { index: shard, count: 2 } });
  const [a, b] = [await stages(0), await stages(1)];
  assert.equal(liveBytes(backend), baseline, "every stage frees its model");
  assert.deepEqual([a.report, b.report], [null, null], "a shard writes no report");
  // 3 models × (parity: 2 seeds + 3 other tasks: 1 seed) = 15 stages, split 8 / 7.
  assert.deepEqual([a.finetuned.length, b.finetuned.length], [8, 7]);
  const seeds = [...a.finetuned, ...b.finetuned].filter((f) => f.task === "parity").map((f) => f.seed).sort();
  assert.deepEqual(seeds, [3, 3, 3, 4, 4, 4]);
  // Different seeds start from different initialisations: their first losses differ.
  const first = (seed: number) =>
    [...a.finetuned, ...b.finetuned].find((f) =>
      f.task === "parity" && f.seed === seed && f.model === "meta-rope"
    )!
      .phases[0].losses[0];
  assert.notEqual(first(3), first(4));
  await Deno.stat(`${out}/analysis/meta-rope/analysis.json`);
  const all = await reproduce({ plan, out, backend });
  assert.equal(all.finetuned.length, 15, "the unsharded call finds every stage done");
  assert.match(await Deno.readTextFile(all.report!), /## The paper's questions, answered at this scale/);
  await assert.rejects(
    () => reproduce({ plan, out, backend, shard: { index: 2, count: 2 } }),
    /Cannot run shard 2 of 2/,
  );
  await Deno.remove(out, { recursive: true });
});
