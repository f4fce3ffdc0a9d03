/**
 * The shared base of the figures in `plot_*.ts`: the house style (palette,
 * dashes, shapes, vega config), {@linkcode baseSpec} (schema, title, size and
 * config every spec starts from), the option checks, and {@linkcode renderSvg}
 * (vega-lite → SVG without a DOM, with Helvetica text widths and stable ids).
 *
 * @module
 */

import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";

export const PALETTE = [
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
export const DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4], [4, 4, 1, 4], [2, 5], [
  10,
  2,
  2,
  2,
  2,
  2,
]];
/** Marker shapes, one per scatter group, cycled when there are more. */
export const SHAPES = [
  "circle",
  "square",
  "triangle-up",
  "diamond",
  "cross",
  "triangle-down",
  "triangle-right",
];
export const MEAN_COLOR = "#d62728";

export const CONFIG = {
  background: "white",
  padding: 12,
  font: "Helvetica, Arial, sans-serif",
  title: { fontSize: 15, anchor: "start", offset: 12, subtitleFontSize: 12 },
  // No label limits (0): labels are never cut short; the figure grows to fit them (autosize "pad").
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8, gridColor: "#e8e8e8", labelLimit: 0 },
  // Number axes drop every other label until none touches the next (4 px apart at least); category
  // axes keep every label (the bars tilt theirs, the heatmap thins its own).
  axisQuantitative: { labelOverlap: "parity", labelSeparation: 4 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0, symbolSize: 80 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: "#bbbbbb" },
} as const;

export function cycle<T>(list: readonly T[], n: number): T[] {
  return Array.from({ length: n }, (_, i) => list[i % list.length]);
}

/** A number as short text for titles and legends: three significant digits, a minus sign (−) as on the axes. */
export function shortNumber(x: number): string {
  return String(Number(x.toPrecision(3))).replace("-", "−");
}

/** A value quoted for an error message. */
export function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  const kind = Array.isArray(value) ? "array" : typeof value;
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
}

export function checkSize(what: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 20 || value > 10_000) {
    throw new RangeError(`The ${what} must be a number of pixels from 20 to 10000, got ${show(value)}`);
  }
  return value;
}

export function checkText(what: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(`The ${what} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/** The title and axis labels every figure has, each a non-empty string. */
export function checkTitles(o: { title: unknown; xLabel: unknown; yLabel: unknown }): {
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

export function checkDomain(
  what: string,
  domain: readonly number[] | undefined,
): [number, number] | undefined {
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
export function distinct(values: Iterable<string>): string[] {
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
export function textWidth(
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
export async function renderAsync(build: () => TopLevelSpec): Promise<string> {
  return await renderSvg(build());
}

/** The size of a figure's plot area in pixels (axes, titles and legends come on top). */
export interface PlotSize {
  /** Width of the plot area (of each panel, for small multiples). */
  width?: number;
  /** Height of the plot area (of each panel, for small multiples). */
  height?: number;
}

/** vega-lite's schema, named by every figure. */
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/**
 * The shared base of every figure's spec: the schema, the title with its
 * subtitle lines under it (none: the title alone), the plot size (omitted for
 * small multiples, whose panels carry it) and the house style
 * {@linkcode CONFIG}.
 */
export function baseSpec(
  title: string,
  size?: { width: number; height: number },
  subtitle: readonly string[] = [],
): {
  $schema: string;
  title: string | { text: string; subtitle: string[] };
  width?: number;
  height?: number;
  config: typeof CONFIG;
} {
  const heading = subtitle.length > 0 ? { text: title, subtitle: [...subtitle] } : title;
  return size
    ? { $schema: SCHEMA, title: heading, width: size.width, height: size.height, config: CONFIG }
    : { $schema: SCHEMA, title: heading, config: CONFIG };
}

/** The subtitle lines of a figure: the caller's `subtitle` option (checked), then `more`. */
export function subtitleLines(subtitle: unknown, ...more: string[]): string[] {
  return [...(subtitle === undefined ? [] : [checkText("subtitle", subtitle)]), ...more];
}
