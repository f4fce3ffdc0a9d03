import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng, wasmBackend } from "@metatokens/tensor";
import { WindowSource } from "./_testing/window_source.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { gptConfig } from "./config.ts";
import { Gpt } from "./gpt.ts";
import { runTraining } from "./run.ts";
import { PAPER_TRAIN_OPTIONS, Trainer } from "./train.ts";

const backend = wasmBackend({ threads: 1 });
const config = gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 16, vocabSize: 64, metaTokenId: 63 });
const options = { ...PAPER_TRAIN_OPTIONS, steps: 2, gradAccum: 1, warmup: 0, evalEvery: 0 };

Deno.test("issue 14 (10): a run starts by removing stale save folders and recovering a half-renamed checkpoint", async () => {
  const out = await Deno.makeTempDir();
  try {
    using model = new Gpt(config, new Rng(1), backend);
    using first = new Trainer(model, new WindowSource(), null, options, 5);
    await first.step();
    const ckpt = await first.checkpoint();
    await saveCheckpoint(join(out, "checkpoint"), ckpt);
    // Two kills mid-write, then one between the two renames of a save.
    for (const name of ["checkpoint.tmp-aaaaaaaaaaaa", "checkpoint.tmp-bbbbbbbbbbbb"]) {
      await Deno.mkdir(join(out, name));
      await Deno.writeFile(join(out, name, "model.safetensors"), new Uint8Array(1000));
    }
    await Deno.rename(join(out, "checkpoint"), join(out, "checkpoint.old-cccccccccccc"));
    const notices: string[] = [];
    const seen: string[][] = [];
    using model2 = new Gpt(config, new Rng(1), backend);
    using resumed = new Trainer(model2, new WindowSource(), null, options, 5);
    resumed.restore(ckpt);
    await runTraining(resumed, {
      outDir: out,
      checkpointEvery: 0,
      onNotice: (m) => notices.push(m),
      // What the folder holds after the first step, before any save of this run.
      onStep: () => seen.push([...Deno.readDirSync(out)].map((e) => e.name).sort()),
    });
    assert.deepEqual(seen[0], ["checkpoint", "metrics.jsonl"]);
    assert.equal(notices.length, 3, notices.join("\n"));
    assert.match(
      notices[0],
      /^recovered checkpoint ".*checkpoint": a save was interrupted between its two renames/,
    );
    assert.equal((await loadCheckpoint(join(out, "checkpoint"))).trainerState.step, 2);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("metrics.jsonl: one key style (snake_case) in every row, train, eval and checkpoint", async () => {
  const out = await Deno.makeTempDir();
  try {
    using model = new Gpt(config, new Rng(1), backend);
    const source = new WindowSource();
    using trainer = new Trainer(model, source, new WindowSource(), {
      ...options,
      evalEvery: 1,
      evalBatches: 1,
    }, 5);
    await runTraining(trainer, { outDir: out, checkpointEvery: 1 });
    const rows = (await Deno.readTextFile(join(out, "metrics.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const keys = new Set(rows.flatMap((r) => Object.keys(r)));
    assert.deepEqual([...keys].filter((k) => !/^[a-z]+(_[a-z]+)*$/.test(k)), []);
    assert.deepEqual(
      Object.keys(rows.find((r) => r.type === "train")).sort(),
      ["grad_norm", "loss", "lr", "step", "time", "tokens", "tokens_per_s", "type"],
    );
    assert.deepEqual(rows.map((r) => r.type), [
      "eval",
      "train",
      "eval",
      "checkpoint",
      "train",
      "eval",
      "checkpoint",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
