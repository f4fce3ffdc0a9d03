/**
 * Copying (paper §4.2, Appendix D.1.4): a passage of the embedded Brown
 * corpus with a span bracketed by `_PAUSE_`; the answer is the span.
 * Layout as in Appendix H — the passage on one line, words separated by
 * single spaces:
 *
 * ```text
 * <before> _PAUSE_ <span> _PAUSE_ <after> Q: Copy the bracketed text. _PAUSE_
 * ```
 *
 * A passage is a run of the whitespace-separated words of one Brown file
 * (its paragraph breaks become spaces). The prompt length T comes uniformly
 * from the phase's window, the span length C (tokens) and the distance D
 * (tokens between the closing `_PAUSE_` and `Q:`) from the phase's ranges
 * (see `phases.ts`), and the rest of T is text before the span. Words are
 * taken whole until each part reaches its token count, and the whole prompt
 * is re-measured against the window. A span that occurs anywhere else in
 * the prompt is redrawn, so the bracketed copy is the only source of the
 * answer. `before` and `after` have at least one word each.
 *
 * @module
 */

import { basename } from "node:path";
import { brownFiles, brownText } from "@metatokens/data/brown";
import { encode, META_TOKEN } from "@metatokens/data/tokenizer";
import type { CopyingExample } from "./example.ts";
import { type PhaseSpec, phaseSpec } from "./phases.ts";
import { randInt, type TaskRng } from "./_rng.ts";
import { drawWithin } from "./_window.ts";

const QUESTION = "Q: Copy the bracketed text.";

/**
 * The Copying prompt: `before _PAUSE_ span _PAUSE_ after Q: Copy the bracketed text. _PAUSE_`.
 *
 * @example
 * ```ts
 * import { formatCopying } from "@metatokens/tasks/copying";
 * console.log(formatCopying("It was", "a bright cold day", "in April."));
 * // It was _PAUSE_ a bright cold day _PAUSE_ in April. Q: Copy the bracketed text. _PAUSE_
 * ```
 */
export function formatCopying(before: string, span: string, after: string): string {
  for (const [what, text] of [["before", before], ["span", span], ["after", after]]) {
    if (text.includes(META_TOKEN)) {
      throw new RangeError(`Copying ${what} text contains ${META_TOKEN}: "${text.slice(0, 60)}"`);
    }
  }
  if (span.trim().length === 0) throw new RangeError(`Copying span "${span}" is empty: expected some text`);
  return [before, META_TOKEN, span, META_TOKEN, after, QUESTION, META_TOKEN].filter((p) => p.length > 0).join(
    " ",
  );
}

const wordCache = new Map<string, string[]>();
const tokenCache = new Map<string, number>();

/**
 * The whitespace-separated words of a Brown corpus file (by name, e.g.
 * `ca01`), the text a Copying passage is cut from.
 *
 * @example
 * ```ts
 * import { copyingWords } from "@metatokens/tasks/copying";
 * console.log(copyingWords("ca01").slice(0, 4).join(" ")); // "The Fulton County Grand"
 * ```
 */
export function copyingWords(document: string): string[] {
  const cached = wordCache.get(document);
  if (cached !== undefined) return cached;
  const files = brownFiles();
  const file = files.find((f) => basename(f) === document);
  if (file === undefined) {
    throw new RangeError(
      `Unknown Brown corpus document "${document}": expected a file name such as ca01 … cr09`,
    );
  }
  const words = brownText(Deno.readTextFileSync(file)).split(/\s+/).filter((w) => w.length > 0);
  wordCache.set(document, words);
  return words;
}

/** Tokens of a word after a space (text joined by single spaces is additive in these). */
function wordTokens(word: string): number {
  let t = tokenCache.get(word);
  if (t === undefined) {
    t = encode(` ${word}`).length;
    if (tokenCache.size < 200_000) tokenCache.set(word, t);
  }
  return t;
}

/** Takes words from `i` until their tokens reach `target`; the end index, or −1 if the text runs out. */
function takeTokens(words: readonly string[], i: number, target: number): number {
  let tokens = 0;
  while (tokens < target) {
    if (i >= words.length) return -1;
    tokens += wordTokens(words[i++]);
  }
  return i;
}

let overhead: number | undefined;
/** Prompt tokens other than the three text parts. */
function copyingOverhead(): number {
  return overhead ??= encode(formatCopying("a", "b", "c")).length - 3;
}

/**
 * One Copying example for a phase (1–5 or a custom {@linkcode PhaseSpec}),
 * its passage from the embedded Brown corpus.
 *
 * @example
 * ```ts
 * import { copyingWords, generateCopying } from "@metatokens/tasks";
 * import { Rng } from "@metatokens/tensor";
 * const ex = generateCopying(new Rng(4), 1);
 * const words = copyingWords(ex.document);
 * const at = ex.start + ex.prefixWords;
 * console.log(ex.answer === words.slice(at, at + ex.spanWords).join(" ")); // true
 * console.log(ex.prompt.endsWith("Q: Copy the bracketed text. _PAUSE_")); // true
 * ```
 */
export function generateCopying(rng: TaskRng, phase: number | PhaseSpec): CopyingExample {
  const spec = phaseSpec(phase);
  const files = brownFiles().map((f) => basename(f));
  return drawWithin(spec, "copying", () => {
    const total = randInt(rng, spec.tokens.lo, spec.tokens.hi);
    const text = total - copyingOverhead();
    const c = randInt(rng, spec.copyTokens.lo, spec.copyTokens.hi);
    const dMax = Math.min(spec.distanceTokens.hi, text - c - 1);
    if (dMax < spec.distanceTokens.lo) return null;
    const d = randInt(rng, spec.distanceTokens.lo, dMax);
    const p = text - c - d;
    const document = files[randInt(rng, 0, files.length - 1)];
    const words = copyingWords(document);
    const need = Math.ceil(text / 1.1);
    if (words.length < need) return null;
    const start = randInt(rng, 0, words.length - need);
    const spanAt = takeTokens(words, start, p);
    const spanEnd = spanAt < 0 ? -1 : takeTokens(words, spanAt, c);
    const end = spanEnd < 0 ? -1 : takeTokens(words, spanEnd, d);
    if (end < 0) return null;
    const before = words.slice(start, spanAt).join(" ");
    const answer = words.slice(spanAt, spanEnd).join(" ");
    const after = words.slice(spanEnd, end).join(" ");
    if (
      `${before} ${after}`.includes(answer) || [before, answer, after].some((t) => t.includes(META_TOKEN))
    ) {
      return null;
    }
    const prompt = formatCopying(before, answer, after);
    return {
      task: "copying" as const,
      prompt,
      answer,
      phase: spec.phase,
      document,
      start,
      prefixWords: spanAt - start,
      spanWords: spanEnd - spanAt,
      suffixWords: end - spanEnd,
      copyTokens: encode(` ${answer}`).length,
      distanceTokens: encode(` ${after}`).length,
    };
  });
}
