/**
 * Scatter plots, in small multiples when points carry panels (Fig. 3 left). See `plot.ts` for what every figure shares.
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import {
  baseSpec,
  checkSize,
  checkText,
  checkTitles,
  cycle,
  distinct,
  PALETTE,
  type PlotSize,
  renderAsync,
  SHAPES,
  show,
  textWidth,
} from "./_plot.ts";

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

/** Pixels between a panel's frame and its outermost points. */
const SCALE_PADDING = 10;
/** Point labels: font size, and their offset from the point (right of it, or left of it, and up). */
const LABEL = { fontSize: 9, dx: 6, dy: -4 };

/** A row as drawn: its label's alignment, and its label after merging. */
type Placed<T> = T & { label: string; align: "left" | "right" };

/**
 * Where each label goes: right of its point, or left of it in the right third
 * of the panel; labels of one panel whose boxes would overlap are merged into
 * the first one's (`"34, 101"`), so that no label is drawn over another.
 * Pixels are those of the padded, un-niced scales the spec draws with.
 */
function placeLabels<T extends { x: number; y: number; label: string; panel?: string }>(
  rows: readonly T[],
  shared: boolean,
  width: number,
  height: number,
): Placed<T>[] {
  const key = (r: T) => (shared ? "" : r.panel ?? "");
  const range = new Map<string, { x: [number, number]; y: [number, number] }>();
  for (const r of rows) {
    const old = range.get(key(r)) ?? { x: [Infinity, -Infinity], y: [Infinity, -Infinity] };
    range.set(key(r), {
      x: [Math.min(old.x[0], r.x), Math.max(old.x[1], r.x)],
      y: [Math.min(old.y[0], r.y), Math.max(old.y[1], r.y)],
    });
  }
  const pixel = (v: number, [lo, hi]: [number, number], size: number) =>
    hi > lo ? SCALE_PADDING + ((v - lo) / (hi - lo)) * (size - 2 * SCALE_PADDING) : size / 2;
  const placed: Placed<T>[] = rows.map((r) => {
    const { x } = range.get(key(r))!;
    return { ...r, align: x[1] > x[0] && (r.x - x[0]) / (x[1] - x[0]) > 2 / 3 ? "right" : "left" };
  });
  const box = (r: Placed<T>) => {
    const { x, y } = range.get(key(r))!;
    const px = pixel(r.x, x, width), base = height - pixel(r.y, y, height) + LABEL.dy;
    const w = textWidth({ fontSize: LABEL.fontSize }, r.label);
    const x0 = r.align === "left" ? px + LABEL.dx : px - LABEL.dx - w;
    return { x0, x1: x0 + w, y0: base - 0.8 * LABEL.fontSize, y1: base + 0.25 * LABEL.fontSize };
  };
  // Merging widens a label, which may then meet another: merge until no two meet.
  for (let merged = true; merged;) {
    merged = false;
    const kept: { row: Placed<T>; box: ReturnType<typeof box> }[] = [];
    for (const r of placed) {
      if (r.label === "") continue;
      const b = box(r);
      const over = kept.find((k) =>
        key(k.row) === key(r) && Math.min(b.x1, k.box.x1) - Math.max(b.x0, k.box.x0) > -1 &&
        Math.min(b.y1, k.box.y1) - Math.max(b.y0, k.box.y0) > -1
      );
      if (over === undefined) kept.push({ row: r, box: b });
      else {
        over.row.label = `${over.row.label}, ${r.label}`;
        over.box = box(over.row);
        r.label = "";
        merged = true;
      }
    }
  }
  return placed;
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
  // Not niced: each point's pixel is then known here, where labels that would overlap are merged.
  const scale = { zero: false, nice: false, padding: SCALE_PADDING };
  const placed = placeLabels(rows, shared, width, height);
  // A tick every ≈ 70 px across and 50 px up.
  const encode = (field: "x" | "y", title: string, ticks: number) => ({
    field,
    type: "quantitative" as const,
    title,
    scale,
    axis: { labelFlush: true, tickCount: Math.max(2, Math.round(ticks)) },
  });
  const x = encode("x", xLabel, width / 70), y = encode("y", yLabel, height / 50);
  const layer = [
    {
      mark: { type: "point" as const, filled: true, size: 40, opacity: 0.8, clip: true },
      encoding: { x, y, color: groupField(colors), shape: groupField(cycle(SHAPES, groups.length)) },
    },
    // Labels go right of their point, or left of it in the right third of the panel.
    ...([["left", LABEL.dx], ["right", -LABEL.dx]] as const).map(([align, dx]) => ({
      transform: [{ filter: `datum.label !== '' && datum.align === '${align}'` }],
      mark: {
        type: "text" as const,
        align,
        dx,
        dy: LABEL.dy,
        fontSize: LABEL.fontSize,
        color: "#333333",
        clip: true,
      },
      encoding: { x, y, text: { field: "label", type: "nominal" as const } },
    })),
  ];
  if (!faceted) {
    return {
      ...baseSpec(title, { width, height }),
      data: { values: placed },
      layer,
    } as TopLevelSpec;
  }
  return {
    ...baseSpec(title),
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
