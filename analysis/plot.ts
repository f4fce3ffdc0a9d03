/**
 * The paper's figures as SVG text, drawn with vega-lite without a DOM:
 * histograms with a mean rule (Fig. 2 left and middle), line charts on a
 * linear, symlog or log x-axis (Fig. 2 right, Fig. 3 right), heatmaps for
 * attention and cosine maps, scatter plots in small multiples (Fig. 3 left)
 * and grouped bars (Fig. 1) — one chart per file (`plot_*.ts`) on the shared
 * base spec of `_plot.ts`.
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

export { type PlotSize, renderSvg } from "./_plot.ts";
export * from "./plot_histogram.ts";
export * from "./plot_line.ts";
export * from "./plot_heatmap.ts";
export * from "./plot_scatter.ts";
export * from "./plot_bars.ts";
