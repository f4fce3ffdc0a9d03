// Test helper shared by the seeded fuzz suites of the readers of untrusted files (issue 14):
// safetensors and config.json (model), trainer_state.json and checkpoints (model), task JSONL
// (tasks), corpora and token cache manifests (data). Each suite draws its cases from one seeded
// Rng, so a failure names a case that reruns exactly.
//
// Case counts: each suite runs its default (a few thousand, a few seconds) in the normal test run;
// METATOKENS_FUZZ_CASES=N scales every suite to N cases (`deno task fuzz` runs 100,000), and
// then each suite prints its counts and slowest case.

import { Rng } from "../rng.ts";

/** The environment variable that sets every fuzz suite's case count. */
export const FUZZ_CASES_ENV = "METATOKENS_FUZZ_CASES";

/** The number of cases to run: `METATOKENS_FUZZ_CASES` when set, else `fallback`. */
export function fuzzCases(fallback: number): number {
  let text: string | undefined;
  try {
    text = Deno.env.get(FUZZ_CASES_ENV);
  } catch {
    return fallback; // no --allow-env: the default
  }
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`${FUZZ_CASES_ENV}=${text}: expected a positive integer`);
  }
  return n;
}

/** Whether the case count came from the environment (then suites print their summary). */
function scaled(): boolean {
  try {
    return (Deno.env.get(FUZZ_CASES_ENV) ?? "") !== "";
  } catch {
    return false;
  }
}

/** Fragments whose insertion into JSON text breaks or bends it: structure, escapes, NUL, overflow, −0, BOM. */
export const JSON_BREAKERS: readonly string[] = Object.freeze([
  "{",
  "}",
  "[",
  "]",
  ",",
  '"',
  "\\",
  ":",
  "\u0000",
  "1e999",
  "-0",
  "\uFEFF",
]);

/** A uniformly drawn element. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

/** Random bytes, each uniform. */
export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

/** Values that break careless readers: wrong types, bounds, prototype names, huge and deep input. */
export const NASTY_VALUES: readonly unknown[] = Object.freeze([
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  1e308,
  "",
  "1",
  "toString",
  "__proto__",
  "constructor",
  [],
  [1],
  [[1]],
  {},
  { toString: 1 },
  "x".repeat(10_000),
  JSON.parse("[".repeat(5000) + "]".repeat(5000)),
]);

/** What one case ended in. */
export type Outcome = "accepted" | "refused";

/** Settings of {@linkcode fuzz}. */
export interface FuzzOptions {
  /** The suite's name, in messages. */
  name: string;
  /** The seed of the cases. */
  seed: number;
  /** Cases in the normal test run (scaled by `METATOKENS_FUZZ_CASES`). */
  cases: number;
  /** The slowest a case may be, in milliseconds. */
  maxCaseMs: number;
  /** The longest error message a refusal may have (bounded quoting). */
  maxMessage?: number;
  /**
   * How far the process's resident memory may grow over the suite's start,
   * in bytes, checked after every case (default 512 MiB). Resident memory
   * after a case is not its true peak, but a reader that allocates what an
   * input claims (a 4 GB tensor, a billion layers) before refusing it leaves
   * those pages resident until the next garbage collection, so it is caught.
   */
  maxRssGrowth?: number;
}

/** A suite's counts. */
export interface FuzzSummary {
  /** Cases run. */
  cases: number;
  /** Cases whose input was read. */
  accepted: number;
  /** Cases refused with a typed error. */
  refused: number;
  /** Cases known to be invalid (all refused). */
  invalid: number;
  /** The slowest case, in milliseconds. */
  maxMs: number;
  /** The most resident memory grew over the suite's start, in bytes, after any case. */
  maxRssGrowth: number;
}

/** One case, as the suite's generator returns it. */
export interface FuzzCase {
  /** Reads the input; returns normally when it was accepted (after checking what it read). */
  read: () => unknown | Promise<unknown>;
  /** Whether the input is known to be invalid: it must be refused. */
  invalid: boolean;
  /** What the case is, in messages. */
  label: string;
}

/**
 * Runs a seeded fuzz suite: `make` draws each case; its `read` must either
 * return (accepted) or throw an error that `isTyped` accepts (refused), within
 * `maxCaseMs`, with a message of at most `maxMessage` characters; an invalid
 * case must be refused. Throws naming the case otherwise; returns the counts.
 */
export async function fuzz(
  options: FuzzOptions,
  make: (rng: Rng, i: number) => FuzzCase | Promise<FuzzCase>,
  isTyped: (e: unknown) => boolean,
): Promise<FuzzSummary> {
  const rng = new Rng(options.seed);
  const cases = fuzzCases(options.cases);
  const maxMessage = options.maxMessage ?? 1000;
  const memory = new RssBound(options.maxRssGrowth);
  const summary: FuzzSummary = { cases, accepted: 0, refused: 0, invalid: 0, maxMs: 0, maxRssGrowth: 0 };
  for (let i = 0; i < cases; i++) {
    const c = await make(rng, i);
    const where = `${options.name} case ${i} (${c.label})`;
    const start = performance.now();
    let outcome: Outcome = "accepted";
    try {
      await c.read();
    } catch (e) {
      if (!isTyped(e)) {
        throw new Error(`${where}: not a typed error: ${String(e).slice(0, 500)}`, { cause: e });
      }
      const message = (e as Error).message;
      if (message.length > maxMessage) throw new Error(`${where}: a ${message.length}-character message`);
      outcome = "refused";
    }
    const ms = performance.now() - start;
    if (ms > options.maxCaseMs) {
      throw new Error(`${where}: took ${ms.toFixed(0)} ms (at most ${options.maxCaseMs})`);
    }
    summary.maxMs = Math.max(summary.maxMs, ms);
    summary.maxRssGrowth = memory.check(where);
    if (c.invalid) {
      summary.invalid++;
      if (outcome === "accepted") throw new Error(`${where}: an invalid input was accepted`);
    }
    summary[outcome]++;
  }
  reportFuzz(options.name, summary);
  return summary;
}

/**
 * The memory bound of a suite: resident memory may grow at most `max` bytes
 * (default 512 MiB) over what it was when the bound was made. See
 * {@linkcode FuzzOptions.maxRssGrowth} for what this catches.
 */
export class RssBound {
  readonly #start = Deno.memoryUsage().rss;
  #most = 0;
  constructor(readonly max: number = 512 * 2 ** 20) {}

  /** Checks the bound after case `where`; returns the most growth seen so far. */
  check(where: string): number {
    const growth = Deno.memoryUsage().rss - this.#start;
    if (growth > this.max) {
      throw new Error(
        `${where}: resident memory grew ${mib(growth)} over the suite's start (at most ${mib(this.max)})`,
      );
    }
    return this.#most = Math.max(this.#most, growth);
  }
}

/** Bytes as MiB, for messages. */
function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Prints a suite's counts when `METATOKENS_FUZZ_CASES` scaled it (for suites with their own loop). */
export function reportFuzz(name: string, summary: FuzzSummary): void {
  if (!scaled()) return;
  console.log(
    `fuzz ${name}: ${summary.cases} cases, ${summary.accepted} accepted, ${summary.refused} refused ` +
      `(${summary.invalid} known invalid, all refused), slowest ${summary.maxMs.toFixed(1)} ms, ` +
      `resident memory at most ${mib(summary.maxRssGrowth)} over the start`,
  );
}
