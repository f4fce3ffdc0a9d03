import assert from "node:assert/strict";
import { groupedBars, heatmap, histogram, lineChart, renderSvg, scatter } from "./plot.ts";
import { textBoxes, textOutside, textOverlaps } from "./_svg_text.ts";
import { spacedTicks } from "./plot_heatmap.ts";

/** Whether the SVG draws `text` as one text element (vega escapes &, < and >). */
function drawsText(svg: string, text: string): boolean {
  const escaped = text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  return svg.includes(`>${escaped}</text>`);
}

function assertDraws(svg: string, texts: string[]): void {
  assert.ok(svg.startsWith("<svg"), "output is SVG markup");
  assert.match(
    svg,
    /^<svg [^>]*><rect width="\d+" height="\d+" fill="white"\/>/,
    "white background",
  );
  for (const text of texts) assert.ok(drawsText(svg, text), `the SVG draws ${JSON.stringify(text)}`);
}

/** Runs `render` twice, checks the bytes are the same and that vega printed no warning. */
async function renderTwice(render: () => Promise<string>): Promise<string> {
  const warnings: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    const [first, second] = await Promise.all([render(), render()]);
    assert.equal(first, await render(), "the same input gives the same bytes");
    assert.equal(first, second, "renders running at once give the same bytes");
    assert.deepEqual(warnings, [], "no warnings from vega or vega-lite");
    return first;
  } finally {
    console.warn = warn;
  }
}

/** Number of items drawn by the first mark group of `kind` (e.g. "rect") with the data role. */
function markItems(svg: string, kind: string): number {
  const start = svg.indexOf(`<g class="mark-${kind} role-mark`);
  assert.ok(start >= 0, `a ${kind} mark`);
  const end = svg.indexOf("</g>", start);
  return svg.slice(start, end).split("<path").length - 1;
}

Deno.test("histogram draws bars, a mean rule and a legend for both", async () => {
  const values = [0.1, 0.4, 0.5, 0.7, 0.42, 0.41];
  const svg = await renderTwice(() =>
    histogram(values, { title: "Logit boost", xLabel: "Δ logit", bins: 3, meanLabel: "mean Δ" })
  );
  assertDraws(svg, ["Logit boost", "Δ logit", "count", "n = 6", "mean Δ = 0.422"]);
  assert.equal(markItems(svg, "rect"), 3, "one bar a bin");
  const custom = await histogram([2, 2, 2], {
    title: "Entropy change",
    xLabel: "ΔH (nats)",
    yLabel: "examples",
    seriesLabel: "meta positions",
  });
  assertDraws(custom, ["Entropy change", "ΔH (nats)", "examples", "meta positions", "mean = 2"]);
  assert.equal(markItems(custom, "rect"), 1, "equal values make one bin");
});

Deno.test("histogram rejects bad input, quoting it", async () => {
  const opts = { title: "t", xLabel: "x" };
  await assert.rejects(histogram([], opts), {
    name: "RangeError",
    message: "Cannot draw a histogram of no values",
  });
  await assert.rejects(
    histogram([1, 2, NaN], opts),
    { message: "Histogram values must be finite numbers, got NaN at index 2" },
  );
  await assert.rejects(histogram([Infinity], opts), /got Infinity at index 0/);
  await assert.rejects(
    histogram([1], { ...opts, bins: 0 }),
    /number of bins must be an integer from 1 to 1000, got 0/,
  );
  await assert.rejects(histogram([1], { ...opts, bins: 2.5 }), /got 2\.5/);
  await assert.rejects(
    histogram([1], { ...opts, title: "" }),
    /The title must be a non-empty string, got ""/,
  );
  await assert.rejects(
    histogram([1], { ...opts, width: 0 }),
    /The width must be a number of pixels from 20 to 10000, got 0/,
  );
});

Deno.test("lineChart draws series with a legend on a symlog axis with ticks at 0, 20, 100, …", async () => {
  const betas = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
  const series = [
    { name: "meta token", points: betas.map((b) => ({ x: 600 * Math.exp(-8 * b), y: 0.5 + 3 * b })) },
    {
      name: "last non-meta token",
      points: betas.map((b) => ({ x: 700 * Math.exp(-7 * b), y: 0.9 + 3 * b })),
    },
  ];
  const svg = await renderTwice(() =>
    lineChart(series, {
      title: "Rate–distortion",
      xLabel: "rate (nats)",
      yLabel: "distortion (nats)",
      xScale: "symlog",
      symlogConstant: 20,
    })
  );
  assertDraws(svg, [
    "Rate–distortion",
    "rate (nats)",
    "distortion (nats)",
    "meta token",
    "last non-meta token",
  ]);
  for (const tick of ["0", "20", "100", "500"]) assert.ok(drawsText(svg, tick), `x tick ${tick}`);
  assert.equal(svg.split('class="mark-line role-mark').length - 1, 2, "a line a series");
  assert.equal(markItems(svg, "symbol"), 14, "a marker a point");
  // Distinct dashes: the second series is dashed, the first solid.
  assert.match(svg, /stroke-dasharray="6,3"/);
});

Deno.test("lineChart draws a single series on linear and log axes, with a legend entry", async () => {
  const points = [1, 2, 4, 8, 16].map((x) => ({ x, y: Math.log2(x) }));
  const linear = await lineChart([{ name: "layer 0", points }], {
    title: "Cosine",
    xLabel: "position",
    yLabel: "cosine similarity",
    markers: false,
  });
  assertDraws(linear, ["Cosine", "position", "cosine similarity", "layer 0"]);
  assert.ok(!linear.includes("mark-symbol role-mark"), "no markers");
  const log = await lineChart([{ name: "s", points }], {
    title: "t",
    xLabel: "x",
    yLabel: "y",
    xScale: "log",
  });
  assertDraws(log, ["t", "s"]);
});

Deno.test("lineChart: series of one group share a colour, told apart by a solid and a dashed stroke", async () => {
  const points = [0, 1, 2].map((x) => ({ x, y: 3 - x }));
  const series = [12, 13].flatMap((run) => [
    { name: `run ${run}, train`, points, group: `run ${run}`, stroke: "solid" as const },
    { name: `run ${run}, validation`, points, group: `run ${run}`, stroke: "dashed" as const },
  ]);
  const svg = await lineChart(series, { title: "loss", xLabel: "step", yLabel: "nats", markers: false });
  // The drawn lines, in series order: their stroke colour and dash.
  const lines = [
    ...svg.matchAll(
      /aria-roledescription="line mark" d="[^"]*" stroke="([^"]+)"[^>]*?(?:stroke-dasharray="([^"]+)")?\/>/g,
    ),
  ]
    .map((m) => [m[1], m[2] ?? "solid"]);
  assert.equal(lines.length, 4, svg.slice(0, 500));
  assert.equal(lines[0][0], lines[1][0], "run 12: one colour");
  assert.equal(lines[2][0], lines[3][0], "run 13: one colour");
  assert.notEqual(lines[0][0], lines[2][0], "two runs, two colours");
  assert.deepEqual(lines.map(([, dash]) => dash === "solid" || dash === "1,0"), [true, false, true, false]);
});

Deno.test("lineChart rejects bad input, quoting it", async () => {
  const opts = { title: "t", xLabel: "x", yLabel: "y" };
  const ok = [{ name: "a", points: [{ x: 1, y: 1 }] }];
  await assert.rejects(lineChart([], opts), /Cannot draw a line chart of no series/);
  await assert.rejects(lineChart([{ name: "a", points: [] }], opts), /Series "a" has no points/);
  await assert.rejects(lineChart([...ok, ...ok], opts), /Series names must be distinct, got "a" twice/);
  await assert.rejects(
    lineChart([{ name: "a", points: [{ x: 1, y: NaN }] }], opts),
    { message: 'Point 0 of series "a" has y = NaN; expected a finite number' },
  );
  await assert.rejects(
    lineChart(ok, { ...opts, xScale: "symlog", symlogConstant: 0 }),
    { message: "The symlog constant must be a positive finite number, got 0" },
  );
  await assert.rejects(lineChart(ok, { ...opts, xScale: "symlog", symlogConstant: -20 }), /got -20/);
  await assert.rejects(lineChart(ok, { ...opts, xScale: "symlog", symlogConstant: NaN }), /got NaN/);
  await assert.rejects(
    lineChart(ok, { ...opts, symlogConstant: 20 }),
    /A symlog constant needs xScale "symlog", got xScale "linear"/,
  );
  await assert.rejects(
    lineChart([{ name: "a", points: [{ x: 0, y: 1 }] }], { ...opts, xScale: "log" }),
    /Point 0 of series "a" has x = 0; a log x-axis needs x > 0/,
  );
  await assert.rejects(
    lineChart(ok, { ...opts, xScale: "sqrt" as "log" }),
    /The x scale must be "linear", "symlog" or "log", got "sqrt"/,
  );
  await assert.rejects(
    lineChart(ok, { ...opts, yDomain: [1, 0] }),
    /y domain must be two finite numbers \[low, high\] with low < high, got \[1, 0\]/,
  );
});

Deno.test("heatmap draws cells with token ticks and leaves masked cells blank", async () => {
  const tokens = ["The", "cat", "_PAUSE_"];
  const matrix = [[1, NaN, null], [0.4, 0.6, NaN], [0.2, 0.3, 0.5]];
  const svg = await renderTwice(() =>
    heatmap(matrix, {
      title: "Attention at _PAUSE_",
      xLabel: "key",
      yLabel: "query",
      xTicks: tokens,
      yTicks: tokens,
      colorLabel: "attention weight",
    })
  );
  assertDraws(svg, ["Attention at _PAUSE_", "key", "query", "attention weight", ...tokens]);
  assert.equal(markItems(svg, "rect"), 6, "six cells drawn, three masked");
  assert.match(svg, /id="gradient_1"/, "gradient ids numbered per figure");
});

Deno.test("heatmap tick labels may hold quotes, backslashes, markup and any Unicode", async () => {
  const tokens = ['a"b', "c\\d", "<x&y>", "it's", "é\u2028z", "🙂"];
  const svg = await heatmap(tokens.map(() => tokens.map(() => 1)), {
    title: "t",
    xLabel: "x",
    yLabel: "y",
    xTicks: tokens,
    colorLabel: "c",
  });
  assertDraws(svg, tokens);
});

Deno.test("heatmap labels a wide matrix with spaced index ticks and takes a domain and scheme", async () => {
  const matrix = Array.from(
    { length: 12 },
    (_, l) => Array.from({ length: 200 }, (_, p) => Math.cos(p / (l + 3))),
  );
  const svg = await heatmap(matrix, {
    title: "Cosine per layer",
    xLabel: "position",
    yLabel: "layer",
    colorLabel: "cosine",
    domain: [-1, 1],
    scheme: "redblue",
    width: 500,
    height: 240,
  });
  assertDraws(svg, ["Cosine per layer", "position", "layer", "cosine", "0", "20", "180", "11"]);
  assert.ok(!drawsText(svg, "199") && !drawsText(svg, "30"), "x ticks every 20 columns");
  assert.equal(markItems(svg, "rect"), 2400);
});

Deno.test("heatmap rejects bad input, quoting it", async () => {
  const opts = { title: "t", xLabel: "x", yLabel: "y", colorLabel: "c" };
  await assert.rejects(heatmap([], opts), /Cannot draw a heatmap of no rows/);
  await assert.rejects(heatmap([[]], opts), /Cannot draw a heatmap of no columns: row 0 is empty/);
  await assert.rejects(
    heatmap([[1, 2], [3]], opts),
    { message: "Heatmap rows must all have 2 cells like row 0, but row 1 has 1" },
  );
  await assert.rejects(
    heatmap([[1, 2], [3, -Infinity]], opts),
    { message: "Heatmap cells must be finite numbers, NaN or null, got -Infinity at row 1, column 1" },
  );
  await assert.rejects(
    heatmap([[1, 2]], { ...opts, xTicks: ["a"] }),
    /Heatmap x ticks must be 2 labels, one per column, got 1/,
  );
  await assert.rejects(
    heatmap([[1, 2]], { ...opts, yTicks: ["a", "b"] }),
    /y ticks must be 1 labels, one per row, got 2/,
  );
  await assert.rejects(
    heatmap([[1]], { ...opts, domain: [0, NaN] }),
    /colour domain must be .* got \[0, NaN\]/,
  );
  await assert.rejects(heatmap([[1]], { ...opts, scheme: "nope" }), /Unknown colour scheme "nope"/);
});

Deno.test("scatter draws one panel per layer in one call, coloured by group, with labels", async () => {
  const points = [0, 1, 2].flatMap((layer) => [
    { x: 0, y: layer, group: "other", panel: layer },
    { x: 1, y: -layer, group: "context", panel: layer },
    { x: 2, y: 2 * layer, group: "meta", label: "_PAUSE_", panel: layer },
  ]);
  const svg = await renderTwice(() =>
    scatter(points, {
      title: "Residual stream",
      xLabel: "PC 1",
      yLabel: "PC 2",
      facet: "layer",
      columns: 2,
      colors: { other: "#cccccc" },
    })
  );
  assertDraws(svg, [
    "Residual stream",
    "PC 1",
    "PC 2",
    "layer 0",
    "layer 1",
    "layer 2",
    "other",
    "context",
    "meta",
  ]);
  assert.equal(svg.split(">_PAUSE_</text>").length - 1, 3, "one label a panel");
  assert.ok(svg.includes('fill="#cccccc"'), "colour asked for");
  const single = await scatter(points.slice(0, 3).map(({ panel: _, ...p }) => p), {
    title: "One layer",
    xLabel: "PC 1",
    yLabel: "PC 2",
    legendTitle: "token",
  });
  assertDraws(single, ["One layer", "token", "other", "context", "meta", "_PAUSE_"]);
  const named = await scatter(points.map((p) => ({ ...p, panel: `block ${p.panel}` })), {
    title: "t",
    xLabel: "x",
    yLabel: "y",
  });
  assertDraws(named, ["block 0", "block 2"]);
});

Deno.test("scatter rejects bad input, quoting it", async () => {
  const opts = { title: "t", xLabel: "x", yLabel: "y" };
  await assert.rejects(scatter([], opts), /Cannot draw a scatter plot of no points/);
  await assert.rejects(scatter([{ x: NaN, y: 0, group: "a" }], opts), {
    message: "Point 0 has x = NaN; expected a finite number",
  });
  await assert.rejects(
    scatter([{ x: 0, y: 0, group: "" }], opts),
    /The group of point 0 must be a non-empty string, got ""/,
  );
  await assert.rejects(
    scatter([{ x: 0, y: 0, group: "a", panel: 0 }, { x: 0, y: 0, group: "a" }], opts),
    { message: "Give a panel on every point or on none: point 0 has panel 0 but point 1 has none" },
  );
  await assert.rejects(
    scatter([{ x: 0, y: 0, group: "a" }], { ...opts, columns: 0 }),
    /columns must be a positive integer, got 0/,
  );
});

Deno.test("groupedBars draws side-by-side bars per category with a legend of series", async () => {
  const rows = ["List Recall", "Segment Counting", "Parity", "Copying"].flatMap((category, i) =>
    ["GPT-2 APE", "Meta APE", "Meta RoPE"].map((series, j) => ({ category, series, value: 10 * i + 20 * j }))
  );
  const svg = await renderTwice(() =>
    groupedBars(rows, { title: "Accuracy at 512", xLabel: "task", yLabel: "accuracy (%)", yDomain: [0, 100] })
  );
  assertDraws(svg, [
    "Accuracy at 512",
    "task",
    "accuracy (%)",
    "List Recall",
    "Copying",
    "GPT-2 APE",
    "Meta APE",
    "Meta RoPE",
    "100",
  ]);
  assert.equal(markItems(svg, "rect"), 12);
});

Deno.test("groupedBars rejects bad input, quoting it", async () => {
  const opts = { title: "t", xLabel: "x", yLabel: "y" };
  const row = { category: "Parity", series: "Meta", value: 1 };
  await assert.rejects(groupedBars([], opts), /Cannot draw a bar chart of no rows/);
  await assert.rejects(groupedBars([row, row], opts), {
    message: 'Category "Parity" has two rows for series "Meta"',
  });
  await assert.rejects(groupedBars([{ ...row, value: NaN }], opts), {
    message: "Row 0 has value NaN; expected a finite number",
  });
  await assert.rejects(groupedBars([row], { ...opts, yDomain: [100, 0] }), /got \[100, 0\]/);
});

Deno.test("renderSvg renders a plain vega-lite spec and reports a bad one", async () => {
  const svg = await renderSvg({
    data: { values: [{ a: 1, b: 2 }] },
    mark: "point",
    encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
  });
  assert.ok(svg.startsWith("<svg"));
  await assert.rejects(renderSvg({ mark: "nope" } as never), /^Error: Cannot render the vega-lite spec: /);
});

Deno.test("textOutside finds text past an SVG's edges, through group transforms and rotation", () => {
  const svg = '<svg width="100" height="50"><g transform="translate(10,20)">' +
    '<text text-anchor="start" transform="translate(0,0)" font-size="11px">ok</text>' +
    '<text text-anchor="start" transform="translate(80,0)" font-size="11px">too long here</text>' +
    '<text text-anchor="middle" transform="translate(-5,10) rotate(-90)" font-size="12px">axis</text></g></svg>';
  assert.deepEqual(textOutside(svg).map((b) => b.text), ["too long here", "axis"]);
});

Deno.test("every text of every figure lies inside the SVG at any label length, drawn in full", async () => {
  const long = "A long figure title about meta tokens and attention at every length bin, ≤ 512 tokens";
  const legend = "causal attention, meta queries, averaged over every head of every layer of the model";
  const category = "test ≤ 128 tokens, the longest length bin of this task";
  const figures: [string, string, string[]][] = [
    [
      "line",
      await lineChart([{ name: legend, points: [{ x: 0, y: 1 }, { x: 1, y: 2 }] }], {
        title: long,
        xLabel: "layer",
        yLabel: "entropy (nats)",
        legendTitle: "series",
      }),
      [long, legend],
    ],
    [
      "bars",
      await groupedBars(
        [{ category, series: legend, value: 3 }, { category: "b", series: legend, value: 1 }],
        {
          title: long,
          xLabel: "test prompt length",
          yLabel: "accuracy (%)",
        },
      ),
      [long, legend, category],
    ],
    ["histogram", await histogram([1, 2, 3], { title: long, xLabel: legend, seriesLabel: legend }), [
      long,
      legend,
    ]],
    [
      "heatmap",
      await heatmap([[1, 2], [3, 4]], {
        title: long,
        xLabel: "key position",
        yLabel: "layer",
        yTicks: [category, "1"],
        colorLabel: "attention",
      }),
      [long, category],
    ],
    [
      "scatter",
      await scatter([{ x: 1, y: 2, group: legend }, { x: 2, y: 1, group: "b" }], {
        title: long,
        xLabel: "PC 1",
        yLabel: "PC 2",
      }),
      [long, legend],
    ],
  ];
  for (const [kind, svg, texts] of figures) {
    assert.deepEqual(textOutside(svg), [], kind);
    for (const text of texts) {
      assert.ok(drawsText(svg, text), `${kind} draws ${JSON.stringify(text)} in full`);
    }
  }
});

Deno.test("figure details: whole-number ticks, marked heatmap ticks kept, a note on all-zero bars, symlog from the data", async () => {
  const layers = await lineChart([{ name: "s", points: [{ x: 0, y: 1 }, { x: 1, y: 2 }] }], {
    title: "t",
    xLabel: "layer",
    yLabel: "y",
  });
  assert.ok(
    drawsText(layers, "1") && !drawsText(layers, "0.5") && !drawsText(layers, "0.1"),
    "integer ticks",
  );
  const ticks = Array.from({ length: 102 }, (_, i) => [34, 101].includes(i) ? `${i}*` : `${i}`);
  const map = await heatmap([Array.from({ length: 102 }, (_, i) => i)], {
    title: "t",
    xLabel: "position (* = meta token)",
    yLabel: "layer",
    xTicks: ticks,
    colorLabel: "c",
  });
  assert.ok(drawsText(map, "34*") && drawsText(map, "101*"), "every marked tick is labelled");
  assert.deepEqual(spacedTicks(ticks, 400 / 102).filter((i) => ticks[i].endsWith("*")), [34, 101]);
  const zero = await groupedBars([{ category: "a", series: "s", value: 0 }], {
    title: "t",
    xLabel: "x",
    yLabel: "y",
  });
  assert.ok(drawsText(zero, "no non-zero values: every bar is 0"));
  const far = await lineChart([{ name: "s", points: [{ x: 1000, y: 5 }, { x: 5000, y: 6 }] }], {
    title: "t",
    xLabel: "rate",
    yLabel: "y",
    xScale: "symlog",
  });
  assert.ok(drawsText(far, "1,000") && !drawsText(far, "0"), "the symlog axis starts at the data");
});

Deno.test("textOverlaps finds level text drawn over other text, not hidden or tilted text", () => {
  const svg =
    '<svg width="200" height="50"><g class="mark-text role-axis-label" transform="translate(10,20)">' +
    '<text text-anchor="start" transform="translate(0,0)" font-size="11px">1,000,000</text>' +
    '<text text-anchor="start" transform="translate(30,0)" font-size="11px">2,000,000</text>' +
    '<text text-anchor="start" transform="translate(60,0)" font-size="11px" opacity="0">3,000,000</text>' +
    '<text text-anchor="start" transform="translate(100,0)" font-size="11px">4,000,000</text>' +
    '<text text-anchor="end" transform="translate(120,10) rotate(-35)" font-size="11px">tilted</text></g></svg>';
  assert.deepEqual(textOverlaps(svg).map(([a, b]) => [a.text, b.text, a.role]), [
    ["1,000,000", "2,000,000", "axis-label"],
  ]);
  assert.deepEqual(textBoxes(svg).boxes.map((b) => b.text), [
    "1,000,000",
    "2,000,000",
    "4,000,000",
    "tilted",
  ]);
});

/** The visible labels of a figure's bottom axis, left to right. */
function bottomLabels(svg: string) {
  const labels = textBoxes(svg).boxes.filter((b) => b.role === "axis-label" && b.angle === 0);
  const bottom = Math.max(...labels.map((b) => b.y0));
  return labels.filter((b) => Math.abs(b.y0 - bottom) < 1).sort((a, b) => a.x0 - b.x0);
}

Deno.test("number-axis tick labels never touch: at least 4 px apart, wide numbers thinned", async () => {
  for (
    const [values, width] of [[[-2.05, 0.02], 400], [[-123456.789, 98765.4321], 420], [
      [1e6, 1.234e7],
      160,
    ]] as const
  ) {
    const svg = await histogram([...values], { title: "t", xLabel: "x", width });
    const labels = bottomLabels(svg);
    assert.ok(labels.length >= 2, `${labels.length} labels`);
    for (let i = 1; i < labels.length; i++) {
      const gap = labels[i].x0 - labels[i - 1].x1;
      assert.ok(gap >= 3.9, `${labels[i - 1].text} and ${labels[i].text} are ${gap.toFixed(1)} px apart`);
    }
    assert.deepEqual(textOverlaps(svg), []);
  }
});

Deno.test("scatter merges point labels that would overlap into one ('34, 101')", async () => {
  const points = [
    ...Array.from({ length: 20 }, (_, i) => ({ x: i, y: (i * 7) % 5, group: "text" })),
    { x: 10, y: 2, group: "meta", label: "34" },
    { x: 10.05, y: 2.02, group: "meta", label: "101" },
    { x: 2, y: 4, group: "meta", label: "7" },
  ];
  for (const panel of [undefined, 0]) {
    const svg = await scatter(points.map((p) => ({ ...p, panel })), { title: "t", xLabel: "x", yLabel: "y" });
    assert.deepEqual(textOverlaps(svg), [], `panel ${panel}`);
    assert.ok(drawsText(svg, "34, 101") && drawsText(svg, "7") && !drawsText(svg, "34"), `panel ${panel}`);
  }
});

Deno.test("figures take a subtitle; legends write negative numbers with a minus sign", async () => {
  const note = "positive: the meta token raises the top logit";
  const hist = await histogram([-0.2, -0.8], { title: "t", xLabel: "x", subtitle: note });
  assertDraws(hist, [note, "mean = −0.5"]);
  assert.deepEqual(textOutside(hist), []);
  const bars = await groupedBars([{ category: "a", series: "s", value: 0 }], {
    title: "t",
    xLabel: "x",
    yLabel: "y",
    subtitle: "n = 200 prompts a bar",
  });
  assert.ok(
    textBoxes(bars).boxes.some((b) => b.text === "n = 200 prompts a bar\nno non-zero values: every bar is 0"),
    "the subtitle, then the all-zero note under it",
  );
  assert.deepEqual(textOutside(bars), []);
  const line = await lineChart([{ name: "s", points: [{ x: 0, y: 1 }] }], {
    title: "t",
    xLabel: "x",
    yLabel: "y",
    subtitle: "training loss only",
  });
  assertDraws(line, ["training loss only"]);
  await assert.rejects(
    () => histogram([1], { title: "t", xLabel: "x", subtitle: " " }),
    /The subtitle must be a non-empty string, got " "/,
  );
});

Deno.test("the committed report's figures keep every text inside the SVG, none over another", async () => {
  const root = new URL("../docs/reproduce-tiny/", import.meta.url);
  const files: string[] = [];
  const walk = (dir: URL) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".svg")) files.push(new URL(e.name, dir).pathname);
    }
  };
  walk(root);
  assert.ok(files.length > 10, `${files.length} figures`);
  for (const file of files) {
    const svg = await Deno.readTextFile(file);
    assert.deepEqual(textOutside(svg), [], file);
    assert.deepEqual(textOverlaps(svg).map(([a, b]) => `${a.text} × ${b.text}`), [], file);
  }
});
