/**
 * The List Recall bisection of EXPERIMENTS.md (issue 12): fine-tunes one
 * model from random initialisation on phase-1 List Recall with the project's
 * `Gpt` and `Trainer` and prints the first-answer-token accuracy on fresh
 * prompts every `--eval-every` steps — in the paper's GPT-2 text form through
 * the project's `TaskBatchSource` (the default), or in a compact 256-id
 * vocabulary (`--form compact`: 20 categories × 10 items, `:`, newline, `Q`,
 * 16 index tokens, `_PAUSE_`, end; the same task logic) to take the GPT-2
 * text out of the comparison. At the end a text-form run is also scored by
 * the experiments package's `evaluate` (greedy decoding, exact match).
 *
 * ```sh
 * deno run -A _tools/bisect_list_recall.ts [--form text|compact] [--layers 2] [--width 128] [--heads 4]
 *   [--batch 16] [--lr 1e-3] [--warmup 20] [--n 20000] [--steps 1000] [--eval-every 250] [--n-eval 200]
 *   [--meta true|false] [--pos rope|ape] [--seed 0]
 * ```
 *
 * Rows of the EXPERIMENTS.md table: `--form compact` (1), `--form compact --meta false --pos ape` (2),
 * the defaults (4), `--layers 4 --width 256 --batch 8 --lr 3e-4 --warmup 10 --n 2000` (5) and
 * `--layers 4 --width 256 --batch 8` (6).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { noGrad, Rng, scope } from "../tensor/mod.ts";
import { type Batch, Gpt, gptConfig, PAPER_TRAIN_OPTIONS, Trainer } from "../model/mod.ts";
import { encodeExample, generateDataset, TaskBatchSource } from "../tasks/mod.ts";
import { evaluate } from "../experiments/mod.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: Object.fromEntries(
    [
      "form",
      "layers",
      "width",
      "heads",
      "batch",
      "lr",
      "warmup",
      "n",
      "steps",
      "eval-every",
      "n-eval",
      "meta",
      "pos",
      "seed",
    ]
      .map((k) => [k, { type: "string" as const }]),
  ),
  strict: true,
});
const num = (k: string, d: number): number => {
  const v = a[k] === undefined ? d : Number(a[k]);
  if (!Number.isFinite(v)) throw new RangeError(`Cannot use --${k} ${a[k]}: expected a number`);
  return v;
};
const form = a.form ?? "text";
if (form !== "text" && form !== "compact") {
  throw new RangeError(`Cannot use --form ${form}: expected text or compact`);
}
const seed = num("seed", 0), steps = num("steps", 1000), evalEvery = num("eval-every", 250);
const batchSize = num("batch", 16), meta = (a.meta ?? "true") === "true";

/** An example as ids: the prompt, and the answer's first token (what accuracy is scored on). */
interface Ids {
  prompt: number[];
  answer: number;
}

// The compact form: ids 0–19 categories, 20–219 items (10 per category), 220–235 indices, then punctuation.
const CAT = 0, ITEM = 20, INDEX = 220, COLON = 237, NEWLINE = 238, Q = 239, PAUSE = 240, END = 241;
const rng = new Rng(seed + 99);
const pick = (lo: number, hi: number): number => lo + Math.floor(rng.uniform() * (hi - lo + 1));
/** m ∈ U(3–8) lists of n ∈ U(3–10) items, `_PAUSE_` after item j of the target, then `Q <cat> <j> _PAUSE_`. */
function compactExample(): Ids {
  const m = pick(3, 8), cats: number[] = [];
  while (cats.length < m) {
    const c = pick(0, 19);
    if (!cats.includes(c)) cats.push(c);
  }
  const target = pick(0, m - 1), prompt: number[] = [];
  let answer = -1, j = 0;
  cats.forEach((c, list) => {
    const n = pick(3, 10);
    if (list === target) j = pick(1, n);
    prompt.push(CAT + c, COLON);
    for (let k = 1; k <= n; k++) {
      const item = ITEM + 10 * c + pick(0, 9);
      prompt.push(item);
      if (list === target && k === j) prompt.push(PAUSE), answer = item;
    }
    prompt.push(NEWLINE);
  });
  prompt.push(Q, CAT + cats[target], INDEX + j, PAUSE);
  return { prompt, answer };
}

const config = gptConfig({
  nLayer: num("layers", 2),
  nHead: num("heads", 4),
  nEmbd: num("width", 128),
  blockSize: 512,
  posEncoding: a.pos ?? "rope",
  metaAttention: meta,
  ...(form === "compact" ? { vocabSize: 256, metaTokenId: PAUSE } : {}),
}, "tiny");
using model = new Gpt(config, new Rng(seed));

// Training batches: the project's TaskBatchSource (text), or the same completion-only layout (compact).
const n = num("n", 20_000);
const textExamples = form === "text" ? generateDataset("list-recall", 1, n, seed + 1) : [];
const compactRows = form === "compact" ? Array.from({ length: n }, compactExample) : [];
const source = form === "text" ? new TaskBatchSource(textExamples, { batchSize, maxLength: 256, seed }) : {
  next(): Batch {
    const rows = Array.from({ length: batchSize }, () => compactRows[Math.floor(rng.uniform() * n)]);
    const t = Math.max(...rows.map((r) => r.prompt.length + 1));
    const x = new Int32Array(batchSize * t).fill(END), y = new Int32Array(batchSize * t).fill(-1);
    rows.forEach(({ prompt, answer }, b) => {
      const seq = [...prompt, answer, END];
      for (let i = 0; i + 1 < seq.length; i++) {
        x[b * t + i] = seq[i];
        if (i + 1 >= prompt.length) y[b * t + i] = seq[i + 1]; // the answer and the end token
      }
    });
    return { b: batchSize, t, x, y };
  },
  state: () => null,
  restore: () => {},
};
using trainer = new Trainer(model, source, null, {
  ...PAPER_TRAIN_OPTIONS,
  steps,
  gradAccum: 1,
  lr: num("lr", 1e-3),
  minLr: num("lr", 1e-3) / 10,
  warmup: num("warmup", 20),
  evalEvery: 0,
  evalBatches: 1,
}, seed);

const testText = form === "text" ? generateDataset("list-recall", 1, num("n-eval", 200), seed + 4242) : [];
const test: Ids[] = form === "text"
  ? testText.map((e) => {
    const { prompt, answer } = encodeExample(e);
    return { prompt: [...prompt], answer: answer[0] };
  })
  : Array.from({ length: num("n-eval", 200) }, compactExample);

/** Share of test prompts whose argmax at the last position is the answer's first token. */
function accuracy(): number {
  let hits = 0;
  for (const { prompt, answer } of test) {
    const x = Int32Array.from(prompt);
    const row = noGrad(() =>
      scope(() => model.forward({ b: 1, t: x.length, x }, { logitRows: 1 }).logits!.dataSync())
    );
    let best = 0;
    for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
    if (best === answer) hits++;
  }
  return hits / test.length;
}

const started = performance.now();
let sum = 0, count = 0;
for (let s = 1; s <= steps; s++) {
  sum += (await trainer.step()).loss, count++;
  if (s % evalEvery === 0 || s === steps) {
    console.log(JSON.stringify({
      step: s,
      loss: +(sum / count).toFixed(4),
      accuracy: accuracy(),
      n: test.length,
      seconds: Math.round((performance.now() - started) / 1000),
    }));
    sum = 0, count = 0;
  }
}
if (form === "text") {
  const { bins } = await evaluate(model, testText, { seed: 1 });
  console.log(
    JSON.stringify({
      evaluate: bins.map((b) => ({ bin: b.label, n: b.sequenceN, exact: b.sequenceAccuracy })),
    }),
  );
}
