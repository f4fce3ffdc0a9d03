/**
 * Where the text of a rendered figure lies: every visible `<text>` element
 * of an SVG as vega writes it, placed through the transforms of its enclosing groups
 * and measured with the same Helvetica metrics the layout used. Tests use it
 * to check that no title, label or legend entry runs past the SVG's edges.
 *
 * @module
 */

import { textWidth } from "./_plot.ts";

/** A text element's box in SVG coordinates. */
export interface TextBox {
  /** The text drawn (longest line for multi-line text). */
  text: string;
  /** The role of the mark it belongs to (`axis-label`, `legend-label`, `title-text`, `mark`, …). */
  role: string;
  /** Its rotation in degrees (0 for level text). */
  angle: number;
  /** Left, top, right and bottom edges. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

type Matrix = [number, number, number, number, number, number]; // a b c d e f

const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

function multiply(m: Matrix, n: Matrix): Matrix {
  return [
    m[0] * n[0] + m[2] * n[1],
    m[1] * n[0] + m[3] * n[1],
    m[0] * n[2] + m[2] * n[3],
    m[1] * n[2] + m[3] * n[3],
    m[0] * n[4] + m[2] * n[5] + m[4],
    m[1] * n[4] + m[3] * n[5] + m[5],
  ];
}

/** The matrix of an SVG `transform` attribute (translate, rotate, scale). */
function parseTransform(text: string | undefined): Matrix {
  let m = IDENTITY;
  for (const [, op, args] of (text ?? "").matchAll(/(\w+)\(([^)]*)\)/g)) {
    const v = args.split(/[\s,]+/).filter((x) => x !== "").map(Number);
    if (op === "translate") m = multiply(m, [1, 0, 0, 1, v[0], v[1] ?? 0]);
    else if (op === "scale") m = multiply(m, [v[0], 0, 0, v[1] ?? v[0], 0, 0]);
    else if (op === "rotate") {
      const r = (v[0] * Math.PI) / 180, cos = Math.cos(r), sin = Math.sin(r);
      m = multiply(m, [cos, sin, -sin, cos, 0, 0]);
    } else throw new Error(`Cannot read transform ${op}(${args})`);
  }
  return m;
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

const unescape = (s: string): string =>
  s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");

/**
 * The SVG's size and the box of every text element in it.
 *
 * @example
 * ```ts ignore
 * const { width, boxes } = textBoxes(svg);
 * console.log(boxes.every((b) => b.x1 <= width));
 * ```
 */
export function textBoxes(svg: string): { width: number; height: number; boxes: TextBox[] } {
  const root = /^<svg[^>]*>/.exec(svg)?.[0] ?? "";
  const width = Number(attr(root, "width")), height = Number(attr(root, "height"));
  const stack: { m: Matrix; role: string }[] = [{ m: IDENTITY, role: "" }];
  const boxes: TextBox[] = [];
  const tags = /<(\/?)(g|text)\b([^>]*?)(\/?)>/g;
  for (let t = tags.exec(svg); t !== null; t = tags.exec(svg)) {
    const [whole, closing, name, , selfClosing] = t;
    if (name === "g") {
      if (closing) stack.pop();
      else if (!selfClosing) {
        const role = /\brole-([\w-]+)/.exec(attr(whole, "class") ?? "")?.[1] ?? stack.at(-1)!.role;
        stack.push({ m: multiply(stack.at(-1)!.m, parseTransform(attr(whole, "transform"))), role });
      }
      continue;
    }
    if (closing || selfClosing) continue;
    const end = svg.indexOf("</text>", tags.lastIndex);
    const inner = svg.slice(tags.lastIndex, end);
    tags.lastIndex = end + 7;
    // vega hides the labels it thins out (overlapping ticks) with opacity 0.
    if (Number(attr(whole, "opacity") ?? 1) === 0) continue;
    const lines = inner.includes("<tspan")
      ? [...inner.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((l) => unescape(l[1]))
      : [unescape(inner)];
    const size = parseFloat(attr(whole, "font-size") ?? "11");
    const weight = attr(whole, "font-weight");
    const w = Math.max(...lines.map((l) => textWidth({ fontSize: size, fontWeight: weight }, l)));
    const anchor = attr(whole, "text-anchor") ?? "start";
    const left = anchor === "middle" ? -w / 2 : anchor === "end" ? -w : 0;
    const m = multiply(stack.at(-1)!.m, parseTransform(attr(whole, "transform")));
    const x = Number(attr(whole, "x") ?? 0), y = Number(attr(whole, "y") ?? 0);
    const corners = [[left, -0.8 * size], [left + w, -0.8 * size], [left, 0.25 * size * lines.length], [
      left + w,
      0.25 * size * lines.length,
    ]].map((
      [cx, cy],
    ) => [m[0] * (cx + x) + m[2] * (cy + y) + m[4], m[1] * (cx + x) + m[3] * (cy + y) + m[5]]);
    const xs = corners.map((c) => c[0]), ys = corners.map((c) => c[1]);
    boxes.push({
      text: lines.join("\n"),
      role: stack.at(-1)!.role,
      angle: Math.round((Math.atan2(m[1], m[0]) * 180) / Math.PI),
      x0: Math.min(...xs),
      y0: Math.min(...ys),
      x1: Math.max(...xs),
      y1: Math.max(...ys),
    });
  }
  return { width, height, boxes };
}

/** The text elements of `svg` that run past its width or height (by more than half a pixel). */
export function textOutside(svg: string): TextBox[] {
  const { width, height, boxes } = textBoxes(svg);
  return boxes.filter((b) => b.x0 < -0.5 || b.y0 < -0.5 || b.x1 > width + 0.5 || b.y1 > height + 0.5);
}

/**
 * The pairs of level or upright text elements of `svg` that overlap (by more
 * than half a pixel each way): tick labels drawn over each other, a point
 * label over another. Tilted text (not a multiple of 90°) is left out, as its
 * bounding box is wider than the text.
 */
export function textOverlaps(svg: string): [TextBox, TextBox][] {
  const boxes = textBoxes(svg).boxes.filter((b) => b.angle % 90 === 0 && b.text.trim() !== "");
  const out: [TextBox, TextBox][] = [];
  for (const [i, a] of boxes.entries()) {
    for (const b of boxes.slice(i + 1)) {
      const dx = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
      const dy = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
      if (dx > 0.5 && dy > 0.5) out.push([a, b]);
    }
  }
  return out;
}
