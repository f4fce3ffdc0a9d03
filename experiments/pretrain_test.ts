import assert from "node:assert/strict";
import { loadCheckpoint } from "@metatokens/model";
import { extend, pretrain } from "./pretrain.ts";
import { pretrainDefaults, type PretrainSettings } from "./settings.ts";
import { liveBytes, testBackend, warmAttention } from "./_testing/tiny.ts";

function small(out: string, over: Partial<PretrainSettings> = {}): PretrainSettings {
  return {
    ...pretrainDefaults("tiny"),
    nLayer: 1,
    nHead: 2,
    nEmbd: 16,
    steps: 2,
    batchSize: 1,
    evalEvery: 1,
    evalBatches: 1,
    checkpointEvery: 0,
    out,
    ...over,
  };
}

Deno.test("pretrain: typed losses, a resume that keeps the history, and nothing left allocated", async () => {
  const backend = testBackend();
  warmAttention(backend, 512);
  const out = await Deno.makeTempDir();
  const baseline = liveBytes(backend);
  const first = await pretrain({ settings: small(out), backend });
  assert.equal(liveBytes(backend), baseline);
  assert.deepEqual(first.valLosses.map(([step]) => step), [0, 1, 2]);
  assert.deepEqual(first.trainLosses.map(([step]) => step), [1, 2]);
  assert.ok(first.trainLosses.every(([, loss]) => loss > 5 && loss < 20));
  assert.equal(first.checkpoint, `${out}/checkpoint`);
  const resume = await loadCheckpoint(first.checkpoint);
  // Issue 14 (9): a path saved in the checkpoint is not read; the resume says so.
  (resume.trainerState.run as Record<string, unknown>).data = "/outside/secret.txt";
  const logs: string[] = [];
  const second = await pretrain({
    settings: small(out, { steps: 3 }),
    backend,
    resume,
    log: (m) => logs.push(m),
  });
  assert.equal(liveBytes(backend), baseline);
  assert.ok(logs.includes(`resumed from ${out}/checkpoint at step 2`), logs.join("\n"));
  assert.ok(logs.some((l) => /^notice: the checkpoint was trained on data "\/outside\/secret\.txt"/.test(l)));
  assert.ok(logs.some((l) => l.startsWith("corpus: the embedded Brown corpus")), logs.join("\n"));
  assert.ok(logs.some((l) => /^restored: the weights, AdamW moments, .*run settings preset "tiny"/.test(l)));
  assert.deepEqual(second.valLosses.slice(0, 3), first.valLosses);
  assert.deepEqual(second.valLosses.map(([step]) => step), [0, 1, 2, 3]);
  assert.deepEqual(second.trainLosses.map(([step]) => step), [3]);
  await assert.rejects(
    () => pretrain({ settings: small(out, { nLayer: 2, steps: 4 }), backend, resume }),
    /Cannot resume: the checkpoint has nLayer = 1 but this model has 2/,
  );
  assert.equal(liveBytes(backend), baseline, "a refused resume frees the model it built");
  await Deno.remove(out, { recursive: true });
});

Deno.test("extend: a RoPE checkpoint continues at twice its context with YaRN", async () => {
  const backend = testBackend();
  const dir = await Deno.makeTempDir();
  const rope = await pretrain({
    settings: small(`${dir}/rope`, { pos: "rope", steps: 1, evalEvery: 0 }),
    backend,
  });
  const logs: string[] = [];
  const ext = await extend({
    settings: small(`${dir}/ext`, { steps: 1, evalEvery: 0 }),
    backend,
    from: rope.checkpoint,
    scale: 2,
    log: (m) => logs.push(m),
  });
  assert.deepEqual([ext.config.blockSize, ext.config.yarn], [512, { scale: 2, originalContext: 256 }]);
  assert.ok(logs.some((l) => / with YaRN: context 256 → 512 \(s = 2\)$/.test(l)), logs.join("\n"));
  const saved = await loadCheckpoint(ext.checkpoint);
  assert.deepEqual((saved.trainerState.run as { extendFrom: string }).extendFrom, rope.checkpoint);
  await Deno.remove(dir, { recursive: true });
});
