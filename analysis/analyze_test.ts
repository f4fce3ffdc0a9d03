import assert from "node:assert/strict";
import { Rng } from "@metatokens/tensor";
import { Gpt, gptConfig } from "@metatokens/model";
import { generateDataset } from "@metatokens/tasks";
import { analyzeModel } from "./analyze.ts";
import { writeAnalysis } from "./write.ts";

const config = gptConfig({ nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 256 });

Deno.test("analyzeModel measures every meta position and writes a complete folder", async () => {
  const model = new Gpt(config, new Rng(1));
  const examples = generateDataset("list-recall", 1, 2, 4);
  const a = await analyzeModel(model, examples, {
    task: "list-recall",
    vibExamples: generateDataset("list-recall", 1, 4, 5),
    betas: [0.1, 1],
    vibEpochs: 1,
  });
  const metaCount = a.logitBoost.length;
  assert.ok(metaCount >= 2, `${metaCount} meta positions`);
  for (const r of a.logitBoost) {
    assert.equal(r.logitBoost, r.maxLogit - r.maxLogitZeroed);
    assert.equal(r.entropyDrop, r.entropyZeroed - r.entropy);
    assert.ok(r.entropy >= 0 && r.entropy <= Math.log(config.vocabSize) + 1e-9);
  }
  // Zeroing the meta embedding changes the output (it is an input of the meta position).
  assert.ok(a.logitBoost.some((r) => r.logitBoost !== 0));
  assert.equal(a.cosine.length, config.nLayer + 1);
  assert.equal(a.cosine[0].length, a.focus.query + 1);
  assert.ok(Math.abs(a.cosine[1][a.focus.query] - 1) < 1e-9, "a vector's cosine with itself is 1");
  assert.equal(a.causalMap.length, config.nLayer);
  for (const row of a.causalMap) assert.ok(Math.abs(row.reduce((s, p) => s + p, 0) - 1) < 1e-9);
  // Meta-attention puts weight on meta keys only.
  for (const row of a.metaMap) {
    row.forEach((p, j) => assert.ok(a.focus.metaPositions.includes(j) || p === 0));
  }
  assert.equal(a.residualPca.length, config.nLayer + 1);
  assert.equal(a.vib!.meta.length, 2);
  assert.equal(a.attentionEntropy.length, config.nLayer);

  const dir = `${await Deno.makeTempDir()}/analysis`;
  const files = await writeAnalysis(a, dir);
  for (const f of files) assert.ok((await Deno.stat(`${dir}/${f.name}`)).size > 0, f.name);
  const names = files.map((f) => f.name);
  for (
    const svg of [
      "logit_boost",
      "entropy_drop",
      "cosine",
      "attention_map_causal",
      "residual_pca",
      "rate_distortion",
    ]
  ) {
    assert.ok(names.includes(`${svg}.svg`), svg);
    assert.match(await Deno.readTextFile(`${dir}/${svg}.svg`), /^<svg/);
  }
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/analysis.json`)).means, a.means);
});

Deno.test("analysis refuses a baseline model, prompts without _PAUSE_, an empty β list", async () => {
  const examples = generateDataset("parity", 1, 1, 4);
  await assert.rejects(
    () =>
      analyzeModel(new Gpt(gptConfig({ ...config, metaAttention: false }), new Rng(1)), examples, {
        task: "parity",
      }),
    /Cannot run meta-token analyses on a model without meta-attention/,
  );
  const model = new Gpt(config, new Rng(1));
  const noPause = [{ ...examples[0], prompt: examples[0].prompt.replaceAll("_PAUSE_", "") }];
  await assert.rejects(() => analyzeModel(model, noPause, { task: "parity" }), /has no _PAUSE_ meta token/);
  await assert.rejects(
    () => analyzeModel(model, examples, { task: "parity", vibExamples: examples, betas: [] }),
    /empty β list/,
  );
});

Deno.test("a failed write leaves no partial analysis folder; an existing one is replaced whole", async () => {
  const model = new Gpt(config, new Rng(2));
  const a = await analyzeModel(model, generateDataset("parity", 1, 1, 4), { task: "parity" });
  const root = await Deno.makeTempDir();
  const dir = `${root}/analysis`;
  await Deno.mkdir(dir);
  await Deno.writeTextFile(`${dir}/stale.txt`, "old");
  const broken = { ...a, cosine: [[1, 2], [3]] }; // ragged: the heatmap refuses it midway
  await assert.rejects(() => writeAnalysis(broken, dir));
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["analysis"], "no temp folder left");
  assert.equal(await Deno.readTextFile(`${dir}/stale.txt`), "old", "the old folder is untouched");
  await writeAnalysis(a, dir);
  assert.ok(!(await Deno.stat(`${dir}/stale.txt`).then(() => true, () => false)), "replaced whole");
  await Deno.writeTextFile(`${root}/file`, "x");
  await assert.rejects(() => writeAnalysis(a, `${root}/file`), /it is a file/);
});
