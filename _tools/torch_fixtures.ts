/**
 * The TypeScript side of the PyTorch parity tests (`interop/torch/test_parity.py`, issue 16).
 *
 * `write DIR [CORPUS_TXT]` writes, with our own code only: a token cache (`openCorpus`, of the
 * repository's README.md, docs/ARCHITECTURE.md and EXPERIMENTS.md, or of CORPUS_TXT), the first batches of
 * seeded `TokenBatchSource`s, tiny checkpoints of three model variants (meta + APE; meta + RoPE +
 * YaRN without biases, ReLU; NoPE without meta) with the logits and loss of one batch, plain and under
 * the three ablations, and one optimizer step of a `Trainer` (2 micro-batches, AdamW, clipping)
 * from a step-0 checkpoint with its weights after the step.
 *
 * `resume CKPT CACHE OUT` resumes a checkpoint (one written by PyTorch) with our `Trainer` and a
 * `TokenBatchSource` restored from its data cursor, takes one step, prints
 * `{"step", "loss", "lr", "gradNorm"}` as JSON and saves the checkpoint after the step to OUT.
 *
 * Run: `deno run -A _tools/torch_fixtures.ts write /tmp/fixtures`.
 *
 * @module
 */

import { join } from "node:path";
import { noGrad, Rng, scope } from "@metatokens/tensor";
import {
  type Ablation,
  type Batch,
  checkpointConfig,
  encodeSafetensors,
  Gpt,
  type GptConfig,
  gptConfig,
  loadCheckpoint,
  PAPER_TRAIN_OPTIONS,
  saveCheckpoint,
  type StateDict,
  Trainer,
  type TrainOptions,
} from "@metatokens/model";
import { openCorpus, TokenBatchSource, type TokenCache } from "@metatokens/data";

/** The validation sampler's seed of experiments/pretrain.ts. */
const VAL_SEED = 12345;

/** The model variants whose logits are compared. */
const VARIANTS: Record<string, Partial<GptConfig>> = {
  "meta-ape": { posEncoding: "ape", metaAttention: true, bias: true, activation: "gelu" },
  "meta-rope-yarn": {
    posEncoding: "rope",
    metaAttention: true,
    bias: false,
    activation: "relu",
    nHead: 4,
    yarn: { scale: 2, originalContext: 16 },
  },
  "nope": { posEncoding: "none", metaAttention: false, bias: true, activation: "gelu" },
};

/** A tiny model on the GPT-2 vocabulary (the cache holds GPT-2 ids). */
function tinyConfig(overrides: Partial<GptConfig>): GptConfig {
  return gptConfig({ nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32, ...overrides }, "tiny");
}

/**
 * The optimisation settings of the one-step fixture: Table 4's AdamW, clipping and peak learning rate
 * (no warmup, so the first step moves every weight by about 6e-4), two micro-batches per step.
 */
const STEP_OPTIONS: TrainOptions = {
  ...PAPER_TRAIN_OPTIONS,
  steps: 3,
  gradAccum: 2,
  warmup: 0,
  evalEvery: 0,
  evalBatches: 1,
};

const ABLATIONS: Record<string, Ablation> = {
  noPosAtMeta: { noPosAtMeta: true },
  noEmbedAtMeta: { noEmbedAtMeta: true },
  posNoise: { posNoise: 0.5 },
};

/** The seed of the position-noise generator of the `posNoise` ablation. */
const NOISE_SEED = 5;

function writeJson(path: string, value: unknown): Promise<void> {
  return Deno.writeTextFile(path, JSON.stringify(value) + "\n");
}

function batchJson(b: { b: number; t: number; x: Int32Array; y: Int32Array; meta: number[][] }): unknown {
  return { b: b.b, t: b.t, x: Array.from(b.x), y: Array.from(b.y), meta: b.meta };
}

/** A token cache opened from its folder (manifest.json + tokens.bin). */
async function openCacheDir(dir: string): Promise<TokenCache> {
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  return { dir, tokensPath: join(dir, "tokens.bin"), manifest, built: false };
}

async function write(dir: string, corpusFile?: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  // A small corpus: the repository's own documents, or the given text file.
  const root = new URL("..", import.meta.url).pathname;
  const text = corpusFile !== undefined
    ? await Deno.readTextFile(corpusFile)
    : ["README.md", "docs/ARCHITECTURE.md", "EXPERIMENTS.md"]
      .map((f) => Deno.readTextFileSync(join(root, f))).join("\n\n");
  await Deno.writeTextFile(join(dir, "corpus.txt"), text);
  const cache = await openCorpus(join(dir, "corpus.txt"), {
    cacheDir: join(dir, "cache"),
    blockSize: 32,
    valFraction: 0.1,
  });

  // Batches: meta on and off, three in a row, and the cursor after them.
  const batches: Record<string, unknown> = {};
  for (const meta of [true, false]) {
    const source = await TokenBatchSource.open(cache, "train", {
      batchSize: 3,
      blockSize: 32,
      seed: 7,
      meta,
    });
    const list = [source.next(), source.next(), source.next()].map(batchJson);
    batches[meta ? "meta" : "plain"] = {
      seed: 7,
      batchSize: 3,
      blockSize: 32,
      batches: list,
      state: source.state(),
    };
  }
  await writeJson(join(dir, "batches.json"), batches);

  // Logits and loss of each variant on one batch, plain and ablated.
  for (const [name, overrides] of Object.entries(VARIANTS)) {
    const config = tinyConfig(overrides);
    const out = join(dir, name);
    const source = await TokenBatchSource.open(cache, "val", {
      batchSize: 2,
      blockSize: 32,
      seed: 99,
      meta: true, // meta tokens in the input even without meta-attention: they are ordinary ids then
    });
    const batch = source.next();
    using model = new Gpt(config, new Rng(3));
    const trainer = new Trainer(model, source, null, STEP_OPTIONS, 1337);
    await saveCheckpoint(join(out, "checkpoint"), await trainer.checkpoint());
    trainer.dispose();
    const tensors: StateDict = {};
    const run = (key: string, b: Batch, ablation?: Ablation): void => {
      const rng = new Rng(NOISE_SEED);
      noGrad(() =>
        scope(() => {
          const { logits, loss } = model.forward(b, { ablation, rng });
          const t = (logits ?? loss)!;
          tensors[key] = { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
        })
      );
    };
    const { y, ...inputs } = batch;
    run("logits", inputs);
    run("loss", batch);
    for (const [key, ablation] of Object.entries(ABLATIONS)) run(`logits.${key}`, inputs, ablation);
    await Deno.writeFile(join(out, "logits.safetensors"), encodeSafetensors(tensors));
    await writeJson(join(out, "batch.json"), {
      ...(batchJson(batch) as object),
      noiseSeed: NOISE_SEED,
      y: Array.from(y),
    });
  }

  // One training step from a step-0 checkpoint.
  const config = tinyConfig(VARIANTS["meta-ape"]);
  const train = await TokenBatchSource.open(cache, "train", { batchSize: 2, blockSize: 32, seed: 1337 });
  const val = await TokenBatchSource.open(cache, "val", { batchSize: 2, blockSize: 32, seed: VAL_SEED });
  using model = new Gpt(config, new Rng(11));
  using trainer = new Trainer(model, train, val, STEP_OPTIONS, 1337);
  const run = { batchSize: 2, seed: 1337 };
  const ckpt0 = await trainer.checkpoint();
  await saveCheckpoint(join(dir, "train", "step0"), {
    ...ckpt0,
    trainerState: { ...ckpt0.trainerState, run },
  });
  const info = await trainer.step();
  const ckpt1 = await trainer.checkpoint();
  await saveCheckpoint(join(dir, "train", "step1"), {
    ...ckpt1,
    trainerState: { ...ckpt1.trainerState, run },
  });
  await writeJson(join(dir, "train", "step1.json"), info);
  console.log(`wrote fixtures to ${dir} (step 1 loss ${info.loss})`);
}

async function resume(ckptDir: string, cacheDir: string, out: string): Promise<void> {
  const ckpt = await loadCheckpoint(ckptDir);
  const config = checkpointConfig(ckpt.config);
  const state = ckpt.trainerState as { options: TrainOptions; run?: { batchSize?: number; seed?: number } };
  const cache = await openCacheDir(cacheDir);
  const batchSize = state.run?.batchSize ?? 2;
  const seed = state.run?.seed ?? 1337;
  const options = { blockSize: config.blockSize, batchSize, meta: config.metaAttention };
  const train = await TokenBatchSource.open(cache, "train", { ...options, seed });
  const val = await TokenBatchSource.open(cache, "val", { ...options, seed: VAL_SEED });
  using model = new Gpt(config, new Rng(0));
  using trainer = new Trainer(model, train, val, state.options, seed);
  trainer.restore(ckpt);
  const info = await trainer.step();
  const after = await trainer.checkpoint();
  await saveCheckpoint(out, { ...after, trainerState: { ...after.trainerState, run: state.run } });
  console.log(JSON.stringify({ step: info.step, loss: info.loss, lr: info.lr, gradNorm: info.gradNorm }));
}

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  if (command === "write" && (rest.length === 1 || rest.length === 2)) await write(rest[0], rest[1]);
  else if (command === "resume" && rest.length === 3) await resume(rest[0], rest[1], rest[2]);
  else {
    console.error("usage: torch_fixtures.ts write DIR [CORPUS_TXT] | resume CHECKPOINT CACHE_DIR OUT");
    Deno.exit(2);
  }
}
