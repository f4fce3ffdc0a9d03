/**
 * A training run on disk: steps a {@linkcode Trainer}, appends JSONL metrics,
 * evaluates and checkpoints on a cadence, and stops cleanly when asked
 * (Ctrl-C) with a checkpoint written. A loss that turns non-finite or
 * exceeds `maxLoss`, or weights that turn non-finite, stop the run and leave
 * the last checkpoint as it was; the error says which checkpoint is intact.
 * Before the first step, leftovers of killed saves are cleaned up and a
 * checkpoint left half-renamed is recovered ({@linkcode recoverCheckpointDir}).
 *
 * `metrics.jsonl` has one JSON object per line, every key snake_case (as the
 * PyTorch twin `interop/torch/train.py` writes them), each with `time` (ISO
 * 8601) and `type`:
 * - `train`: `step`, `loss` (mean over the step's micro-batches), `lr`,
 *   `grad_norm` (before clipping), `tokens` (in the step), `tokens_per_s`;
 * - `eval`: `step`, `val_loss`;
 * - `checkpoint`: `step`, `dir`.
 *
 * @module
 */

import { join } from "node:path";
import { appendToFile, makeDirs } from "@metatokens/tensor/fs";
import { MODEL_FILE, recoverCheckpointDir, saveCheckpoint } from "./checkpoint.ts";
import { LossSpikeError, NonFiniteLossError, type StepInfo, type Trainer } from "./train.ts";

/** Where and how often a run writes. */
export interface RunOptions {
  /** The run directory: `metrics.jsonl` and `checkpoint/` go inside. */
  outDir: string;
  /** Save every N steps (0: only at the end). */
  checkpointEvery: number;
  /** Called after every step (progress line). */
  onStep?: (info: StepInfo & { tokensPerSecond: number; etaSeconds: number }) => void;
  /** Called after every evaluation. */
  onEval?: (step: number, valLoss: number) => void;
  /** Called after every checkpoint. */
  onCheckpoint?: (dir: string, step: number) => void;
  /** Polled after each step: true saves and stops. */
  shouldStop?: () => boolean;
  /** More JSON to keep in `trainer_state.json` (e.g. the run's settings, for resuming). */
  extraState?: Record<string, unknown>;
  /** Called with what the run tidied before starting (stale save folders removed, a checkpoint recovered). */
  onNotice?: (message: string) => void;
}

/** How a run ended. */
export interface RunResult {
  /** The checkpoint directory. */
  checkpoint: string;
  /** Steps completed. */
  steps: number;
  /** Validation losses by step, the first at the run's start. */
  valLosses: [number, number][];
  /** Whether the run stopped early because it was asked to. */
  stopped: boolean;
}

/**
 * Runs `trainer` to its `steps`, writing into `options.outDir`.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig, PAPER_TRAIN_OPTIONS, runTraining, Trainer } from "@metatokens/model";
 * const config = gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 8, vocabSize: 32, metaTokenId: 31 });
 * const x = Int32Array.from({ length: 8 }, (_, i) => i);
 * const source = { next: () => ({ b: 1, t: 8, x, y: x.map((v) => v + 1) }), state: () => null, restore: () => {} };
 * const trainer = new Trainer(new Gpt(config, new Rng(0)), source, source, { ...PAPER_TRAIN_OPTIONS, steps: 3, gradAccum: 1, warmup: 0, evalEvery: 3, evalBatches: 1 });
 * const dir = Deno.makeTempDirSync();
 * const result = await runTraining(trainer, { outDir: dir, checkpointEvery: 0 });
 * console.log(result.steps, result.valLosses.length); // 3 2
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function runTraining(trainer: Trainer, options: RunOptions): Promise<RunResult> {
  const { outDir } = options;
  // A run that fails before writing anything (a diverged first step, a bad batch) leaves no empty folders.
  const undo = await makeDirs(outDir);
  try {
    const metrics = join(outDir, "metrics.jsonl");
    const checkpoint = join(outDir, "checkpoint");
    const log = (row: Record<string, unknown>): Promise<void> =>
      appendToFile(metrics, JSON.stringify({ time: new Date().toISOString(), ...row }) + "\n");
    for (const note of await recoverCheckpointDir(checkpoint)) options.onNotice?.(note);
    // The step of the checkpoint on disk that this run may rely on: the one it resumed from, or its own saves.
    let saved: number | null = trainer.stepCount > 0 && await Deno.stat(join(checkpoint, MODEL_FILE)).then(
        () => true,
        () => false,
      )
      ? trainer.stepCount
      : null;
    const valLosses: [number, number][] = [];
    const evaluate = async (): Promise<void> => {
      if (!trainer.val) return;
      const loss = await trainer.evaluate();
      valLosses.push([trainer.stepCount, loss]);
      await log({ type: "eval", step: trainer.stepCount, val_loss: loss });
      options.onEval?.(trainer.stepCount, loss);
    };
    const save = async (): Promise<void> => {
      const ckpt = await trainer.checkpoint();
      ckpt.trainerState = { ...ckpt.trainerState, ...options.extraState };
      await saveCheckpoint(checkpoint, ckpt);
      saved = trainer.stepCount;
      await log({ type: "checkpoint", step: trainer.stepCount, dir: checkpoint });
      options.onCheckpoint?.(checkpoint, trainer.stepCount);
    };
    const { steps, evalEvery } = trainer.options;
    if (trainer.stepCount === 0 && evalEvery > 0) await evaluate();
    const started = performance.now(), startStep = trainer.stepCount;
    let tokens = 0;
    while (trainer.stepCount < steps) {
      let info: StepInfo;
      try {
        info = await trainer.step();
      } catch (e) {
        if (e instanceof NonFiniteLossError || e instanceof LossSpikeError) {
          e.message += saved === null
            ? "; no checkpoint of this run was written"
            : `; the last checkpoint "${checkpoint}" (step ${saved}) is intact`;
        }
        throw e;
      }
      tokens += info.tokens;
      const seconds = (performance.now() - started) / 1000;
      const tokensPerSecond = tokens / seconds;
      const etaSeconds = ((steps - info.step) * seconds) / (info.step - startStep);
      await log({
        type: "train",
        step: info.step,
        loss: info.loss,
        lr: info.lr,
        grad_norm: info.gradNorm,
        tokens: info.tokens,
        tokens_per_s: tokensPerSecond,
      });
      options.onStep?.({ ...info, tokensPerSecond, etaSeconds });
      const last = trainer.stepCount === steps;
      if (evalEvery > 0 && (info.step % evalEvery === 0 || last)) await evaluate();
      if (options.shouldStop?.()) {
        await save();
        return { checkpoint, steps: trainer.stepCount, valLosses, stopped: true };
      }
      if (last || (options.checkpointEvery > 0 && info.step % options.checkpointEvery === 0)) await save();
    }
    return { checkpoint, steps: trainer.stepCount, valLosses, stopped: false };
  } catch (e) {
    await undo();
    throw e;
  }
}
