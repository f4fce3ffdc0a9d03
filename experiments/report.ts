/**
 * `report.md` of a `reproduce` run, laid out like the paper: pre-training,
 * Figure 1 (accuracy per task and model), Tables 7–10 (accuracy per length
 * bin), Tables 11–14 (ablations at meta tokens), Figures 2 and 3 (analysis).
 * Every number links to the stage file it comes from.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "@metatokens/tensor/fs";
import type { GptConfig } from "@metatokens/model";
import { type Analysis, groupedBars } from "@metatokens/analysis";
import type { BinScore } from "@metatokens/tasks";
import type { Evaluation } from "./evaluate.ts";
import type { PhaseResult } from "./finetune.ts";
import { ABLATIONS, MODELS, type ScalePlan, TASKS } from "./plan.ts";

/** What the pre-training stage of `reproduce` records (`pretrain/<model>/result.json`). */
export interface PretrainRecord {
  /** Model folder name. */
  model: string;
  /** Every evaluation as [step, validation loss]. */
  valLosses: [number, number][];
  /** Wall time of the stage. */
  seconds: number;
}

/** What one (model, task, train length) stage records (`finetune/<model>/<task>/L<len>.json`). */
export interface FinetuneRecord {
  /** Model folder name. */
  model: string;
  /** Task name. */
  task: string;
  /** Maximum train length. */
  trainLength: number;
  /** The curriculum phases fine-tuned. */
  phases: PhaseResult[];
  /** Per ablation name (`full` for every model): bins, and examples an APE model had to skip. */
  eval: Record<string, Evaluation>;
  /** Wall time of the stage. */
  seconds: number;
}

/** What the report is made of. */
export interface ReportInput {
  /** The scale's plan. */
  plan: ScalePlan;
  /** The meta models' config. */
  config: GptConfig;
  /** Its parameters. */
  nParams: number;
  /** Pre-training records, one per model. */
  pretrained: PretrainRecord[];
  /** Fine-tuning and evaluation records. */
  finetuned: FinetuneRecord[];
}

const pct = (
  x: number | null | undefined,
): string => (x === null || x === undefined ? "–" : (100 * x).toFixed(1));

/** Sequence accuracy pooled over the bins of prompts ≤ `limit` tokens (null without examples). */
export function pooledAccuracy(bins: readonly BinScore[], limit: number): number | null {
  let n = 0, correct = 0;
  for (const b of bins) {
    if (b.bin > limit || b.sequenceAccuracy === null) continue;
    n += b.count;
    correct += b.sequenceAccuracy * b.count;
  }
  return n > 0 ? correct / n : null;
}

function binTable(
  rows: { label: string; bins: BinScore[]; skipped: number; link: string }[],
  allBins: number[],
  labels: Map<number, string>,
): string[] {
  return [
    `| model | ${allBins.map((b) => labels.get(b)).join(" | ")} |`,
    `|---|${allBins.map(() => "---").join("|")}|`,
    ...rows.map((r) => {
      const cells = allBins.map((bin) => {
        const b = r.bins.find((x) => x.bin === bin);
        return b ? `${pct(b.sequenceAccuracy)} (${pct(b.tokenAccuracy)})` : "n/a";
      });
      return `| [${r.label}](${r.link}) | ${cells.join(" | ")} |`;
    }),
  ];
}

/** Writes `report.md` (and the Figure 1 SVGs) into `out`; returns the report's path. */
export async function writeReport(out: string, r: ReportInput): Promise<string> {
  const { plan, config } = r;
  const label = (name: string): string => MODELS.find((m) => m.name === name)!.label;
  const lines: string[] = [
    `# Language Modeling with Learned Meta-Tokens — reproduction at scale \`${plan.scale}\``,
    "",
    `Written by \`deno task reproduce --scale ${plan.scale}\` (${new Date().toISOString().slice(0, 10)}). ` +
    `Scale: ${plan.purpose}.`,
    "",
    `Models: ${config.nLayer} layers, width ${config.nEmbd}, ${config.nHead} heads, context ${config.blockSize}, ` +
    `${
      (r.nParams / 1e6).toFixed(1)
    }M parameters with meta-attention. Pre-training: ${plan.pretrain.steps} steps ` +
    `of ${plan.pretrain.batchSize} × ${config.blockSize} tokens per model on the same data. Fine-tuning: ` +
    `${plan.finetune.steps} steps × ${plan.finetune.batchSize} examples per curriculum phase at train lengths ` +
    `${plan.trainLengths.join(", ")}. Test sets: ${plan.eval.n} examples from each ` +
    `of curriculum phases ${
      plan.eval.phases.join(", ")
    }, the same for every model. Accuracy cells read "sequence accuracy (teacher-forced token ` +
    `accuracy)" in %; "n/a" marks prompts longer than an APE model's block size.`,
    "",
    "## Pre-training",
    "",
    "| model | validation loss by step | wall time |",
    "|---|---|---|",
    ...r.pretrained.map((p) =>
      `| [${label(p.model)}](pretrain/${p.model}/metrics.jsonl) | ${
        p.valLosses.map(([s, l]) => `${s}: ${l.toFixed(3)}`).join(", ")
      } | ${(p.seconds / 60).toFixed(1)} min |`
    ),
    "",
  ];

  // Figure 1: accuracy on prompts ≤ 512 tokens, per task, by train length and model.
  await Deno.mkdir(join(out, "figures"), { recursive: true });
  lines.push("## Figure 1: accuracy per task (test prompts ≤ 512 tokens)", "");
  for (const task of TASKS) {
    const rows = r.finetuned.filter((f) => f.task === task.name).flatMap((f) => {
      const acc = pooledAccuracy(f.eval.full.bins, 512);
      return acc === null
        ? []
        : [{ category: `train ≤ ${f.trainLength}`, series: label(f.model), value: 100 * acc }];
    });
    if (rows.length === 0) continue;
    const file = `figures/figure1_${task.name}.svg`;
    const svg = await groupedBars(rows, {
      title: `${task.label}: sequence accuracy on test prompts ≤ 512 tokens`,
      xLabel: "maximum fine-tuning length",
      yLabel: "accuracy (%)",
      yDomain: [0, 100],
      legendTitle: "model",
    });
    await writeFileAtomic(join(out, file), svg);
    lines.push(`![${task.label}](${file})`, "");
  }

  // Tables 7–10 and 11–14.
  TASKS.forEach((task, t) => {
    const results = r.finetuned.filter((f) => f.task === task.name);
    const allBins = [
      ...new Set(results.flatMap((f) => Object.values(f.eval).flatMap((e) => e.bins.map((b) => b.bin)))),
    ]
      .sort((a, b) => a - b);
    const labels = new Map(
      results.flatMap((f) => f.eval.full.bins.map((b) => [b.bin, b.label] as [number, string])),
    );
    for (const f of results) {
      for (const e of Object.values(f.eval)) for (const b of e.bins) labels.set(b.bin, b.label);
    }
    const link = (f: FinetuneRecord): string => `finetune/${f.model}/${f.task}/L${f.trainLength}.json`;
    lines.push(
      `## Table ${7 + t}: ${task.label}, accuracy (%) across evaluation lengths`,
      "",
      ...binTable(
        results.map((f) => ({
          label: `${label(f.model)}, train ≤ ${f.trainLength}`,
          bins: f.eval.full.bins,
          skipped: f.eval.full.skipped,
          link: link(f),
        })),
        allBins,
        labels,
      ),
      "",
      `## Table ${11 + t}: ${task.label}, ablations at the meta tokens`,
      "",
      ...binTable(
        results.filter((f) => f.eval["no-pos"]).flatMap((f) =>
          ABLATIONS.map((a) => ({
            label: `${label(f.model)}, train ≤ ${f.trainLength}, ${a.label}`,
            bins: f.eval[a.name].bins,
            skipped: f.eval[a.name].skipped,
            link: link(f),
          }))
        ),
        allBins,
        labels,
      ),
      "",
    );
  });

  // Figures 2 and 3 from the analysis of each pre-trained meta model.
  lines.push("## Figures 2 and 3: inside the pre-trained meta models", "");
  for (const m of MODELS.filter((m) => m.meta)) {
    const dir = `analysis/${m.name}`;
    let a: Analysis;
    try {
      a = JSON.parse(await Deno.readTextFile(join(out, dir, "analysis.json")));
    } catch {
      continue;
    }
    lines.push(
      `### ${m.label}`,
      "",
      `Over ${a.logitBoost.length} meta positions of ${a.examples} List Recall prompts, zeroing the meta ` +
        `token's embedding changes the top output logit by **${a.means.logitBoost.toFixed(3)}** on average ` +
        `(boost) and the output entropy by **${a.means.entropyDrop.toFixed(3)} nats** (drop) ` +
        `([numbers](${dir}/logit_boost.csv)).`,
      "",
      `![logit boost](${dir}/logit_boost.svg) ![entropy drop](${dir}/entropy_drop.svg)`,
      "",
      `![cosine](${dir}/cosine.svg)`,
      "",
      `![causal attention map](${dir}/attention_map_causal.svg) ![meta attention map](${dir}/attention_map_meta.svg)`,
      "",
      `![attention entropy](${dir}/attention_entropy.svg)`,
      "",
      `![residual stream](${dir}/residual_pca.svg)`,
      "",
    );
    if (a.vib) {
      lines.push(
        `![rate–distortion](${dir}/rate_distortion.svg)`,
        "",
        "| β | rate, meta token | distortion, meta token | rate, last token | distortion, last token |",
        "|---|---|---|---|---|",
        ...a.vib.meta.map((v, i) => {
          const l = a.vib!.lastToken[i];
          return `| ${v.beta} | ${v.rate.toFixed(2)} | ${v.distortion.toFixed(3)} | ${l.rate.toFixed(2)} | ${
            l.distortion.toFixed(3)
          } |`;
        }),
        "",
      );
    }
  }
  const path = join(out, "report.md");
  await writeFileAtomic(path, lines.join("\n"));
  return path;
}
