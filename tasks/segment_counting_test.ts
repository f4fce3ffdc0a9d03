import assert from "node:assert/strict";
import { encode } from "@metatokens/data/tokenizer";
import { category } from "./categories.ts";
import type { SegmentCountingExample } from "./example.ts";
import { Rng } from "@metatokens/tensor/rng";
import { formatSegmentCounting, generateSegmentCounting } from "./segment_counting.ts";
import { parseSegmentCounting } from "./_testing/parse.ts";
import { APPENDIX_H, PHASE_NUMBERS, samples } from "./_testing/samples.ts";

Deno.test("formatSegmentCounting reproduces the Appendix H prompt exactly; the parser recovers its answer", () => {
  const lists = [
    { category: "Fruits", items: ["orange", "peach", "banana", "plum"] },
    { category: "Tools", items: ["hammer", "wrench", "level", "pliers"] },
    { category: "Sports", items: ["boxing", "baseball", "boxing", "golf"] },
    { category: "Spices", items: ["turmeric", "cardamom", "cumin", "cinnamon"] },
  ];
  assert.equal(formatSegmentCounting(lists, 1, "wrench"), APPENDIX_H.segmentCounting.prompt);
  assert.equal(
    parseSegmentCounting(APPENDIX_H.segmentCounting.prompt).answer,
    APPENDIX_H.segmentCounting.completion,
  );
});

Deno.test("every phase: prompt parsed back, count recomputed, metadata agrees", () => {
  for (const phase of PHASE_NUMBERS) {
    for (const ex of samples("segment-counting", phase) as SegmentCountingExample[]) {
      const parsed = parseSegmentCounting(ex.prompt);
      assert.equal(parsed.answer, ex.answer);
      assert.equal(parsed.item, ex.item);
      assert.equal(parsed.target, ex.target);
      assert.deepEqual(parsed.lists.map((l) => ({ category: l.category, items: l.items })), ex.lists);
      assert.equal(ex.promptTokens, encode(ex.prompt).length);
      assert.ok(category(ex.lists[ex.target].category).items.includes(ex.item));
      // The queried item occurs nowhere outside the pauses.
      ex.lists.forEach((l, i) => {
        if (i !== ex.target) assert.ok(!l.items.includes(ex.item));
      });
    }
  }
});

Deno.test("no leak: the prompt contains no digits, so the count is never written in it", () => {
  for (const phase of PHASE_NUMBERS) {
    for (const ex of samples("segment-counting", phase)) {
      assert.ok(!/\d/.test(ex.prompt), ex.prompt.slice(-120));
    }
  }
});

Deno.test("answers spread over 0 … n, zero included", () => {
  const rng = new Rng(3);
  const counts = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const ex = generateSegmentCounting(rng, 1);
    const c = Number(ex.answer);
    assert.ok(c >= 0 && c <= ex.lists[ex.target].items.length);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.ok((counts.get(0) ?? 0) >= 15, `zeros: ${counts.get(0)}`);
  assert.ok(counts.size >= 10, `distinct counts: ${[...counts.keys()]}`);
});

Deno.test("same seed ⇒ same examples", () => {
  assert.deepEqual(
    generateSegmentCounting(new Rng(4), 3),
    generateSegmentCounting(new Rng(4), 3),
  );
});
