/**
 * The paper's figures as SVG text, drawn with vega-lite without a DOM:
 * histograms with a mean rule (Fig. 2 left and middle), line charts on a
 * linear, symlog or log x-axis (Fig. 2 right, Fig. 3 right), heatmaps for
 * attention and cosine maps, scatter plots in small multiples (Fig. 3 left)
 * and grouped bars (Fig. 1).
 *
 * Every function takes plain numbers and gives a `Promise<string>` of SVG
 * markup with a title, axis titles, a legend, a fixed size and a white
 * background. The output is deterministic: the same input gives the same
 * bytes. Text is laid out with Helvetica's (and Arial's) character widths, as
 * vega cannot measure text without a canvas; rendering sets vega's global
 * `textMetrics.width` to that estimate.
 *
 * @module
 */

import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";

/** Colours for series, groups and bars (Tableau 10), cycled when there are more. */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];
/** Stroke dash patterns, one per series, cycled when there are more. */
const DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4], [4, 4, 1, 4], [2, 5], [10, 2, 2, 2, 2, 2]];
/** Marker shapes, one per scatter group, cycled when there are more. */
const SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "triangle-right"];
const MEAN_COLOR = "#d62728";

const CONFIG = {
  background: "white",
  padding: 12,
  font: "Helvetica, Arial, sans-serif",
  title: { fontSize: 15, anchor: "start", offset: 12, subtitleFontSize: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8, gridColor: "#e8e8e8", labelLimit: 120 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260, symbolSize: 80 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: "#bbbbbb" },
} as const;

function cycle<T>(list: readonly T[], n: number): T[] {
  return Array.from({ length: n }, (_, i) => list[i % list.length]);
}

/** A number as short text for titles and legends: three significant digits. */
function shortNumber(x: number): string {
  return String(Number(x.toPrecision(3)));
}

/** A value quoted for an error message. */
function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  const kind = Array.isArray(value) ? "array" : typeof value;
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
}

function checkSize(what: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 20 || value > 10_000) {
    throw new RangeError(`The ${what} must be a number of pixels from 20 to 10000, got ${show(value)}`);
  }
  return value;
}

function checkText(what: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(`The ${what} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/** The title and axis labels every figure has, each a non-empty string. */
function checkTitles(o: { title: unknown; xLabel: unknown; yLabel: unknown }): {
  title: string;
  xLabel: string;
  yLabel: string;
} {
  return {
    title: checkText("title", o.title),
    xLabel: checkText("x-axis label", o.xLabel),
    yLabel: checkText("y-axis label", o.yLabel),
  };
}

function checkDomain(what: string, domain: readonly number[] | undefined): [number, number] | undefined {
  if (domain === undefined) return undefined;
  if (
    !Array.isArray(domain) || domain.length !== 2 || !Number.isFinite(domain[0]) ||
    !Number.isFinite(domain[1]) || !(domain[0] < domain[1])
  ) {
    throw new RangeError(
      `The ${what} must be two finite numbers [low, high] with low < high, got ${
        Array.isArray(domain) ? `[${domain.map(show).join(", ")}]` : show(domain)
      }`,
    );
  }
  return [domain[0], domain[1]];
}

/** First-seen order of distinct strings. */
function distinct(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/** Helvetica's advance widths (thousandths of an em) of the printable ASCII characters, space to tilde. */
const HELVETICA: readonly number[] = [
  "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556",
  "556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722",
  "778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 556 500 556 556 278",
  "556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 500 500 500 334 260 334 584",
].join(" ").split(" ").map(Number);

/**
 * Width of a line of text in pixels from Helvetica's metrics (Arial's are the
 * same): vega's own estimate without a canvas, 0.8 em a character, makes
 * labels truncate early and legends and axes take room they do not need.
 * Bold text counts 7% wider; other characters than ASCII 0.6 em. Capped at
 * the item's `limit`, where vega truncates the text.
 */
function textWidth(
  item: { fontSize?: number; fontWeight?: string | number; limit?: number },
  text: unknown,
): number {
  const line = text == null ? "" : String(text).trim();
  let em = 0;
  for (const ch of line) {
    const code = ch.codePointAt(0)!;
    em += code >= 32 && code <= 126 ? HELVETICA[code - 32] : 600;
  }
  const size = item.fontSize == null ? 11 : +item.fontSize || 0;
  const bold = item.fontWeight === "bold" || +(item.fontWeight ?? 400) >= 600;
  const width = (em / 1000) * size * (bold ? 1.07 : 1);
  return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
}

/** vega's text measurement, which it lets a user replace; not in its type declarations. */
const TEXT_METRICS = (vega as unknown as { textMetrics: { width: typeof textWidth } }).textMetrics;

/**
 * Renumbers the ids vega gives clip paths and gradients (`clip7`,
 * `gradient_3`, counted across every render of the process) in order of first
 * appearance, so the same spec always gives the same bytes.
 */
function stableIds(svg: string): string {
  const names = new Map<string, string>();
  const rename = (id: string): string => {
    let name = names.get(id);
    if (name === undefined) {
      name = `${id.startsWith("clip") ? "clip" : "gradient_"}${names.size + 1}`;
      names.set(id, name);
    }
    return name;
  };
  return svg.replace(
    /(id="|url\(#)(clip\d+|gradient_\d+)(?=[")])/g,
    (_, before: string, id: string) => before + rename(id),
  );
}

/**
 * Renders a vega-lite spec to SVG markup, without a DOM; the figure functions
 * of this module are built on it. Ids of clip paths and gradients are
 * numbered per figure, so the same spec always gives the same bytes.
 *
 * @param spec A vega-lite top-level spec, with its data inline.
 * @returns The SVG markup.
 * @throws {Error} `Cannot render the vega-lite spec: …` with what vega-lite or vega
 * found wrong (the original error as its `cause`).
 *
 * @example
 * ```ts
 * import { renderSvg } from "@metatokens/analysis/plot";
 * import assert from "node:assert/strict";
 *
 * const svg = await renderSvg({
 *   title: "Two points",
 *   data: { values: [{ a: 1, b: 2 }, { a: 2, b: 3 }] },
 *   mark: "point",
 *   encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
 * });
 * assert.ok(svg.startsWith("<svg"));
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  let view: vega.View | undefined;
  try {
    TEXT_METRICS.width = textWidth;
    view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
    return stableIds(await view.toSVG());
  } catch (error) {
    throw new Error(`Cannot render the vega-lite spec: ${error instanceof Error ? error.message : error}`, {
      cause: error,
    });
  } finally {
    view?.finalize();
  }
}

/** Builds a spec and renders it; errors in building come back as a rejected promise. */
async function renderAsync(build: () => TopLevelSpec): Promise<string> {
  return await renderSvg(build());
}

/** The size of a figure's plot area in pixels (axes, titles and legends come on top). */
export interface PlotSize {
  /** Width of the plot area (of each panel, for small multiples). */
  width?: number;
  /** Height of the plot area (of each panel, for small multiples). */
  height?: number;
}

// ---------------------------------------------------------------------------
// Histogram

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
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: checkSize("width", options.width, 420),
    height: checkSize("height", options.height, 280),
    config: CONFIG,
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

// ---------------------------------------------------------------------------
// Line chart

/** One named series of a line chart. */
export interface LineSeries {
  /** Legend entry; distinct across series. */
  name: string;
  /** The points, drawn connected in order of x. */
  points: { x: number; y: number }[];
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions extends PlotSize {
  /** Figure title. */
  title: string;
  /** Title of the x-axis. */
  xLabel: string;
  /** Title of the y-axis. */
  yLabel: string;
  /**
   * Scale of the x-axis; default `"linear"`. `"symlog"` is linear within
   * ±{@linkcode LineChartOptions.symlogConstant} of 0 and logarithmic beyond;
   * `"log"` needs every x > 0.
   */
  xScale?: "linear" | "symlog" | "log";
  /** Where the symlog x-axis turns from linear to logarithmic (vega's `constant`); default 1. */
  symlogConstant?: number;
  /** Whether to mark each point with a shape; default true. */
  markers?: boolean;
  /** Title of the legend; default none. */
  legendTitle?: string;
  /** Range of the y-axis `[low, high]`; default from the data. */
  yDomain?: [number, number];
}

/**
 * Draws one or more series as lines, each with its own colour and stroke
 * dash (shown in the legend), with a dot at each point (`markers`), as the cosine similarity per layer of
 * Figure 2 (right) or the rate–distortion curves of Figure 3 (right), there
 * on a symlog x-axis that is linear below 20 nats (`xScale: "symlog",
 * symlogConstant: 20`).
 *
 * @param series The series, each with a distinct name and at least one point.
 * @param options Titles, x scale, markers and size.
 * @returns The SVG markup.
 * @throws {RangeError} For no series, a series with no points, a repeated
 * name, a coordinate that is not finite, an x ≤ 0 on a log axis, or a symlog
 * constant that is not a positive finite number.
 *
 * @example
 * ```ts
 * import { lineChart } from "@metatokens/analysis/plot";
 * import assert from "node:assert/strict";
 *
 * const svg = await lineChart(
 *   [
 *     { name: "meta token", points: [{ x: 0, y: 3.2 }, { x: 15, y: 1.9 }, { x: 400, y: 0.4 }] },
 *     { name: "last non-meta token", points: [{ x: 0, y: 3.3 }, { x: 18, y: 2.4 }, { x: 450, y: 0.9 }] },
 *   ],
 *   { title: "Rate–distortion", xLabel: "rate (nats)", yLabel: "distortion (nats)", xScale: "symlog", symlogConstant: 20 },
 * );
 * assert.ok(svg.includes("last non-meta token"));
 * ```
 */
export function lineChart(series: LineSeries[], options: LineChartOptions): Promise<string> {
  return renderAsync(() => lineChartSpec(series, options));
}

/** Tick values for a symlog axis over [lo, hi]: 0 and 1, 2, 5 × 10^k, thinned to fit `pixels`. */
function symlogTicks(lo: number, hi: number, constant: number, pixels: number): number[] {
  const t = (x: number) => Math.sign(x) * Math.log1p(Math.abs(x) / constant);
  const candidates = new Set<number>([0]);
  const top = Math.max(Math.abs(lo), Math.abs(hi));
  for (let k = Math.floor(Math.log10(Math.max(top, 1e-300))) - 12; k <= Math.ceil(Math.log10(top)); k++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** k).toPrecision(12));
      candidates.add(v);
      candidates.add(-v);
    }
  }
  const inside = [...candidates].filter((v) => v >= lo && v <= hi).sort((a, b) => a - b);
  const scale = pixels / (t(hi) - t(lo) || 1);
  // Keep powers of ten first, then 2s and 5s, where at least 32 px from every kept tick.
  const rank = (v: number) => {
    if (v === 0) return 0;
    const m = Math.abs(v) / 10 ** Math.floor(Math.log10(Math.abs(v)) + 1e-9);
    return Math.round(m) === 1 ? 1 : Math.round(m) === 5 ? 2 : 3;
  };
  const kept: number[] = [];
  for (const v of [...inside].sort((a, b) => rank(a) - rank(b) || Math.abs(b) - Math.abs(a))) {
    if (kept.every((k) => Math.abs(t(k) - t(v)) * scale >= 32)) kept.push(v);
  }
  return kept.sort((a, b) => a - b);
}

function lineChartSpec(series: LineSeries[], options: LineChartOptions): TopLevelSpec {
  const { title, xLabel, yLabel } = checkTitles(options);
  if (!Array.isArray(series) || series.length === 0) {
    throw new RangeError("Cannot draw a line chart of no series");
  }
  const xScale = options.xScale ?? "linear";
  if (xScale !== "linear" && xScale !== "symlog" && xScale !== "log") {
    throw new RangeError(`The x scale must be "linear", "symlog" or "log", got ${show(xScale)}`);
  }
  if (options.symlogConstant !== undefined) {
    if (xScale !== "symlog") {
      throw new RangeError(`A symlog constant needs xScale "symlog", got xScale ${show(xScale)}`);
    }
    if (!Number.isFinite(options.symlogConstant) || options.symlogConstant <= 0) {
      throw new RangeError(
        `The symlog constant must be a positive finite number, got ${show(options.symlogConstant)}`,
      );
    }
  }
  const constant = options.symlogConstant ?? 1;
  const width = checkSize("width", options.width, 460);
  const height = checkSize("height", options.height, 300);
  const yDomain = checkDomain("y domain", options.yDomain);
  const names: string[] = [];
  const rows: { series: string; x: number; y: number }[] = [];
  let lo = Infinity, hi = -Infinity;
  series.forEach((s, i) => {
    const name = checkText(`name of series ${i}`, s?.name);
    if (names.includes(name)) throw new RangeError(`Series names must be distinct, got ${show(name)} twice`);
    names.push(name);
    if (!Array.isArray(s.points) || s.points.length === 0) {
      throw new RangeError(`Series ${show(name)} has no points`);
    }
    s.points.forEach((p, j) => {
      for (const axis of ["x", "y"] as const) {
        const v = p?.[axis];
        if (typeof v !== "number" || !Number.isFinite(v)) {
          throw new RangeError(
            `Point ${j} of series ${show(name)} has ${axis} = ${show(v)}; expected a finite number`,
          );
        }
      }
      if (xScale === "log" && p.x <= 0) {
        throw new RangeError(`Point ${j} of series ${show(name)} has x = ${p.x}; a log x-axis needs x > 0`);
      }
      lo = Math.min(lo, p.x);
      hi = Math.max(hi, p.x);
      rows.push({ series: name, x: p.x, y: p.y });
    });
  });
  // deno-lint-ignore no-explicit-any
  const xEncoding: Record<string, any> = { field: "x", type: "quantitative", title: xLabel };
  if (xScale === "symlog") {
    const domainLo = Math.min(0, lo), domainHi = hi > domainLo ? hi : domainLo + constant;
    xEncoding.scale = { type: "symlog", constant, domain: [domainLo, domainHi], nice: false };
    xEncoding.axis = { values: symlogTicks(domainLo, domainHi, constant, width), format: ",~r" };
  } else if (xScale === "log") {
    xEncoding.scale = { type: "log" };
    xEncoding.axis = { format: ",~r" };
  } else {
    xEncoding.scale = { zero: false };
  }
  const markers = options.markers ?? true;
  const legend = {
    title: options.legendTitle === undefined ? null : checkText("legend title", options.legendTitle),
    symbolType: "stroke",
    symbolStrokeWidth: 2,
    symbolSize: 500,
  };
  const seriesField = (range: unknown[]) => ({
    field: "series",
    type: "nominal" as const,
    scale: { domain: names, range },
    legend,
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width,
    height,
    config: CONFIG,
    data: { values: rows },
    mark: markers
      ? { type: "line", strokeWidth: 2, point: { filled: true, size: 36, strokeDash: [1, 0] } }
      : { type: "line", strokeWidth: 2 },
    encoding: {
      x: xEncoding,
      y: {
        field: "y",
        type: "quantitative",
        title: yLabel,
        scale: yDomain ? { domain: yDomain } : { zero: false },
      },
      color: seriesField(cycle(PALETTE, names.length)),
      strokeDash: seriesField(cycle(DASHES, names.length)),
    },
  } as TopLevelSpec;
}

// ---------------------------------------------------------------------------
// Heatmap

/** Options of {@linkcode heatmap}. */
export interface HeatmapOptions extends PlotSize {
  /** Figure title. */
  title: string;
  /** Title of the x-axis (the columns, e.g. key positions). */
  xLabel: string;
  /** Title of the y-axis (the rows, e.g. query positions or layers). */
  yLabel: string;
  /** One label per column (tokens, say); default the column indices. */
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
      // Every label when the cells are tall enough for the text; else vega thins out those that overlap.
      return {
        labelAngle: horizontal ? -90 : 0,
        labelLimit: 90,
        labelExpr: tickLabelExpr(ticks),
        labelOverlap: cell >= 12 ? false : "greedy" as const,
        labelSeparation: 1,
        domain: false,
      };
    }
    return { labelAngle: 0, values: indexTicks(count, cell, horizontal), domain: false };
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width,
    height,
    config: CONFIG,
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

// ---------------------------------------------------------------------------
// Scatter

/** One point of a scatter plot. */
export interface ScatterPoint {
  /** Horizontal position. */
  x: number;
  /** Vertical position. */
  y: number;
  /** What kind of point it is (its colour and shape), e.g. `"meta"`, `"context"`, `"other"`. */
  group: string;
  /** Text written next to the point (a token, say); default none. */
  label?: string;
  /** Which small multiple it belongs to (a layer, say); give it on every point or on none. */
  panel?: string | number;
}

/** Options of {@linkcode scatter}. */
export interface ScatterOptions extends PlotSize {
  /** Figure title. */
  title: string;
  /** Title of the x-axis. */
  xLabel: string;
  /** Title of the y-axis. */
  yLabel: string;
  /**
   * What the panels are: each panel is headed `"<facet> <panel>"`, e.g.
   * `facet: "layer"` and `panel: 3` give `"layer 3"`; without it, by the panel alone.
   */
  facet?: string;
  /** Panels per row of small multiples; default 4. */
  columns?: number;
  /** Whether all panels share the same x and y ranges; default false (each panel its own). */
  shareAxes?: boolean;
  /** Colour per group (CSS colours); groups not named get the default palette. */
  colors?: Record<string, string>;
  /** Title of the legend; default none. */
  legendTitle?: string;
}

/**
 * Draws points coloured and shaped by group, with optional text labels, as
 * the residual stream projected on two principal components (Figure 3 left).
 * When the points carry a `panel` (a layer), one call draws one small
 * multiple per panel, in order of first appearance, `columns` to a row.
 * Points are drawn in the order given, so put background groups first.
 *
 * @param points The points; `panel` on all of them or on none.
 * @param options Titles, panels, colours and size (of each panel).
 * @returns The SVG markup.
 * @throws {RangeError} For no points, a coordinate that is not finite, an
 * empty group, a panel on some points only, or a bad number of columns.
 *
 * @example
 * ```ts
 * import { scatter } from "@metatokens/analysis/plot";
 * import assert from "node:assert/strict";
 *
 * const points = [0, 1].flatMap((layer) => [
 *   { x: 0, y: layer, group: "context", panel: layer },
 *   { x: 1, y: 2 * layer, group: "meta", label: "_PAUSE_", panel: layer },
 * ]);
 * const svg = await scatter(points, { title: "Residual stream", xLabel: "PC 1", yLabel: "PC 2", facet: "layer" });
 * assert.ok(svg.includes("layer 1"));
 * ```
 */
export function scatter(points: ScatterPoint[], options: ScatterOptions): Promise<string> {
  return renderAsync(() => scatterSpec(points, options));
}

function scatterSpec(points: ScatterPoint[], options: ScatterOptions): TopLevelSpec {
  const { title, xLabel, yLabel } = checkTitles(options);
  const facetName = options.facet === undefined ? undefined : checkText("facet name", options.facet);
  if (!Array.isArray(points) || points.length === 0) {
    throw new RangeError("Cannot draw a scatter plot of no points");
  }
  const faceted = points[0]?.panel !== undefined;
  const rows = points.map((p, i) => {
    for (const axis of ["x", "y"] as const) {
      const v = p?.[axis];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(`Point ${i} has ${axis} = ${show(v)}; expected a finite number`);
      }
    }
    const group = checkText(`group of point ${i}`, p.group);
    if ((p.panel !== undefined) !== faceted) {
      throw new RangeError(
        `Give a panel on every point or on none: point 0 has ${
          faceted ? `panel ${show(points[0].panel)}` : "none"
        } but point ${i} has ${p.panel === undefined ? "none" : `panel ${show(p.panel)}`}`,
      );
    }
    if (p.panel !== undefined && typeof p.panel !== "string" && typeof p.panel !== "number") {
      throw new RangeError(`Point ${i} has panel ${show(p.panel)}; expected a string or a number`);
    }
    if (p.label !== undefined && typeof p.label !== "string") {
      throw new RangeError(`Point ${i} has label ${show(p.label)}; expected a string`);
    }
    return {
      x: p.x,
      y: p.y,
      group,
      label: p.label ?? "",
      ...(faceted ? { panel: facetName === undefined ? String(p.panel) : `${facetName} ${p.panel}` } : {}),
    };
  });
  const shared = options.shareAxes ?? false;
  const range = new Map<string, [number, number]>();
  for (const r of rows) {
    const key = shared ? "" : r.panel ?? "";
    const [lo, hi] = range.get(key) ?? [Infinity, -Infinity];
    range.set(key, [Math.min(lo, r.x), Math.max(hi, r.x)]);
  }
  const placed = rows.map((r) => {
    const [lo, hi] = range.get(shared ? "" : r.panel ?? "")!;
    return { ...r, align: hi > lo && (r.x - lo) / (hi - lo) > 2 / 3 ? "right" : "left" };
  });
  const columns = options.columns ?? 4;
  if (!Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`The number of columns must be a positive integer, got ${show(options.columns)}`);
  }
  const groups = distinct(rows.map((r) => r.group));
  const colors = groups.map((g, i) => options.colors?.[g] ?? PALETTE[i % PALETTE.length]);
  const legend = {
    title: options.legendTitle === undefined ? null : checkText("legend title", options.legendTitle),
  };
  const groupField = (range: string[]) => ({
    field: "group",
    type: "nominal" as const,
    scale: { domain: groups, range },
    legend,
  });
  // Padded scales, flush edge labels and clipped marks keep every panel's drawing inside its frame,
  // so that small multiples line up and their headers sit at one height.
  const width = checkSize("width", options.width, faceted ? 200 : 420);
  const height = checkSize("height", options.height, faceted ? 200 : 360);
  const scale = { zero: false, padding: 10 };
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: xLabel,
    scale,
    axis: { labelFlush: true, tickCount: Math.max(2, Math.round(width / 70)) },
  };
  const y = {
    field: "y",
    type: "quantitative" as const,
    title: yLabel,
    scale,
    axis: { labelFlush: true, tickCount: Math.max(2, Math.round(height / 50)) },
  };
  const layer = [
    {
      mark: { type: "point" as const, filled: true, size: 40, opacity: 0.8, clip: true },
      encoding: { x, y, color: groupField(colors), shape: groupField(cycle(SHAPES, groups.length)) },
    },
    // Labels go right of their point, or left of it in the right third of the panel.
    ...([["left", 6], ["right", -6]] as const).map(([align, dx]) => ({
      transform: [{ filter: `datum.label !== '' && datum.align === '${align}'` }],
      mark: { type: "text" as const, align, dx, dy: -4, fontSize: 9, color: "#333333", clip: true },
      encoding: { x, y, text: { field: "label", type: "nominal" as const } },
    })),
  ];
  if (!faceted) {
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title,
      width,
      height,
      config: CONFIG,
      data: { values: placed },
      layer,
    } as TopLevelSpec;
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: CONFIG,
    data: { values: placed },
    facet: {
      field: "panel",
      type: "nominal",
      sort: distinct(rows.map((r) => r.panel as string)),
      header: { title: null, labelFontWeight: "bold" },
    },
    columns,
    spacing: { column: 24, row: 20 },
    spec: { width, height, layer },
    ...(shared ? {} : { resolve: { scale: { x: "independent", y: "independent" } } }),
  } as TopLevelSpec;
}

// ---------------------------------------------------------------------------
// Grouped bars

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
  // About 6 px a character of 11 px sans-serif: wide enough for each group's bars and label, up to 900 px.
  const longest = Math.max(...categories.map((c) => c.length)) * 6 + 16;
  const width = checkSize(
    "width",
    options.width,
    Math.min(900, Math.max(240, categories.length * Math.max(series.length * 22, longest))),
  );
  // Tilt the category labels when the longest is still wider than its group.
  const tilt = longest > width / categories.length;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width,
    height: checkSize("height", options.height, 300),
    config: CONFIG,
    data: { values },
    mark: { type: "bar", clip: true },
    encoding: {
      x: {
        field: "category",
        type: "nominal",
        title: xLabel,
        sort: categories,
        scale: { paddingInner: 0.2 },
        axis: { labelAngle: tilt ? -35 : 0, labelLimit: 160 },
      },
      xOffset: { field: "series", type: "nominal", sort: series, scale: { paddingInner: 0.05 } },
      y: {
        field: "value",
        type: "quantitative",
        title: yLabel,
        ...(yDomain ? { scale: { domain: yDomain } } : {}),
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
