/**
 * The residual stream of one sequence: cosine similarity of a chosen
 * position to every earlier position (paper Fig. 2 right) and a 2-D PCA
 * projection of every position (Fig. 3 left).
 *
 * @module
 */

/**
 * cos(h_p, h_j) for j = 0 … p over the rows of `hidden` (T, C).
 *
 * @example
 * ```ts
 * import { cosineToPast } from "@metatokens/analysis";
 * const h = new Float32Array([1, 0, 0, 1, 1, 1]); // T = 3, C = 2
 * console.log(cosineToPast(h, 2, 2).map((x) => +x.toFixed(4))); // Float64Array [0.7071, 0.7071, 1]
 * ```
 */
export function cosineToPast(hidden: ArrayLike<number>, c: number, p: number): Float64Array {
  const t = hidden.length / c;
  if (!Number.isInteger(t) || !Number.isInteger(p) || p < 0 || p >= t) {
    throw new RangeError(`Cannot compare position ${p} of ${hidden.length / c} rows of width ${c}`);
  }
  const norm = (r: number): number => {
    let s = 0;
    for (let x = 0; x < c; x++) s += hidden[r * c + x] ** 2;
    return Math.sqrt(s);
  };
  const np = norm(p);
  const out = new Float64Array(p + 1);
  for (let j = 0; j <= p; j++) {
    let dot = 0;
    for (let x = 0; x < c; x++) dot += hidden[p * c + x] * hidden[j * c + x];
    const d = np * norm(j);
    out[j] = d > 0 ? dot / d : 0;
  }
  return out;
}

/** A 2-D principal-component projection. */
export interface Projection {
  /** (N, 2): each row's coordinates on the first two principal axes. */
  points: Float64Array;
  /** Fraction of the total variance each axis explains. */
  explained: [number, number];
}

/**
 * Projects the rows of `x` (N, C) onto their first two principal components
 * (power iteration on the covariance with deflation; signs fixed so the
 * largest coordinate is positive, which makes the result deterministic).
 *
 * @example
 * ```ts
 * import { pca2 } from "@metatokens/analysis";
 * const x = new Float32Array([0, 0, 2, 0, 4, 0, 6, 1]); // N = 4, C = 2: mostly along x
 * const { explained } = pca2(x, 2);
 * console.log(explained[0] > 0.9); // true
 * ```
 */
export function pca2(x: ArrayLike<number>, c: number): Projection {
  const n = x.length / c;
  if (!Number.isInteger(n) || n < 1 || c < 1) {
    throw new RangeError(`Cannot project ${x.length} values as rows of width ${c}`);
  }
  const mean = new Float64Array(c);
  for (let r = 0; r < n; r++) for (let k = 0; k < c; k++) mean[k] += x[r * c + k] / n;
  // Covariance (C, C) of the centred rows.
  const cov = new Float64Array(c * c);
  const row = new Float64Array(c);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < c; k++) row[k] = x[r * c + k] - mean[k];
    for (let a = 0; a < c; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = 0; b < c; b++) cov[a * c + b] += ra * row[b];
    }
  }
  let total = 0;
  for (let k = 0; k < c; k++) total += cov[k * c + k];
  const axes: Float64Array[] = [];
  const values: number[] = [];
  for (let comp = 0; comp < 2; comp++) {
    let v = new Float64Array(c).map((_, k) => 1 + ((k * 7919) % 13) / 13); // fixed, non-degenerate start
    let lambda = 0;
    for (let iter = 0; iter < 500; iter++) {
      const w = new Float64Array(c);
      for (let a = 0; a < c; a++) {
        let s = 0;
        for (let b = 0; b < c; b++) s += cov[a * c + b] * v[b];
        w[a] = s;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((y) => y / norm);
      const change = next.reduce((s, y, k) => s + Math.abs(y - v[k]), 0);
      v = next;
      lambda = norm;
      if (change < 1e-12) break;
    }
    let big = 0;
    for (let k = 0; k < c; k++) if (Math.abs(v[k]) > Math.abs(v[big])) big = k;
    if (v[big] < 0) v = v.map((y) => -y);
    axes.push(v);
    values.push(lambda);
    for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) cov[a * c + b] -= lambda * v[a] * v[b];
  }
  const points = new Float64Array(2 * n);
  for (let r = 0; r < n; r++) {
    for (let comp = 0; comp < 2; comp++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += (x[r * c + k] - mean[k]) * axes[comp][k];
      points[2 * r + comp] = s;
    }
  }
  const frac = (l: number): number => (total > 0 ? l / total : 0);
  return { points, explained: [frac(values[0]), frac(values[1])] };
}
