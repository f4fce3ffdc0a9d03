/**
 * `report.md` of a `reproduce` run: the paper's questions answered from the
 * numbers first (each "yes", "no" or "not significant at this scale", with
 * 95% intervals), then the deviations from the paper, the loss curves,
 * Figure 1, Tables 7–10 (accuracy per length bin, Wilson intervals and n in
 * every cell, the chance level of each bin), Tables 11–14 (ablations at meta
 * tokens, for models above chance at the train length) and Figures 2–3.
 * Every row links to the stage file it comes from.
 *
 * Comparisons pool the seeds of a cell (hits and examples summed) and use
 * Newcombe's interval for a difference of two proportions; the per-seed
 * differences are given beside them (mean, sd, range). Ablations are scored
 * on the same prompts as the full model, so treating them as independent
 * samples makes their intervals conservative.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "@metatokens/tensor/fs";
import type { GptConfig } from "@metatokens/model";
import { type Analysis, groupedBars, lineChart } from "@metatokens/analysis";
import {
  type BinScore,
  differenceInterval,
  excludesZero,
  type Interval,
  lengthBin,
  lengthBinLabel,
  seedSummary,
  wilsonInterval,
} from "@metatokens/tasks";
import type { ChanceLevel, Evaluation } from "./evaluate.ts";
import type { PhaseResult } from "./finetune.ts";
import { ABLATIONS, MODELS, type ScalePlan, TASKS } from "./plan.ts";

/** What the pre-training stage of `reproduce` records (`pretrain/<model>/result.json`). */
export interface PretrainRecord {
  /** Model folder name. */
  model: string;
  /** Every evaluation as [step, validation loss]. */
  valLosses: [number, number][];
  /** Training loss as [step, loss], one point per step (absent in records written before it was kept). */
  trainLosses?: [number, number][];
  /** Wall time of the stage. */
  seconds: number;
}

/** What one (model, task, train length, seed) stage records (`finetune/<model>/<task>/L<len>-seed<s>.json`). */
export interface FinetuneRecord {
  /** Model folder name. */
  model: string;
  /** Task name. */
  task: string;
  /** Maximum train length. */
  trainLength: number;
  /** Seed of the fine-tuning data, batches (and initialisation, without pre-training). */
  seed: number;
  /** The curriculum phases fine-tuned, with their loss curves. */
  phases: PhaseResult[];
  /** Per ablation name (`full` for every model): bins, and examples an APE model had to skip. */
  eval: Record<string, Evaluation>;
  /**
   * Validation loss as [step, loss], steps counted across the phases (absent in records of runs that
   * did not evaluate during fine-tuning; the loss figure says so).
   */
  valLosses?: [number, number][];
  /** Wall time of the stage. */
  seconds: number;
}

/** The prompt lengths actually drawn into one length bin of a test set. */
export interface PromptLengths {
  /** The bin's upper edge. */
  bin: number;
  /** Shortest and longest prompt, in tokens. */
  lo: number;
  hi: number;
  /** Prompts in the bin. */
  n: number;
}

/** What the report is made of. */
export interface ReportInput {
  /** The scale's plan. */
  plan: ScalePlan;
  /** The meta models' config. */
  config: GptConfig;
  /** Its parameters. */
  nParams: number;
  /** Pre-training records, one per model (none without pre-training). */
  pretrained: PretrainRecord[];
  /** Fine-tuning and evaluation records. */
  finetuned: FinetuneRecord[];
  /** Chance level per task and length bin (the best constant answer on the test prompts). */
  chance: Record<string, ChanceLevel[]>;
  /**
   * Per task, the lengths of the test prompts in each bin ({@linkcode promptLengths}); the figures and
   * tables then label a bin by them ("100–128 tokens") instead of by its edge alone ("≤128").
   */
  testLengths?: Record<string, PromptLengths[]>;
}

/**
 * The shortest and longest prompt of each length bin of a test set, ascending by bin.
 *
 * @example
 * ```ts
 * import { promptLengths } from "@metatokens/experiments/report";
 * console.log(promptLengths([{ promptTokens: 120 }, { promptTokens: 101 }, { promptTokens: 140 }]));
 * // [{ bin: 128, lo: 101, hi: 120, n: 2 }, { bin: 256, lo: 140, hi: 140, n: 1 }]
 * ```
 */
export function promptLengths(examples: readonly { promptTokens: number }[]): PromptLengths[] {
  const bins = new Map<number, PromptLengths>();
  for (const { promptTokens: t } of examples) {
    const bin = lengthBin(t), b = bins.get(bin);
    bins.set(
      bin,
      b ? { bin, lo: Math.min(b.lo, t), hi: Math.max(b.hi, t), n: b.n + 1 } : { bin, lo: t, hi: t, n: 1 },
    );
  }
  return [...bins.values()].sort((a, b) => a.bin - b.bin);
}

/** Exact matches and examples of one cell. */
export interface Count {
  hits: number;
  n: number;
}

const pct = (x: number): string => (100 * x).toFixed(1);
const pp = (x: number): string => `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}`;
/** A number with its sign written out, "+3.191" or "−0.710". */
const signed = (x: number, digits = 3): string => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;

/** "95.0 [91.1, 97.4]" in %. */
export function formatInterval(i: Interval): string {
  return `${pct(i.estimate)} [${pct(i.lo)}, ${pct(i.hi)}]`;
}

/** A difference in percentage points with its interval: "+12.5 pp [4.1, 20.3]". */
export function formatDifference(d: Interval): string {
  return `${pp(d.estimate)} pp [${pp(d.lo)}, ${pp(d.hi)}]`;
}

/** The sequence-accuracy count of one bin of an evaluation (null when the bin is absent or unscored). */
export function binCount(bins: readonly BinScore[], bin: number): Count | null {
  const b = bins.find((x) => x.bin === bin);
  return b && b.sequenceN > 0 ? { hits: b.sequenceHits, n: b.sequenceN } : null;
}

/** Sums counts (seeds pooled); null when any is missing. */
export function pooled(counts: readonly (Count | null)[]): Count | null {
  if (counts.length === 0 || counts.some((c) => c === null)) return null;
  return counts.reduce<Count>((s, c) => ({ hits: s.hits + c!.hits, n: s.n + c!.n }), { hits: 0, n: 0 });
}

/** Whether a count is above chance: its Wilson interval lies wholly above the chance accuracy. */
export function aboveChance(c: Count, chance: Count): boolean {
  return wilsonInterval(c.hits, c.n).lo > chance.hits / chance.n;
}

/** "yes" / "no" / "not significant at this scale" for a difference that should be positive. */
export function verdict(d: Interval): string {
  if (!excludesZero(d)) return "not significant at this scale";
  return d.lo > 0 ? "**yes**" : "**no** (the reverse, significantly)";
}

/** One comparison of two cells pooled over seeds, with the per-seed differences beside it. */
function compare(a: Count[], b: Count[]): { d: Interval; perSeed: string } {
  const pa = pooled(a)!, pb = pooled(b)!;
  const d = differenceInterval(pa.hits, pa.n, pb.hits, pb.n);
  let perSeed = "";
  if (a.length > 1 && a.length === b.length) {
    const s = seedSummary(a.map((x, i) => x.hits / x.n - b[i].hits / b[i].n));
    perSeed = `; per seed (n = ${s.n}): mean ${pp(s.mean)} pp, sd ${(100 * s.sd).toFixed(1)}, ` +
      `range ${pp(s.min)} … ${pp(s.max)}`;
  }
  return { d, perSeed };
}

/** Mean and 95% t interval of a sample (per-position analysis values). */
function sampleInterval(values: readonly number[]): Interval & { n: number } {
  const s = seedSummary(values);
  return { estimate: s.mean, lo: s.lo, hi: s.hi, n: s.n };
}

/** Moving means of a loss curve, one point per `every` steps. */
function smoothed(losses: readonly number[], every: number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < losses.length; i += every) {
    const w = losses.slice(i, i + every);
    out.push({ x: i + w.length, y: w.reduce((s, v) => s + v, 0) / w.length });
  }
  return out;
}

/** Writes `report.md` and its figures into `out`; returns the report's path. */
export async function writeReport(out: string, r: ReportInput): Promise<string> {
  const { plan, config } = r;
  const label = (name: string): string => MODELS.find((m) => m.name === name)!.label;
  const L = plan.trainLengths;
  const bins = plan.eval.bins;
  const records = (model: string, task: string, trainLength: number): FinetuneRecord[] =>
    r.finetuned.filter((f) => f.model === model && f.task === task && f.trainLength === trainLength)
      .sort((a, b) => a.seed - b.seed);
  const counts = (fs: FinetuneRecord[], ablation: string, bin: number): Count[] | null => {
    const cs = fs.map((f) => (f.eval[ablation] ? binCount(f.eval[ablation].bins, bin) : null));
    return cs.length > 0 && cs.every((c) => c !== null) ? cs as Count[] : null;
  };
  const chanceOf = (task: string, bin: number): Count | null => {
    const c = r.chance[task]?.find((x) => x.bin === bin);
    return c ? { hits: c.hits, n: c.n } : null;
  };
  /** A test bin as its prompts' lengths ("100–128 tokens"), or by its edge ("≤128") without them. */
  const binLabel = (task: string, bin: number): string => {
    const l = r.testLengths?.[task]?.find((x) => x.bin === bin);
    return l ? (l.lo === l.hi ? `${l.lo} tokens` : `${l.lo}–${l.hi} tokens`) : lengthBinLabel(bin);
  };
  const learned = (model: string, task: string, trainLength: number): boolean => {
    const c = pooled(counts(records(model, task, trainLength), "full", trainLength) ?? []);
    const ch = chanceOf(task, trainLength);
    return c !== null && ch !== null && aboveChance(c, ch);
  };
  const seedsNote = plan.seeds.tasks.length > 0
    ? `seeds ${plan.seeds.values.join(", ")} for ${plan.seeds.tasks.join(", ")}, seed ${
      plan.seeds.values[0]
    } for the other tasks`
    : `seed ${plan.seeds.values[0]}`;
  const f = plan.finetune;
  const lines: string[] = [
    `# Language Modeling with Learned Meta-Tokens — reproduction at scale \`${plan.scale}\``,
    "",
    `Written by \`deno task reproduce --scale ${plan.scale}\` (${new Date().toISOString().slice(0, 10)}). ` +
    `Scale: ${plan.purpose}.`,
    "",
    `Models: ${MODELS.map((m) => m.label).join(", ")}: ${config.nLayer} layers, width ${config.nEmbd}, ` +
    `${config.nHead} heads, context ${config.blockSize}, ${(r.nParams / 1e6).toFixed(1)}M parameters with ` +
    `meta-attention. ` +
    (plan.pretrain
      ? `Pre-training: ${plan.pretrain.steps} steps of ${plan.pretrain.batchSize} × ${config.blockSize} tokens ` +
        `per model on the same data. `
      : "No pre-training: every model starts from its random initialisation. ") +
    `Fine-tuning: ${f.steps} steps × ${f.batchSize} examples per curriculum phase at train length ` +
    `${L.join(", ")} (lr ${f.lr} → ${f.minLr}), ${seedsNote}. Test sets: ${plan.eval.n} prompts in each ` +
    `length bin ${bins.map(lengthBinLabel).join(", ")}, the same for every model. Cells read ` +
    `"sequence accuracy % [95% Wilson interval]" with n; a difference is called only when its 95% interval ` +
    `(Newcombe) excludes zero.`,
    "",
  ];

  // --- The answers, from the numbers.
  const answers: string[] = ["## The paper's questions, answered at this scale", ""];
  const baseline = MODELS.find((m) => !m.meta)!;
  answers.push(
    "**1. Does meta-attention beat the GPT-2 baseline at the train length and at 2× it?** " +
      "(Fig. 1, Tables 7–10; sequence accuracy, meta model − baseline, seeds pooled)",
    "",
  );
  for (const task of TASKS) {
    for (const trainLength of L) {
      for (const m of MODELS.filter((m) => m.meta)) {
        for (const bin of [trainLength, 2 * trainLength].filter((b) => bins.includes(b))) {
          const a = counts(records(m.name, task.name, trainLength), "full", bin);
          const b = counts(records(baseline.name, task.name, trainLength), "full", bin);
          if (!a || !b) continue;
          const { d, perSeed } = compare(a, b);
          const pa = pooled(a)!, pb = pooled(b)!;
          answers.push(
            `- ${task.label}, train ≤ ${trainLength}, test ${binLabel(task.name, bin)} (${
              bin / trainLength
            }×): ${m.label} ${formatInterval(wilsonInterval(pa.hits, pa.n))} (n = ${pa.n}) vs ` +
              `${baseline.label} ${formatInterval(wilsonInterval(pb.hits, pb.n))} (n = ${pb.n}): ` +
              `Δ ${formatDifference(d)} — ${verdict(d)}${perSeed}.`,
          );
        }
      }
    }
  }
  answers.push(
    "",
    "**2. Does zeroing the positional encoding at the meta tokens help beyond the train length?** " +
      "(Table 2, Tables 11–14; No Pos − Full, for meta models above chance at the train length)",
    "",
  );
  let ablationAnswers = 0;
  for (const task of TASKS) {
    for (const trainLength of L) {
      for (const m of MODELS.filter((m) => m.meta)) {
        if (!learned(m.name, task.name, trainLength)) continue;
        for (const bin of bins.filter((b) => b > trainLength)) {
          const fs = records(m.name, task.name, trainLength);
          const a = counts(fs, "no-pos", bin), b = counts(fs, "full", bin);
          if (!a || !b) continue;
          const { d, perSeed } = compare(a, b);
          ablationAnswers++;
          answers.push(
            `- ${task.label}, ${m.label}, train ≤ ${trainLength}, test ${binLabel(task.name, bin)}: No Pos ` +
              `${formatInterval(wilsonInterval(pooled(a)!.hits, pooled(a)!.n))} vs Full ` +
              `${formatInterval(wilsonInterval(pooled(b)!.hits, pooled(b)!.n))} (n = ${pooled(a)!.n}): ` +
              `Δ ${formatDifference(d)} — ${verdict(d)}${perSeed}.`,
          );
        }
      }
    }
  }
  if (ablationAnswers === 0) {
    answers.push("- No meta model is above chance at its train length on any task: nothing to ablate.");
  }

  // Figures 2–3 numbers.
  const analyses: { m: (typeof MODELS)[number]; a: Analysis }[] = [];
  for (const m of MODELS.filter((m) => m.meta)) {
    try {
      analyses.push({
        m,
        a: JSON.parse(await Deno.readTextFile(join(out, "analysis", m.name, "analysis.json"))),
      });
    } catch {
      // No analysis for this model (a shard, or a plan without it).
    }
  }
  const analysed = plan.analysis.of === "pretrained"
    ? "the pre-trained meta models"
    : `the meta models fine-tuned on List Recall (seed ${plan.seeds.values[0]})`;
  answers.push(
    "",
    `**3. Do meta tokens sharpen the output (Fig. 2)?** Zeroing the meta token's embedding, at every ` +
      `\`_PAUSE_\` of ${plan.analysis.n} List Recall prompts, in ${analysed}: logit boost = top logit as is − ` +
      `top logit zeroed (positive: the meta token raises the top logit; negative: it lowers it); entropy drop ` +
      `= entropy zeroed − entropy as is (positive: the meta token sharpens the distribution; negative: it ` +
      `flattens it). Mean [95% t interval] over meta positions; "yes" when the interval lies above 0.`,
    "",
  );
  for (const { m, a } of analyses) {
    const boost = sampleInterval(a.logitBoost.map((x) => x.logitBoost));
    const drop = sampleInterval(a.logitBoost.map((x) => x.entropyDrop));
    const fmt = (i: Interval): string => `${signed(i.estimate)} [${signed(i.lo)}, ${signed(i.hi)}]`;
    const sign = (i: Interval, reverse: string): string =>
      !excludesZero(i) ? "not significant" : i.lo > 0 ? "**yes**" : `**no** (${reverse}, significantly)`;
    answers.push(
      `- ${m.label} (n = ${boost.n} meta positions): logit boost ${fmt(boost)} — ` +
        `${sign(boost, "the meta token lowers the top logit")}; entropy drop ${fmt(drop)} nats — ` +
        `${sign(drop, "the meta token flattens the distribution")}.`,
    );
  }
  answers.push(
    "",
    "**4. Does the meta token's representation compress the context better than the last token's (Fig. 3)?** " +
      `VIB rate–distortion at each β, rate and distortion the means over the n = ${plan.analysis.vibN} List ` +
      "Recall prompts each head is trained on (one run per β: descriptive, no interval).",
    "",
  );
  for (const { m, a } of analyses) {
    if (!a.vib) continue;
    const better = a.vib.meta.filter((v, i) => v.distortion < a.vib!.lastToken[i].distortion).length;
    answers.push(
      `- ${m.label}: the meta token reaches lower distortion than the last non-meta token at ${better} of ` +
        `${a.vib.meta.length} β values (${
          a.vib.meta.map((v, i) =>
            `β ${v.beta}: ${v.distortion.toFixed(3)} vs ${a.vib!.lastToken[i].distortion.toFixed(3)}`
          ).join("; ")
        } nats).`,
    );
  }
  lines.push(...answers, "");

  lines.push("## Deviations from the paper", "", ...plan.deviations.map((d) => `- ${d}`), "");

  // --- Loss curves of every stage.
  await Deno.mkdir(join(out, "figures"), { recursive: true });
  lines.push("## Loss curves", "");
  if (r.pretrained.length > 0) {
    const file = "figures/loss_pretraining.svg";
    await writeFileAtomic(
      join(out, file),
      await lineChart(
        r.pretrained.flatMap((p) => {
          const train = p.trainLosses ?? [];
          const every = Math.max(1, Math.round(train.length / 50));
          const first = train[0]?.[0] ?? 1;
          return [
            ...(p.valLosses.length > 0
              ? [{ name: `${label(p.model)}, validation`, points: p.valLosses.map(([x, y]) => ({ x, y })) }]
              : []),
            ...(train.length > 0
              ? [{
                name: `${label(p.model)}, train (moving mean)`,
                points: smoothed(train.map(([, y]) => y), every).map((q) => ({ x: q.x + first - 1, y: q.y })),
              }]
              : []),
          ];
        }),
        {
          title: "Pre-training: validation and training loss",
          xLabel: "step",
          yLabel: "loss (nats)",
          legendTitle: "model",
        },
      ),
    );
    lines.push(`![pre-training loss](${file})`, "");
  }
  for (const task of TASKS) {
    const stages = r.finetuned.filter((x) => x.task === task.name).sort((a, b) =>
      a.model.localeCompare(b.model) || a.trainLength - b.trainLength || a.seed - b.seed
    );
    const series = stages.flatMap((x) => {
      const losses = x.phases.flatMap((p) => p.losses ?? []);
      const name = `${label(x.model)}, ≤ ${x.trainLength}, seed ${x.seed}`;
      return [
        // One colour per run: training solid, validation dashed.
        {
          name: `${name}, train (moving mean)`,
          points: smoothed(losses, Math.max(1, Math.round(losses.length / 50))),
          group: name,
          stroke: "solid" as const,
        },
        {
          name: `${name}, validation`,
          points: (x.valLosses ?? []).map(([x, y]) => ({ x, y })),
          group: name,
          stroke: "dashed" as const,
        },
      ];
    }).filter((s) => s.points.length > 0);
    if (series.length === 0) continue;
    // Say which stages have no validation curve rather than let the reader look for one.
    const noVal = stages.filter((x) => (x.valLosses ?? []).length === 0);
    const file = `figures/loss_${task.name}.svg`;
    await writeFileAtomic(
      join(out, file),
      await lineChart(series, {
        title: `${task.label}: fine-tuning loss (answer tokens)`,
        ...(noVal.length === 0 ? {} : {
          subtitle: noVal.length === stages.length
            ? "training loss only: these runs recorded no validation loss"
            : `no validation loss recorded for ${
              noVal.map((x) => `${label(x.model)} (≤ ${x.trainLength}, seed ${x.seed})`).join(", ")
            }`,
        }),
        xLabel: "step",
        yLabel: "loss (nats)",
        legendTitle: "model, train length, seed",
        markers: false,
      }),
    );
    lines.push(`![${task.label} loss](${file})`, "");
  }

  // --- Figure 1: accuracy per bin and model at the first train length, seeds pooled.
  lines.push(`## Figure 1: sequence accuracy per task (train ≤ ${L[0]}, seeds pooled)`, "");
  for (const task of TASKS) {
    const rows = MODELS.flatMap((m) =>
      bins.flatMap((bin) => {
        const c = pooled(counts(records(m.name, task.name, L[0]), "full", bin) ?? []);
        return c
          ? [{ category: binLabel(task.name, bin), series: m.label, n: c.n, value: (100 * c.hits) / c.n }]
          : [];
      })
    );
    if (rows.length === 0) continue;
    const ns = [...new Set(rows.map((x) => x.n))].sort((a, b) => a - b);
    const file = `figures/figure1_${task.name}.svg`;
    await writeFileAtomic(
      join(out, file),
      await groupedBars(rows.map(({ n: _, ...bar }) => bar), {
        title: `${task.label}: sequence accuracy, train ≤ ${L[0]}`,
        subtitle: `n = ${ns.length === 1 ? ns[0] : `${ns[0]}–${ns.at(-1)}`} test prompts a bar` +
          (plan.seeds.tasks.includes(task.name) ? ", seeds pooled" : ""),
        xLabel: "test prompt length",
        yLabel: "accuracy (%)",
        yDomain: [0, 100],
        legendTitle: "model",
      }),
    );
    lines.push(`![${task.label}](${file})`, "");
  }

  // --- Tables 7–10 and 11–14.
  const cell = (c: Count | null): string =>
    c === null ? "n/a" : `${formatInterval(wilsonInterval(c.hits, c.n))}, n = ${c.n}`;
  const header = (task: string): string[] => [
    `| model | ${
      bins.map((bin) => {
        const actual = binLabel(task, bin);
        return actual === lengthBinLabel(bin) ? actual : `${lengthBinLabel(bin)} (${actual})`;
      }).join(" | ")
    } |`,
    `|---|${bins.map(() => "---").join("|")}|`,
  ];
  const link = (x: FinetuneRecord): string =>
    `finetune/${x.model}/${x.task}/L${x.trainLength}-seed${x.seed}.json`;
  TASKS.forEach((task, t) => {
    const rows: string[] = [];
    for (const trainLength of L) {
      for (const m of MODELS) {
        const fs = records(m.name, task.name, trainLength);
        for (const x of fs) {
          rows.push(
            `| [${m.label}, train ≤ ${trainLength}, seed ${x.seed}](${link(x)}) | ${
              bins.map((bin) => cell(binCount(x.eval.full.bins, bin))).join(" | ")
            } |`,
          );
        }
        if (fs.length > 1) {
          rows.push(
            `| **${m.label}, train ≤ ${trainLength}, ${fs.length} seeds pooled** | ${
              bins.map((bin) => cell(pooled(counts(fs, "full", bin) ?? []))).join(" | ")
            } |`,
          );
        }
      }
    }
    const chance = bins.map((bin) => {
      const c = r.chance[task.name]?.find((x) => x.bin === bin);
      return c ? `${pct(c.hits / c.n)} ("${c.answer.slice(0, 20)}"), n = ${c.n}` : "–";
    });
    lines.push(
      `## Table ${7 + t}: ${task.label}, sequence accuracy (%) across test lengths`,
      "",
      ...header(task.name),
      ...rows,
      `| chance (best constant answer) | ${chance.join(" | ")} |`,
      "",
    );
    const skipping = r.finetuned.filter((x) => x.task === task.name && x.eval.full.skipped > 0);
    if (skipping.length > 0) {
      lines.push(
        `Left out (prompt + answer longer than the model's context, an APE limit): ${
          skipping.map((x) => `${x.eval.full.skipped} for ${label(x.model)} (seed ${x.seed})`).join(", ")
        }; their cells count the rest.`,
        "",
      );
    }
    const ablated: string[] = [], skipped: string[] = [];
    for (const trainLength of L) {
      for (const m of MODELS.filter((m) => m.meta)) {
        const fs = records(m.name, task.name, trainLength);
        if (fs.length === 0) continue;
        if (!learned(m.name, task.name, trainLength)) {
          skipped.push(`${m.label} (train ≤ ${trainLength})`);
          continue;
        }
        for (const a of ABLATIONS) {
          ablated.push(
            `| ${m.label}, train ≤ ${trainLength}, ${a.label}${
              fs.length > 1 ? `, ${fs.length} seeds pooled` : ""
            } | ${bins.map((bin) => cell(pooled(counts(fs, a.name, bin) ?? []))).join(" | ")} |`,
          );
        }
      }
    }
    lines.push(`## Table ${11 + t}: ${task.label}, ablations at the meta tokens`, "");
    if (ablated.length > 0) lines.push(...header(task.name), ...ablated, "");
    if (skipped.length > 0) {
      lines.push(
        `Not ablated (at chance at the train length: the Wilson interval does not clear the best constant ` +
          `answer): ${skipped.join(", ")}. Their ablation scores are in the stage files.`,
        "",
      );
    }
  });

  // --- Figures 2 and 3.
  lines.push(`## Figures 2 and 3: inside ${analysed}`, "");
  for (const { m, a } of analyses) {
    const dir = `analysis/${m.name}`;
    const { logitBoost: boost, entropyDrop: drop } = a.means;
    lines.push(
      `### ${m.label}`,
      "",
      `Over n = ${a.logitBoost.length} meta positions of ${a.examples} List Recall prompts, the meta token ` +
        `${boost >= 0 ? "raises" : "lowers"} the top output logit by **${Math.abs(boost).toFixed(3)}** on ` +
        `average and ${drop >= 0 ? "lowers" : "raises"} the output entropy by **${
          Math.abs(drop).toFixed(3)
        } nats** (${drop >= 0 ? "sharpens" : "flattens"} the distribution), measured by zeroing its ` +
        `embedding: logit boost = top logit as is − top logit zeroed = ${signed(boost)}, entropy drop = ` +
        `entropy zeroed − entropy as is = ${signed(drop)} nats ([numbers](${dir}/logit_boost.csv)).`,
      "",
      `![logit boost](${dir}/logit_boost.svg) ![entropy drop](${dir}/entropy_drop.svg)`,
      "",
      `Left: the logit boost at each meta position (positive: the meta token raises the top logit). Right: ` +
        `the entropy drop (positive: the meta token sharpens the distribution). Dashed: the mean.`,
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
        `Means over the n = ${plan.analysis.vibN} List Recall prompts each VIB head is trained on, one head a β; ` +
          `rate the KL of the head's code, distortion the cross-entropy of the answer's first token, both in nats.`,
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
