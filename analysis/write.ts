/**
 * Writes an {@linkcode Analysis} to a folder: `analysis.json` with every
 * number, a CSV per figure, and the SVG figures (Fig. 2 and Fig. 3 of the
 * paper). The folder appears whole or not at all: everything is written into
 * a sibling temporary folder that is renamed into place at the end, so a
 * failed run never leaves a partial analysis that looks complete.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { checkWritableDir, replaceDir, writeNewFileSynced } from "@metatokens/tensor/fs";
import type { Analysis } from "./analyze.ts";
import { toCsv } from "./csv.ts";
import { heatmap, histogram, lineChart, scatter } from "./plot.ts";

/** One file of an analysis folder: its name and what it shows. */
export interface AnalysisFile {
  /** File name inside the folder. */
  name: string;
  /** One line saying what it holds. */
  caption: string;
}

const round = (
  x: number | null,
): number | null => (x === null || !Number.isFinite(x) ? x : +x.toPrecision(6));

/**
 * Writes the figures and numbers of `a` into `dir` (replacing it whole) and
 * returns the files written with their captions.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { generateDataset } from "@metatokens/tasks";
 * import { analyzeModel, writeAnalysis } from "@metatokens/analysis";
 * const model = new Gpt(gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 256 }), new Rng(0));
 * const a = await analyzeModel(model, generateDataset("parity", 1, 2, 3), { task: "parity" });
 * const files = await writeAnalysis(a, await Deno.makeTempDir() + "/analysis");
 * console.log(files.some((f) => f.name === "logit_boost.svg")); // true
 * ```
 */
export async function writeAnalysis(a: Analysis, dir: string): Promise<AnalysisFile[]> {
  await checkWritableDir(dir);
  const tmp = await Deno.makeTempDir({ dir: dirname(dir), prefix: ".analysis-partial-" });
  const files: AnalysisFile[] = [];
  const put = async (name: string, text: string, caption: string): Promise<void> => {
    await writeNewFileSynced(join(tmp, name), text);
    files.push({ name, caption });
  };
  try {
    const n = a.logitBoost.length;
    for (
      const [name, field, title, xLabel, sign, caption] of [
        [
          "logit_boost",
          "logitBoost",
          "Logit boost at meta tokens",
          "max logit − max logit with the meta embedding zeroed",
          "positive: the meta token raises the top logit; negative: it lowers it",
          "Fig. 2 (left): top output logit as is minus with the meta token's embedding zeroed " +
          "(positive: the meta token raises it)",
        ],
        [
          "entropy_drop",
          "entropyDrop",
          "Entropy drop at meta tokens",
          "entropy with the meta embedding zeroed − entropy as is (nats)",
          "positive: the meta token sharpens the output (lowers its entropy)",
          "Fig. 2 (middle): output entropy with the meta token's embedding zeroed minus as is " +
          "(positive: the meta token sharpens the output; Theorem 4.1)",
        ],
      ] as const
    ) {
      await put(
        `${name}.svg`,
        await histogram(a.logitBoost.map((r) => r[field]), {
          title: `${title} (${a.task}, ${n} positions)`,
          subtitle: sign,
          xLabel,
          yLabel: "meta positions",
        }),
        caption,
      );
    }
    await put(
      "logit_boost.csv",
      toCsv(a.logitBoost.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])))),
      "per meta position: max logit and entropy with and without the meta embedding",
    );

    const layers = a.attentionEntropy;
    const headMean = (xs: (number | null)[]): number | null => {
      const v = xs.filter((x): x is number => x !== null);
      return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
    };
    const series = [
      {
        name: "causal attention, meta queries",
        get: (l: typeof layers[0]) => headMean(l.causal.map((h) => h.meta)),
      },
      {
        name: "causal attention, other queries",
        get: (l: typeof layers[0]) => headMean(l.causal.map((h) => h.nonMeta)),
      },
      {
        name: "meta-attention, meta queries",
        get: (l: typeof layers[0]) => headMean(l.meta.map((h) => h.meta)),
      },
    ].map((s) => ({
      name: s.name,
      points: layers.flatMap((l) => {
        const y = s.get(l);
        return y === null ? [] : [{ x: l.layer, y }];
      }),
    })).filter((s) => s.points.length > 0);
    await put(
      "attention_entropy.svg",
      await lineChart(series, {
        title: "Attention entropy per layer (mean over heads)",
        xLabel: "layer",
        yLabel: "entropy (nats)",
        markers: true,
      }),
      "attention entropy per layer at meta vs other query positions",
    );
    await put(
      "attention_entropy.csv",
      toCsv(layers.flatMap((l) =>
        l.causal.map((h, i) => ({
          layer: l.layer,
          head: h.head,
          causal_meta: round(h.meta),
          causal_other: round(h.nonMeta),
          meta_attention_meta: round(l.meta[i].meta),
        }))
      )),
      "attention entropy per layer and head",
    );

    const { query, metaPositions } = a.focus;
    const ticks = Array.from({ length: query + 1 }, (_, j) => (metaPositions.includes(j) ? `${j}*` : `${j}`));
    const layerTicks = (k: number, offset: number): string[] =>
      Array.from({ length: k }, (_, i) => `${i + offset}`);
    await put(
      "cosine.svg",
      await heatmap(a.cosine, {
        title: `Cosine similarity of the last meta token (position ${query}) to past positions`,
        xLabel: "position (* = meta token)",
        yLabel: "layer (0 = embeddings)",
        xTicks: ticks,
        yTicks: layerTicks(a.cosine.length, 0),
        colorLabel: "cosine",
        domain: [-1, 1],
      }),
      "Fig. 2 (right): residual-stream cosine similarity per layer",
    );
    await put(
      "cosine.csv",
      toCsv(
        a.cosine.flatMap((row, layer) => row.map((v, position) => ({ layer, position, cosine: round(v) }))),
      ),
      "cosine similarity per layer and position",
    );
    for (
      const [kind, map, what] of [
        ["causal", a.causalMap, "causal attention"],
        ["meta", a.metaMap, "meta-attention"],
      ] as const
    ) {
      await put(
        `attention_map_${kind}.svg`,
        await heatmap(map, {
          title: `${what[0].toUpperCase()}${what.slice(1)} of _PAUSE_ at position ${query} (mean over heads)`,
          xLabel: "key position (* = meta token)",
          yLabel: "layer",
          xTicks: ticks,
          yTicks: layerTicks(map.length, 0),
          colorLabel: "attention",
          domain: [0, 1],
        }),
        `${what} of the last _PAUSE_ over earlier positions, per layer`,
      );
    }
    await put(
      "attention_maps.csv",
      toCsv(
        ["causal", "meta"].flatMap((kind) =>
          (kind === "causal" ? a.causalMap : a.metaMap).flatMap((row, layer) =>
            row.map((v, position) => ({ kind, layer, position, attention: round(v) }))
          )
        ),
      ),
      "attention of the last _PAUSE_ per layer and key position",
    );

    const points = a.residualPca.flatMap((l) =>
      l.points.map(([x, y], i) => ({
        x,
        y,
        group: i === query ? "last meta token" : metaPositions.includes(i) ? "meta token" : "text token",
        panel: l.layer,
        label: metaPositions.includes(i) ? `${i}` : undefined,
      }))
    );
    await put(
      "residual_pca.svg",
      await scatter(points, {
        title: "Residual stream per layer (PCA, first two components)",
        xLabel: "PC 1",
        yLabel: "PC 2",
        facet: "layer",
      }),
      "Fig. 3 (left): every position's residual stream per layer, projected on two principal axes",
    );
    await put(
      "residual_pca.csv",
      toCsv(a.residualPca.flatMap((l) =>
        l.points.map(([x, y], position) => ({
          layer: l.layer,
          position,
          meta: metaPositions.includes(position),
          pc1: round(x),
          pc2: round(y),
          explained1: round(l.explained[0]),
          explained2: round(l.explained[1]),
        }))
      )),
      "PCA coordinates per layer and position",
    );

    if (a.vib) {
      const curve = (name: string, rs: typeof a.vib.meta) => ({
        name,
        points: rs.map((r) => ({ x: r.rate, y: r.distortion })).sort((p, q) => p.x - q.x),
      });
      await put(
        "rate_distortion.svg",
        await lineChart([curve("meta-token VIB", a.vib.meta), curve("last-token VIB", a.vib.lastToken)], {
          title: "Rate–distortion: meta token vs last non-meta token",
          xLabel: "rate: KL (nats, symlog)",
          yLabel: "distortion: cross-entropy (nats)",
          xScale: "symlog",
          symlogConstant: 20,
          markers: true,
        }),
        "Fig. 3 (right): VIB rate–distortion sweep over β",
      );
      await put(
        "rate_distortion.csv",
        toCsv(["meta", "lastToken"].flatMap((at) =>
          a.vib![at as "meta" | "lastToken"].map((r) => ({
            at: at === "meta" ? "last meta token" : "last non-meta token",
            beta: r.beta,
            rate: round(r.rate),
            distortion: round(r.distortion),
          }))
        )),
        "rate and distortion per β",
      );
    }
    await put("analysis.json", JSON.stringify(a, null, 1) + "\n", "every number above");
    await replaceDir(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return files;
}
