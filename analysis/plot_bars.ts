/**
 * Grouped bars (Fig. 1). See `plot.ts` for what every figure shares.
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import {
  baseSpec,
  checkDomain,
  checkSize,
  checkText,
  checkTitles,
  cycle,
  distinct,
  PALETTE,
  type PlotSize,
  renderAsync,
  show,
  subtitleLines,
  textWidth,
} from "./_plot.ts";

/** One bar of a grouped bar chart. */
export interface BarRow {
  /** The group of bars it stands in on the x-axis (a task, say). */
  category: string;
  /** Which bar of the group it is, its colour and legend entry (a model, say). */
  series: string;
  /** Height of the bar. */
  value: number;
}

/** Options of {@linkcode groupedBars}. */
export interface GroupedBarsOptions extends PlotSize {
  /** Figure title. */
  title: string;
  /** Title of the x-axis (the categories). */
  xLabel: string;
  /** Title of the y-axis (the values). */
  yLabel: string;
  /** Range of the y-axis `[low, high]`, e.g. `[0, 100]` for percentages; default from 0 to the data. */
  yDomain?: [number, number];
  /** Title of the legend; default none. */
  legendTitle?: string;
  /** A line under the title (what n is, say); default none. An all-zero chart adds a line saying so. */
  subtitle?: string;
}

/**
 * Draws side-by-side bars, one group per category and one colour per series,
 * as the accuracy per task of each model in Figure 1. Categories and series
 * keep the order in which they first appear.
 *
 * @param rows One row per bar; each (category, series) pair at most once.
 * @param options Titles, y range and size.
 * @returns The SVG markup.
 * @throws {RangeError} For no rows, a value that is not finite, an empty
 * name, a repeated (category, series) pair, or a bad y range.
 *
 * @example
 * ```ts
 * import { groupedBars } from "@metatokens/analysis/plot";
 * import assert from "node:assert/strict";
 *
 * const svg = await groupedBars(
 *   [
 *     { category: "List Recall", series: "GPT-2 APE", value: 12.5 },
 *     { category: "List Recall", series: "Meta APE", value: 77.8 },
 *     { category: "Parity", series: "GPT-2 APE", value: 48 },
 *     { category: "Parity", series: "Meta APE", value: 91 },
 *   ],
 *   { title: "Accuracy at eval length 512", xLabel: "task", yLabel: "accuracy (%)", yDomain: [0, 100] },
 * );
 * assert.ok(svg.includes("Meta APE"));
 * ```
 */
export function groupedBars(rows: BarRow[], options: GroupedBarsOptions): Promise<string> {
  return renderAsync(() => groupedBarsSpec(rows, options));
}

function groupedBarsSpec(rows: BarRow[], options: GroupedBarsOptions): TopLevelSpec {
  const { title, xLabel, yLabel } = checkTitles(options);
  if (!Array.isArray(rows) || rows.length === 0) throw new RangeError("Cannot draw a bar chart of no rows");
  const seen = new Set<string>();
  const values = rows.map((r, i) => {
    const category = checkText(`category of row ${i}`, r?.category);
    const series = checkText(`series of row ${i}`, r.series);
    if (typeof r.value !== "number" || !Number.isFinite(r.value)) {
      throw new RangeError(`Row ${i} has value ${show(r.value)}; expected a finite number`);
    }
    const key = JSON.stringify([category, series]);
    if (seen.has(key)) {
      throw new RangeError(`Category ${show(category)} has two rows for series ${show(series)}`);
    }
    seen.add(key);
    return { category, series, value: r.value };
  });
  const yDomain = checkDomain("y domain", options.yDomain);
  const categories = distinct(values.map((v) => v.category));
  const series = distinct(values.map((v) => v.series));
  // Wide enough for each group's bars and its label (11 px Helvetica), up to 900 px.
  const longest = Math.ceil(Math.max(...categories.map((c) => textWidth({ fontSize: 11 }, c)))) + 16;
  const width = checkSize(
    "width",
    options.width,
    Math.min(900, Math.max(240, categories.length * Math.max(series.length * 22, longest))),
  );
  // Tilt the category labels when the longest is still wider than its group.
  const tilt = longest > width / categories.length;
  // An all-zero chart would be an empty frame: say so, and give the axis a range.
  const allZero = values.every((v) => v.value === 0);
  return {
    ...baseSpec(
      title,
      { width, height: checkSize("height", options.height, 300) },
      subtitleLines(options.subtitle, ...(allZero ? ["no non-zero values: every bar is 0"] : [])),
    ),
    data: { values },
    mark: { type: "bar", clip: true },
    encoding: {
      x: {
        field: "category",
        type: "nominal",
        title: xLabel,
        sort: categories,
        scale: { paddingInner: 0.2 },
        axis: { labelAngle: tilt ? -35 : 0 },
      },
      xOffset: { field: "series", type: "nominal", sort: series, scale: { paddingInner: 0.05 } },
      y: {
        field: "value",
        type: "quantitative",
        title: yLabel,
        ...(yDomain ? { scale: { domain: yDomain } } : allZero ? { scale: { domain: [0, 1] } } : {}),
      },
      color: {
        field: "series",
        type: "nominal",
        scale: { domain: series, range: cycle(PALETTE, series.length) },
        legend: {
          title: options.legendTitle === undefined ? null : checkText("legend title", options.legendTitle),
          symbolType: "square",
        },
      },
    },
  } as TopLevelSpec;
}
