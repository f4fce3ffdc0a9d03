import assert from "node:assert/strict";
import { encodeExample, generateDataset } from "@metatokens/tasks";
import { EOT_ID } from "@metatokens/data";
import { loadCheckpoint, type StepInfo } from "@metatokens/model";
import { finetune, type FinetuneOptions, phasesFitting, validationSeed } from "./finetune.ts";
import { liveBytes, testBackend, tinyModel, warmAttention } from "./_testing/tiny.ts";

const base: FinetuneOptions = {
  task: "parity",
  maxLength: 256,
  n: 6,
  steps: 3,
  batchSize: 2,
  lr: 1e-2,
  minLr: 1e-3,
  warmup: 1,
  seed: 5,
};

/** Examples of a phase that fit `maxLength` with the end-of-text token, counted independently. */
function fitting(task: string, phase: number, o: FinetuneOptions): number {
  return generateDataset(task, phase, o.n, o.seed + phase).filter((e) => {
    const { prompt, answer } = encodeExample(e);
    return prompt.length + answer.length + 1 <= o.maxLength;
  }).length;
}

Deno.test("finetune: the phase loop runs every phase with a fresh schedule and frees each phase's optimizer", async () => {
  const backend = testBackend();
  warmAttention(backend);
  using model = tinyModel();
  const before = model.param("transformer.h.0.mlp.c_fc.weight").dataSync().slice();
  const baseline = liveBytes(backend);
  const steps: [number, StepInfo][] = [];
  const logs: string[] = [];
  const phases = await finetune(model, {
    ...base,
    task: "list_recall",
    phases: [1, 2],
    n: 4,
    log: (m) => logs.push(m),
    onStep: (phase, info) => steps.push([phase, info]),
  });
  assert.equal(liveBytes(backend), baseline, "moments and gradients of both phases are freed");
  assert.deepEqual(phases.map((p) => p.phase), [1, 2]);
  assert.deepEqual(
    phases.map((p) => p.examples),
    [1, 2].map((p) => fitting("list-recall", p, { ...base, n: 4 })),
  );
  assert.ok(phases.every((p) => Number.isFinite(p.loss) && p.loss > 0), JSON.stringify(phases));
  // Each phase restarts the step count and the warm-up: a new trainer and optimizer per phase.
  assert.deepEqual(steps.map(([phase, i]) => [phase, i.step]), [[1, 1], [1, 2], [1, 3], [2, 1], [2, 2], [
    2,
    3,
  ]]);
  assert.equal(steps[3][1].lr, steps[0][1].lr);
  assert.ok(steps[1][1].lr > steps[2][1].lr, "cosine decay inside a phase");
  assert.equal(phases[1].loss, steps[5][1].loss);
  assert.match(logs[0], /^fine-tuning on list-recall phase 1: \d+ of 4 examples fit 256 tokens$/);
  const after = model.param("transformer.h.0.mlp.c_fc.weight").dataSync();
  assert.ok(after.some((x, i) => x !== before[i]), "the weights moved");
});

Deno.test("finetune: is deterministic, and defaults to every phase that fits the train length", async () => {
  const run = async () => {
    using model = tinyModel({ pos: "rope", meta: false });
    return await finetune(model, { ...base, steps: 1, maxLength: 192 });
  };
  const [a, b] = [await run(), await run()];
  assert.deepEqual(a, b);
  assert.deepEqual(a.map((p) => p.phase), phasesFitting(192));
  assert.deepEqual(phasesFitting(128), [1]);
  assert.deepEqual(phasesFitting(1000), [1, 2, 3, 4]);
  assert.throws(
    () => phasesFitting(50),
    /Cannot fine-tune at length 50: even phase 1's prompts have \d+ tokens/,
  );
});

Deno.test("finetune: with `out`, a checkpoint and metrics after each phase; an APE model refuses lengths past its block", async () => {
  using model = tinyModel({ blockSize: 128 });
  await assert.rejects(
    () => finetune(model, { ...base, maxLength: 256 }),
    /Cannot fine-tune at length 256: the APE model's block size is 128/,
  );
  await assert.rejects(() => finetune(model, { ...base, task: "sorting" }), /Unknown task "sorting"/);
  const out = await Deno.makeTempDir();
  const logs: string[] = [];
  await finetune(model, {
    ...base,
    maxLength: 128,
    phases: [1],
    out,
    record: { from: "x" },
    log: (m) => logs.push(m),
  });
  const ckpt = await loadCheckpoint(`${out}/checkpoint`);
  assert.deepEqual(ckpt.trainerState.finetune, { task: "parity", phase: 1, maxLength: 128, from: "x" });
  assert.equal(ckpt.trainerState.step, 3);
  const rows = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(rows.filter((r) => r.type === "train").length, 3);
  assert.match(logs.at(-1)!, /^phase 1 done; checkpoint: .*checkpoint$/);
  assert.equal(EOT_ID, 50256);
  await Deno.remove(out, { recursive: true });
});

Deno.test("finetune: evalEvery records a validation curve on held-out examples, the same in memory and with `out`", async () => {
  const backend = testBackend();
  warmAttention(backend);
  const o = { ...base, phases: [1], evalEvery: 2, valN: 4 };
  const logs: string[] = [];
  using model = tinyModel();
  const baseline = liveBytes(backend);
  const [inMemory] = await finetune(model, { ...o, log: (m) => logs.push(m) });
  assert.equal(liveBytes(backend), baseline, "the held-out batches and the trainer are freed");
  assert.deepEqual(
    inMemory.valLosses.map(([step]) => step),
    [0, 2, 3],
    "at the start, every 2 steps and at the end",
  );
  assert.ok(
    inMemory.valLosses.every(([, l]) => Number.isFinite(l) && l > 0),
    JSON.stringify(inMemory.valLosses),
  );
  assert.match(logs.at(-1)!, /^phase 1 validation loss \(4 held-out examples\) by step: 0: \d+\.\d{3}, 2: /);
  // The held-out examples are not the training examples.
  const train = generateDataset("parity", 1, 4, base.seed + 1).map((e) => e.prompt);
  const held = generateDataset("parity", 1, 4, validationSeed(base.seed, 1)).map((e) => e.prompt);
  assert.ok(held.every((p) => !train.includes(p)));
  const out = await Deno.makeTempDir();
  using again = tinyModel();
  const [onDisk] = await finetune(again, { ...o, out });
  assert.deepEqual(
    onDisk.valLosses,
    inMemory.valLosses,
    "runTraining evaluates on the same cadence and data",
  );
  const rows = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(rows.filter((r) => r.type === "eval").map((r) => r.step), [0, 2, 3]);
  await Deno.remove(out, { recursive: true });
  await assert.rejects(() => finetune(again, { ...o, evalEvery: 1.5 }), /Cannot evaluate every 1\.5 steps/);
  await assert.rejects(() => finetune(again, { ...o, valN: 0 }), /Cannot hold out 0 validation examples/);
});
