/**
 * A histogram with a mean rule (Fig. 2 left and middle of the paper). See `plot.ts` for what every figure shares.
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import {
  baseSpec,
  checkSize,
  checkText,
  checkTitles,
  MEAN_COLOR,
  PALETTE,
  type PlotSize,
  renderAsync,
  shortNumber,
  show,
  subtitleLines,
} from "./_plot.ts";

/** Options of {@linkcode histogram}. */
export interface HistogramOptions extends PlotSize {
  /** Figure title. */
  title: string;
  /** Title of the x-axis: what the values are. */
  xLabel: string;
  /** Title of the y-axis; default `"count"`. */
  yLabel?: string;
  /** Number of equal-width bins from the least to the greatest value; default √n, from 5 to 40. */
  bins?: number;
  /** Name of the mean in the legend, which reads `"<meanLabel> = 0.42"`; default `"mean"`. */
  meanLabel?: string;
  /** Legend entry of the bars; default `"n = <number of values>"`. */
  seriesLabel?: string;
  /** A line under the title (what the sign of the values means, say); default none. */
  subtitle?: string;
}

/**
 * Draws a histogram of values with a dashed vertical rule at their mean, as
 * the logit boost and entropy change of Figure 2 (left, middle). The legend
 * names the bars (`n = 1000` by default) and gives the mean (`mean = 0.42`).
 *
 * @param values The values, all finite.
 * @param options Titles, number of bins and size.
 * @returns The SVG markup.
 * @throws {RangeError} For no values, a value that is NaN or infinite, or a bad number of bins.
 *
 * @example
 * ```ts
 * import { histogram } from "@metatokens/analysis/plot";
 * import assert from "node:assert/strict";
 *
 * const svg = await histogram([0.1, 0.4, 0.5, 0.7], { title: "Logit boost", xLabel: "Δ logit", bins: 4 });
 * assert.ok(svg.includes("mean = 0.425"));
 * ```
 */
export function histogram(values: number[], options: HistogramOptions): Promise<string> {
  return renderAsync(() => histogramSpec(values, options));
}

function histogramSpec(values: number[], options: HistogramOptions): TopLevelSpec {
  if (!Array.isArray(values) || values.length === 0) {
    throw new RangeError("Cannot draw a histogram of no values");
  }
  const { title, xLabel, yLabel } = checkTitles({ ...options, yLabel: options.yLabel ?? "count" });
  let lo = Infinity, hi = -Infinity, sum = 0;
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(`Histogram values must be finite numbers, got ${show(v)} at index ${i}`);
    }
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    sum += v;
  });
  const mean = sum / values.length;
  let bins = options.bins ?? Math.min(40, Math.max(5, Math.ceil(Math.sqrt(values.length))));
  if (!Number.isInteger(bins) || bins < 1 || bins > 1000) {
    throw new RangeError(`The number of bins must be an integer from 1 to 1000, got ${show(options.bins)}`);
  }
  if (lo === hi) {
    bins = 1;
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  const seriesLabel = options.seriesLabel === undefined
    ? `n = ${values.length}`
    : checkText("series label", options.seriesLabel);
  const meanName = options.meanLabel === undefined ? "mean" : checkText("mean label", options.meanLabel);
  const meanText = `${meanName} = ${shortNumber(mean)}`;
  const bars = counts.map((count, i) => ({
    start: lo + i * width,
    end: i === bins - 1 ? hi : lo + (i + 1) * width,
    count,
    series: seriesLabel,
  }));
  return {
    ...baseSpec(title, {
      width: checkSize("width", options.width, 420),
      height: checkSize("height", options.height, 280),
    }, subtitleLines(options.subtitle)),
    layer: [
      {
        data: { values: bars },
        mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
        encoding: {
          x: { field: "start", type: "quantitative", title: xLabel, scale: { zero: false } },
          x2: { field: "end" },
          y: { field: "count", type: "quantitative", title: yLabel },
          y2: { datum: 0 },
          fill: {
            field: "series",
            type: "nominal",
            scale: { domain: [seriesLabel], range: [PALETTE[0]] },
            legend: { title: null, symbolType: "square" },
          },
        },
      },
      {
        data: { values: [{ mean, name: meanText }] },
        mark: { type: "rule", strokeWidth: 2, strokeDash: [6, 4] },
        encoding: {
          x: { field: "mean", type: "quantitative" },
          stroke: {
            field: "name",
            type: "nominal",
            scale: { domain: [meanText], range: [MEAN_COLOR] },
            legend: { title: null, symbolType: "stroke", symbolStrokeWidth: 2, symbolSize: 400 },
          },
        },
      },
    ],
  };
}
