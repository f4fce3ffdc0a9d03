import assert from "node:assert/strict";
import { encode } from "@metatokens/data/tokenizer";
import { copyingWords, formatCopying, generateCopying } from "./copying.ts";
import type { CopyingExample } from "./example.ts";
import { PHASES } from "./phases.ts";
import { Rng } from "@metatokens/tensor/rng";
import { parseCopying } from "./_testing/parse.ts";
import { APPENDIX_H, PHASE_NUMBERS, samples } from "./_testing/samples.ts";

Deno.test("formatCopying reproduces the Appendix H prompt's layout exactly", () => {
  const { before, answer, after } = parseCopying(APPENDIX_H.copying.prompt);
  assert.equal(before, "...as ever Mr");
  assert.ok(answer.startsWith(". Darcy had been") && answer.endsWith("with the same"));
  assert.equal(after, "good-humoured ease that he had ever done.");
  assert.equal(formatCopying(before, answer, after), APPENDIX_H.copying.prompt);
});

Deno.test("every phase: prompt parsed back, span recomputed from the corpus, C and D in range", () => {
  for (const phase of PHASE_NUMBERS) {
    const spec = PHASES[phase - 1];
    for (const ex of samples("copying", phase) as CopyingExample[]) {
      const parsed = parseCopying(ex.prompt);
      assert.equal(parsed.answer, ex.answer);
      const words = copyingWords(ex.document);
      const at = ex.start + ex.prefixWords;
      assert.equal(parsed.before, words.slice(ex.start, at).join(" "));
      assert.equal(parsed.answer, words.slice(at, at + ex.spanWords).join(" "));
      assert.equal(
        parsed.after,
        words.slice(at + ex.spanWords, at + ex.spanWords + ex.suffixWords).join(" "),
      );
      assert.equal(ex.promptTokens, encode(ex.prompt).length);
      assert.equal(ex.copyTokens, encode(` ${ex.answer}`).length);
      assert.equal(ex.distanceTokens, encode(` ${parsed.after}`).length);
      // Whole words overshoot a target by at most a word's tokens.
      assert.ok(
        ex.copyTokens >= spec.copyTokens.lo && ex.copyTokens <= spec.copyTokens.hi + 8,
        `C ${ex.copyTokens}`,
      );
      assert.ok(
        ex.distanceTokens >= spec.distanceTokens.lo && ex.distanceTokens <= spec.distanceTokens.hi + 8,
        `D ${ex.distanceTokens}`,
      );
    }
  }
});

Deno.test("no leak: the span occurs once in the prompt (inside the pauses), never after them", () => {
  for (const phase of PHASE_NUMBERS) {
    for (const ex of samples("copying", phase)) {
      const first = ex.prompt.indexOf(ex.answer);
      assert.equal(first, ex.prompt.lastIndexOf(ex.answer));
      assert.ok(ex.prompt.slice(0, first).endsWith(" _PAUSE_ ") || ex.prompt.slice(0, first) === "_PAUSE_ ");
      assert.ok(!parseCopying(ex.prompt).after.includes(ex.answer));
    }
  }
});

Deno.test("same seed ⇒ same examples; bad input is an error quoting it", () => {
  assert.deepEqual(generateCopying(new Rng(4), 2), generateCopying(new Rng(4), 2));
  assert.throws(() => copyingWords("zz99"), /Unknown Brown corpus document "zz99"/);
  assert.throws(() => formatCopying("a", " ", "b"), /Copying span " " is empty/);
  assert.throws(
    () => formatCopying("a _PAUSE_", "x", "b"),
    /Copying before text contains _PAUSE_: "a _PAUSE_"/,
  );
});
