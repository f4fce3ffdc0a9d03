// Checkpoints are the same on every device: train on the CPU, resume on WebGPU (and back), and the
// losses follow the run that never switched. Skipped with one line where there is no adapter.
import assert from "node:assert/strict";
import { type Backend, Rng, wasmBackend, webgpuAdapter, webgpuBackend } from "@metatokens/tensor";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { gptConfig } from "./config.ts";
import { WindowSource } from "./_testing/window_source.ts";
import { Gpt } from "./gpt.ts";
import { PAPER_TRAIN_OPTIONS, Trainer, type TrainOptions } from "./train.ts";

const probe = await webgpuAdapter();
if (!probe.adapter) {
  console.log(`webgpu: no adapter (${probe.reason}) — skipping the device interchange test`);
}

// Small enough for a software adapter; meta-attention and RoPE on, as in the paper's models.
const config = gptConfig({
  nLayer: 1,
  nHead: 2,
  nEmbd: 16,
  blockSize: 16,
  vocabSize: 64,
  metaTokenId: 63,
  posEncoding: "rope",
});
const options: TrainOptions = {
  ...PAPER_TRAIN_OPTIONS,
  steps: 6,
  gradAccum: 1,
  warmup: 1,
  lr: 3e-3,
  minLr: 3e-4,
};

async function losses(trainer: Trainer, steps: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push((await trainer.step()).loss);
  return out;
}

Deno.test({
  name: "a checkpoint trained on wasm resumes on webgpu and back, following the unswitched run",
  ignore: !probe.adapter,
  async fn() {
    const cpu = wasmBackend({ threads: 1 });
    const gpu = await webgpuBackend({ adapter: probe.adapter! });
    try {
      const straight = await losses(
        new Trainer(new Gpt(config, new Rng(1), cpu), new WindowSource(), null, options, 5),
        6,
      );
      const dir = await Deno.makeTempDir();
      // 2 steps on the CPU → checkpoint → 2 on WebGPU → checkpoint → 2 on the CPU.
      let trainer = new Trainer(new Gpt(config, new Rng(1), cpu), new WindowSource(), null, options, 5);
      const switched = await losses(trainer, 2);
      for (const [i, backend] of [gpu, cpu].entries()) {
        await saveCheckpoint(`${dir}/c${i}`, await trainer.checkpoint());
        trainer = new Trainer(
          new Gpt(config, new Rng(99), backend as Backend),
          new WindowSource(),
          null,
          options,
          0,
        );
        trainer.restore(await loadCheckpoint(`${dir}/c${i}`));
        switched.push(...await losses(trainer, 2));
      }
      await Deno.remove(dir, { recursive: true });
      switched.forEach((l, i) =>
        assert.ok(
          Math.abs(l - straight[i]) < 1e-4 * Math.abs(straight[i]),
          `step ${i + 1}: ${l} vs ${straight[i]}`,
        )
      );
      assert.ok(straight[5] < straight[0], `the loss fell: ${straight}`);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  },
});
