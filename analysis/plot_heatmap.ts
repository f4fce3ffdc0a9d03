/**
 * A heatmap for attention and cosine maps (Fig. 2). See `plot.ts` for what every figure shares.
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import * as vega from "vega";
import {
  baseSpec,
  checkDomain,
  checkSize,
  checkText,
  checkTitles,
  type PlotSize,
  renderAsync,
  show,
} from "./_plot.ts";

/** Options of {@linkcode heatmap}. */
export interface HeatmapOptions extends PlotSize {
  /** Figure title. */
  title: string;
  /** Title of the x-axis (the columns, e.g. key positions). */
  xLabel: string;
  /** Title of the y-axis (the rows, e.g. query positions or layers). */
  yLabel: string;
  /**
   * One label per column (tokens, say); default the column indices. When the columns are too narrow
   * for every label, a spaced subset is shown that always includes those ending in "*".
   */
  xTicks?: string[];
  /** One label per row; default the row indices. */
  yTicks?: string[];
  /** Title of the colour legend: what the values are. */
  colorLabel: string;
  /** Values at the two ends of the colour scale `[low, high]`; default the least and greatest value. */
  domain?: [number, number];
  /** A vega colour scheme name; default `"viridis"`. */
  scheme?: string;
}

/**
 * Draws a matrix as coloured cells, row 0 at the top and column 0 at the
 * left, as an attention map (query rows × key columns) or a cosine map
 * (layer × position). Cells that are NaN or null (masked entries) are left
 * blank. Tick labels that would overlap are thinned out.
 *
 * @param matrix The rows, all of the same length; cells finite, NaN or null.
 * @param options Titles, tick labels, colour scale and size.
 * @returns The SVG markup.
 * @throws {RangeError} For an empty matrix, rows of different lengths, an
 * infinite cell, tick labels of the wrong count, a bad domain or an unknown scheme.
 *
 * @example
 * ```ts
 * import { heatmap } from "@metatokens/analysis/plot";
 * import assert from "node:assert/strict";
 *
 * const svg = await heatmap([[1, NaN], [0.3, 0.7]], {
 *   title: "Attention at layer 0",
 *   xLabel: "key",
 *   yLabel: "query",
 *   xTicks: ["the", "_PAUSE_"],
 *   yTicks: ["the", "_PAUSE_"],
 *   colorLabel: "attention weight",
 * });
 * assert.ok(svg.includes("_PAUSE_"));
 * ```
 */
export function heatmap(matrix: (number | null)[][], options: HeatmapOptions): Promise<string> {
  return renderAsync(() => heatmapSpec(matrix, options));
}

/** A vega expression string literal of any text: characters other than letters, digits and spaces as `\uXXXX`. */
function exprString(text: string): string {
  return `'${text.replace(/[^A-Za-z0-9 ]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}'`;
}

/** A vega expression that maps an index `datum.value` to its label. */
function tickLabelExpr(labels: string[]): string {
  return `[${labels.map(exprString).join(",")}][datum.value]`;
}

/** Row or column indices 0, s, 2s, … with the step s (1, 2, 5 × 10^k) that keeps their labels apart. */
function indexTicks(count: number, cell: number, horizontal: boolean): number[] {
  const room = horizontal ? 7 * String(count - 1).length + 12 : 16;
  let step = 1;
  for (let k = 0; step * cell < room; k++) step = [1, 2, 5][k % 3] * 10 ** Math.floor(k / 3);
  return Array.from({ length: Math.ceil(count / step) }, (_, i) => i * step);
}

/**
 * Indices of `labels` to show when cells are narrower than a line of text:
 * every label ending in "*", then every s-th index (s = 1, 2, 5 × 10^k) that
 * keeps 12 px from those already kept.
 */
export function spacedTicks(labels: readonly string[], cell: number): number[] {
  const room = Math.ceil(12 / cell);
  let step = 1;
  for (let k = 0; step < room; k++) step = [1, 2, 5][k % 3] * 10 ** Math.floor(k / 3);
  const kept: number[] = [];
  for (const [i, l] of labels.entries()) {
    if (l.endsWith("*") && kept.every((j) => Math.abs(j - i) >= room)) kept.push(i);
  }
  for (let i = 0; i < labels.length; i += step) {
    if (kept.every((j) => Math.abs(j - i) >= room)) kept.push(i);
  }
  return kept.sort((a, b) => a - b);
}

function heatmapSpec(matrix: (number | null)[][], options: HeatmapOptions): TopLevelSpec {
  const { title, xLabel, yLabel } = checkTitles(options);
  const colorLabel = checkText("colour label", options.colorLabel);
  if (!Array.isArray(matrix) || matrix.length === 0) throw new RangeError("Cannot draw a heatmap of no rows");
  if (!Array.isArray(matrix[0]) || matrix[0].length === 0) {
    throw new RangeError("Cannot draw a heatmap of no columns: row 0 is empty");
  }
  const cols = matrix[0].length;
  const cells: { row: number; col: number; value: number }[] = [];
  let lo = Infinity, hi = -Infinity;
  matrix.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) {
      throw new RangeError(
        `Heatmap rows must all have ${cols} cells like row 0, but row ${i} has ${
          Array.isArray(row) ? row.length : show(row)
        }`,
      );
    }
    row.forEach((v, j) => {
      if (v === null || Number.isNaN(v)) return;
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(
          `Heatmap cells must be finite numbers, NaN or null, got ${show(v)} at row ${i}, column ${j}`,
        );
      }
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      cells.push({ row: i, col: j, value: v });
    });
  });
  for (
    const [what, ticks, count] of [["x", options.xTicks, cols], ["y", options.yTicks, matrix.length]] as const
  ) {
    if (ticks !== undefined && (!Array.isArray(ticks) || ticks.length !== count)) {
      throw new RangeError(
        `Heatmap ${what} ticks must be ${count} labels, one per ${what === "x" ? "column" : "row"}, got ${
          Array.isArray(ticks) ? ticks.length : show(ticks)
        }`,
      );
    }
  }
  let domain = checkDomain("colour domain", options.domain);
  if (domain === undefined) {
    if (cells.length === 0) domain = [0, 1];
    else if (lo === hi) domain = [lo - 0.5, hi + 0.5];
    else domain = [lo, hi];
  }
  const scheme = options.scheme ?? "viridis";
  if (typeof scheme !== "string" || vega.scheme(scheme) === undefined) {
    throw new RangeError(`Unknown colour scheme ${show(scheme)}; use a vega scheme name such as "viridis"`);
  }
  const width = checkSize("width", options.width, 400);
  const height = checkSize("height", options.height, 400);
  const index = (n: number) => Array.from({ length: n }, (_, i) => i);
  const axis = (ticks: string[] | undefined, count: number, pixels: number, horizontal: boolean) => {
    const cell = pixels / count;
    if (ticks) {
      // Every label when the cells are tall enough for the text; else a spaced subset that always
      // keeps the labels ending in "*" (marked positions, e.g. meta tokens).
      return {
        labelAngle: horizontal ? -90 : 0,
        labelExpr: tickLabelExpr(ticks),
        ...(cell >= 12 ? {} : { values: spacedTicks(ticks, cell) }),
        labelOverlap: false,
        domain: false,
      };
    }
    return { labelAngle: 0, values: indexTicks(count, cell, horizontal), domain: false };
  };
  return {
    ...baseSpec(title, { width, height }),
    data: { values: cells },
    mark: { type: "rect" },
    encoding: {
      x: {
        field: "col",
        type: "ordinal",
        title: xLabel,
        scale: { domain: index(cols), paddingInner: 0 },
        axis: axis(options.xTicks, cols, width, true),
      },
      y: {
        field: "row",
        type: "ordinal",
        title: yLabel,
        scale: { domain: index(matrix.length), paddingInner: 0 },
        axis: axis(options.yTicks, matrix.length, height, false),
      },
      color: {
        field: "value",
        type: "quantitative",
        title: colorLabel,
        scale: { scheme, domain, clamp: true },
        legend: { gradientLength: 200, format: "~g" },
      },
    },
  } as TopLevelSpec;
}
