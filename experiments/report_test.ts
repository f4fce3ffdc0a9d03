import assert from "node:assert/strict";
import { textOutside } from "../analysis/_svg_text.ts";
import { METRIC_LABELS } from "@metatokens/tasks";
import { MODELS, SCALES } from "./plan.ts";
import {
  aboveChance,
  binCount,
  type FinetuneRecord,
  formatDifference,
  formatInterval,
  pooled,
  promptLengths,
  verdict,
  writeReport,
} from "./report.ts";
import { parameterCount, planConfig } from "./describe_plan.ts";

const bin = (b: number, hits: number, n: number) => ({
  bin: b,
  label: `≤${b}`,
  count: n,
  sequenceAccuracy: n > 0 ? hits / n : null,
  sequenceHits: hits,
  sequenceN: n,
  tokenAccuracy: n > 0 ? hits / n : null,
  metrics: METRIC_LABELS,
});

Deno.test("report cells: counts per bin, seeds pooled, chance and verdicts from the intervals", () => {
  const bins = [bin(128, 180, 200), bin(256, 0, 0)];
  assert.deepEqual(binCount(bins, 128), { hits: 180, n: 200 });
  assert.equal(binCount(bins, 256), null, "an unscored bin has no count");
  assert.equal(binCount(bins, 512), null);
  assert.deepEqual(pooled([{ hits: 1, n: 2 }, { hits: 3, n: 4 }]), { hits: 4, n: 6 });
  assert.equal(pooled([{ hits: 1, n: 2 }, null]), null);
  assert.ok(aboveChance({ hits: 120, n: 200 }, { hits: 100, n: 200 }));
  assert.ok(!aboveChance({ hits: 108, n: 200 }, { hits: 100, n: 200 }), "54% is not clear of a 50% chance");
  assert.equal(verdict({ estimate: 0.3, lo: 0.1, hi: 0.5 }), "**yes**");
  assert.equal(verdict({ estimate: 0.05, lo: -0.02, hi: 0.12 }), "not significant at this scale");
  assert.match(verdict({ estimate: -0.3, lo: -0.5, hi: -0.1 }), /^\*\*no\*\*/);
  assert.equal(formatInterval({ estimate: 0.9, lo: 0.851, hi: 0.934 }), "90.0 [85.1, 93.4]");
  assert.equal(formatDifference({ estimate: -0.125, lo: -0.2, hi: -0.05 }), "−12.5 pp [−20.0, −5.0]");
});

Deno.test("promptLengths: the shortest and longest prompt of each bin, bins ascending", () => {
  assert.deepEqual(promptLengths([{ promptTokens: 140 }, { promptTokens: 120 }, { promptTokens: 101 }]), [
    { bin: 128, lo: 101, hi: 120, n: 2 },
    { bin: 256, lo: 140, hi: 140, n: 1 },
  ]);
  assert.deepEqual(promptLengths([]), []);
});

Deno.test("writeReport: answers first, n and intervals in every cell, ablations only above chance", async () => {
  const plan = { ...SCALES.tiny, seeds: { values: [0, 1], tasks: ["list-recall" as const] } };
  const record = (model: string, seed: number, hits: [number, number], ablation = hits): FinetuneRecord => ({
    model,
    task: "list-recall",
    trainLength: 128,
    seed,
    phases: [{ phase: 1, examples: 10, loss: 0.1, losses: [2, 1, 0.5, 0.1], valLosses: [] }],
    eval: {
      full: { bins: [bin(128, hits[0], 200), bin(256, hits[1], 200)], skipped: 0 },
      ...(model === "gpt2-ape"
        ? {}
        : { "no-pos": { bins: [bin(128, ablation[0], 200), bin(256, ablation[1], 200)], skipped: 0 } }),
    },
    seconds: 1,
  });
  const out = await Deno.makeTempDir();
  // The committed tiny report's analysis of the APE meta model: its mean logit boost is negative.
  await Deno.mkdir(`${out}/analysis/meta-ape`, { recursive: true });
  await Deno.copyFile(
    new URL("../docs/reproduce-tiny/analysis/meta-ape/analysis.json", import.meta.url),
    `${out}/analysis/meta-ape/analysis.json`,
  );
  const config = planConfig(plan);
  await writeReport(out, {
    plan,
    config,
    nParams: parameterCount(config),
    pretrained: [{
      model: "meta-rope",
      valLosses: [[0, 10.9], [20, 7.5], [40, 6.1]],
      trainLosses: Array.from({ length: 40 }, (_, i) => [i + 1, 10.8 - i * 0.12] as [number, number]),
      seconds: 1,
    }],
    finetuned: [
      { ...record("gpt2-ape", 0, [20, 2]), valLosses: [[2, 1.5], [4, 0.9]] },
      record("gpt2-ape", 1, [24, 4]),
      record("meta-rope", 0, [195, 150], [196, 190]),
      record("meta-rope", 1, [190, 140], [190, 180]),
      record("meta-ape", 0, [3, 1]),
      record("meta-ape", 1, [2, 0]),
    ],
    chance: {
      "list-recall": [{ bin: 128, answer: "dog", hits: 5, n: 200 }, {
        bin: 256,
        answer: "dog",
        hits: 6,
        n: 200,
      }],
    },
    testLengths: {
      "list-recall": [{ bin: 128, lo: 100, hi: 128, n: 200 }, { bin: 256, lo: 129, hi: 250, n: 200 }],
    },
  });
  const md = await Deno.readTextFile(`${out}/report.md`);
  // Pre-training loss curves: validation and training, every label inside the figure.
  const pretrainSvg = await Deno.readTextFile(`${out}/figures/loss_pretraining.svg`);
  for (const name of ["Meta-attention (RoPE), validation", "Meta-attention (RoPE), train (moving mean)"]) {
    assert.ok(pretrainSvg.includes(`>${name}</text>`), name);
  }
  assert.deepEqual(textOutside(pretrainSvg), []);
  const answers = md.slice(md.indexOf("## The paper's questions"), md.indexOf("## Deviations"));
  assert.match(
    answers,
    /List Recall, train ≤ 128, test 100–128 tokens \(1×\): Meta-attention \(RoPE\) 96\.3 \[[\d.]+, [\d.]+\] \(n = 400\) vs GPT-2 \(APE\) 11\.0 .*— \*\*yes\*\*; per seed \(n = 2\)/,
  );
  assert.match(
    answers,
    /Meta-attention \(APE\) 1\.3 .* — \*\*no\*\*/,
    "the APE meta model is worse than baseline",
  );
  assert.match(
    answers,
    /Meta-attention \(RoPE\), train ≤ 128, test 129–250 tokens: No Pos 92\.5 .* — \*\*yes\*\*/,
  );
  assert.doesNotMatch(
    answers,
    /Meta-attention \(APE\), train ≤ 128, test 129–250 tokens: No Pos/,
    "at chance: not ablated",
  );
  assert.match(
    md,
    /\| \[Meta-attention \(RoPE\), train ≤ 128, seed 1\]\(finetune\/meta-rope\/list-recall\/L128-seed1\.json\) \| 95\.0 \[[\d.]+, [\d.]+\], n = 200 \|/,
  );
  assert.match(
    md,
    /\*\*Meta-attention \(RoPE\), train ≤ 128, 2 seeds pooled\*\* \| 96\.3 \[[\d.]+, [\d.]+\], n = 400/,
  );
  // n in every cell, the chance row's too; bins named by the test prompts' actual lengths.
  assert.match(
    md,
    /\| chance \(best constant answer\) \| 2\.5 \("dog"\), n = 200 \| 3\.0 \("dog"\), n = 200 \|/,
  );
  assert.ok(md.includes("| model | ≤128 (100–128 tokens) | ≤256 (129–250 tokens) |"));
  const tables = md.split("\n## ").filter((section) => section.startsWith("Table ")).join("\n");
  for (const row of tables.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| model"))) {
    for (const cell of row.split(" | ").slice(1)) assert.match(cell, /n = \d+|^n\/a|^–/, row);
  }
  assert.match(md, /Not ablated \(at chance .*\): Meta-attention \(APE\) \(train ≤ 128\)/);
  assert.ok(md.includes("## Deviations from the paper\n\n- No pre-training"));
  for (const m of MODELS) assert.ok(md.includes(m.label));
  // Figure 1: bars labelled by the actual prompt lengths, n in the subtitle.
  const figure1 = await Deno.readTextFile(`${out}/figures/figure1_list-recall.svg`);
  assert.ok(figure1.includes(">100–128 tokens</text>") && figure1.includes(">129–250 tokens</text>"));
  assert.ok(figure1.includes(">n = 400 test prompts a bar, seeds pooled</text>"));
  assert.doesNotMatch(figure1, />(test )?≤\d+<\/text>/, "no bin edge where the lengths are known");
  // Fine-tuning loss: train and validation per stage, and which stages lack a validation curve.
  const loss = await Deno.readTextFile(`${out}/figures/loss_list-recall.svg`);
  for (
    const name of [
      "GPT-2 (APE), ≤ 128, seed 0, validation",
      "Meta-attention (RoPE), ≤ 128, seed 1, train (moving mean)",
    ]
  ) {
    assert.ok(loss.includes(`>${name}</text>`), name);
  }
  assert.ok(!loss.includes("seed 1, validation<"), "no validation entry for a stage without one");
  assert.match(loss, />no validation loss recorded for GPT-2 \(APE\) \(≤ 128, seed 1\), Meta-attention/);
  for (const svg of [figure1, loss]) assert.deepEqual(textOutside(svg), []);
  // The sign convention in words: a negative boost is a lowered logit, not "lowers by −0.710".
  const fig2 = md.slice(md.indexOf("### Meta-attention (APE)"));
  assert.match(
    fig2,
    /the meta token lowers the top output logit by \*\*0\.710\*\* on average and lowers the output entropy by \*\*0\.119 nats\*\* \(sharpens the distribution\)/,
  );
  assert.ok(fig2.includes("logit boost = top logit as is − top logit zeroed = −0.710"));
  assert.ok(fig2.includes("entropy drop = entropy zeroed − entropy as is = +0.119 nats"));
  assert.doesNotMatch(md, /by \*\*-/, "no negative amount of a change with a direction");
  assert.match(
    answers,
    /Meta-attention \(APE\) \(n = 40 meta positions\): logit boost −0\.710 \[−0\.860, −0\.559\] — \*\*no\*\* \(the meta token lowers the top logit, significantly\); entropy drop \+0\.119 \[−0\.071, \+0\.309\] nats — not significant/,
  );
  assert.match(answers, /positive: the meta token raises the top logit; negative: it lowers it/);
  await Deno.remove(out, { recursive: true });
});
