/**
 * 95% intervals for accuracies: the Wilson score interval of one proportion
 * and Newcombe's hybrid score interval (his method 10) for the difference of
 * two independent proportions. Both stay inside [0, 1] (resp. [−1, 1]) and
 * behave at 0 and n, where the normal ("Wald") interval collapses to a point.
 *
 * References: E. B. Wilson, JASA 22 (1927); R. G. Newcombe, Statistics in
 * Medicine 17 (1998) 873–890, "Interval estimation for the difference between
 * independent proportions", method 10.
 *
 * @module
 */

/** z of a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/** A point estimate with its interval. */
export interface Interval {
  /** The estimate (hits / n, or the difference of two such). */
  estimate: number;
  /** Lower end. */
  lo: number;
  /** Upper end. */
  hi: number;
}

function checkCount(hits: number, n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot compute an interval over ${n} examples: expected an integer ≥ 1`);
  }
  if (!Number.isInteger(hits) || hits < 0 || hits > n) {
    throw new RangeError(
      `Cannot compute an interval for ${hits} hits of ${n}: expected an integer in 0 … ${n}`,
    );
  }
}

/**
 * The Wilson score interval of `hits` successes in `n` trials.
 *
 * @example
 * ```ts
 * import { wilsonInterval } from "@metatokens/tasks/interval";
 * const { estimate, lo, hi } = wilsonInterval(180, 200);
 * console.log(estimate, lo.toFixed(3), hi.toFixed(3)); // 0.9 0.851 0.934
 * console.log(wilsonInterval(0, 200).hi.toFixed(4)); // 0.0188
 * ```
 */
export function wilsonInterval(hits: number, n: number, z: number = Z95): Interval {
  checkCount(hits, n);
  const p = hits / n, z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 and n the exact ends are 0 and 1; rounding must not move them.
  return { estimate: p, lo: hits === 0 ? 0 : center - half, hi: hits === n ? 1 : center + half };
}

/**
 * Newcombe's interval for p₁ − p₂ (independent samples), from the two
 * Wilson intervals: lo = d − √((p₁−l₁)² + (u₂−p₂)²), hi = d + √((u₁−p₁)² + (p₂−l₂)²).
 *
 * @example
 * ```ts
 * import { differenceInterval } from "@metatokens/tasks/interval";
 * const d = differenceInterval(180, 200, 40, 200);
 * console.log(d.estimate.toFixed(2), d.lo > 0); // 0.70 true
 * console.log(differenceInterval(100, 200, 96, 200).lo < 0); // true: not significant
 * ```
 */
export function differenceInterval(
  hits1: number,
  n1: number,
  hits2: number,
  n2: number,
  z: number = Z95,
): Interval {
  const a = wilsonInterval(hits1, n1, z), b = wilsonInterval(hits2, n2, z);
  const d = a.estimate - b.estimate;
  return {
    estimate: d,
    lo: d - Math.sqrt((a.estimate - a.lo) ** 2 + (b.hi - b.estimate) ** 2),
    hi: d + Math.sqrt((a.hi - a.estimate) ** 2 + (b.estimate - b.lo) ** 2),
  };
}

/** Whether an interval excludes zero (a difference called significant at its level). */
export function excludesZero(interval: Interval): boolean {
  return interval.lo > 0 || interval.hi < 0;
}

/**
 * Mean, sample standard deviation, min and max of per-seed values, and a
 * 95% t interval of the mean (n − 1 degrees of freedom; a single value has
 * no spread and gets an interval of its own point, flagged by `n`).
 *
 * @example
 * ```ts
 * import { seedSummary } from "@metatokens/tasks/interval";
 * const s = seedSummary([0.9, 0.95, 1]);
 * console.log(s.n, s.mean.toFixed(3), s.min, s.max, s.sd.toFixed(3)); // 3 0.950 0.9 1 0.050
 * ```
 */
export function seedSummary(values: readonly number[]): Interval & {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
} {
  if (values.length === 0) throw new RangeError("Cannot summarise zero seeds: expected ≥ 1 value");
  const n = values.length, mean = values.reduce((s, v) => s + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? tQuantile975(n - 1) * sd / Math.sqrt(n) : 0;
  return {
    n,
    mean,
    sd,
    min: Math.min(...values),
    max: Math.max(...values),
    estimate: mean,
    lo: mean - half,
    hi: mean + half,
  };
}

/** The 97.5% quantile of Student's t with `df` degrees of freedom (table to 30, then the normal's). */
export function tQuantile975(df: number): number {
  const TABLE = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.16,
    2.145,
    2.131,
    2.12,
    2.11,
    2.101,
    2.093,
    2.086,
    2.08,
    2.074,
    2.069,
    2.064,
    2.06,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
  ];
  if (!Number.isInteger(df) || df < 1) {
    throw new RangeError(`Cannot look up Student's t with ${df} degrees of freedom: expected an integer ≥ 1`);
  }
  return df <= TABLE.length ? TABLE[df - 1] : Z95;
}
