import assert from "node:assert/strict";
import { gptConfig, PAPER_TRAIN_OPTIONS, saveCheckpoint, TINY_TRAIN_OPTIONS } from "@metatokens/model";
import {
  checkpointSettings,
  extendedConfig,
  pretrainConfig,
  pretrainDefaults,
  pretrainRunSettings,
  resumeNotices,
  savedRunSettings,
  trainOptions,
} from "./settings.ts";

Deno.test("pretrainDefaults: the preset's model, the CPU or the paper's optimisation, run settings", () => {
  const tiny = pretrainDefaults("tiny");
  assert.deepEqual([tiny.nLayer, tiny.nEmbd, tiny.meta, tiny.pos, tiny.batchSize], [4, 256, true, "ape", 8]);
  assert.deepEqual(trainOptions(tiny), TINY_TRAIN_OPTIONS);
  const gpt2 = pretrainDefaults("meta-gpt2-rope");
  assert.deepEqual([gpt2.nLayer, gpt2.meta, gpt2.pos, gpt2.batchSize], [12, true, "rope", 12]);
  assert.deepEqual(trainOptions(gpt2), PAPER_TRAIN_OPTIONS);
  assert.equal(trainOptions({ ...gpt2, decaySteps: 5 }).decaySteps, 5);
  assert.throws(() => pretrainDefaults("huge"), /Cannot find preset "huge": expected one of tiny, gpt2/);
  assert.ok(!("metaAttention" in tiny) && !("posEncoding" in tiny), "meta and pos are the flags for them");
});

Deno.test("a checkpoint's settings restore the same run; the config follows meta and pos", () => {
  const s = { ...pretrainDefaults("tiny"), nLayer: 2, meta: false, pos: "rope" as const, seed: 9, steps: 3 };
  const config = pretrainConfig(s);
  assert.deepEqual([config.nLayer, config.metaAttention, config.posEncoding], [2, false, "rope"]);
  const restored = checkpointSettings({
    config: { ...config },
    trainerState: { options: trainOptions(s), run: savedRunSettings(s) },
  });
  assert.deepEqual({ ...pretrainDefaults("tiny"), ...restored }, { ...s, out: "runs/pretrain" });
  assert.ok(!("out" in restored), "the run folder is where the checkpoint is, not a saved setting");
});

Deno.test("YaRN: a RoPE config extends to s × its original context; APE, NoPE and a stray scale are refused", () => {
  const rope = gptConfig({ posEncoding: "rope" });
  const twice = extendedConfig(rope, 2, "a");
  assert.deepEqual([twice.blockSize, twice.yarn], [512, { scale: 2, originalContext: 256 }]);
  // Extending an extended model scales the original context again, not the extended one.
  assert.deepEqual(extendedConfig(twice, 4, "b").yarn, { scale: 4, originalContext: 256 });
  assert.throws(
    () => extendedConfig(gptConfig({}), 2, "ape/ckpt"),
    /Cannot extend "ape\/ckpt" with YaRN: it uses learned absolute positions/,
  );
  assert.throws(() => extendedConfig(gptConfig({ posEncoding: "none" }), 2, "n"), /no positional encoding/);
  const s = { ...pretrainDefaults("tiny"), extendFrom: "r", yarnScale: 2 };
  assert.equal(pretrainConfig(s, rope).blockSize, 512);
  assert.throws(
    () => pretrainConfig({ ...s, extendFrom: "" }),
    /Cannot use --yarn-scale without a checkpoint to extend/,
  );
});

Deno.test("pretrainRunSettings: preset defaults, then a resumed checkpoint's settings, then the user's", async () => {
  const fresh = await pretrainRunSettings({ overrides: { steps: 3, preset: "tiny" }, defaultOut: "runs/x" });
  assert.deepEqual(fresh, {
    settings: { ...pretrainDefaults("tiny"), steps: 3, out: "runs/x" },
    resume: null,
    resumeStep: 0,
  });
  await assert.rejects(
    () => pretrainRunSettings({ overrides: { toString: "x" } as never, defaultOut: "runs/x" }),
    /Cannot use unknown setting "toString"/,
  );
  await assert.rejects(
    () => pretrainRunSettings({ overrides: {}, resume: true, defaultOut: "/nonexistent/run" }),
    /nonexistent/,
  );
});

/** A run folder holding a checkpoint of `s` whose trainer state is `s`'s, edited by `edit`. */
async function savedRun(
  s: ReturnType<typeof pretrainDefaults>,
  edit: (state: Record<string, unknown>) => void,
): Promise<string> {
  const out = await Deno.makeTempDir();
  const config = pretrainConfig(s);
  const trainerState: Record<string, unknown> = {
    step: 2,
    rng: { seed: s.seed, counter: 10 },
    data: { seed: s.seed, counter: 4, batches: 2 },
    valData: null,
    bestValLoss: null,
    tokens: 64,
    options: trainOptions(s),
    valLosses: [],
    run: savedRunSettings(s),
  };
  edit(trainerState);
  const w = { shape: [1], data: new Float32Array(1) };
  await saveCheckpoint(`${out}/checkpoint`, {
    config: { ...config },
    model: { w },
    optimizer: null,
    trainerState,
  });
  return out;
}

Deno.test("issue 14 (9): a resume takes data and out from the command line, never from the checkpoint", async () => {
  const s = { ...pretrainDefaults("tiny"), nLayer: 1, seed: 9, data: "/outside/secret/*.txt" };
  const out = await savedRun(s, () => {});
  try {
    const resumed = await pretrainRunSettings({ overrides: { out }, resume: true, defaultOut: "runs/x" });
    assert.equal(resumed.settings.seed, 9, "run settings are restored");
    assert.equal(resumed.resumeStep, 2, "the step, as the trainer state reader typed it");
    assert.equal(resumed.settings.data, "", "but not the corpus path: the command line gave none");
    assert.equal(resumed.settings.out, out);
    const notes = resumeNotices(resumed.settings, resumed.resume!, "trainer_state.json");
    assert.deepEqual(notes, [
      'notice: the checkpoint was trained on data "/outside/secret/*.txt"; this resume reads the embedded ' +
      "Brown corpus, as the command line says (a resume takes paths from the command line only; pass --data to choose)",
    ]);
    const mine = await pretrainRunSettings({
      overrides: { out, data: "mine.txt" },
      resume: true,
      defaultOut: "x",
    });
    assert.equal(mine.settings.data, "mine.txt");
    assert.deepEqual(
      resumeNotices({ ...mine.settings, data: "/outside/secret/*.txt" }, mine.resume!, "trainer_state.json"),
      [],
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  // A saved run folder or initialisation file is not a setting a checkpoint may hold.
  for (const key of ["out", "initFrom"]) {
    const bad = await savedRun(s, (state) => (state.run as Record<string, unknown>)[key] = "/elsewhere");
    await assert.rejects(
      () => pretrainRunSettings({ overrides: { out: bad }, resume: true, defaultOut: "runs/x" }),
      new RegExp(`Cannot resume from ".*trainer_state\\.json": run has an unknown setting "${key}"`),
    );
    await Deno.remove(bad, { recursive: true });
  }
});

Deno.test("issue 14 (5): pretrain --resume refuses a malformed trainer_state.json by key, before any work", async () => {
  const s = { ...pretrainDefaults("tiny"), nLayer: 1 };
  const cases: [(state: Record<string, unknown>) => void, RegExp][] = [
    [(st) => st.step = "1", /step is "1", expected an integer ≥ 0/],
    [(st) => st.step = 1.5, /step is 1\.5/],
    [(st) => st.step = -1, /step is -1/],
    [(st) => delete st.rng, /rng is missing/],
    [(st) => st.options = null, /options is null, expected an object/],
    [(st) => (st.options as Record<string, unknown>).steps = "100", /options\.steps is "100"/],
    [(st) => st.run = [], /run is \[\], expected an object/],
    [(st) => (st.run as Record<string, unknown>).seed = "9", /it saved run\.seed = "9", expected a number/],
  ];
  for (const [edit, message] of cases) {
    const out = await savedRun(s, edit);
    await assert.rejects(
      () => pretrainRunSettings({ overrides: { out }, resume: true, defaultOut: "runs/x" }),
      (e: unknown) => {
        assert.ok(e instanceof TypeError || e instanceof RangeError, String(e));
        assert.match(e.message, /^Cannot resume from ".*checkpoint\/trainer_state\.json": /);
        assert.match(e.message, message);
        return true;
      },
    );
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("issue 14 (10): pretrain --resume recovers a checkpoint left half-renamed by a kill", async () => {
  const s = { ...pretrainDefaults("tiny"), nLayer: 1, seed: 4 };
  const out = await savedRun(s, () => {});
  try {
    await Deno.rename(`${out}/checkpoint`, `${out}/checkpoint.old-0123456789ab`);
    await Deno.mkdir(`${out}/checkpoint.tmp-ba9876543210`);
    const resumed = await pretrainRunSettings({ overrides: { out }, resume: true, defaultOut: "runs/x" });
    assert.equal(resumed.settings.seed, 4);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["checkpoint"]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
