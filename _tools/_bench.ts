/**
 * What the benchmark scripts share: flags, best-of-N timing, and printing a
 * row as text or as one JSON object per line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultThreads, parseThreads } from "../tensor/mod.ts";

/** Parsed benchmark flags. */
export interface BenchFlags {
  /** Print JSON lines instead of a table. */
  json: boolean;
  /** Threads for the "all threads" rows. */
  threads: number;
  /** Timed repetitions per figure (after one warm-up). */
  repeat: number;
  /** Small shapes only (a smoke run). */
  quick: boolean;
}

/** Parses `--json --threads N --repeat R --quick`. */
export function benchFlags(args: string[]): BenchFlags {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      threads: { type: "string" },
      repeat: { type: "string", default: "5" },
      quick: { type: "boolean", default: false },
    },
  });
  return {
    json: values.json!,
    threads: values.threads ? parseThreads(values.threads, "--threads") : defaultThreads(),
    repeat: parseThreads(values.repeat!, "--repeat"),
    quick: values.quick!,
  };
}

/** Seconds of `fn`: the best and the median of `repeat` runs after one warm-up run. */
export function time(fn: () => void, repeat: number): { best: number; median: number } {
  fn();
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    fn();
    ts.push((performance.now() - t0) / 1000);
  }
  ts.sort((a, b) => a - b);
  return { best: ts[0], median: ts[Math.floor(ts.length / 2)] };
}

/** Prints `row` as JSON with `--json`, else `text`. */
export function reporter(
  flags: BenchFlags,
): (row: Record<string, string | number | boolean>, text: string) => void {
  return (row, text) => console.log(flags.json ? JSON.stringify(row) : text);
}
