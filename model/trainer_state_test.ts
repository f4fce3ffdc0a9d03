import assert from "node:assert/strict";
import { Rng, wasmBackend } from "@metatokens/tensor";
import { WindowSource } from "./_testing/window_source.ts";
import { gptConfig } from "./config.ts";
import { Gpt } from "./gpt.ts";
import { LossSpikeError, PAPER_TRAIN_OPTIONS, Trainer, type TrainOptions } from "./train.ts";
import { checkpointFormatVersion, readTrainerState, readTrainOptions } from "./trainer_state.ts";
import { runTraining } from "./run.ts";
import { loadCheckpoint } from "./checkpoint.ts";

const backend = wasmBackend({ threads: 1 });
const config = gptConfig({
  nLayer: 1,
  nHead: 2,
  nEmbd: 16,
  blockSize: 16,
  vocabSize: 64,
  metaTokenId: 63,
  posEncoding: "rope",
});
const options: TrainOptions = { ...PAPER_TRAIN_OPTIONS, steps: 6, gradAccum: 1, warmup: 0, evalEvery: 0 };
const SOURCE = "/runs/x/checkpoint/trainer_state.json";

function trainer(o: TrainOptions = options): Trainer {
  return new Trainer(new Gpt(config, new Rng(1), backend), new WindowSource(), null, o, 5);
}

Deno.test("readTrainerState: a trainer's own state reads back equal", async () => {
  using t = trainer();
  await t.step();
  const ckpt = await t.checkpoint();
  const state = readTrainerState(JSON.parse(JSON.stringify(ckpt.trainerState)), SOURCE);
  assert.deepEqual(state, JSON.parse(JSON.stringify(t.state())));
  assert.equal(checkpointFormatVersion({}, SOURCE), 1);
});

Deno.test("issue 14 (5): a malformed trainer_state.json is refused by key before anything is restored", async () => {
  using source = trainer();
  await source.step();
  const good = await source.checkpoint();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ step: "1" }, /step is "1", expected an integer ≥ 0$/],
    [{ step: 1.5 }, /step is 1\.5, expected an integer ≥ 0$/],
    [{ step: -1 }, /step is -1, expected an integer ≥ 0$/],
    [{ step: 2 ** 53 }, /step is 9007199254740992/],
    [{ rng: undefined }, /rng is missing, expected an object$/],
    [{ rng: { seed: 5 } }, /rng\.counter is missing/],
    [{ rng: { seed: -1, counter: 0 } }, /rng\.seed is -1, expected an integer in \[0, 4294967295\]$/],
    [{ options: null }, /options is null, expected an object$/],
    [{ options: undefined }, /options is missing/],
    [{ options: { ...options, lr: "0.1" } }, /options\.lr is "0\.1", expected a finite number/],
    [{ options: { ...options, toString: 1 } }, /options has an unknown key "toString"/],
    [{ options: { ...options, beta2: 2 } }, /options\.beta2 is 2, expected a finite number in \[0, 1\]$/],
    [{ data: undefined }, /data is missing, expected the training data cursor$/],
    [{ tokens: -5 }, /tokens is -5/],
    [{ bestValLoss: "x".repeat(100_000) }, /bestValLoss is "x{150,}…, expected a finite number/],
    [{ valLosses: [[1, 3], [9, 2]] }, /valLosses\[1\]\[0\] is 9, expected an integer in \[0, 1\]$/],
    [{ valLosses: {} }, /valLosses is \{\}, expected an array of \[step, loss\]$/],
    [
      { formatVersion: 99 },
      /it has formatVersion 99, but this version of metatokens reads checkpoint format 1/,
    ],
  ];
  for (const [edit, message] of cases) {
    const trainerState = { ...good.trainerState };
    for (const [key, value] of Object.entries(edit)) {
      if (value === undefined) delete trainerState[key];
      else trainerState[key] = value;
    }
    using t = trainer();
    const before = t.model.param("transformer.wte.weight").dataSync();
    assert.throws(
      () => t.restore({ ...good, trainerState }, SOURCE),
      (e: unknown) => {
        assert.ok(e instanceof TypeError || e instanceof RangeError, String(e));
        assert.match(e.message, new RegExp(`^Cannot (resume from|read) ${SOURCE}: `), e.message);
        assert.match(e.message, message);
        assert.ok(e.message.length < 500, `a ${e.message.length}-character message`);
        return true;
      },
      JSON.stringify(edit).slice(0, 80),
    );
    // Nothing was restored: the weights are the fresh model's, the step 0.
    assert.deepEqual(t.model.param("transformer.wte.weight").dataSync(), before);
    assert.equal(t.stepCount, 0);
  }
});

Deno.test("readTrainOptions: decaySteps and maxLoss are optional; maxLoss null or Infinity is off", () => {
  assert.equal(readTrainOptions({ ...options }, SOURCE).decaySteps, undefined);
  assert.equal(readTrainOptions({ ...options, decaySteps: 4 }, SOURCE).decaySteps, 4);
  assert.equal(readTrainOptions({ ...options, maxLoss: null }, SOURCE).maxLoss, undefined);
  assert.equal(readTrainOptions({ ...options, maxLoss: Infinity }, SOURCE).maxLoss, Infinity);
  assert.equal(readTrainOptions({ ...options, maxLoss: 12 }, SOURCE).maxLoss, 12);
  assert.throws(() => readTrainOptions({ ...options, maxLoss: 0 }, SOURCE), /options\.maxLoss is 0/);
  const { steps: _, ...noSteps } = options;
  assert.throws(() => readTrainOptions(noSteps, SOURCE), /options\.steps is missing/);
});

Deno.test("issue 14 (6): maxLoss stops a diverging run before the update; the last checkpoint is intact", async () => {
  // A learning rate of 5 makes the tiny model's loss leave ln(64) ≈ 4.2 within a few steps.
  const o = { ...options, steps: 30, lr: 5, minLr: 5, gradClip: 0, maxLoss: 8 };
  assert.throws(() => trainer({ ...o, maxLoss: 0 }), /Cannot train with maxLoss = 0/);
  assert.throws(() => trainer({ ...o, maxLoss: NaN }), /Cannot train with maxLoss = NaN/);
  using t = trainer(o);
  const dir = await Deno.makeTempDir();
  try {
    let error: unknown = null;
    const losses: number[] = [];
    await runTraining(t, { outDir: dir, checkpointEvery: 1, onStep: (info) => losses.push(info.loss) }).catch(
      (
        e,
      ) => error = e,
    );
    assert.ok(error instanceof LossSpikeError, `no spike in ${losses.join(", ")}`);
    const step = error.step;
    assert.equal(step, losses.length + 1);
    assert.ok(error.loss > 8);
    assert.match(
      error.message,
      new RegExp(
        `^Loss .* at step ${step} exceeds maxLoss 8: the run is diverging; .*; the last checkpoint ".*checkpoint" ` +
          `\\(step ${step - 1}\\) is intact$`,
      ),
    );
    const ckpt = await loadCheckpoint(`${dir}/checkpoint`);
    assert.equal(ckpt.trainerState.step, step - 1);
    assert.equal(t.stepCount, step - 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("issue 14 (6): NaN in AdamW's v stops the run; the checkpoint on disk keeps the last finite state", async () => {
  using t = trainer({ ...options, steps: 4 });
  const dir = await Deno.makeTempDir();
  try {
    await runTraining(t, { outDir: dir, checkpointEvery: 1, shouldStop: () => t.stepCount === 2 });
    const good = await loadCheckpoint(`${dir}/checkpoint`);
    // Poison the second moment, as a bad kernel or bit flip would.
    const poisoned = structuredClone(good);
    const name = Object.keys(poisoned.optimizer!.v)[0];
    poisoned.optimizer!.v[name].data[0] = NaN;
    t.restore(poisoned);
    const error = await runTraining(t, { outDir: dir, checkpointEvery: 1 }).catch((e) => e);
    assert.ok(error instanceof Error);
    assert.match(
      error.message,
      /^Cannot save checkpoint ".*checkpoint": model\.safetensors tensor ".*" holds NaN at index \d+ \(training diverged\); nothing was written, and the last checkpoint ".*checkpoint" is intact$/,
    );
    const after = await loadCheckpoint(`${dir}/checkpoint`);
    assert.deepEqual(after, good);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
