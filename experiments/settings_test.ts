import assert from "node:assert/strict";
import { gptConfig, PAPER_TRAIN_OPTIONS, TINY_TRAIN_OPTIONS } from "@metatokens/model";
import {
  checkpointSettings,
  extendedConfig,
  pretrainConfig,
  pretrainDefaults,
  pretrainRunSettings,
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
