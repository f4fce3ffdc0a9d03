import assert from "node:assert/strict";
import { analyze } from "./analyze.ts";
import { liveBytes, testBackend, tinyModel, warmAttention } from "./_testing/tiny.ts";

Deno.test("analyze: checks the folder first, writes every figure, frees what it used", async () => {
  const backend = testBackend();
  warmAttention(backend, 512);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/file`, "");
  const o = {
    task: "list_recall",
    phase: 1,
    n: 1,
    vibN: 2,
    vibEpochs: 1,
    betas: [0.1, 1],
    seed: 3,
    out: `${dir}/a`,
  };
  using model = tinyModel({ pos: "rope" });
  await assert.rejects(() => analyze(model, { ...o, out: `${dir}/file/x` }), /Cannot write to ".*file\/x"/);
  using baseline = tinyModel({ meta: false });
  await assert.rejects(
    () => analyze(baseline, o),
    /Cannot run meta-token analyses on a model without meta-attention/,
  );
  const before = liveBytes(backend);
  const { analysis, files } = await analyze(model, o);
  assert.equal(liveBytes(backend), before);
  assert.equal(analysis.task, "list-recall");
  assert.deepEqual(analysis.vib!.meta.map((v) => v.beta), [0.1, 1]);
  for (const f of files) await Deno.stat(`${dir}/a/${f.name}`);
  assert.ok(files.some((f) => f.name === "rate_distortion.svg"));
  await Deno.remove(dir, { recursive: true });
});
