/**
 * A line chart on a linear, symlog or log x-axis (Fig. 2 right, Fig. 3 right). See `plot.ts` for what every figure shares.
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
  DASHES,
  PALETTE,
  type PlotSize,
  renderAsync,
  show,
  subtitleLines,
} from "./_plot.ts";

/** One named series of a line chart. */
export interface LineSeries {
  /** Legend entry; distinct across series. */
  name: string;
  /** The points, drawn connected in order of x. */
  points: { x: number; y: number }[];
  /**
   * Series with the same group share a colour (a run's training and validation curves, say); default: the
   * series' own colour.
   */
  group?: string;
  /** The stroke, to tell the series of one group apart; default: the series' own dash. */
  stroke?: "solid" | "dashed";
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
  /** A line under the title (what is drawn and what is not, say); default none. */
  subtitle?: string;
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
    // From 0 only when the data starts within half the linear zone of it; else from the data, so that
    // values far from 0 are not squeezed into the right end of the axis.
    const domainLo = lo >= 0 && lo <= constant / 2 ? 0 : lo;
    const domainHi = hi > domainLo ? hi : domainLo + constant;
    xEncoding.scale = { type: "symlog", constant, domain: [domainLo, domainHi], nice: false };
    xEncoding.axis = { values: symlogTicks(domainLo, domainHi, constant, width), format: ",~r" };
  } else if (xScale === "log") {
    xEncoding.scale = { type: "log" };
    // Powers of ten first: parity thinning would keep 1, 100, … only by luck.
    xEncoding.axis = { format: ",~r", labelOverlap: "greedy" };
  } else {
    xEncoding.scale = { zero: false };
    // Whole-number x (layers, steps): whole-number ticks only.
    if (rows.every((r) => Number.isInteger(r.x))) xEncoding.axis = { tickMinStep: 1, format: ",d" };
  }
  // A colour per group (each series its own by default), a dash per series unless its stroke is given.
  const groups = [...new Set(series.map((s) => s.group ?? s.name))];
  const colors = series.map((s) => PALETTE[groups.indexOf(s.group ?? s.name) % PALETTE.length]);
  const dashes = series.map((s, i) =>
    s.stroke === "solid" ? [1, 0] : s.stroke === "dashed" ? [6, 3] : DASHES[i % DASHES.length]
  );
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
    ...baseSpec(title, { width, height }, subtitleLines(options.subtitle)),
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
      color: seriesField(colors),
      strokeDash: seriesField(dashes),
    },
  } as TopLevelSpec;
}
